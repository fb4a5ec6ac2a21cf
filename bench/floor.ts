// Section 3 of `npm run bench`: Recoup against the raw Temporal floor, on the same servers in the same
// run, interleaved measure by measure and round by round so that noise hits both.
import { WithStartWorkflowOperation } from '@temporalio/client';
import { DEFAULT_MAX_CACHED_WORKFLOWS } from '../shared/config';
import { median, percentile, runBatch, sleep, zoneAtLocalHour, type Batch } from './lib';
import { rawCase, rawEmpty, rawOpen, rawPaidQuery, rawPay, rawPayIndexed, rawPayLedgered, rawPaySignal } from './raw/workflows';
import { RAW_TASK_QUEUE, type Stack } from './stack';

const OPENING_MINOR = 100_000; // 1,000.00 CNY
/** A partial payment: the cases (Recoup's and raw) stay open, so every round pays cases of the same shape. */
const PARTIAL_MINOR = 10_000;
const VISIBLE_TIMEOUT_MS = 60_000;

type Key =
  'rawStart' | 'rawUws' | 'intake' | 'intakeDay' | 'rawSignalQuery' | 'rawUpdate' | 'rawUpdateSa' | 'rawUpdateLa' | 'visible' | 'webhook';
const MEASURES: { key: Key; label: string }[] = [
  { key: 'rawStart', label: 'raw workflow.start of an empty workflow' },
  { key: 'rawUws', label: 'raw update-with-start (USE_EXISTING)' },
  { key: 'intake', label: 'Recoup intake: POST /v1/missed-payments → 202' },
  { key: 'intakeDay', label: '  same, its first call placed at once (in its window)' },
  { key: 'rawSignalQuery', label: 'raw signal, then query until the value is visible' },
  { key: 'rawUpdate', label: 'raw update' },
  { key: 'rawUpdateSa', label: 'raw update that upserts a search attribute' },
  { key: 'rawUpdateLa', label: 'raw update that first writes a PG row (local activity)' },
  { key: 'visible', label: 'Recoup webhook → GET /v1/cases/:id shows the payment' },
  { key: 'webhook', label: '  of which the signed webhook alone → 200' },
];
const CONCURRENCY = [1, 16] as const;
type C = (typeof CONCURRENCY)[number];

interface Stat {
  thr: number;
  p50: number;
  p99: number;
  errors: number;
  firstError?: string;
}
type Round = Record<C, Partial<Record<Key, Stat>>>;

const stat = (b: Batch, lat = b.lat): Stat => ({
  thr: (b.lat.length / b.wallMs) * 1000,
  p50: percentile(lat, 0.5),
  p99: percentile(lat, 0.99),
  errors: b.errors,
  ...(b.firstError ? { firstError: b.firstError } : {}),
});

export interface FloorResult {
  lines: string[];
  /** Failed operations over every measure and round. */
  errors: number;
}

export async function measureFloor(stack: Stack, opts: { n1: number; n16: number; rounds: number }): Promise<FloorResult> {
  const { client } = stack;
  // 02:00 and 13:00 local, far enough from 09:00 and 20:00 that a run of a few hours keeps to its side.
  const nightZone = zoneAtLocalHour(2);
  const dayZone = zoneAtLocalHour(13);
  console.log(`[bench] intake zones: ${nightZone} (02:00 local now: the first call waits) and ${dayZone} (13:00: placed at once)`);
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const rounds: Round[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const round: Round = { 1: {}, 16: {} };
    for (const c of CONCURRENCY) {
      const n = c === 1 ? opts.n1 : opts.n16;
      const id = (kind: string, i: number) => `${kind}-${tag}-r${r}-c${c}-${i}`;
      const put = (key: Key, s: Stat) => {
        round[c][key] = s;
        const err = s.errors ? `, ${s.errors} errors (${s.firstError})` : '';
        const thr = Number.isFinite(s.thr) ? `${s.thr.toFixed(1)}/s` : '';
        console.log(
          `[bench] round ${r + 1}/${opts.rounds} c${c} ${key.padEnd(15)} ${thr.padStart(9)}` +
            `  p50 ${s.p50.toFixed(0).padStart(5)} ms  p99 ${s.p99.toFixed(0).padStart(5)} ms${err}; CPU ms/op: ${cpuNote}${windowNote}`,
        );
      };

      // Each measure starts on a quiet stack: work a measure left running (cases opened by a start
      // that does not wait for the worker, raw or Recoup's) counts against the measure that caused it.
      // The CPU each process spent on the measure (until settled), per operation, goes in the log line.
      let cpuNote = '';
      let windowNote = '';
      const quiet = async <T extends Batch>(run: Promise<T>): Promise<T> => {
        const before = stack.cpu(); // run has not yet left this tick: nothing is spent on it
        const t0 = process.hrtime.bigint();
        const r = await run;
        await settle(stack);
        // With RECOUP_BENCH_CPU_PROFILE: the measure's window on the monotonic clock the profiles' timestamps use (µs).
        windowNote = process.env.RECOUP_BENCH_CPU_PROFILE ? `; window µs ${t0 / 1000n}–${process.hrtime.bigint() / 1000n}` : '';
        const after = stack.cpu();
        const perOp = (k: string) => (((after[k] ?? 0) - (before[k] ?? 0)) * 1000) / Math.max(1, r.lat.length);
        cpuNote = Object.keys(after)
          .map((k) => `${k} ${perOp(k).toFixed(1)}`)
          .join(', ');
        return r;
      };
      put(
        'rawStart',
        stat(
          await quiet(
            runBatch(
              n,
              c,
              async (i) => void (await client.workflow.start(rawEmpty, { workflowId: id('RAWE', i), taskQueue: RAW_TASK_QUEUE })),
            ),
          ),
        ),
      );
      put(
        'rawUws',
        stat(
          await quiet(
            runBatch(n, c, async (i) => {
              const startWorkflowOperation = new WithStartWorkflowOperation(rawCase, {
                workflowId: id('RAWC', i),
                taskQueue: RAW_TASK_QUEUE,
                workflowIdConflictPolicy: 'USE_EXISTING',
              });
              await client.workflow.executeUpdateWithStart(rawOpen, { args: [OPENING_MINOR], startWorkflowOperation });
            }),
          ),
        ),
      );
      put('intake', stat(await quiet(runBatch(n, c, (i) => stack.intake(id('BENCH', i), nightZone, OPENING_MINOR)))));
      put('intakeDay', stat(await quiet(runBatch(n, c, (i) => stack.intake(id('BENCHD', i), dayZone, OPENING_MINOR)))));
      put(
        'rawSignalQuery',
        stat(
          await quiet(
            runBatch(n, c, async (i) => {
              const handle = client.workflow.getHandle(id('RAWC', i));
              await handle.signal(rawPaySignal, PARTIAL_MINOR);
              await until(async () => (await handle.query(rawPaidQuery)) >= PARTIAL_MINOR);
            }),
          ),
        ),
      );
      put(
        'rawUpdate',
        stat(
          await quiet(
            runBatch(
              n,
              c,
              async (i) => void (await client.workflow.getHandle(id('RAWC', i)).executeUpdate(rawPay, { args: [PARTIAL_MINOR] })),
            ),
          ),
        ),
      );
      put(
        'rawUpdateSa',
        stat(
          await quiet(
            runBatch(
              n,
              c,
              async (i) => void (await client.workflow.getHandle(id('RAWC', i)).executeUpdate(rawPayIndexed, { args: [PARTIAL_MINOR] })),
            ),
          ),
        ),
      );
      put(
        'rawUpdateLa',
        stat(
          await quiet(
            runBatch(
              n,
              c,
              async (i) =>
                void (await client.workflow
                  .getHandle(id('RAWC', i))
                  .executeUpdate(rawPayLedgered, { args: [id('RAWPAY', i), PARTIAL_MINOR] })),
            ),
          ),
        ),
      );
      const paid = await quiet(
        runBatch(n, c, async (i, extra) => {
          const accountId = id('BENCH', i);
          const paymentId = id('PAY', i);
          const t0 = process.hrtime.bigint();
          const applied = await stack.webhook({ paymentId, accountId, amountMinor: PARTIAL_MINOR });
          extra('webhook', Number(process.hrtime.bigint() - t0) / 1e6);
          if (!applied) throw new Error(`payment ${paymentId} was not applied`);
          await until(async () => ((await stack.caseView(accountId)).payments ?? []).some((p) => p.paymentId === paymentId));
        }),
      );
      put('visible', stat(paid));
      put('webhook', { ...stat(paid, paid.extra.webhook ?? []), thr: NaN });
    }
    rounds.push(round);
  }
  return report(rounds, { ...opts, nightZone, dayZone, maxCached: stack.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS });
}

/**
 * Waits until the workers and the server have finished what the last measure set going: their CPU
 * stays under 10 % of a core for 0.5 s (at most 60 s).
 */
async function settle(stack: Stack): Promise<void> {
  const busy = (a: Record<string, number>, b: Record<string, number>) =>
    ['worker', 'raw worker', 'Temporal server'].some((k) => (b[k] ?? 0) - (a[k] ?? 0) > 0.05);
  const deadline = Date.now() + 60_000;
  let before = stack.cpu();
  while (Date.now() < deadline) {
    await sleep(500);
    const now = stack.cpu();
    if (!busy(before, now)) return;
    before = now;
  }
}

/** Polls `visible` (at once, then every 10 ms) until it holds. */
async function until(visible: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + VISIBLE_TIMEOUT_MS;
  while (!(await visible())) {
    if (Date.now() > deadline) throw new Error(`not visible within ${VISIBLE_TIMEOUT_MS / 1000} s`);
    await sleep(10);
  }
}

function report(
  rounds: Round[],
  opts: { n1: number; n16: number; rounds: number; nightZone: string; dayZone: string; maxCached: number },
): FloorResult {
  const lines: string[] = [];
  const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
  const med = (c: C, key: Key, f: keyof Omit<Stat, 'firstError'>) => median(rounds.map((r) => r[c][key]?.[f] ?? NaN));
  lines.push(
    `Recoup vs the raw Temporal floor: ${opts.rounds} round(s), N = ${opts.n1} at concurrency 1 and ${opts.n16} at 16, ` +
      `medians over rounds (throughput = completed ÷ wall time; latency per operation; nearest-rank p99)`,
  );
  lines.push(`Payments are partial (${PARTIAL_MINOR / 100} of ${OPENING_MINOR / 100} CNY): the cases stay open.`);
  lines.push(
    `Recoup's worker caches ${opts.maxCached} cases (RECOUP_MAX_CACHED_WORKFLOWS, --max-cached); a round opens ` +
      `${2 * (opts.n1 + opts.n16)} and then pays ${opts.n1 + opts.n16} of them: past the cache, a payment replays its case first.`,
  );
  lines.push(
    `Intake: cases on their first day overdue, in ${opts.nightZone} (02:00 local: the day's call waits for 09:00; the cases paid below) ` +
      `and in ${opts.dayZone} (13:00: the call is placed at once, its activity and workflow task inside the measure).`,
  );
  lines.push(`  ${'measure'.padEnd(56)} ${'c'.padStart(3)} ${'ops/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} errors`);
  let errors = 0;
  for (const m of MEASURES) {
    for (const c of CONCURRENCY) {
      const errs = rounds.reduce((s, r) => s + (r[c][m.key]?.errors ?? 0), 0);
      if (m.key !== 'webhook') errors += errs;
      const first = rounds.map((r) => r[c][m.key]?.firstError).find(Boolean);
      lines.push(
        `  ${m.label.padEnd(56)} ${String(c).padStart(3)} ${fmt(med(c, m.key, 'thr'), 1).padStart(8)} ` +
          `${fmt(med(c, m.key, 'p50')).padStart(8)} ${fmt(med(c, m.key, 'p99')).padStart(8)} ${errs}${first ? ` (${first})` : ''}`,
      );
    }
  }

  // Each round's ratio (raw and Recoup measured moments apart), then the median over rounds.
  const ratio = (c: C, a: Key, af: 'thr' | 'p99', b: Key, bf: 'thr' | 'p99') =>
    median(rounds.map((r) => (r[c][a]?.[af] ?? NaN) / (r[c][b]?.[bf] ?? NaN)));
  const RATIOS: { label: string; a: Key; b: Key; f: 'thr' | 'p99'; target?: { c: readonly C[]; op: '≥' | '≤'; value: number } }[] = [
    { label: 'intake/s ÷ raw update-with-start/s', a: 'intake', b: 'rawUws', f: 'thr', target: { c: [16], op: '≥', value: 0.8 } },
    { label: 'intake/s ÷ raw empty start/s', a: 'intake', b: 'rawStart', f: 'thr', target: { c: [16], op: '≥', value: 0.5 } },
    { label: 'intake with its first call ÷ raw update-with-start', a: 'intakeDay', b: 'rawUws', f: 'thr' },
    { label: 'intake with its first call ÷ raw empty start', a: 'intakeDay', b: 'rawStart', f: 'thr' },
    {
      label: 'webhook → visible p99 ÷ raw update p99',
      a: 'visible',
      b: 'rawUpdate',
      f: 'p99',
      target: { c: [1, 16], op: '≤', value: 1.5 },
    },
    { label: 'webhook → visible p99 ÷ raw signal + query p99', a: 'visible', b: 'rawSignalQuery', f: 'p99' },
    { label: 'webhook alone p99 ÷ raw update p99', a: 'webhook', b: 'rawUpdate', f: 'p99' },
    { label: 'raw update with a search attribute p99 ÷ raw update p99', a: 'rawUpdateSa', b: 'rawUpdate', f: 'p99' },
    { label: 'webhook → visible p99 ÷ raw update with a search attribute p99', a: 'visible', b: 'rawUpdateSa', f: 'p99' },
    { label: 'webhook → visible p99 ÷ raw update with a PG row first p99', a: 'visible', b: 'rawUpdateLa', f: 'p99' },
    { label: 'webhook alone p99 ÷ raw update with a PG row first p99', a: 'webhook', b: 'rawUpdateLa', f: 'p99' },
    { label: 'raw update with a PG row first p99 ÷ raw update p99', a: 'rawUpdateLa', b: 'rawUpdate', f: 'p99' },
  ];
  lines.push('Ratios (each round’s ratio, median over rounds); ✓/✗ against the acceptance target (issue 10):');
  lines.push(`  ${''.padEnd(56)} ${'c1'.padStart(14)} ${'c16'.padStart(14)}   target`);
  for (const q of RATIOS) {
    const cell = (c: C) => {
      const v = ratio(c, q.a, q.f, q.b, q.f);
      const t = q.target;
      const mark = !t || !t.c.includes(c) ? '  ' : (t.op === '≥' ? v >= t.value : v <= t.value) ? ' ✓' : ' ✗';
      return `${fmt(v, 2)}${mark}`.padStart(14);
    };
    const target = q.target ? `${q.target.op} ${q.target.value} at c${q.target.c.join(' and c')}` : '–';
    lines.push(`  ${q.label.padEnd(56)} ${cell(1)} ${cell(16)}   ${target}`);
  }
  return { lines, errors };
}
