import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Principal, Role } from './auth';

/**
 * Every route in one table: its contract (zod), its roles and its handler. The app mounts them and
 * the OpenAPI document is generated from the same table, so the two cannot drift.
 */
type Access = { roles: readonly Role[] } | 'signature' | 'public';

interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal?: Principal;
  req: Request;
  res: Response;
}

interface RouteResult {
  status: number;
  body?: unknown;
  /** A body that is not JSON (a string, sent as is) with this content type, e.g. 'text/csv; charset=utf-8'. */
  contentType?: string;
}

export interface RouteDef<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post';
  /** Express-style path: /v1/cases/:accountId */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * A body the handler reads itself from `req` (a stream), in one of these media types: not parsed as
   * JSON, no size limit but the handler's. The portfolio import's CSV and JSON lines.
   */
  streamedBody?: readonly string[];
  /** `text`: other media types the response may have instead of JSON (a string body), e.g. ['text/csv']. */
  responses: Record<number, { description: string; schema?: z.ZodType; text?: readonly string[] }>;
  handler(ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>): Promise<RouteResult>;
}

export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(def: RouteDef<P, Q, B>): RouteDef {
  return def as unknown as RouteDef;
}
