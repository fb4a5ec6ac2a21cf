// `npm run bench -- --scale N`: N open cases in one time zone, then payments while they are open, then
// the local midnight of that zone with all N in it (the work it causes, from the worker's metrics).
import { addDays, instantOf, localDate } from '../shared/calendar';
import { caseWorkflowId } from '../shared/ids';
import { mb, ms, percentile, pick, runBatch, scrapeMetrics, sleep, WORKFLOW_TASKS, type Batch, type Metrics } from './lib';
import type { Memory, Stack } from './stack';

const OPENING_MINOR = 100_000;
const CONCURRENCY = 16;
const CALIBRATION = 200;
const PAYMENTS = 200;
const PROGRESS_EVERY = 1_000;
const RSS_TARGET_MIB = 512;
const CLOSE_P99_TARGET_MS = 2_000;
const BEFORE_MIDNIGHT_MS = 2 * 60_000;
const IDLE_MS = 30_000;
const SETTLE_MAX_MS = 30 * 60_000;
const MAX_AFTER_MIDNIGHT_MS = 60 * 60_000;
/** Zones whose offsets put a local midnight at every quarter or half hour of UTC, or whole hours (Etc/GMT±N). */
const ZONES = [
  'Etc/UTC',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'America/St_Johns',
  'Australia/Adelaide',
  'Australia/Darwin',
  'Asia/Tehran',
  'Asia/Kabul',
  'Asia/Yangon',
  'Australia/Eucla',
  'Pacific/Chatham',
  'Pacific/Marquesas',
  ...Array.from({ length: 27 }, (_, k) => k - 14)
    .filter((h) => h !== 0)
    .map((h) => `Etc/GMT${h > 0 ? '+' : ''}${h}`),
];

const nextMidnight = (zone: string, after: number) => instantOf(addDays(localDate(after, zone), 1), '00:00', zone);
const clock = (t: number) => new Date(t).toISOString().slice(11, 19) + 'Z';
const mins = (millis: number) => `${(millis / 60_000).toFixed(1)} min`;
const fmtMs = (x: number) => `${Number.isFinite(x) ? x.toFixed(0) : '–'} ms`;
const mark = (ok: boolean) => (ok ? '✓' : '✗');

export async function runScale(stack: Stack, opts: { n: number; midnightWaitMin: number }): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string) => console.log(`[bench] ${line}`);
  const tag = `${process.pid}-${Date.now().toString(36)}`;

  // The worker's memory over the whole run, every 5 s.
  let peakWorker = 0;
  const sampler = setInterval(() => {
    peakWorker = Math.max(peakWorker, stack.memory().find((m) => m.name === 'worker')?.bytes ?? 0);
  }, 5_000);
  try {
    // 1. Calibration, to pick the zone: CALIBRATION cases in the zone whose midnight is farthest off, opened and paid off.
    const now0 = Date.now();
    const far = [...ZONES].sort((a, b) => nextMidnight(b, now0) - nextMidnight(a, now0))[0]!;
    const cal = Array.from({ length: CALIBRATION }, (_, i) => `CAL-${tag}-${i}`);
    const calOpen = await runBatch(cal.length, CONCURRENCY, (i) => stack.intake(cal[i]!, far, OPENING_MINOR));
    const openRate = (calOpen.lat.length / calOpen.wallMs) * 1000;
    const calPay = await payOff(stack, cal, `CALPAY-${tag}`);
    const payRate = (calPay.lat.length / calPay.wallMs) * 1000;
    say(
      `calibration: ${cal.length} cases opened in ${far} at ${openRate.toFixed(1)}/s (${calOpen.errors} errors), ` +
        `paid off and closed at ${payRate.toFixed(1)}/s (${calPay.errors} errors)`,
    );
    if (calOpen.lat.length === 0) throw new Error(`calibration: no case opened (${calOpen.firstError})`);
    // The SDK's histograms appear with their first observation: after the calibration, the worker has run tasks.
    const scraped = await scrapeMetrics(stack.metricsUrl);
    const taskMetric = pick(scraped, WORKFLOW_TASKS)?.name;
    say(
      taskMetric
        ? `worker metrics at ${stack.metricsUrl}: workflow tasks counted by ${taskMetric}`
        : `no workflow-task metric at ${stack.metricsUrl} (${scraped ? 'none of ' + WORKFLOW_TASKS.join(', ') : 'no answer'}): ` +
            "idleness judged by the worker's CPU",
    );

    // 2. The zone: its next midnight after the opening (estimated 1.3 × N at the calibration's rate), the
    //    payments (1.5 × at theirs), a settling minute and the 2 minutes before midnight.
    const openMs = ((opts.n / openRate) * 1000 * 13) / 10;
    const payMs = ((Math.min(PAYMENTS, opts.n) / Math.max(payRate, 0.1)) * 1000 * 3) / 2;
    // The worker may finish the openings after the API has answered them all: allow as long again.
    const paidAt = Date.now() + 2 * openMs + payMs + 60_000;
    const readyAt = paidAt + BEFORE_MIDNIGHT_MS + 60_000;
    const [zone, midnight] = ZONES.map((z) => [z, nextMidnight(z, readyAt - 1)] as const).sort((a, b) => a[1] - b[1])[0]!;
    say(
      `zone ${zone}: next local midnight at ${clock(midnight)}, in ${mins(midnight - Date.now())} ` +
        `(opening estimated ${mins(openMs)}, payments ${mins(payMs)}; then about ${mins(midnight - paidAt)} to wait, ` +
        `--midnight-wait-min ${opts.midnightWaitMin})`,
    );

    // 3. Open N cases there.
    const ids = Array.from({ length: opts.n }, (_, i) => `SCALE-${tag}-${i}`);
    const opened = new Set<string>();
    let shown = 0;
    let chunkStart = Date.now();
    const openStart = Date.now();
    const open = await runBatch(
      ids.length,
      CONCURRENCY,
      async (i) => {
        await stack.intake(ids[i]!, zone, OPENING_MINOR);
        opened.add(ids[i]!);
      },
      (done, b) => {
        if (done % PROGRESS_EVERY !== 0 && done !== ids.length) return;
        const chunk = b.lat.slice(shown);
        say(
          `opened ${done.toLocaleString('en')}/${ids.length.toLocaleString('en')}: ` +
            `${((chunk.length / (Date.now() - chunkStart)) * 1000).toFixed(1)}/s, p99 ${fmtMs(percentile(chunk, 0.99))}, ` +
            `errors ${b.errors}${b.firstError ? ` (${b.firstError})` : ''}, ${mins(Date.now() - openStart)}`,
        );
        shown = b.lat.length;
        chunkStart = Date.now();
      },
    );
    const openedBeforeMidnight = Date.now() < midnight;

    // 4. Memory with N open, once the worker has settled (no workflow task for 10 s, at most 30 min):
    //    the API answers a new case once Temporal has it, so the worker may still be writing the last
    //    thousands of openings; the payments below are measured on open cases that sleep.
    const settleStart = Date.now();
    const settled = await untilIdle(stack, taskMetric, settleStart, 10_000, SETTLE_MAX_MS);
    say(`worker ${settled.idle ? 'idle' : 'still busy'} ${mins(settled.lastWork - settleStart)} after the last case was opened`);
    const memOpen = stack.memory();
    const workerOpen = memOpen.find((m) => m.name === 'worker')?.bytes ?? 0;
    // The worker's own view of its cache (gauges such as temporal_sticky_cache_size).
    const gauges = await scrapeMetrics(stack.metricsUrl);
    const cacheGauges = [...(gauges?.values ?? [])]
      .filter(([name]) => /^temporal_.*cache/.test(name) && !gauges?.counters.has(name))
      .map(([name, v]) => `${name} ${fmtCount(v)}`);
    say(`${opened.size.toLocaleString('en')} open; worker ${mb(workerOpen)} MiB (settled: ${settled.idle ? 'idle' : 'still busy'})`);

    // 5. Full payments on random open cases, each until its workflow has completed.
    const chosen = shuffled([...opened]).slice(0, PAYMENTS);
    const pay = await payOff(stack, chosen, `PAY-${tag}`);
    say(`payments: ${pay.lat.length}/${chosen.length} closed, p99 ${fmtMs(percentile(pay.lat, 0.99))}, errors ${pay.errors}`);

    // 6. The zone's midnight.
    const mid = await measureMidnight(stack, taskMetric, midnight, opts.midnightWaitMin);

    lines.push(
      `Scale: ${opts.n.toLocaleString('en')} cases opened through the API at concurrency ${CONCURRENCY}, all in ${zone} ` +
        `(1 instalment of ${OPENING_MINOR / 100} CNY due yesterday there); worker RSS sampled every 5 s; ` +
        `RECOUP_MAX_CACHED_WORKFLOWS ${stack.maxCachedWorkflows ?? 'unset (the worker’s default)'}`,
    );
    lines.push(
      `  calibration (not counted): ${cal.length} cases in ${far}, opened ${openRate.toFixed(1)}/s and paid off ${payRate.toFixed(1)}/s; ` +
        `closed before the opening`,
    );
    lines.push(
      `  opening: ${open.lat.length.toLocaleString('en')} opened in ${mins(open.wallMs)}, ` +
        `${((open.lat.length / open.wallMs) * 1000).toFixed(1)}/s, ` +
        `p50 ${fmtMs(percentile(open.lat, 0.5))}, p99 ${fmtMs(percentile(open.lat, 0.99))}, ` +
        `errors ${open.errors}${open.firstError ? ` (${open.firstError})` : ''}` +
        (openedBeforeMidnight ? '' : ' — the midnight fell during the opening'),
    );
    lines.push(`  memory with ${opened.size.toLocaleString('en')} open (worker ${settled.idle ? 'idle' : 'still busy after 3 min'}):`);
    lines.push(...memoryLines(memOpen));
    if (cacheGauges.length) lines.push(`    worker metrics: ${cacheGauges.join(', ')}`);
    lines.push(
      `  worker RSS ≤ ${RSS_TARGET_MIB} MiB: ${mb(workerOpen)} MiB with ${opened.size.toLocaleString('en')} open ` +
        `${mark(mb(workerOpen) <= RSS_TARGET_MIB)}, ` +
        `peak over the run ${mb(peakWorker)} MiB ${mark(mb(peakWorker) <= RSS_TARGET_MIB)}`,
    );
    lines.push(
      `  payments: ${chosen.length} full payments (the outstanding read by GET first) ` +
        `at concurrency ${CONCURRENCY} on random open cases, ` +
        `webhook → workflow completed (handle.result()): p50 ${fmtMs(percentile(pay.lat, 0.5))}, ` +
        `p99 ${fmtMs(percentile(pay.lat, 0.99))} ${mark(percentile(pay.lat, 0.99) <= CLOSE_P99_TARGET_MS)} ` +
        `(≤ ${CLOSE_P99_TARGET_MS} ms); ` +
        `webhook alone p50 ${fmtMs(percentile(pay.extra.webhook ?? [], 0.5))}, p99 ${fmtMs(percentile(pay.extra.webhook ?? [], 0.99))}; ` +
        `errors ${pay.errors}${pay.firstError ? ` (${pay.firstError})` : ''}`,
    );
    const errors = open.errors + pay.errors;
    lines.push(`  errors (opening + payments): ${errors} ${mark(errors === 0)}`);
    lines.push(...mid.map((l) => `  ${l}`));
    return lines;
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Pays each case its outstanding (read by GET first, not timed), then waits for its workflow to complete.
 * The batch's latencies are webhook → completed; `extra.webhook` the webhook alone.
 */
async function payOff(stack: Stack, accountIds: string[], paymentPrefix: string): Promise<Batch> {
  const b = await runBatch(accountIds.length, CONCURRENCY, async (i, extra) => {
    const accountId = accountIds[i]!;
    const { outstandingMinor } = await stack.caseView(accountId);
    const t0 = process.hrtime.bigint();
    await stack.webhook({ paymentId: `${paymentPrefix}-${i}`, accountId, amountMinor: outstandingMinor });
    extra('webhook', ms(t0));
    await stack.caseClient.workflow.getHandle(caseWorkflowId(accountId)).result();
    extra('closed', ms(t0));
  });
  return { ...b, lat: b.extra.closed ?? [] };
}

/** A uniformly random order (Fisher–Yates). */
function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function memoryLines(mem: Memory[]): string[] {
  return mem.map((m) => `    ${m.name.padEnd(16)} ${String(mb(m.bytes)).padStart(6)} MiB  (${m.how})`);
}

/** Workflow tasks so far (from the worker's metrics), or the worker's CPU seconds when there are none. */
async function work(stack: Stack, taskMetric: string | undefined): Promise<{ value: number; metrics?: Metrics }> {
  if (taskMetric) {
    const m = await scrapeMetrics(stack.metricsUrl);
    if (m) return { value: m.values.get(taskMetric) ?? 0, metrics: m };
  }
  return { value: stack.cpu().worker ?? 0 };
}

/**
 * Waits until no new workflow task (or, without metrics, less than 0.1 s of worker CPU per poll) for
 * `quietMs`, counting from `from`; at most `maxMs`. Returns when the last task was seen.
 */
async function untilIdle(
  stack: Stack,
  taskMetric: string | undefined,
  from: number,
  quietMs: number,
  maxMs: number,
): Promise<{ idle: boolean; lastWork: number; last?: Metrics }> {
  let prev = await work(stack, taskMetric);
  let lastWork = from;
  const threshold = taskMetric ? 0 : 0.1;
  while (Date.now() - from < maxMs) {
    await sleep(2_000);
    const cur = await work(stack, taskMetric);
    if (cur.value - prev.value > threshold) lastWork = Date.now();
    prev = cur;
    if (Date.now() - lastWork >= quietMs) return { idle: true, lastWork, ...(cur.metrics ? { last: cur.metrics } : {}) };
  }
  return { idle: false, lastWork, ...(prev.metrics ? { last: prev.metrics } : {}) };
}

async function measureMidnight(stack: Stack, taskMetric: string | undefined, midnight: number, waitMin: number): Promise<string[]> {
  const head = `local midnight at ${clock(midnight)}`;
  const now = Date.now();
  if (now >= midnight) return [`${head}: passed before the payments ended (${mins(now - midnight)} ago): not measured`];
  if (midnight - now > waitMin * 60_000) {
    return [`${head}: ${mins(midnight - now)} away, more than --midnight-wait-min ${waitMin}: not measured`];
  }
  console.log(`[bench] waiting ${mins(midnight - now)} for the ${head}`);
  const baselineLate = now > midnight - BEFORE_MIDNIGHT_MS;
  if (!baselineLate) await sleep(midnight - BEFORE_MIDNIGHT_MS - now);
  const server = async () => (stack.serverMetricsUrl ? await scrapeMetrics(stack.serverMetricsUrl) : undefined);
  const t0 = Date.now();
  const [m0, s0] = [await scrapeMetrics(stack.metricsUrl), await server()];
  const cpu0 = stack.cpu();
  await sleep(Math.max(0, midnight - Date.now()));
  const [mMid, sMid] = [await scrapeMetrics(stack.metricsUrl), await server()];
  const idle = await untilIdle(stack, taskMetric, midnight, IDLE_MS, MAX_AFTER_MIDNIGHT_MS);
  const tEnd = Date.now();
  const m1 = idle.last ?? (await scrapeMetrics(stack.metricsUrl));
  const s1 = await server();
  const cpu1 = stack.cpu();

  const lines = [
    `${head}: from ${clock(t0)} (${mins(midnight - t0)} before${baselineLate ? ', later than the 2 min asked' : ''}) ` +
      `to ${clock(tEnd)}; ` +
      (idle.idle ? `idle (no workflow task for ${IDLE_MS / 1000} s)` : `still busy after ${mins(MAX_AFTER_MIDNIGHT_MS)}`),
    idle.lastWork > midnight
      ? `  wall time from midnight to the last workflow task: ${((idle.lastWork - midnight) / 1000).toFixed(0)} s ` +
        `(polled every 2 s${taskMetric ? '' : '; judged by the worker’s CPU: no metrics'})`
      : `  no workflow task after midnight${taskMetric ? '' : ' (judged by the worker’s CPU: no metrics)'}`,
  ];
  if (m0 && m1) {
    const d = (names: string[]) => {
      const p = pick(m1, names);
      return p ? `${fmtCount(p.value - (m0.values.get(p.name) ?? 0))} (${p.name})` : '– (no such metric yet)';
    };
    lines.push(
      `  over the window: workflow tasks ${d(WORKFLOW_TASKS)}, activities ${d(ACTIVITIES)}, local activities ${d(LOCAL_ACTIVITIES)}`,
    );
  }
  if (m0 && m1) {
    lines.push(`  worker metrics (Prometheus, summed over labels): Δ before midnight (${mins(midnight - t0)}) | Δ whole window`);
    const names = [...m1.counters].filter((n) => n.startsWith('temporal_') && m1.values.has(n)).sort();
    for (const name of names) {
      const whole = (m1.values.get(name) ?? 0) - (m0.values.get(name) ?? 0);
      const before = (mMid?.values.get(name) ?? 0) - (m0.values.get(name) ?? 0);
      if (whole !== 0) lines.push(`    ${name.padEnd(60)} ${fmtCount(before).padStart(10)} | ${fmtCount(whole).padStart(10)}`);
    }
  } else {
    lines.push(`  no worker metrics at ${stack.metricsUrl}: tasks and activities not counted`);
  }
  if (!s0 || !s1) lines.push(`  no Temporal server metrics (${stack.serverMetricsUrl ?? 'its banner named none'})`);
  if (s0 && s1) {
    lines.push(`  Temporal server, frontend requests by operation (${stack.serverMetricsUrl}): Δ before midnight | Δ whole window`);
    const ops = [...s1.byOperation.keys()].filter((k) => k.startsWith('service_requests/frontend/'));
    const delta = (m: Metrics | undefined, k: string) => (s1.byOperation.get(k) ?? 0) - (m?.byOperation.get(k) ?? 0);
    for (const k of ops.filter((k) => delta(s0, k) !== 0).sort((a, b) => delta(s0, b) - delta(s0, a))) {
      const before = delta(s0, k) - delta(sMid, k);
      const op = k.slice('service_requests/frontend/'.length);
      lines.push(`    ${op.padEnd(60)} ${fmtCount(before).padStart(10)} | ${fmtCount(delta(s0, k)).padStart(10)}`);
    }
  }
  lines.push(
    `  CPU seconds over the window: ${Object.entries(cpu1)
      .map(([k, v]) => `${k} ${(v - (cpu0[k] ?? 0)).toFixed(1)}`)
      .join(', ')}`,
  );
  return lines;
}

const ACTIVITIES = ['temporal_activity_execution_latency_count', 'temporal_activity_execution_latency_seconds_count'];
const LOCAL_ACTIVITIES = [
  'temporal_local_activity_execution_latency_count',
  'temporal_local_activity_execution_latency_seconds_count',
  'temporal_local_activity_total',
];
const fmtCount = (x: number) => (Number.isInteger(x) ? x.toLocaleString('en') : x.toFixed(3));
