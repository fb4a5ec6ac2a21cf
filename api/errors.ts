import { WorkflowNotFoundError } from '@temporalio/client';
import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';

/** An error the API answers with a status and an RFC 9457 problem document. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
  }
}

export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query' | 'params'): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new HttpProblem(400, 'Invalid request', `the request ${where} does not match the contract`, {
      issues: r.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message, code: i.code })),
    });
  }
  return r.data;
}

/** Temporal and input errors mapped to HTTP; anything unexpected is a 500 without internals. */
export const problemHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  let p: HttpProblem;
  if (err instanceof HttpProblem) p = err;
  else if (err instanceof WorkflowNotFoundError) p = new HttpProblem(404, 'Not found', 'no open case for that account');
  else if (err?.type === 'entity.parse.failed') p = new HttpProblem(400, 'Invalid JSON', 'the body is not valid JSON');
  else if (err?.type === 'entity.too.large') p = new HttpProblem(413, 'Body too large');
  else {
    console.error('[api] unexpected error', err);
    p = new HttpProblem(500, 'Internal error');
  }
  res.status(p.status).type('application/problem+json').json({ type: 'about:blank', title: p.title, status: p.status, detail: p.detail, ...p.extra });
};
