// The API process killed (SIGKILL) during a burst of payment webhooks: every webhook that got a 2xx is
// applied once; those that did not are applied once when the processor retries them; a retry of one
// already applied changes nothing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { EncryptionCodec } from '../../shared/codec';
import { caseStateQuery } from '../../shared/messages';
import { openCaseByApi, postSignedWebhook, type Stack, startStack, uniqueAccountId, WEBHOOK_SECRET } from '../helpers';
import { freePort } from '../ports';
import { spawnPart, type Part } from './processes';

const CASES = 20;
const PER_CASE = 10;
const AMOUNT = 1_000;
const key = randomBytes(32);

let stack: Stack;
let api: Part | undefined;
let apiPort: number;

beforeAll(async () => {
  // The worker in this process; the API the processor calls in its own, to be killed.
  stack = await startStack({ codec: new EncryptionCodec({ active: 'f1', keys: new Map([['f1', key]]) }) });
  apiPort = await freePort();
});
afterAll(async () => {
  await api?.kill();
  await stack?.stop();
});

const startApi = async () => {
  const part = spawnPart('api/main.ts', {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: inject('temporalNamespace'),
    DATABASE_URL: inject('databaseUrl'),
    RECOUP_TASK_QUEUE: stack.taskQueue,
    RECOUP_API_PORT: String(apiPort),
    RECOUP_WEBHOOK_SECRET: WEBHOOK_SECRET,
    RECOUP_WEBHOOK_RATE_LIMIT: '1000000',
    RECOUP_CODEC_KEYS: `f1=${key.toString('base64')}`,
  });
  api = part; // afterAll kills it even if it never becomes healthy
  await untilHealthy(`http://127.0.0.1:${apiPort}/healthz`, part);
  return part;
};

async function untilHealthy(url: string, part: Part): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the API did not answer ${url} in 60 s; its output:\n${part.output().slice(-15).join('\n')}`);
}

it('applies every payment exactly once across an API killed mid-burst and the processor retrying', async () => {
  const accounts: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const accountId = uniqueAccountId('KILL');
    await openCaseByApi(stack, accountId, { amountMinor: 1_000_000, debtor: { name: '韩梅梅' } });
    accounts.push(accountId);
  }
  await expect
    .poll(async () => (await stack.sql`select 1 from cases where account_id in ${stack.sql(accounts)}`).length, { timeout: 30_000 })
    .toBe(CASES);

  api = await startApi();
  const url = `http://127.0.0.1:${apiPort}/v1/webhooks/payments`;
  const payments = accounts.flatMap((accountId) =>
    Array.from({ length: PER_CASE }, (_, j) => ({ paymentId: `${accountId}-P${j}`, accountId, amountMinor: AMOUNT, currency: 'CNY' })),
  );
  const send = (p: (typeof payments)[number]) =>
    postSignedWebhook(url, { ...p, paidAt: new Date().toISOString() }).then(
      (r) => r.status,
      () => 0, // connection refused or cut: no answer
    );

  // The burst: 16 at a time; the API is killed once a third of them have answered.
  const status = new Map<string, number>();
  let answered = 0;
  let killed: Promise<void> | undefined;
  const queue = [...payments];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const s = await send(p);
        status.set(p.paymentId, s);
        if (s >= 200 && s < 300 && ++answered === Math.floor(payments.length / 3)) killed = api!.kill();
      }
    }),
  );
  await killed;
  const delivered = payments.filter((p) => status.get(p.paymentId)! >= 200 && status.get(p.paymentId)! < 300);
  const undelivered = payments.filter((p) => !delivered.includes(p));
  expect(delivered.length).toBeGreaterThanOrEqual(Math.floor(payments.length / 3));
  expect(undelivered.length).toBeGreaterThan(0);

  // Every payment that got a 2xx is in the ledger already.
  const inLedger = async (ids: string[]) =>
    new Set(
      (await stack.sql<{ payment_id: string }[]>`select payment_id from payments where payment_id in ${stack.sql(ids)}`).map(
        (r) => r.payment_id,
      ),
    );
  const deliveredIds = delivered.map((p) => p.paymentId);
  expect([...(await inLedger(deliveredIds))].sort()).toEqual([...deliveredIds].sort());

  // The processor retries what got no 2xx (until it does), and by mistake a few that did.
  api = await startApi();
  const retries = [...undelivered, ...delivered.slice(0, 10)];
  const again = new Map<string, number>();
  for (const p of retries) {
    let s = 0;
    for (let attempt = 0; attempt < 20 && !(s >= 200 && s < 300); attempt++) {
      s = await send(p);
      if (!(s >= 200 && s < 300)) await new Promise((r) => setTimeout(r, 500));
    }
    again.set(p.paymentId, s);
  }
  expect([...again.values()].every((s) => s === 200)).toBe(true);

  // Exactly once: one ledger row per payment id, one entry per payment in each case, balances that add up.
  const rows = await stack.sql<{ payment_id: string; n: number }[]>`
    select payment_id, count(*)::int as n from payments where account_id in ${stack.sql(accounts)} group by payment_id`;
  expect(rows.length).toBe(payments.length);
  expect(rows.filter((r) => r.n !== 1)).toEqual([]);
  let duplicatesInCases = 0;
  for (const accountId of accounts) {
    const view = await stack.client.workflow.getHandle(`Case:${accountId}`).query(caseStateQuery, Date.now());
    const ids = (view.payments ?? []).map((p) => p.paymentId);
    duplicatesInCases += ids.length - new Set(ids).size;
    expect(new Set(ids).size, accountId).toBe(PER_CASE);
    expect(view.paidMinor).toBe(PER_CASE * AMOUNT);
  }
  expect(duplicatesInCases).toBe(0);
  const receipts = await stack.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from payment_receipts where account_id in ${stack.sql(accounts)} group by status`;
  expect(receipts).toEqual([{ status: 'applied', n: payments.length }]);
  console.log(
    `[faults] API killed mid-burst: ${CASES} cases, ${payments.length} payments; answered 2xx before the kill ${delivered.length}, ` +
      `not answered ${undelivered.length} (retried until applied); ledger rows per payment id: 1; duplicates: 0; ` +
      `receipts applied: ${payments.length}`,
  );
});
