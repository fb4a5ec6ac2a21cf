// The Temporal dev server killed (SIGKILL) and restarted on its SQLite file with 100 open cases: the
// worker and the API reconnect by themselves, and every case resumes: it answers, and takes a payment.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTemporalDevServer, type DevServer } from '../../dev/temporal-dev-server';
import { toolPaths } from '../../dev/tools';
import { getJson, openCaseByApi, payByWebhook, type Stack, startStack, uniqueAccountId } from '../helpers';
import { freePort } from '../ports';

const CASES = 100;

let dataDir: string;
let ports: { temporal: number; ui: number };
let server: DevServer | undefined;
let stack: Stack | undefined;

const startServer = () =>
  startTemporalDevServer({ cli: toolPaths().temporalCli, dataDir, port: ports.temporal, uiPort: ports.ui, namespace: 'default' });

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'recoup-restart-'));
  ports = { temporal: await freePort(), ui: await freePort() };
  server = await startServer();
  stack = await startStack({ temporalAddress: server.address });
});
afterAll(async () => {
  await stack?.stop();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `f` over `items`, `n` at a time. */
async function eachLimited<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await f(x);
    }),
  );
}

it('resumes all 100 open cases after the server is killed and restarted on its file', async () => {
  const s = stack!;
  const accounts = Array.from({ length: CASES }, () => uniqueAccountId('RST'));
  await eachLimited(accounts, 8, async (accountId) => {
    await openCaseByApi(s, accountId, { amountMinor: 300_000, debtor: { name: '李雷' } });
  });
  await expect
    .poll(async () => (await s.sql`select 1 from cases where account_id in ${s.sql(accounts)}`).length, { timeout: 60_000 })
    .toBe(CASES);

  // Killed outright: no shutdown, the SQLite file as the crash left it.
  server!.process.kill('SIGKILL');
  await new Promise<void>((resolve) =>
    server!.process.exitCode !== null || server!.process.signalCode ? resolve() : server!.process.once('exit', () => resolve()),
  );
  const down = await getJson(`${s.apiUrl}/v1/cases/${accounts[0]}`, s.keys.supervisor);
  expect(down.status, JSON.stringify(down.body)).toBe(503);
  expect(down.headers.get('retry-after')).toBe('5');
  server = await startServer();

  // Every case answers and takes a payment, through the same worker and API processes.
  let answered = 0;
  let paid = 0;
  await eachLimited(accounts, 8, async (accountId) => {
    await expect
      .poll(async () => (await getJson(`${s.apiUrl}/v1/cases/${accountId}`, s.keys.supervisor)).status, { timeout: 60_000, interval: 500 })
      .toBe(200);
    answered++;
    const r = await payByWebhook(s.apiUrl, accountId, `${accountId}-after-restart`, 10_000);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ applied: true });
    paid++;
  });
  const rows = await s.sql<
    { n: number }[]
  >`select count(*)::int as n from payments where payment_id like ${'RST-%-after-restart'} and account_id in ${s.sql(accounts)}`;
  expect(rows[0]!.n).toBe(CASES);
  const view = await getJson(`${s.apiUrl}/v1/cases/${accounts[CASES - 1]}`, s.keys.supervisor);
  expect(view.body).toMatchObject({ stage: 'open', paidMinor: 10_000, outstandingMinor: 290_000 });
  console.log(
    `[faults] Temporal dev server killed and restarted: ${CASES} open cases; answered after the restart ${answered}, ` +
      `took a payment ${paid}, lost 0`,
  );
});
