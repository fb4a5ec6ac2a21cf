import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { randomBytes, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { zoneAtLocalHour } from '../bench/lib';
import type { ChannelProvider } from '../activities/channels/index';
import type { ActivityDeps } from '../activities/index';
import { createApiKey, ROLES, type Role } from '../api/auth';
import { createLogger } from '../api/logging';
import { runCaseWorker, serveApi } from '../app/parts';
import { connectDb, type Sql } from '../db/index';
import { dataConverterFor, EncryptionCodec } from '../shared/codec';
import { addDays, localDate } from '../shared/calendar';
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../shared/config';
import { signBody } from '../shared/signature';

export const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';

/** The real stack of one test file: Temporal client, a worker on its own task queue, the API, PostgreSQL. */
export interface Stack {
  /** Decodes with the stack's codec (as every Recoup client does). */
  client: Client;
  codec: EncryptionCodec;
  sql: Sql;
  apiUrl: string;
  taskQueue: string;
  /** One API key per role, subject `<role>-1`. */
  keys: Record<Role, string>;
  stop(): Promise<void>;
}

/** A key ring of one random key: every test stack encrypts its payloads, as the engine does. */
export const testCodec = (id = 'test-k1'): EncryptionCodec => new EncryptionCodec({ active: id, keys: new Map([[id, randomBytes(32)]]) });

export async function startStack(
  opts: {
    channels?: ActivityDeps['channels'];
    /** Default: a fresh one-key ring. */
    codec?: EncryptionCodec;
    /** Default: a task queue of its own. */
    taskQueue?: string;
    codecServer?: { uiToken?: string; corsOrigins?: string[] };
    /** Default: the shared test server. */
    temporalAddress?: string;
    /** Default: a free one. */
    apiPort?: number;
    /** Default: the shared test database. */
    databaseUrl?: string;
    /** The gateway the relay of channel_outbox sends through (the engine's RECOUP_CHANNEL_GATEWAY_URL). */
    relayGateway?: ChannelProvider;
    /** Default true. False: the API alone, for a worker in a process of its own (test/faults/processes.ts). */
    worker?: boolean;
  } = {},
): Promise<Stack> {
  const address = opts.temporalAddress ?? inject('temporalAddress');
  const namespace = inject('temporalNamespace');
  const sql = connectDb(opts.databaseUrl ?? inject('databaseUrl'));
  const codec = opts.codec ?? testCodec();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace, dataConverter: dataConverterFor(codec) });
  const nativeConnection = await NativeConnection.connect({ address });
  // A task queue per test file keeps one file's workflows away from another file's worker.
  const taskQueue = opts.taskQueue ?? `test-${randomUUID()}`;
  const newWorker = () =>
    runCaseWorker({
      connection: nativeConnection,
      namespace,
      taskQueue,
      sql,
      codec,
      intake: { client, taskQueue },
      // As the engine sizes it: a file that opens thousands of cases must not hold them all in memory.
      maxCachedWorkflows: DEFAULT_MAX_CACHED_WORKFLOWS,
      ...(opts.channels ? { channels: opts.channels } : {}),
      ...(opts.relayGateway ? { relayGateway: opts.relayGateway } : {}),
    });
  const worker = opts.worker === false ? undefined : await newWorker();
  const api = await serveApi(
    {
      client,
      sql,
      taskQueue,
      webhookSecret: WEBHOOK_SECRET,
      codec: {
        codec,
        corsOrigins: opts.codecServer?.corsOrigins ?? [],
        ...(opts.codecServer?.uiToken ? { uiToken: opts.codecServer.uiToken } : {}),
      },
      // As the engine wires a worker in the API's process: its state, and the SDK's metrics (test/setup-runtime.ts).
      metrics: {
        ...(worker ? { workerState: () => worker.worker.getState() } : {}),
        ...(process.env.RECOUP_TEST_SDK_METRICS_URL ? { sdkMetricsUrl: process.env.RECOUP_TEST_SDK_METRICS_URL } : {}),
      },
    },
    { port: opts.apiPort ?? 0, host: '127.0.0.1', logger: createLogger('warn') },
  );
  const apiUrl = api.url;
  const keys = {} as Record<Role, string>;
  for (const role of ROLES) keys[role] = await createApiKey(sql, `${role}-1`, role);
  return {
    client,
    codec,
    sql,
    apiUrl,
    taskQueue,
    keys,
    async stop() {
      await api.stop();
      await worker?.stop();
      await nativeConnection.close();
      await connection.close();
      await sql.end({ timeout: 5 });
    },
  };
}

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body, headers: res.headers };
}

/** POST JSON, with an API key when given. */
export async function postJson(url: string, body: unknown, key?: string): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  return reply(await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) }));
}

export async function getJson(url: string, key?: string): Promise<Reply> {
  return reply(await fetch(url, key ? { headers: { authorization: `Bearer ${key}` } } : {}));
}

/** POST a payment webhook signed like the processor would (or with the given signature header). */
export async function postSignedWebhook(
  url: string,
  body: unknown,
  opts: { secret?: string; atSeconds?: number; signature?: string } = {},
): Promise<Reply> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const t = opts.atSeconds ?? Math.floor(Date.now() / 1000);
  const signature = opts.signature ?? signBody(opts.secret ?? WEBHOOK_SECRET, t, raw);
  return reply(
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'recoup-signature': signature }, body: raw }),
  );
}

/** A time zone where it is about midday now: a step's window (09:00–18:00) is open whenever the suite runs. */
export const middayZone = (): string => zoneAtLocalHour(12);

export function uniqueAccountId(prefix = 'ACC'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A payment of `amountMinor` CNY for the account, as the processor's signed webhook sends it now. */
export function payByWebhook(apiUrl: string, accountId: string, paymentId: string, amountMinor: number): Promise<Reply> {
  return postSignedWebhook(`${apiUrl}/v1/webhooks/payments`, {
    paymentId,
    accountId,
    amountMinor,
    currency: 'CNY',
    paidAt: new Date().toISOString(),
  });
}

/**
 * Opens a case through the API (202, else it throws with the answer): one instalment due yesterday in
 * the debtor's zone (Asia/Shanghai unless the debtor says otherwise). Resolves to the started run.
 */
export async function openCaseByApi(
  s: Pick<Stack, 'apiUrl' | 'keys'>,
  accountId: string,
  o: { amountMinor: number; debtor?: Record<string, unknown>; guarantors?: unknown[] },
): Promise<{ workflowId: string; runId: string }> {
  const timeZone = (o.debtor?.timeZone as string | undefined) ?? 'Asia/Shanghai';
  const r = await postJson(
    `${s.apiUrl}/v1/missed-payments`,
    {
      accountId,
      debtor: { name: '测试债务人', phones: ['+86 139 0000 0000'], timeZone, ...o.debtor },
      ...(o.guarantors ? { guarantors: o.guarantors } : {}),
      dueDate: addDays(localDate(Date.now(), timeZone), -1),
      amountDue: { amountMinor: o.amountMinor, currency: 'CNY' },
    },
    s.keys.admin,
  );
  if (r.status !== 202) throw new Error(`intake of ${accountId}: ${r.status} ${JSON.stringify(r.body)}`);
  return { workflowId: r.body.workflowId as string, runId: r.body.runId as string };
}
