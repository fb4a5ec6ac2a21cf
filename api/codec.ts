// The codec server: the Temporal UI (and `temporal --codec-endpoint`) send the payloads they show to
// /decode and get them back readable; /encode is the way back (a signal or start typed in the UI).
// Two ways in:
//  - /v1/codec/{decode,encode} with a Recoup API key (Authorization: Bearer) of a supervisor, legal or
//    admin: the CLI (`--codec-auth "Bearer <key>"`), scripts, and a UI whose codec settings pass a token;
//  - /v1/codec/ui/<RECOUP_CODEC_UI_TOKEN>/{decode,encode}: the endpoint the Temporal UI is started with
//    (`--ui-codec-endpoint`). The UI calls it from the browser with no credentials of Recoup's, so the
//    secret is the path: whoever can open the Temporal UI reads the cases. Protect the UI (OIDC, network).
// A browser call is allowed from RECOUP_CODEC_CORS_ORIGINS only (the UI's origin).
import type { PayloadCodec } from '@temporalio/common';
import { timingSafeEqual } from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { authenticate, requireRoles } from './auth';
import type { Sql } from '../db/index';
import { HttpProblem, parseOr400 } from './errors';

export interface CodecDeps {
  codec: PayloadCodec;
  /** Origins allowed to call from a browser (the Temporal UI's). */
  corsOrigins: readonly string[];
  /** The secret path segment of the UI's endpoint; unset, there is none. */
  uiToken?: string;
}

const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
/** A payload the way the UI sends it: the proto's JSON form (metadata values and data base64). */
const JsonPayload = z.object({ metadata: z.record(z.string(), Base64).optional(), data: Base64.optional() });
// The Temporal CLI sends `{}` for no payloads (a query without arguments): an empty list, not an error.
const CodecBody = z.object({ payloads: z.array(JsonPayload).max(10_000).default([]) });

const fromJson = (p: z.infer<typeof JsonPayload>) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export function codecRouter(d: CodecDeps, sql: Sql): Router {
  const router = Router();
  const cors: RequestHandler = (req, res, next) => {
    const origin = req.get('origin');
    if (origin && d.corsOrigins.includes(origin)) {
      res.set('Access-Control-Allow-Origin', origin);
      res.set('Access-Control-Allow-Credentials', 'true');
      res.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.set('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.set('Access-Control-Max-Age', '600');
    }
    res.vary('Origin');
    if (req.method === 'OPTIONS') {
      res.status(origin && d.corsOrigins.includes(origin) ? 204 : 403).end();
      return;
    }
    next();
  };
  const uiToken: RequestHandler = (req, _res, next) => {
    const given = Buffer.from(String(req.params.token ?? ''));
    const want = Buffer.from(d.uiToken ?? '');
    if (!d.uiToken || given.length !== want.length || !timingSafeEqual(given, want)) {
      return next(new HttpProblem(404, 'Not found', 'no such route'));
    }
    next();
  };
  const json = express.json({ limit: '4mb', strict: true });
  const run =
    (op: 'encode' | 'decode'): RequestHandler =>
    async (req, res, next) => {
      try {
        const body = parseOr400(CodecBody, req.body ?? {}, 'body');
        const out = await d.codec[op](body.payloads.map(fromJson));
        res.json({ payloads: out.map(toJson) });
      } catch (e) {
        if (e instanceof HttpProblem) return next(e);
        // A payload under a key this ring does not hold, or altered: the caller's data, not a server fault.
        next(new HttpProblem(422, 'Cannot decode', (e as Error).message));
      }
    };
  const staff = [authenticate(sql), requireRoles(['supervisor', 'legal'])];
  for (const op of ['decode', 'encode'] as const) {
    router.options([`/v1/codec/${op}`, `/v1/codec/ui/:token/${op}`], cors);
    router.post(`/v1/codec/${op}`, cors, ...staff, json, run(op));
    router.post(`/v1/codec/ui/:token/${op}`, cors, uiToken, json, run(op));
  }
  return router;
}
