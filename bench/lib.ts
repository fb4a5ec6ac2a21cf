// Small helpers of `npm run bench`: statistics, a concurrency pool, /proc readings, Prometheus scraping.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
export const mb = (n: number) => Math.round(n / 1024 / 1024);
export const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis));

/**
 * A zone (whole-hour offset) where the local hour is now `hour`. A case opened on its first day overdue
 * has a call due that day in the window 09:00–20:00 local: opened at night it waits (intake alone), by
 * day it is placed at once, in the measure's own time (one more activity and workflow task per case).
 * A fixed zone made the intake measure depend on the hour the bench ran.
 */
export function zoneAtLocalHour(hour: number, now = Date.now()): string {
  const utcHour = new Date(now).getUTCHours();
  let offset = (((hour - utcHour) % 24) + 24) % 24; // hours east of UTC, 0..23
  if (offset > 14) offset -= 24; // Etc/GMT zones run from UTC−12 to UTC+14
  if (offset === 0) return 'Etc/UTC';
  return `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`; // POSIX sign: Etc/GMT-8 is UTC+8
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Nearest-rank percentile (q in 0..1): the smallest value with at least q of the values at or below it. */
export function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One batch of operations: wall time, each operation's latency, extra timings an operation recorded, failures. */
export interface Batch {
  n: number;
  wallMs: number;
  lat: number[];
  extra: Record<string, number[]>;
  errors: number;
  firstError?: string;
}

/**
 * Runs op(0..n-1) with at most `concurrency` in flight and times each. A failed operation counts as
 * an error (its latency is not kept); `extra(name, ms)` lets an operation record a second timing.
 */
export async function runBatch(
  n: number,
  concurrency: number,
  op: (i: number, extra: (name: string, millis: number) => void) => Promise<void>,
  onDone?: (done: number, batch: Batch) => void,
): Promise<Batch> {
  const batch: Batch = { n, wallMs: 0, lat: [], extra: {}, errors: 0 };
  const extra = (name: string, millis: number) => (batch.extra[name] ??= []).push(millis);
  let next = 0;
  let done = 0;
  const t0 = process.hrtime.bigint();
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const t = process.hrtime.bigint();
      try {
        await op(i, extra);
        batch.lat.push(ms(t));
      } catch (e) {
        batch.errors += 1;
        batch.firstError ??= oneLine(e);
      }
      done += 1;
      onDone?.(done, batch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  batch.wallMs = ms(t0);
  return batch;
}

const oneLine = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).replace(/\s+/g, ' ').slice(0, 300);

export function machineLine(): string {
  const cpus = os.cpus();
  return (
    `${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${mb(os.totalmem()).toLocaleString('en')} MiB RAM, ` +
    `Node ${process.version}, ${new Date().toISOString()}`
  );
}

// ---- /proc: memory and CPU of the processes the bench started (Linux). -------------------------

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux the bench runs on

/** A process's VmRSS in bytes, or 0 when it is gone. */
export function rssBytes(pid: number): number {
  return statusKb(pid, 'VmRSS') * 1024;
}

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size in bytes (shared pages divided among the processes sharing them), or 0. */
export function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** User + system CPU seconds of a process, with those of its children that have exited and been waited for. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** The process and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/**
 * The process that runs `script` under a `tsx` launcher: the launcher's descendant whose command line
 * names the script (not esbuild's service process); the launcher itself when there is none.
 */
export function scriptProcess(launcher: number, script: string): number {
  for (const p of processTree(launcher).slice(1)) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(script)) return p;
    } catch {
      // gone meanwhile
    }
  }
  return launcher;
}

// ---- Prometheus text format. ------------------------------------------------------------------

/**
 * A scrape: each metric name with the sum of its series over every label set, the counters' names, and
 * the series that carry an `operation` label summed per service and operation (`name/service/operation`: the server's requests).
 */
export interface Metrics {
  values: Map<string, number>;
  counters: Set<string>;
  byOperation: Map<string, number>;
}

export async function scrapeMetrics(url: string): Promise<Metrics | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return undefined;
    return parseMetrics(await res.text());
  } catch {
    return undefined;
  }
}

function parseMetrics(text: string): Metrics {
  const values = new Map<string, number>();
  const counters = new Set<string>();
  const byOperation = new Map<string, number>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      if (type[2] === 'counter') counters.add(type[1]!);
      if (type[2] === 'histogram') counters.add(`${type[1]}_count`);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m || m[1]!.endsWith('_bucket')) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    values.set(m[1]!, (values.get(m[1]!) ?? 0) + v);
    const op = /[{,]operation="([^"]*)"/.exec(m[2] ?? '')?.[1];
    const service = /[{,]service_name="([^"]*)"/.exec(m[2] ?? '')?.[1] ?? '';
    const key = `${m[1]}/${service}/${op}`;
    if (op) byOperation.set(key, (byOperation.get(key) ?? 0) + v);
  }
  return { values, counters, byOperation };
}

/** The first of `names` the scrape has (the SDK's names vary by version: `_seconds` or not). */
export function pick(m: Metrics | undefined, names: string[]): { name: string; value: number } | undefined {
  for (const name of names) {
    const value = m?.values.get(name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** Names of the worker's workflow-task counter, in the order they are looked for. */
export const WORKFLOW_TASKS = ['temporal_workflow_task_execution_latency_count', 'temporal_workflow_task_execution_latency_seconds_count'];
