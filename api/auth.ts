import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Sql } from '../db/index';
import { HttpProblem } from './errors';

export const ROLES = ['collector', 'field-officer', 'supervisor', 'legal', 'admin', 'manager', 'finance', 'lending'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  subject: string;
  role: Role;
}

const hash = (key: string) => createHash('sha256').update(key).digest('hex');

/** Creates a key; the plain key is returned once and only its hash is stored. */
export async function createApiKey(sql: Sql, subject: string, role: Role): Promise<string> {
  const key = `rk_${role.replace('-', '')}_${randomBytes(24).toString('base64url')}`;
  await sql`insert into api_keys (key_hash, key_prefix, subject, role) values (${hash(key)}, ${key.slice(0, 12)}, ${subject}, ${role})`;
  return key;
}

export async function revokeApiKey(sql: Sql, prefix: string): Promise<number> {
  const rows = await sql`update api_keys set revoked_at = now() where key_prefix = ${prefix} and revoked_at is null returning id`;
  return rows.length;
}

/**
 * The key of a request: `Authorization: Bearer <key>`, `X-Api-Key: <key>`, or, for a browser opening a
 * page, HTTP Basic with the key as the password (the user name is not used).
 */
function keyOf(authorization: string, apiKey: string): string {
  if (authorization.startsWith('Bearer ')) return authorization.slice(7).trim();
  if (authorization.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? '' : decoded.slice(colon + 1).trim();
  }
  return apiKey.trim();
}

/** Looks the key up by its hash; the comparison of hashes is constant-time. */
export function authenticate(sql: Sql): RequestHandler {
  return async (req, res_, next) => {
    const key = keyOf(req.get('authorization') ?? '', req.get('x-api-key') ?? '');
    // A page or a file (….html, .pdf, .csv, or format=…) is opened in a browser: on a 401 the browser asks for the key
    // (any user name, the key as password).
    const opened = /\.(html|pdf|csv)$/.test(req.path) || ['html', 'pdf', 'csv'].includes(String(req.query.format));
    const challenge = () => {
      if (opened) res_.set('WWW-Authenticate', 'Basic realm="Recoup (user: any, password: your API key)", charset="UTF-8"');
    };
    if (!key) {
      challenge();
      return next(new HttpProblem(401, 'Unauthorized', 'an API key is required (Authorization: Bearer <key>)'));
    }
    const h = hash(key);
    const [row] = await sql<{ key_hash: string; subject: string; role: Role }[]>`
      select key_hash, subject, role from api_keys where key_hash = ${h} and revoked_at is null`;
    if (!row || !timingSafeEqual(Buffer.from(row.key_hash), Buffer.from(h))) {
      challenge();
      return next(new HttpProblem(401, 'Unauthorized', 'unknown or revoked API key'));
    }
    res(req).principal = { subject: row.subject, role: row.role };
    next();
  };
}

export function requireRoles(roles: readonly Role[]): RequestHandler {
  return (req, _res, next) => {
    const p = res(req).principal;
    if (!p) return next(new HttpProblem(401, 'Unauthorized'));
    if (p.role !== 'admin' && !roles.includes(p.role)) {
      return next(new HttpProblem(403, 'Forbidden', `this route is for ${roles.join(', ')}; the key is a ${p.role}'s`));
    }
    next();
  };
}

function res(req: Parameters<RequestHandler>[0]): { principal?: Principal } {
  return req as unknown as { principal?: Principal };
}
