// PostgreSQL stopped for 60 s while cases are opening and running their first steps: the activities
// retry, nothing is lost or written twice, the API answers 503 (with Retry-After) on what needs the
// ledger and recovers by itself when the database is back.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedDb } from '../../db/embedded';
import { connectDb } from '../../db/index';
import { migrate } from '../../db/migrate';
import { getJson, middayZone, openCaseByApi, payByWebhook, type Stack, startStack, uniqueAccountId } from '../helpers';
import { freePort } from '../ports';

const CASES = 10;
const OUTAGE_MS = 60_000;

let dir: string;
let port: number;
let db: EmbeddedDb | undefined;
let stack: Stack | undefined;

const startDb = () => startEmbeddedPostgres({ dataDir: dir, port });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'recoup-pg-outage-'));
  port = await freePort();
  db = await startDb();
  const sql = connectDb(db.url, { max: 1 });
  await migrate(sql);
  await sql.end();
  stack = await startStack({ databaseUrl: db.url });
});
afterAll(async () => {
  await stack?.stop();
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('survives PostgreSQL stopped for 60 s mid-opening: retried, nothing lost or doubled, 503 meanwhile, recovered', async () => {
  const s = stack!;
  const accounts = Array.from({ length: CASES }, () => uniqueAccountId('PGO'));
  const timeZone = middayZone();
  // The cases are accepted (Temporal has them) and the database goes away before their first writes land.
  await Promise.all(
    accounts.map(async (accountId) => {
      await openCaseByApi(s, accountId, {
        amountMinor: 200_000,
        debtor: { name: '王芳', timeZone },
        guarantors: [{ id: 'G1', name: '赵强', phones: ['+86 135 0000 0004'] }],
      });
    }),
  );
  await db!.stop();
  const stoppedAt = Date.now();

  // Meanwhile: what needs the ledger (API keys, receipts) answers 503 and says when to come back.
  const get = await getJson(`${s.apiUrl}/v1/cases/${accounts[0]}`, s.keys.supervisor);
  expect(get.status, JSON.stringify(get.body)).toBe(503);
  expect(get.headers.get('retry-after')).toBe('5');
  const hook = await payByWebhook(s.apiUrl, accounts[0]!, `${accounts[0]}-during`, 10_000);
  expect(hook.status, JSON.stringify(hook.body)).toBe(503);
  expect((await getJson(`${s.apiUrl}/readyz`)).status).toBe(503);
  expect((await getJson(`${s.apiUrl}/healthz`)).status).toBe(200);

  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
  db = await startDb();

  // Back by itself: no restart of the worker or the API.
  await expect.poll(async () => (await getJson(`${s.apiUrl}/readyz`)).status, { timeout: 60_000, interval: 1000 }).toBe(200);
  const rows = async (table: string) =>
    (
      await s.sql<{ account_id: string; n: number }[]>`
      select account_id, count(*)::int as n from ${s.sql(table)} where account_id in ${s.sql(accounts)} group by account_id`
    ).reduce((m, r) => m.set(r.account_id, r.n), new Map<string, number>());
  // Every case's opening rows and its day-0 visit are there, once (the visit retried with backoff).
  await expect.poll(async () => (await rows('visits')).size, { timeout: 120_000, interval: 1000 }).toBe(CASES);
  const counts: Record<string, number[]> = {};
  for (const table of ['cases', 'instalments', 'credit_holds', 'visits', 'guarantors']) {
    const m = await rows(table);
    counts[table] = accounts.map((a) => m.get(a) ?? 0);
    expect(counts[table], table).toEqual(accounts.map(() => 1));
  }
  const opened = await s.sql<{ n: number }[]>`
    select count(*)::int as n from audit_log where action = 'case-opened' and account_id in ${s.sql(accounts)}`;
  expect(opened[0]!.n).toBe(CASES);
  const timeline = await s.sql<{ n: number; distinct: number }[]>`
    select count(*)::int as n, count(distinct (case_key, seq))::int as distinct from case_timeline t
    join cases c using (case_key) where c.account_id in ${s.sql(accounts)}`;
  expect(timeline[0]!.n).toBe(timeline[0]!.distinct);

  // And the processor's retry of the refused webhook is applied, once.
  const retry = await payByWebhook(s.apiUrl, accounts[0]!, `${accounts[0]}-during`, 10_000);
  expect(retry.body).toEqual({ applied: true });
  expect((await getJson(`${s.apiUrl}/v1/cases/${accounts[0]}`, s.keys.supervisor)).body).toMatchObject({ paidMinor: 10_000 });
  console.log(
    `[faults] PostgreSQL stopped ${Math.round((Date.now() - stoppedAt) / 1000)} s incl. recovery: ${CASES} cases opening; ` +
      `rows per case after: ${Object.entries(counts)
        .map(([t, c]) => `${t} ${Math.min(...c)}–${Math.max(...c)}`)
        .join(', ')}; duplicates 0; API 503 with Retry-After during the outage, 200 after`,
  );
});
