// The one place that assembles Recoup: config → connections (Temporal, PostgreSQL) → worker and/or
// API → signals. The entry points (worker/main.ts, worker/start.ts, api/main.ts, dev/demo.ts) call it;
// api/ and worker/ never import each other.
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createHttpProvider } from '../activities/channels/index';
import { createLogger } from '../api/logging';
import { connectDb, surviveClosedConnectionWrites, type Sql } from '../db/index';
import { migrate } from '../db/migrate';
import { codecFromConfig, CodecKeyError } from '../shared/codec';
import { ConfigError, loadConfig, type Config } from '../shared/config';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { ensureWeeklySchedule } from '../api/routes/reports';
import { RELAY_WORKFLOW_ID } from '../shared/events';
import { connectClient, connectWorkerConnection } from '../worker/temporal';
import { runCaseWorker, serveApi } from './parts';
import { PinoSdkLogger } from './sdk-logger';

export interface Engine {
  apiUrl?: string;
  stop(): Promise<void>;
}

/**
 * Starts the worker, the API, or both, against the configured Temporal and PostgreSQL.
 * Start-up applies pending migrations and registers missing search attributes.
 */
export async function startEngine(
  config: Config,
  parts: { worker: boolean; api: boolean },
  databaseUrl: string | undefined = config.databaseUrl,
): Promise<Engine> {
  const stops: Array<() => Promise<unknown>> = [];
  // One JSON log stream: the engine's lines, the API's requests, the SDK's and the workflows' logs.
  const log = createLogger(
    config.logLevel,
    undefined,
    parts.worker && parts.api ? 'recoup' : parts.worker ? 'recoup-worker' : 'recoup-api',
  );
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => log.error({ err: e }, 'stop failed'));
  };
  try {
    surviveClosedConnectionWrites((m) => log.warn(m));
    installRuntime(config, parts, log);
    const codec = codecFromConfig(config.codec);
    if (codec) log.info(`payloads encrypted (AES-256-GCM), active key "${codec.activeKeyId}"`);
    else log.warn('RECOUP_PAYLOAD_ENCRYPTION=false: payloads reach Temporal in clear');
    const { client, connection, namespace } = await connectClient(codec);
    stops.push(() => connection.close());
    try {
      const added = await ensureSearchAttributes(connection, namespace);
      if (added.length) log.info(`registered search attributes: ${added.join(', ')}`);
    } catch (e) {
      log.warn(`could not check search attributes (register them by hand, see docs/operations.md): ${(e as Error).message}`);
    }

    if (!databaseUrl) throw new Error('DATABASE_URL is not set: Recoup keeps its ledger in PostgreSQL (npm run demo brings its own)');
    const sql: Sql = connectDb(databaseUrl);
    stops.push(() => sql.end({ timeout: 5 }));
    const applied = await migrate(sql);
    if (applied.length) log.info(`applied migrations: ${applied.join(', ')}`);

    let workerState: (() => string) | undefined;
    if (parts.worker) {
      const wc = await connectWorkerConnection();
      stops.push(() => wc.connection.close());
      // Letters and notifications are queued in the PostgreSQL outbox, in the step's own activity; with a
      // gateway configured, the relay workflow sends them through it (docs/events.md).
      const gateway = config.channelGateway ? createHttpProvider({ ...config.channelGateway, name: 'gateway' }) : undefined;
      const worker = await runCaseWorker(
        {
          connection: wc.connection,
          namespace: wc.namespace,
          taskQueue: config.taskQueue,
          sql,
          // The portfolio import's activities open cases, as the API does.
          intake: { client, taskQueue: config.taskQueue },
          ...(codec ? { codec } : {}),
          maxCachedWorkflows: config.worker.maxCachedWorkflows,
          workflowThreads: config.worker.workflowThreads,
          workflowHeapMb: config.worker.workflowHeapMb,
          stackTraces: config.worker.stackTraces,
          ...(config.worker.maxConcurrentWorkflowTasks ? { maxConcurrentWorkflowTasks: config.worker.maxConcurrentWorkflowTasks } : {}),
          ...(config.worker.maxConcurrentActivities ? { maxConcurrentActivities: config.worker.maxConcurrentActivities } : {}),
          ...(gateway ? { relayGateway: gateway } : {}),
        },
        (e) => log.error({ err: e }, 'worker stopped with an error'),
      );
      stops.push(() => worker.stop().catch(() => undefined));
      workerState = () => worker.worker.getState();
      log.info(`worker polling task queue "${config.taskQueue}" in namespace "${namespace}"`);
      if (gateway) {
        await client.workflow.start('outboxRelay', {
          workflowId: RELAY_WORKFLOW_ID,
          taskQueue: config.taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: 'Relay of channel_outbox through the channel gateway',
        });
        log.info(`channel_outbox relayed through the gateway at ${config.channelGateway!.url}`);
      }
      // The Friday report's Schedule (issue 14): created once per namespace, kept if it exists.
      await ensureWeeklySchedule(client, config.taskQueue).catch((e: unknown) =>
        log.warn(`could not create the weekly report's Schedule (trigger it from the API later): ${(e as Error).message}`),
      );
    }

    let apiUrl: string | undefined;
    if (parts.api) {
      const api = await serveApi(
        {
          client,
          sql,
          taskQueue: config.taskQueue,
          webhookRateLimit: config.webhookRateLimit,
          ...(config.webhookSecret ? { webhookSecret: config.webhookSecret } : {}),
          ...(codec ? { codec: { codec, corsOrigins: config.codec.corsOrigins, ...uiTokenOf(config) } } : {}),
          metrics: {
            ...(workerState ? { workerState } : {}),
            ...(workerState && config.worker.metricsAddress ? { sdkMetricsUrl: `http://${config.worker.metricsAddress}/metrics` } : {}),
          },
        },
        { port: config.apiPort, logger: log },
      );
      stops.push(api.stop);
      apiUrl = api.url;
      log.info(`API listening on ${apiUrl}`);
    }
    return { apiUrl, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * The Temporal runtime of this process: the SDK's logs into the engine's pino stream (core's from WARN),
 * and its Prometheus metrics on RECOUP_METRICS_ADDRESS. Once per process, before any connection.
 */
function installRuntime(config: Config, parts: { worker: boolean }, log: Logger): void {
  const metrics = parts.worker && config.worker.metricsAddress ? config.worker.metricsAddress : undefined;
  try {
    Runtime.install({
      logger: new PinoSdkLogger(log.child({ component: 'temporal' })),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
        ...(metrics ? { metrics: { prometheus: { bindAddress: metrics } } } : {}),
      },
    });
    if (metrics) log.info(`worker metrics (Prometheus) on http://${metrics}/metrics; the API's /metrics includes them`);
  } catch (e) {
    // Already installed in this process (an embedding program's): keep it.
    log.warn(`the Temporal runtime was installed already: ${(e as Error).message}`);
  }
}

const uiTokenOf = (config: Config) => (config.codec.uiToken ? { uiToken: config.codec.uiToken } : {});

/** Runs until SIGINT/SIGTERM, then stops cleanly. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`[recoup] ${signal}: stopping`);
    stop()
      .then(() => process.exit(0))
      .catch((e) => {
        console.error(e);
        process.exit(1);
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** The entry points' main: start the parts, stop on signals; a bad environment is one clear line, exit 2. */
export async function runEngine(parts: { worker: boolean; api: boolean }): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`[recoup] ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const engine = await startEngine(config, parts).catch((e: unknown) => {
    if (!(e instanceof CodecKeyError)) throw e;
    console.error(`[recoup] ${e.message}`);
    process.exit(2);
  });
  stopOnSignals(engine.stop);
}
