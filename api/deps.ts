import type { Client } from '@temporalio/client';
import type { Sql } from '../db/index';

export interface ApiDeps {
  client: Client;
  sql: Sql;
  taskQueue: string;
  /** Secret for payment webhooks' Recoup-Signature; unset, the webhook route answers 503. */
  webhookSecret?: string;
  /** Webhook requests per minute per client address. */
  webhookRateLimit?: number;
  /** Clock for signature timestamps (ms), for tests. */
  now?: () => number;
}
