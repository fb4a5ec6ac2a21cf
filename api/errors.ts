import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';

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

/** postgres.js's and the OS's codes for a server that is down, restarting or gone. */
const LEDGER_DOWN = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/**
 * Temporal's errors in HTTP terms: not found 404, already started or closed 409, update rejected 422;
 * PostgreSQL or Temporal unavailable 503.
 */
export function toProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof WorkflowNotFoundError) return new HttpProblem(404, 'Not found', 'no case for that account');
  if (err instanceof WorkflowExecutionAlreadyStartedError) return new HttpProblem(409, 'Conflict', 'the case is already started');
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure && cause.type === 'CaseClosed') return new HttpProblem(409, 'Case closed', cause.message);
    return new HttpProblem(422, 'Rejected by the case', cause?.message ?? err.message);
  }
  const message = err instanceof Error ? err.message : '';
  const code = (err as { code?: unknown })?.code;
  // PostgreSQL down or restarting: the ledger (and the API keys in it) cannot be read; try again.
  if (typeof code === 'string' && LEDGER_DOWN.has(code)) {
    return new HttpProblem(503, 'Ledger unavailable', 'PostgreSQL is not answering; nothing was changed, try again shortly');
  }
  // Temporal unreachable, or a case that did not answer in time (a busy worker): try again.
  if (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED || (err as Error)?.name === 'ServiceError') {
    const grpc = (err as { cause?: { code?: unknown } }).cause?.code ?? code;
    if (grpc === GRPC_UNAVAILABLE || grpc === GRPC_DEADLINE_EXCEEDED)
      return new HttpProblem(503, 'Temporal unavailable', 'the case engine did not answer in time; try again shortly');
  }
  if (/workflow execution (is )?already completed/i.test(message)) return new HttpProblem(409, 'Case closed', 'the case is closed');
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.parse.failed') return new HttpProblem(400, 'Invalid JSON', 'the body is not valid JSON');
  if (e?.type === 'entity.too.large') return new HttpProblem(413, 'Body too large');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new HttpProblem(415, 'Unsupported encoding');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new HttpProblem(e.status, 'Bad request');
  return new HttpProblem(500, 'Internal error');
}

export function problemHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const p = toProblem(err);
    // A dependency down (503) is expected and says so; anything else at 5xx is a fault to look at.
    if (p.status === 503)
      log.warn({ requestId: (req as unknown as { id?: string }).id, err: { message: (err as Error)?.message } }, p.title);
    else if (p.status >= 500)
      log.error(
        { requestId: (req as unknown as { id?: string }).id, err: { message: (err as Error)?.message, stack: (err as Error)?.stack } },
        'unexpected error',
      );
    if (p.status === 503 && !res.get('retry-after')) res.set('Retry-After', '5');
    res
      .status(p.status)
      .type('application/problem+json')
      .json({ type: 'about:blank', title: p.title, status: p.status, detail: p.detail, ...p.extra });
  };
}
