// The servers of `npm run bench`, each in its own process as in production: a Temporal dev server
// (SQLite file, as the demo runs it), embedded PostgreSQL, the Recoup worker and API (`tsx worker/main.ts`,
// `tsx api/main.ts`) and a raw Temporal worker (bench/raw/worker.ts). Everything started is stopped by
// stop(), and killed when the bench exits without it.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApiKey } from '../api/auth';
import { startEmbeddedPostgres, type EmbeddedDb } from '../db/embedded';
import { connectDb, type Sql } from '../db/index';
import { migrate } from '../db/migrate';
import { startTemporalDevServer, type DevServer } from '../dev/temporal-dev-server';
import { PROJECT_ROOT, toolPaths } from '../dev/tools';
import { addDays, localDate } from '../shared/calendar';
import { dataConverterFor, EncryptionCodec } from '../shared/codec';
import { signBody } from '../shared/signature';
import { buildWorkflowBundle } from '../worker/bundle';
import { freePort } from '../test/ports';
import { cpuSeconds, scriptProcess, processTree, pssBytes, rssBytes, sleep } from './lib';

export const RAW_TASK_QUEUE = 'bench-raw';
const CASE_TASK_QUEUE = 'bench';
const WEBHOOK_SECRET = 'whsec_bench_0123456789abcdef';
const READY_TIMEOUT_MS = 180_000; // a worker whose bundle is stale for the sources bundles at start
const STOP_GRACE_MS = 15_000;
const RUN_BY_TSX = 'VmRSS of the node process tsx starts for it';

/** A process the bench spawned, in its own process group, its output in a log file. */
interface Child {
  name: string;
  pid: number;
  log: string;
  /** Lines the process wrote to stderr so far (but the SDK's INFO lines), and the first few of them. */
  stderrLines(): number;
  stderrHead(): string[];
  /** Resolves when a line of its output matches; rejects if it exits first or the time runs out. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<void>;
  exitedEarly(): string | undefined;
  stop(): Promise<void>;
}

/** Processes started and not yet gone; `group`: it leads its own process group. */
/** The worker process's environment as package.json's `worker` script and the Dockerfile set it. */
const WORKER_PROCESS_ENV = { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-old-space-size=192 --max-semi-space-size=4' };

const alive = new Map<ChildProcess, { group: boolean }>();
// The bench died without stop(): leave nothing behind.
process.once('exit', () => {
  for (const [c, { group }] of alive) {
    try {
      process.kill(group ? -c.pid! : c.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function spawnChild(name: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): Child {
  const log = path.join(logDir, `${name}.log`);
  const out = createWriteStream(log);
  const proc = spawn(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), args, {
    cwd: PROJECT_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  alive.set(proc, { group: true });
  const pid = proc.pid!;
  const tail: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let stderr = 0;
  const head: string[] = [];
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exit = `exited with ${signal ?? `code ${code}`}`;
      alive.delete(proc);
      resolve();
    }),
  );
  const lines = (isErr: boolean) => (b: Buffer) => {
    out.write(b);
    for (const line of b.toString().split('\n').filter(Boolean)) {
      // The SDK's runtime logs INFO lines to stderr at start and stop: not worth a report line.
      if (isErr && !/\[(INFO|DEBUG|TRACE)\]/.test(line) && ++stderr <= 3) head.push(line.slice(0, 300));
      tail.push(line);
      if (tail.length > 30) tail.shift();
      for (const w of watchers) w(line);
    }
  };
  proc.stdout!.on('data', lines(false));
  proc.stderr!.on('data', lines(true));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // the group is gone
    }
  };
  return {
    name,
    pid,
    log,
    stderrLines: () => stderr,
    stderrHead: () => [...head],
    exitedEarly: () => exit,
    waitForLine: (re, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`${name}: not ready within ${timeoutMs / 1000} s; last output:\n${tail.join('\n')}`)),
          timeoutMs,
        );
        const watch = (line: string) => re.test(line) && done();
        const done = (e?: Error) => {
          clearTimeout(timer);
          watchers.delete(watch);
          if (e) reject(e);
          else resolve();
        };
        watchers.add(watch);
        void exited.then(() => done(new Error(`${name} ${exit} before it was ready; last output:\n${tail.join('\n')}`)));
      }),
    async stop() {
      if (exit === undefined) {
        signal('SIGTERM');
        const killer = setTimeout(() => signal('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(killer);
      }
      signal('SIGKILL'); // anything of the group still there
      await new Promise<void>((resolve) => out.end(resolve));
    },
  };
}

/** One process's memory: what was read and how. */
export interface Memory {
  name: string;
  bytes: number;
  how: string;
}

export interface Stack {
  /** A client without Recoup's codec: for the raw workflows. */
  client: Client;
  /** A client with the codec the worker and API run with: for Recoup's cases. */
  caseClient: Client;
  /** Whether the worker and API encrypt payloads (RECOUP_PAYLOAD_ENCRYPTION). */
  encryption: boolean;
  /** The worker's Prometheus endpoint (RECOUP_METRICS_ADDRESS). */
  metricsUrl: string;
  /** The dev server's own Prometheus endpoint, as its banner names it (when it does). */
  serverMetricsUrl: string | undefined;
  maxCachedWorkflows: number | undefined;
  /** Opens a case through the API (202 expected): one missed instalment due yesterday in `timeZone`. */
  intake(accountId: string, timeZone: string, amountMinor: number): Promise<void>;
  /** A signed payment webhook (200 expected); resolves to whether it was applied now. */
  webhook(payment: { paymentId: string; accountId: string; amountMinor: number }): Promise<boolean>;
  /** GET /v1/cases/:accountId. */
  caseView(accountId: string): Promise<CaseView>;
  /** The ledger. */
  sql: Sql;
  /** A request to the API with the bench's admin key. */
  api(path: string, init?: RequestInit): Promise<Response>;
  memory(): Memory[];
  /** CPU seconds so far of each process (with its children). */
  cpu(): Record<string, number>;
  /** Lines each process wrote to stderr, the first few, and its log (kept when there is stderr). */
  stderr(): { name: string; lines: number; head: string[]; log: string }[];
  stop(): Promise<void>;
}

/** The fields of the case view the bench reads. */
interface CaseView {
  stage: string;
  outstandingMinor: number;
  paidMinor?: number;
  payments?: { paymentId: string }[];
}

export async function startStack(opts: { maxCachedWorkflows?: number; encryption?: boolean } = {}): Promise<Stack> {
  const encryption = opts.encryption ?? true;
  // As the engine runs by default: payloads encrypted, here with a key of this run's.
  const codecKey = randomBytes(32).toString('base64');
  const codec = encryption
    ? new EncryptionCodec({ active: 'bench', keys: new Map([['bench', Buffer.from(codecKey, 'base64')]]) })
    : undefined;
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch((e: unknown) => console.error('[bench] stop failed:', e));
  };
  const onSignal = (s: NodeJS.Signals) => {
    console.error(`[bench] ${s}: stopping what the bench started`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  stops.push(async () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  });
  try {
    // What a production worker (NODE_ENV=production) loads from .build/; webpack's report only on a problem.
    await buildWorkflowBundle({ logger: new DefaultLogger('WARN') });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'recoup-bench-'));
    const reaper = startReaper(dir);
    stops.push(async () => reaper.end());
    // The logs stay when a process wrote to stderr (the report says where); the rest goes.
    let keepLogs = () => false;
    stops.push(async () => {
      if (keepLogs()) await rm(path.join(dir, 'temporal'), { recursive: true, force: true });
      else await rm(dir, { recursive: true, force: true });
    });
    let serverMetricsUrl: string | undefined;
    const [tPort, uiPort, pgPort, apiPort, metricsPort] = (await distinctFreePorts(5)) as [number, number, number, number, number];

    const [temporal, db] = await Promise.allSettled([
      startTemporalDevServer({
        cli: toolPaths().temporalCli,
        dataDir: path.join(dir, 'temporal'),
        port: tPort,
        uiPort,
        namespace: 'default',
        // Its banner names the port of its own Prometheus metrics.
        log: (line) => (serverMetricsUrl ??= /Temporal Metrics:\s+(http\S+)/.exec(line)?.[1]),
      }),
      startEmbeddedPostgres({
        dataDir: path.join(PROJECT_ROOT, '.data', `bench-pg-${process.pid}`),
        port: pgPort,
        temporary: true,
        notice: () => undefined,
      }),
    ]);
    if (temporal.status === 'fulfilled') {
      alive.set(temporal.value.process, { group: false });
      stops.push(() => temporal.value.stop().finally(() => alive.delete(temporal.value.process)));
    }
    if (db.status === 'fulfilled') stops.push(() => db.value.stop());
    if (temporal.status === 'rejected') throw temporal.reason;
    if (db.status === 'rejected') throw db.reason;
    const server: DevServer = temporal.value;
    const pg: EmbeddedDb = db.value;
    reaper.stop(server.process.pid!, 'TERM');
    const postmaster = postmasterTree(server, pg)[0];
    if (postmaster) reaper.stop(postmaster, 'INT'); // PostgreSQL's fast shutdown
    reaper.remove(pg.dataDir);

    const sql = connectDb(pg.url, { max: 4 });
    stops.push(() => sql.end({ timeout: 5 }));
    await migrate(sql);
    const apiKey = await createApiKey(sql, 'bench', 'admin');
    const connection = await Connection.connect({ address: server.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const caseClient = new Client({ connection, namespace: 'default', dataConverter: dataConverterFor(codec) });

    const base: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TEMPORAL_|RECOUP_)/.test(k)));
    Object.assign(base, {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      DATABASE_URL: pg.url,
      RECOUP_TASK_QUEUE: CASE_TASK_QUEUE,
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      RECOUP_PAYLOAD_ENCRYPTION: String(encryption),
      ...(encryption ? { RECOUP_CODEC_KEYS: `bench=${codecKey}` } : {}),
    });
    const metricsAddress = `127.0.0.1:${metricsPort}`;
    const cache = opts.maxCachedWorkflows !== undefined ? { RECOUP_MAX_CACHED_WORKFLOWS: String(opts.maxCachedWorkflows) } : {};
    // RECOUP_BENCH_CPU_PROFILE=<dir>: the worker and the API write V8 CPU profiles there (every thread) when they stop.
    const profileDir = process.env.RECOUP_BENCH_CPU_PROFILE;
    const profiled = (name: string, script: string) =>
      profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir, name)}`, script] : [script];
    const children = [
      // As `npm run worker` and the image start it: the main heap bounded, two malloc arenas (docs/operations.md, "Sizing").
      // LOG_LEVEL info for its start-up lines (it logs nothing per task at info); the API stays at error.
      spawnChild(
        'worker',
        profiled('worker', 'worker/main.ts'),
        { ...base, ...WORKER_PROCESS_ENV, LOG_LEVEL: 'info', RECOUP_METRICS_ADDRESS: metricsAddress, ...cache },
        dir,
      ),
      spawnChild(
        'api',
        profiled('api', 'api/main.ts'),
        { ...base, RECOUP_API_PORT: String(apiPort), RECOUP_WEBHOOK_SECRET: WEBHOOK_SECRET, RECOUP_WEBHOOK_RATE_LIMIT: '1000000' },
        dir,
      ),
      spawnChild('raw-worker', ['bench/raw/worker.ts'], { ...base, RAW_TASK_QUEUE, ...cache }, dir),
    ] as const;
    const [worker, api, rawWorker] = children;
    keepLogs = () => children.some((c) => c.stderrLines() > 0);
    for (const c of children) {
      reaper.stop(-c.pid, 'TERM');
      stops.push(() => c.stop());
    }
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await Promise.all([
      worker.waitForLine(/worker polling task queue/, READY_TIMEOUT_MS),
      rawWorker.waitForLine(/raw worker polling/, READY_TIMEOUT_MS),
      untilReady(`${apiUrl}/readyz`, api),
    ]);

    const json = { 'content-type': 'application/json' };
    const auth = { authorization: `Bearer ${apiKey}` };
    const failed = async (what: string, res: Response) => new Error(`${what}: ${res.status} ${(await res.text()).slice(0, 300)}`);
    return {
      client,
      caseClient,
      encryption,
      metricsUrl: `http://${metricsAddress}/metrics`,
      get serverMetricsUrl() {
        return serverMetricsUrl;
      },
      maxCachedWorkflows: opts.maxCachedWorkflows,
      async intake(accountId, timeZone, amountMinor) {
        const res = await fetch(`${apiUrl}/v1/missed-payments`, {
          method: 'POST',
          headers: { ...json, ...auth },
          body: JSON.stringify({
            accountId,
            debtor: { name: '王建国', timeZone, phones: ['+86 138 0000 0000'] },
            dueDate: addDays(localDate(Date.now(), timeZone), -1),
            amountDue: { amountMinor, currency: 'CNY' },
          }),
        });
        if (res.status !== 202) throw await failed('intake', res);
        await res.arrayBuffer();
      },
      async webhook(p) {
        const body = JSON.stringify({ ...p, currency: 'CNY', paidAt: new Date().toISOString() });
        const res = await fetch(`${apiUrl}/v1/webhooks/payments`, {
          method: 'POST',
          headers: { ...json, 'recoup-signature': signBody(WEBHOOK_SECRET, Math.floor(Date.now() / 1000), body) },
          body,
        });
        if (res.status !== 200) throw await failed('webhook', res);
        return ((await res.json()) as { applied: boolean }).applied;
      },
      sql,
      api: (p, init = {}) => fetch(`${apiUrl}${p}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } }),
      async caseView(accountId) {
        const res = await fetch(`${apiUrl}/v1/cases/${encodeURIComponent(accountId)}`, { headers: auth });
        if (res.status !== 200) throw await failed('GET case', res);
        return (await res.json()) as CaseView;
      },
      memory() {
        const pgTree = postmasterTree(server, pg);
        return [
          { name: 'worker', bytes: rssBytes(scriptProcess(worker.pid, 'worker/main.ts')), how: RUN_BY_TSX },
          { name: 'API', bytes: rssBytes(scriptProcess(api.pid, 'api/main.ts')), how: RUN_BY_TSX },
          { name: 'raw worker', bytes: rssBytes(scriptProcess(rawWorker.pid, 'bench/raw/worker.ts')), how: RUN_BY_TSX },
          { name: 'Temporal server', bytes: rssBytes(server.process.pid!), how: 'VmRSS' },
          {
            name: 'PostgreSQL',
            bytes: pgTree.reduce((s, p) => s + pssBytes(p), 0),
            how: `PSS summed over the postmaster and its ${pgTree.length - 1} children (shared buffers counted once)`,
          },
          {
            name: 'tsx launchers',
            bytes: children.reduce((s, c) => s + rssBytes(c.pid), 0),
            how: 'VmRSS of the three tsx processes together',
          },
        ];
      },
      cpu() {
        const tree = (pid: number) => processTree(pid).reduce((s, p) => s + cpuSeconds(p), 0);
        const pgTree = postmasterTree(server, pg);
        return {
          worker: tree(worker.pid),
          API: tree(api.pid),
          'raw worker': tree(rawWorker.pid),
          'Temporal server': cpuSeconds(server.process.pid!),
          PostgreSQL: pgTree.reduce((s, p) => s + cpuSeconds(p), 0),
        };
      },
      stderr: () => children.map((c) => ({ name: c.name, lines: c.stderrLines(), head: c.stderrHead(), log: c.log })),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/**
 * A watchdog for a bench killed outright (SIGKILL, or its terminal closed): a detached bash that waits
 * for this process to end, then stops what it lists (its signal, 5 s, then KILL) and removes what it
 * lists. A clean stop() ends the watchdog first.
 */
function startReaper(dir: string): { stop(pid: number, signal: 'TERM' | 'INT'): void; remove(p: string): void; end(): void } {
  const list = path.join(dir, 'reap.list');
  writeFileSync(list, `rm - ${dir}\n`);
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 2; done',
    'while read -r what sig arg; do [ "$what" = stop ] && kill -s "$sig" -- "$arg" 2>/dev/null; done < "$2"',
    'sleep 5',
    'while read -r what sig arg; do [ "$what" = stop ] && kill -s KILL -- "$arg" 2>/dev/null; done < "$2"',
    'while read -r what sig arg; do [ "$what" = rm ] && rm -rf -- "$arg"; done < "$2"',
  ].join('\n');
  const proc = spawn('bash', ['-c', script, 'recoup-bench-reaper', String(process.pid), list], { detached: true, stdio: 'ignore' });
  proc.unref();
  return {
    stop: (pid, signal) => appendFileSync(list, `stop ${signal} ${pid}\n`),
    remove: (p) => appendFileSync(list, `rm - ${p}\n`),
    end: () => void proc.kill('SIGKILL'),
  };
}

/** The postmaster: the process listening for the embedded cluster, found as the `postgres` child of this process. */
function postmasterTree(server: DevServer, pg: EmbeddedDb): number[] {
  const mine = processTree(process.pid).filter((p) => p !== process.pid && p !== server.process.pid);
  for (const p of mine) {
    try {
      const cmd = readCmdline(p);
      if (cmd.includes('-D') && cmd.includes(pg.dataDir)) return processTree(p);
    } catch {
      // gone
    }
  }
  return [];
}

function readCmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function untilReady(url: string, api: Child): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const exit = api.exitedEarly();
    if (exit) throw new Error(`api ${exit} before it was ready (see ${api.log})`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(250);
  }
  throw new Error(`${url} did not answer 200 within ${READY_TIMEOUT_MS / 1000} s`);
}
