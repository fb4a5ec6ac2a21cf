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

/** Temporal's errors in HTTP terms: not found 404, already started or closed 409, update rejected 422. */
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
    if (p.status >= 500)
      log.error(
        { requestId: (req as unknown as { id?: string }).id, err: { message: (err as Error)?.message, stack: (err as Error)?.stack } },
        'unexpected error',
      );
    res
      .status(p.status)
      .type('application/problem+json')
      .json({ type: 'about:blank', title: p.title, status: p.status, detail: p.detail, ...p.extra });
  };
}
