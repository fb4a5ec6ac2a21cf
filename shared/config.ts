import { z } from 'zod';
import { DEFAULT_CASE_TASK_QUEUE } from './task-queues';

/**
 * Recoup's own settings, read once from the environment and validated.
 * The Temporal connection itself (address, namespace, TLS, API key, profiles) follows Temporal's
 * conventions through @temporalio/envconfig: see temporalConnectConfig in worker/temporal.ts.
 */
/** Cases a worker keeps in memory by default (measured in `npm run bench -- --scale`; docs/operations.md). */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 80;

const port = z.coerce.number().int().min(0).max(65535);

const EnvSchema = z.object({
  RECOUP_TASK_QUEUE: z.string().min(1).default(DEFAULT_CASE_TASK_QUEUE),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// connection URL')
    .optional(),
  RECOUP_API_PORT: port.default(3000),
  RECOUP_DATA_DIR: z.string().min(1).default('.data'),
  RECOUP_EMBEDDED_PG_PORT: port.default(54329),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** A letter/SMS/email gateway that takes Recoup's signed requests; unset, messages wait in the PostgreSQL outbox. */
  RECOUP_CHANNEL_GATEWAY_URL: z.url().optional(),
  /** Shared secret of the payment processor's webhooks (Recoup-Signature); unset, the webhook route answers 503. */
  RECOUP_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** Payment webhook requests per minute per client address. */
  RECOUP_WEBHOOK_RATE_LIMIT: z.coerce.number().int().positive().default(600),
  RECOUP_CHANNEL_GATEWAY_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** Cases kept in memory between their tasks (each needs 0.5–1 MiB of its thread's heap); others replay their history when they wake. */
  RECOUP_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(DEFAULT_MAX_CACHED_WORKFLOWS),
  /** Workflow tasks and activities the worker runs at once (unset: the SDK's defaults). */
  RECOUP_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
  RECOUP_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().optional(),
  /** Threads that run workflow code (each a V8 isolate with its share of the cached cases). */
  RECOUP_WORKFLOW_THREADS: z.coerce.number().int().min(1).max(16).default(2),
  /** Old-generation heap of each workflow thread in MiB (V8 otherwise sizes it from the machine's memory and collects late). */
  RECOUP_WORKFLOW_HEAP_MB: z.coerce.number().int().min(32).max(16384).default(96),
  /** Stack traces of workflow code (the Temporal UI's Stack Trace tab); they cost about a third of a case's CPU. */
  RECOUP_WORKFLOW_STACK_TRACES: z.stringbool().default(false),
  /** host:port where the worker's Temporal runtime serves Prometheus metrics (unset: none). */
  RECOUP_METRICS_ADDRESS: z
    .string()
    .regex(/^[\w.-]+:\d{1,5}$/, 'host:port, e.g. 127.0.0.1:9464')
    .optional(),
  /** Payloads encrypted before they reach Temporal (shared/codec.ts). Off only for a cluster that holds no personal data. */
  RECOUP_PAYLOAD_ENCRYPTION: z.stringbool().default(true),
  /** A key ring file: {"active": "<id>", "keys": {"<id>": "<32 bytes, base64>", …}} (npm run codec-key). */
  RECOUP_CODEC_KEYS_FILE: z.string().min(1).optional(),
  /** Or the keys inline: "id=base64,id2=base64"; the active one is RECOUP_CODEC_ACTIVE_KEY, else the last. */
  RECOUP_CODEC_KEYS: z.string().min(1).optional(),
  RECOUP_CODEC_ACTIVE_KEY: z.string().min(1).optional(),
  /** The secret path segment of the codec endpoint the Temporal UI calls (/v1/codec/ui/<token>); unset, no UI endpoint. */
  RECOUP_CODEC_UI_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_-]{32,128}$/, '32–128 letters, digits, - or _')
    .optional(),
  /** Origins (the Temporal UI's) allowed to call the codec endpoints from a browser, comma-separated. */
  RECOUP_CODEC_CORS_ORIGINS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url().regex(/^https?:\/\/[^/]+$/, 'an origin: scheme://host[:port], no path')))
    .default([]),
});

export interface Config {
  taskQueue: string;
  /** Absent: the embedded PostgreSQL under dataDir is used (demo and tests only). */
  databaseUrl: string | undefined;
  apiPort: number;
  dataDir: string;
  embeddedPgPort: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  channelGateway?: { url: string; secret: string };
  webhookSecret?: string;
  webhookRateLimit: number;
  worker: {
    maxCachedWorkflows: number;
    maxConcurrentWorkflowTasks?: number;
    maxConcurrentActivities?: number;
    metricsAddress?: string;
    workflowThreads: number;
    workflowHeapMb: number;
    stackTraces: boolean;
  };
  codec: {
    encryption: boolean;
    keysFile?: string;
    keys?: string;
    activeKey?: string;
    uiToken?: string;
    corsOrigins: string[];
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable counts as unset, the way shells and compose files usually mean it.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.RECOUP_CODEC_KEYS_FILE && e.RECOUP_CODEC_KEYS) {
    throw new ConfigError('invalid environment:\n  RECOUP_CODEC_KEYS_FILE and RECOUP_CODEC_KEYS: set one, not both');
  }
  if (!!e.RECOUP_CHANNEL_GATEWAY_URL !== !!e.RECOUP_CHANNEL_GATEWAY_SECRET) {
    throw new ConfigError('invalid environment:\n  RECOUP_CHANNEL_GATEWAY_URL and RECOUP_CHANNEL_GATEWAY_SECRET: set both or neither');
  }
  return {
    taskQueue: e.RECOUP_TASK_QUEUE,
    databaseUrl: e.DATABASE_URL,
    apiPort: e.RECOUP_API_PORT,
    dataDir: e.RECOUP_DATA_DIR,
    embeddedPgPort: e.RECOUP_EMBEDDED_PG_PORT,
    logLevel: e.LOG_LEVEL,
    ...(e.RECOUP_WEBHOOK_SECRET ? { webhookSecret: e.RECOUP_WEBHOOK_SECRET } : {}),
    webhookRateLimit: e.RECOUP_WEBHOOK_RATE_LIMIT,
    worker: {
      maxCachedWorkflows: e.RECOUP_MAX_CACHED_WORKFLOWS,
      workflowThreads: e.RECOUP_WORKFLOW_THREADS,
      workflowHeapMb: e.RECOUP_WORKFLOW_HEAP_MB,
      stackTraces: e.RECOUP_WORKFLOW_STACK_TRACES,
      ...(e.RECOUP_MAX_CONCURRENT_WORKFLOW_TASKS ? { maxConcurrentWorkflowTasks: e.RECOUP_MAX_CONCURRENT_WORKFLOW_TASKS } : {}),
      ...(e.RECOUP_MAX_CONCURRENT_ACTIVITIES ? { maxConcurrentActivities: e.RECOUP_MAX_CONCURRENT_ACTIVITIES } : {}),
      ...(e.RECOUP_METRICS_ADDRESS ? { metricsAddress: e.RECOUP_METRICS_ADDRESS } : {}),
    },
    codec: {
      encryption: e.RECOUP_PAYLOAD_ENCRYPTION,
      ...(e.RECOUP_CODEC_KEYS_FILE ? { keysFile: e.RECOUP_CODEC_KEYS_FILE } : {}),
      ...(e.RECOUP_CODEC_KEYS ? { keys: e.RECOUP_CODEC_KEYS } : {}),
      ...(e.RECOUP_CODEC_ACTIVE_KEY ? { activeKey: e.RECOUP_CODEC_ACTIVE_KEY } : {}),
      ...(e.RECOUP_CODEC_UI_TOKEN ? { uiToken: e.RECOUP_CODEC_UI_TOKEN } : {}),
      corsOrigins: e.RECOUP_CODEC_CORS_ORIGINS,
    },
    ...(e.RECOUP_CHANNEL_GATEWAY_URL && e.RECOUP_CHANNEL_GATEWAY_SECRET
      ? { channelGateway: { url: e.RECOUP_CHANNEL_GATEWAY_URL, secret: e.RECOUP_CHANNEL_GATEWAY_SECRET } }
      : {}),
  };
}
