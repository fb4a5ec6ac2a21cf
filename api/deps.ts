import type { Client } from '@temporalio/client';
import type { Sql } from '../db/index';
import type { CodecDeps } from './codec';
import type { MetricsDeps } from './metrics';

export interface ApiDeps {
  client: Client;
  sql: Sql;
  taskQueue: string;
  /** Secret for payment webhooks' Recoup-Signature; unset, the webhook route answers 503. */
  webhookSecret?: string;
  /** Webhook requests per minute per client address. */
  webhookRateLimit?: number;
  /** The codec server for the Temporal UI and the CLI (api/codec.ts); unset, no codec routes. */
  codec?: CodecDeps;
  /** What /metrics adds about a worker in this process: its SDK metrics endpoint and its state. */
  metrics?: Omit<MetricsDeps, 'sql'>;
  /** Clock for signature timestamps (ms), for tests. */
  now?: () => number;
}
