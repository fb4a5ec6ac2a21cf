// npm run bench: how fast Recoup's own parts are, on this machine, against real servers.
// Medians over repeated runs; nothing here is asserted (speed is measured, not tested).
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiKey } from '../api/auth';
import { createLogger } from '../api/logging';
import { runCaseWorker, serveApi } from '../app/parts';
import { renderDocument } from '../activities/documents/render';
import { startEmbeddedPostgres } from '../db/embedded';
import { connectDb } from '../db/index';
import { migrate } from '../db/migrate';
import { PROJECT_ROOT, toolPaths } from '../dev/tools';
import { addDays, localDate } from '../shared/calendar';
import { caseWorkflowId } from '../shared/ids';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';
import { CASE_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { signBody } from '../shared/signature';
import { newCaseState, nextAction } from '../workflows/core/case-core';
import { buildWorkflowBundle } from '../worker/bundle';
import { createCaseWorker } from '../worker/worker';
import { rawCase, rawOpen, rawPay } from './raw/workflows';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const mb = (n: number) => Math.round(n / 1024 / 1024);
const results: Record<string, string> = {};

// 1. The decision core: what is due next, for a case on day 40 of the ladder.
{
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
}

// 2. A letter: the overdue notice in Chinese, rendered to PDF.
{
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

// 3. The API and the worker on a Temporal dev server and PostgreSQL: cases in, payments in, cases closed.
{
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: toolPaths().temporalCli },
      searchAttributes: [...CASE_SEARCH_ATTRIBUTES],
      ip: '127.0.0.1',
    },
  });
  const dataDir = path.join(PROJECT_ROOT, '.data', `bench-pg-${process.pid}`);
  const db = await startEmbeddedPostgres({ dataDir, port: 54_000 + (process.pid % 1000), temporary: true });
  const sql = connectDb(db.url);
  await migrate(sql);
  const connection = await Connection.connect({ address: env.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: env.address });
  const worker = await runCaseWorker({ connection: native, namespace: 'default', taskQueue: 'bench', sql });
  const secret = 'whsec_bench_0123456789abcdef';
  const api = await serveApi(
    { client, sql, taskQueue: 'bench', webhookSecret: secret, webhookRateLimit: 100_000 },
    { port: 0, host: '127.0.0.1', logger: createLogger('error') },
  );
  const url = api.url;
  const key = await createApiKey(sql, 'bench', 'admin');
  const N = 100;
  const due = addDays(localDate(Date.now(), 'Asia/Shanghai'), -1);
  const rss0 = process.memoryUsage().rss;

  const intake: number[] = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(`${url}/v1/missed-payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        accountId: `BENCH-${process.pid}-${i}`,
        debtor: { name: '王建国', timeZone: 'Asia/Shanghai', phones: ['+86 138 0000 0000'] },
        dueDate: due,
        amountDue: { amountMinor: 100_000, currency: 'CNY' },
      }),
    });
    if (res.status !== 202) throw new Error(`intake ${res.status} ${await res.text()}`);
    intake.push(ms(t));
  }
  const intakeTotal = ms(t0);

  const pay: number[] = [];
  for (let i = 0; i < N; i++) {
    const body = JSON.stringify({
      paymentId: `bench-${process.pid}-${i}`,
      accountId: `BENCH-${process.pid}-${i}`,
      amountMinor: 100_000,
      currency: 'CNY',
      paidAt: new Date().toISOString(),
    });
    const t = process.hrtime.bigint();
    const res = await fetch(`${url}/v1/webhooks/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'recoup-signature': signBody(secret, Math.floor(Date.now() / 1000), body) },
      body,
    });
    if (res.status !== 200) throw new Error(`webhook ${res.status} ${await res.text()}`);
    pay.push(ms(t));
  }
  const tClose = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await client.workflow.getHandle(caseWorkflowId(`BENCH-${process.pid}-${i}`)).result();
  const closeWait = ms(tClose);

  // The raw floor, same server, same run: update-with-start of an empty workflow, then an update.
  const rawWorker = await Worker.create({
    connection: native,
    namespace: 'default',
    taskQueue: 'bench-raw',
    workflowsPath: fileURLToPath(new URL('./raw/workflows.ts', import.meta.url)),
  });
  const rawRunning = rawWorker.run();
  const rawOpenMs: number[] = [];
  const rawPayMs: number[] = [];
  for (let i = 0; i < N; i++) {
    const workflowId = `RAW-${process.pid}-${i}`;
    const t = process.hrtime.bigint();
    const start = new WithStartWorkflowOperation(rawCase, { workflowId, taskQueue: 'bench-raw', workflowIdConflictPolicy: 'USE_EXISTING' });
    await client.workflow.executeUpdateWithStart(rawOpen, { args: [100_000], startWorkflowOperation: start });
    rawOpenMs.push(ms(t));
  }
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    await client.workflow.getHandle(`RAW-${process.pid}-${i}`).executeUpdate(rawPay, { args: [100_000] });
    rawPayMs.push(ms(t));
  }
  rawWorker.shutdown();
  await rawRunning;

  const vsRaw = (ours: number[], raw: number[]) =>
    `${median(ours).toFixed(0)} / ${p95(ours).toFixed(0)} ms ` +
    `(raw ${median(raw).toFixed(0)} / ${p95(raw).toFixed(0)} ms, ×${(median(ours) / median(raw)).toFixed(1)} median)`;
  results[`API intake POST /v1/missed-payments vs raw update-with-start, ${N} sequential: median / p95`] = vsRaw(intake, rawOpenMs);
  results[`API intake throughput (sequential)`] = `${(N / (intakeTotal / 1000)).toFixed(1)} cases/s`;
  results[`signed payment webhook (ledger row, then the case; it closes) vs raw update: median / p95`] = vsRaw(pay, rawPayMs);
  results['after the last webhook, until all cases completed'] = `${closeWait.toFixed(0)} ms`;
  results[`process memory added by ${N} cases (API + worker in one process)`] = `${mb(process.memoryUsage().rss - rss0)} MB`;

  await api.stop();
  await worker.stop();
  await native.close();
  await connection.close();
  await sql.end();
  await db.stop();
  await rm(dataDir, { recursive: true, force: true });
  await env.teardown();
}

// 4. Worker start-up: Worker.create until the worker is ready to poll, with the pre-built workflow bundle
//    (what a production worker loads from .build/) and bundling workflows/ at start. Alternated, median of 3 each.
{
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

console.log(
  `\nRecoup bench — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ` +
    `${mb(os.totalmem())} MB RAM, Node ${process.version}, ${new Date().toISOString()}`,
);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(100)} ${v}`);
