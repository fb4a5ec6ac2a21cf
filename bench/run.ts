// npm run bench: how fast Recoup's own parts are, on this machine, against real servers.
// Medians over repeated runs; nothing here is asserted (speed is measured, not tested), except that
// section 3 marks the acceptance targets of issue 10 with ✓/✗, section 6 that of issue 14.
//
//   npm run bench                                   sections 1–6; section 3 = Recoup vs the raw Temporal floor
//   npm run bench -- --n 50 --rounds 1              a quick section 3 (N at concurrency 1, 2N at 16)
//   npm run bench -- --scale 20000                  section 3 = the scale run (N open cases, payments, a midnight)
//   options: --sections 1,2,3,4,5,6 (5 = a 120-day ladder under time skipping, --ladder-cases 10;
//            6 = the portfolio figures over a ledger of --figure-cases 100000 seeded by SQL, about 1 min;
//            7 = the portfolio import: a CSV of --import-rows 5000 through POST /v1/imports, --rounds times)
//            --max-cached <RECOUP_MAX_CACHED_WORKFLOWS>  --midnight-wait-min 40 (scale)
//   RECOUP_BENCH_CPU_PROFILE=<dir>: the worker and the API write V8 CPU profiles (every thread) under <dir> when they stop
import { defaultPayloadConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderDocument } from '../activities/documents/render';
import { startEmbeddedPostgres } from '../db/embedded';
import { connectDb } from '../db/index';
import { PROJECT_ROOT, toolPaths } from '../dev/tools';
import { EncryptionCodec } from '../shared/codec';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';
import { newCaseState, nextAction } from '../workflows/core/case-core';
import { buildWorkflowBundle } from '../worker/bundle';
import { createCaseWorker } from '../worker/worker';
import { freePort } from '../test/ports';
import { measureFigures } from './figures';
import { measureFloor } from './floor';
import { measureImports } from './imports';
import { measureLadder } from './ladder';
import { machineLine, mb, median, ms } from './lib';
import { runScale } from './scale';
import { startStack, type Stack } from './stack';

const USAGE =
  'usage: npm run bench -- [--n 200] [--rounds 3] [--scale N [--midnight-wait-min 40]] [--max-cached N] ' +
  '[--sections 1,2,3,4,5,6,7] [--ladder-cases 10] [--figure-cases 100000] [--import-rows 5000] [--encryption on|off]';
const { values: argv } = (() => {
  try {
    return parseArgs({
      options: {
        n: { type: 'string' },
        rounds: { type: 'string' },
        scale: { type: 'string' },
        'midnight-wait-min': { type: 'string' },
        'max-cached': { type: 'string' },
        sections: { type: 'string' },
        'ladder-cases': { type: 'string' },
        'figure-cases': { type: 'string' },
        'import-rows': { type: 'string' },
        encryption: { type: 'string' },
      },
      strict: true,
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
const whole = (name: string, value: string | undefined, fallback: number, min = 1): number => {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!Number.isInteger(x) || x < min) {
    console.error(`--${name} must be a whole number ≥ ${min}, got ${value}\n${USAGE}`);
    process.exit(2);
  }
  return x;
};
const scale = argv.scale === undefined ? undefined : whole('scale', argv.scale, 0);
const n1 = whole('n', argv.n, 200);
const rounds = whole('rounds', argv.rounds, 3);
const midnightWaitMin = whole('midnight-wait-min', argv['midnight-wait-min'], 40, 0);
const ladderCases = whole('ladder-cases', argv['ladder-cases'], 10);
const figureCases = whole('figure-cases', argv['figure-cases'], 100_000);
const importRows = whole('import-rows', argv['import-rows'], 5_000);
if (argv.encryption !== undefined && !['on', 'off'].includes(argv.encryption)) {
  console.error(`--encryption must be on or off, got ${argv.encryption}\n${USAGE}`);
  process.exit(2);
}
const encryption = argv.encryption !== 'off';
const maxCached = argv['max-cached'] === undefined ? undefined : whole('max-cached', argv['max-cached'], 0, 0);
// In scale mode, section 3 is the scale run and the others run only when asked for.
const sections = new Set((argv.sections ?? (scale ? '3' : '1,2,3,4,5,6,7')).split(',').map((x) => Number(x.trim())));

Runtime.install({ logger: new DefaultLogger('ERROR') });
const results: Record<string, string> = {};
const report: string[] = [];

// 1. The decision core: what is due next, for a case on day 40 of the ladder.
if (sections.has(1)) {
  const input = {
    accountId: 'B-1',
    debtor: { name: 'x', timeZone: 'Asia/Shanghai', phones: [], jurisdiction: 'CN' as const },
    guarantors: [{ id: 'G', name: 'g', phones: [] }],
    currency: 'CNY',
    firstMissed: { dueDate: '2026-01-01', amountMinor: 1_000_000, currency: 'CNY' },
    playbook: DEFAULT_PLAYBOOK,
  };
  const state = newCaseState(input, Date.parse('2026-01-02T01:00:00Z'), 'Case:B-1/run-1');
  const at = Date.parse('2026-02-10T03:00:00Z');
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 2_000; i++) nextAction(state, DEFAULT_PLAYBOOK, at + i);
    runs.push((ms(t0) * 1000) / 2_000);
  }
  results['decision core: nextAction (median of 7 × 2,000)'] = `${median(runs).toFixed(1)} µs`;

  // The payload codec on what a case sends most: its state (a query answer) and its input.
  const codec = new EncryptionCodec({ active: 'bench', keys: new Map([['bench', randomBytes(32)]]) });
  for (const [what, value] of [
    ['a case input', input],
    ['a case state', state],
  ] as const) {
    const payload = defaultPayloadConverter.toPayload(value);
    const sizes: number[] = [];
    const times: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 500; i++) {
        const [enc] = await codec.encode([payload]);
        sizes[0] = enc!.data!.length;
        await codec.decode([enc!]);
      }
      times.push((ms(t0) * 1000) / 500);
    }
    results[`payload codec: encode + decode of ${what} (${payload.data!.length} → ${sizes[0]} bytes; median of 7 × 500)`] =
      `${median(times).toFixed(0)} µs`;
  }
}

// 2. A letter: the overdue notice in Chinese, rendered to PDF.
if (sections.has(2)) {
  const data = {
    kind: 'overdue-notice' as const,
    language: 'zh-CN' as const,
    reference: 'ON-000001-D7',
    issuedOn: '2026-11-28',
    creditor: { name: '示范小额贷款有限公司' },
    debtor: { name: '王建国', idNumber: '110108199001011234', address: '北京市海淀区中关村大街1号' },
    accountId: 'ML-1',
    currency: 'CNY',
    dueDate: '2026-11-20',
    daysOverdue: 8,
    amounts: { principalMinor: 1_250_000, penaltyMinor: 4_375, feesMinor: 0, totalMinor: 1_254_375 },
  };
  const rss0 = process.memoryUsage().rss;
  const first = process.hrtime.bigint();
  await renderDocument(data);
  const firstMs = ms(first);
  const runs: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = process.hrtime.bigint();
    await renderDocument(data);
    runs.push(ms(t0));
  }
  results['PDF overdue notice zh-CN: first render (loads the CJK font)'] = `${firstMs.toFixed(0)} ms`;
  results['PDF overdue notice zh-CN: render (median of 15)'] = `${median(runs).toFixed(0)} ms`;
  results['PDF renderer: resident memory added'] = `${mb(process.memoryUsage().rss - rss0)} MB`;
}

// 3. The API and the worker in their own processes on a Temporal dev server and PostgreSQL, against the
//    raw Temporal floor measured on the same servers in the same run (bench/floor.ts); or, with --scale N,
//    N open cases, payments among them and the local midnight of their zone (bench/scale.ts).
if (sections.has(3)) {
  const stack: Stack = await startStack({ encryption, ...(maxCached === undefined ? {} : { maxCachedWorkflows: maxCached }) });
  report.push(`Payloads ${encryption ? 'encrypted (the default; --encryption off to compare)' : 'in clear (--encryption off)'}`);
  try {
    const cpu0 = stack.cpu();
    let errors = 0;
    if (scale) {
      report.push(...(await runScale(stack, { n: scale, midnightWaitMin })));
    } else {
      const floor = await measureFloor(stack, { n1, n16: 2 * n1, rounds });
      report.push(...floor.lines);
      errors = floor.errors;
    }
    const cpu1 = stack.cpu();
    report.push(`Processes at the end${scale ? '' : ' of the rounds'} (memory; CPU seconds used since the servers were up):`);
    for (const m of stack.memory()) {
      const cpu = cpu1[m.name] === undefined ? '' : `, CPU ${(cpu1[m.name]! - (cpu0[m.name] ?? 0)).toFixed(0)} s`;
      report.push(`  ${m.name.padEnd(16)} ${String(mb(m.bytes)).padStart(6)} MiB${cpu}  (${m.how})`);
    }
    const noisy = stack.stderr().filter((c) => c.lines > 0);
    if (noisy.length === 0) report.push('stderr: nothing from the worker, the API or the raw worker');
    for (const c of noisy) report.push(`stderr of the ${c.name}: ${c.lines} lines (kept in ${c.log}); first: ${c.head.join(' | ')}`);
    if (errors) report.push(`${errors} operations failed: see the errors column`);
  } finally {
    await stack.stop();
  }
}

// 4. Worker start-up: Worker.create until the worker is ready to poll, with the pre-built workflow bundle
//    (what a production worker loads from .build/) and bundling workflows/ at start. Alternated, median of 3 each.
if (sections.has(4)) {
  await buildWorkflowBundle();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: toolPaths().temporalCli }, ip: '127.0.0.1' },
  });
  const native = await NativeConnection.connect({ address: env.address });
  // No activity runs here: the pool never opens a connection.
  const sql = connectDb('postgres://bench@127.0.0.1:1/unused', { max: 1 });
  const startUp = async (cachedBundle: boolean) => {
    const t0 = process.hrtime.bigint();
    const worker = await createCaseWorker({
      connection: native,
      namespace: 'default',
      taskQueue: `bench-startup-${cachedBundle}`,
      sql,
      cachedBundle,
    });
    const took = ms(t0);
    const running = worker.run();
    worker.shutdown();
    await running;
    return took;
  };
  const prebuilt: number[] = [];
  const bundling: number[] = [];
  for (let i = 0; i < 3; i++) {
    prebuilt.push(await startUp(true));
    bundling.push(await startUp(false));
  }
  results['worker start-up (Worker.create until ready), pre-built bundle from .build/: median of 3'] = `${median(prebuilt).toFixed(0)} ms`;
  results['worker start-up (Worker.create until ready), bundling workflows/ at start: median of 3'] =
    `${median(bundling).toFixed(0)} ms (×${(median(bundling) / median(prebuilt)).toFixed(1)})`;
  await sql.end();
  await native.close();
  await env.teardown();
}

// 5. A 120-day ladder under time skipping: never-paying cases (default playbook, a guarantor) run the real
//    case workflow on the time-skipping test server with recording activities (bench/ladder.ts).
if (sections.has(5)) {
  const r = await measureLadder({ cases: ladderCases, days: 120 });
  const perCase = r.wallMs / r.cases;
  results[`120-day ladder, ${r.cases} cases at once on the time-skipping server: wall per case`] =
    `${perCase.toFixed(0)} ms (${(r.wallMs / 1000).toFixed(1)} s in all)${perCase <= 1000 ? ' ✓' : ' ✗'} target ≤ 1,000 ms`;
  results['120-day ladder: CPU per case (the worker in this process; the test server)'] =
    `worker ${((r.cpu.worker * 1000) / r.cases).toFixed(0)} ms, test server ${((r.cpu.server * 1000) / r.cases).toFixed(0)} ms`;
  results['120-day ladder: history events of one case (workflow tasks)'] =
    `${r.events} (${r.workflowTasks})${r.events <= 1000 ? ' ✓' : ' ✗'} target ≤ 1,000`;
  results['120-day ladder: events by type'] = Object.entries(r.byType)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

// 6. The portfolio's figures (issue 14) over a ledger of N cases seeded by SQL, in a scratch database of an
//    embedded PostgreSQL of its own (bench/figures.ts): target under 2 s each.
if (sections.has(6)) {
  const t0 = process.hrtime.bigint();
  const pg = await startEmbeddedPostgres({
    dataDir: path.join(PROJECT_ROOT, '.data', `bench-figures-pg-${process.pid}`),
    port: await freePort(),
    temporary: true,
    notice: () => undefined,
  });
  try {
    const r = await measureFigures({ url: pg.url, cases: figureCases });
    for (const [k, v] of r.results) results[k] = v;
    report.push(...r.lines);
  } finally {
    await pg.stop();
  }
  results['figures: the whole section (PostgreSQL start, seeding, measuring)'] = `${(ms(t0) / 1000).toFixed(0)} s`;
}

// 7. The portfolio import (issue 15): rows per second through POST /v1/imports, on the section-3 servers
//    (worker and API in their own processes), a fresh stack so the cases of section 3 do not weigh on it.
if (sections.has(7)) {
  const stack: Stack = await startStack({ encryption, ...(maxCached === undefined ? {} : { maxCachedWorkflows: maxCached }) });
  try {
    report.push('Portfolio import (POST /v1/imports, the import workflow on the worker):');
    const r = await measureImports(stack, { rows: importRows, rounds });
    results['import: rows per second, upload to every case started (median)'] = `${r.rowsPerSecond}`;
    results['import: the floor, raw empty workflow starts per second at concurrency 16'] = `${r.rawStartsPerSecond}`;
    report.push(...r.lines.map((l) => `  ${l}`));
  } finally {
    await stack.stop();
  }
}

console.log(`\nRecoup bench — ${machineLine()}`);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(100)} ${v}`);
for (const line of report) console.log(line);
