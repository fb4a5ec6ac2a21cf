import { defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDate } from '../shared/calendar';
import { caseWorkflowId } from '../shared/ids';
import { getJson, payByWebhook, postJson, postSignedWebhook, startStack, uniqueAccountId, type Stack } from './helpers';

/**
 * Payments and instalments at the API's edge, on the real stack: a payment id is one account's
 * (receipts per account; the ledger and the case both or neither), a receipt follows the payment to
 * the right account, and an instalment that is not overdue opens nothing.
 */
const TZ = 'Asia/Shanghai';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const yesterday = (tz = TZ) => addDays(localDate(Date.now(), tz), -1);
const missed = (accountId: string, dueDate = yesterday(), timeZone = TZ) => ({
  accountId,
  dueDate,
  debtor: { name: '孙七', timeZone, phones: ['+86 139 0000 0077'] },
  amountDue: { amountMinor: 100_000, currency: 'CNY' },
});
async function openCase(prefix: string): Promise<string> {
  const accountId = uniqueAccountId(prefix);
  expect((await postJson(`${stack.apiUrl}/v1/missed-payments`, missed(accountId), stack.keys.admin)).status).toBe(202);
  await expect.poll(async () => (await stack.sql`select 1 from cases where account_id = ${accountId}`).length).toBe(1);
  return accountId;
}
const pay = (accountId: string, paymentId: string, amountMinor = 10_000) => payByWebhook(stack.apiUrl, accountId, paymentId, amountMinor);
const outstanding = async (accountId: string) =>
  (await getJson(`${stack.apiUrl}/v1/cases/${accountId}`, stack.keys.supervisor)).body.outstandingMinor as number;
const receipts = (paymentId: string) =>
  stack.sql<
    { account_id: string; status: string; detail: string | null }[]
  >`select account_id, status, detail from payment_receipts where payment_id = ${paymentId} order by id`;

describe('a payment id belongs to one account', () => {
  it('the same payment id sent for a second account is refused (409, both accounts named), kept as rejected, applied nowhere', async () => {
    const a1 = await openCase('PAY-A');
    const a2 = await openCase('PAY-B');
    const paymentId = `${a1}-P`;
    expect((await pay(a1, paymentId)).body).toEqual({ applied: true });
    await expect.poll(() => outstanding(a1)).toBe(90_000);

    const again = await pay(a2, paymentId);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ paymentId, accountId: a2, heldBy: a1 });
    expect(again.body.detail).toContain(a1);
    expect(again.body.detail).toContain(a2);
    expect(await outstanding(a2)).toBe(100_000);
    expect(await receipts(paymentId)).toEqual([
      { account_id: a1, status: 'applied', detail: null },
      {
        account_id: a2,
        status: 'rejected',
        detail: expect.stringMatching(new RegExp(`^payment id already (recorded for|taken by) account ${a1}$`)),
      },
    ]);
    await expect.poll(async () => stack.sql`select account_id from payments where payment_id = ${paymentId}`).toEqual([{ account_id: a1 }]);
    // Sent again for the second account: still refused, still one receipt for it.
    expect((await pay(a2, paymentId)).status).toBe(409);
    expect((await receipts(paymentId)).length).toBe(2);
    // Its own account's redelivery is a duplicate, applied once.
    expect(await pay(a1, paymentId).then((r) => r.body)).toEqual({ applied: false });
    expect(await outstanding(a1)).toBe(90_000);
  });

  it('two webhooks racing with one payment id for two accounts: exactly one is applied', async () => {
    const a1 = await openCase('RACE-A');
    const a2 = await openCase('RACE-B');
    const paymentId = `${a1}-RACE`;
    const answers = await Promise.all([...Array(4)].flatMap(() => [pay(a1, paymentId), pay(a2, paymentId)]));
    const applied = answers.filter((r) => r.status === 200 && r.body.applied === true);
    expect(applied).toHaveLength(1);
    expect(answers.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    const total = (await outstanding(a1)) + (await outstanding(a2));
    expect(total).toBe(190_000);
    await expect.poll(async () => (await stack.sql`select account_id from payments where payment_id = ${paymentId}`).length).toBe(1);
  });

  it('a payment first sent for the wrong account, then for the right one: its receipts say where it went', async () => {
    const right = await openCase('PAY-R');
    const wrong = uniqueAccountId('PAY-W'); // no case
    const paymentId = `${right}-W`;
    expect((await pay(wrong, paymentId)).status).toBe(404);
    expect(await receipts(paymentId)).toEqual([{ account_id: wrong, status: 'unmatched', detail: 'no case for the account' }]);
    expect((await pay(right, paymentId)).body).toEqual({ applied: true });
    expect(await receipts(paymentId)).toEqual([
      { account_id: wrong, status: 'redirected', detail: `applied to account ${right}` },
      { account_id: right, status: 'applied', detail: null },
    ]);
    await expect
      .poll(async () => stack.sql`select account_id from payments where payment_id = ${paymentId}`)
      .toEqual([{ account_id: right }]);
  });
});

describe('a payment is one write', () => {
  it('when the webhook answers, the payment, its receipt, timeline entry and cases row are in the ledger, written once', async () => {
    const accountId = await openCase('PAY-ONE');
    const paymentId = `${accountId}-P`;
    expect((await pay(accountId, paymentId, 25_000)).body).toEqual({ applied: true });
    // No polling: all of it was written in the payment's own transaction, before the answer.
    expect(await receipts(paymentId)).toEqual([{ account_id: accountId, status: 'applied', detail: null }]);
    const [row] = await stack.sql<{ paid_minor: number; outstanding_minor: number; principal_minor: number; next_action: string }[]>`
      select paid_minor, outstanding_minor, principal_minor, next_action from cases where account_id = ${accountId}`;
    expect(row).toMatchObject({ paid_minor: 25_000, outstanding_minor: 75_000, principal_minor: 75_000 });
    const timeline = await stack.sql<{ what: string; outcome: string }[]>`
      select t.what, t.outcome from case_timeline t join cases c on c.case_key = t.case_key
      where c.account_id = ${accountId} and t.what = 'payment received'`;
    expect(timeline).toEqual([{ what: 'payment received', outcome: expect.stringContaining(`(${paymentId}); outstanding 750.00 CNY`) }]);
    expect(await outstanding(accountId)).toBe(75_000);

    // One ledger write for the payment in the case's history; the cases row it carried is not sent again.
    const handle = stack.client.workflow.getHandle(caseWorkflowId(accountId));
    const summaries: string[] = [];
    for (const e of (await handle.fetchHistory()).events ?? []) {
      const p = e.userMetadata?.summary;
      if (p) summaries.push(defaultPayloadConverter.fromPayload(stack.codec.decodeOne(p as never)) as string);
    }
    const afterPayment = summaries.slice(summaries.findIndex((x) => x.includes(paymentId)));
    expect(afterPayment[0]).toBe(`Ledger: Record payment ${paymentId}: 250.00 CNY`);
    expect(afterPayment.filter((x) => x.startsWith('Ledger:'))).toHaveLength(1);
    await handle.terminate('test done');
  });
});

describe('an instalment that is not overdue opens nothing', () => {
  // Kiritimati is UTC+14 and Pago Pago UTC−11: for most of the day their dates differ, so "today"
  // is the debtor's, not the server's.
  it.each([
    ['today', 0, 'Asia/Shanghai'],
    ['tomorrow', 1, 'Asia/Shanghai'],
    ['59 days ahead', 59, 'Asia/Shanghai'],
    ['today in Kiritimati', 0, 'Pacific/Kiritimati'],
    ['today in Pago Pago', 0, 'Pacific/Pago_Pago'],
  ])('due %s → 422, no case, no ledger rows', async (_what, days, zone) => {
    const accountId = uniqueAccountId('FUTURE');
    const dueDate = addDays(localDate(Date.now(), zone), days);
    const r = await postJson(`${stack.apiUrl}/v1/missed-payments`, missed(accountId, dueDate, zone), stack.keys.admin);
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ dueDate, timeZone: zone, today: localDate(Date.now(), zone) });
    expect(r.body.detail).toContain(`the instalment due ${dueDate} has not passed in ${zone}`);
    const described = await stack.client.workflow
      .getHandle(caseWorkflowId(accountId))
      .describe()
      .then(
        () => 'started',
        (e: unknown) => e,
      );
    expect(described).toBeInstanceOf(WorkflowNotFoundError);
    expect(
      await stack.sql`select 1 from cases where account_id = ${accountId}
                      union all select 1 from credit_holds where account_id = ${accountId}`,
    ).toEqual([]);
  });

  it("due yesterday in the debtor's zone → 202", async () => {
    for (const zone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago']) {
      const accountId = uniqueAccountId('PAST');
      expect(
        (await postJson(`${stack.apiUrl}/v1/missed-payments`, missed(accountId, yesterday(zone), zone), stack.keys.admin)).status,
      ).toBe(202);
    }
  });

  it('a later instalment that is not overdue yet is refused for an open case too (422)', async () => {
    const accountId = await openCase('LATER');
    const r = await postJson(`${stack.apiUrl}/v1/missed-payments`, missed(accountId, addDays(yesterday(), 2)), stack.keys.admin);
    expect(r.status).toBe(422);
    expect(await outstanding(accountId)).toBe(100_000);
  });
});

describe('a payment the ledger has and the open case does not', () => {
  it('(its workflow task failed after writing it) is not "already applied": 503, and sent again the case takes it once', async () => {
    const accountId = await openCase('PAY-LOST');
    const paymentId = `${accountId}-P`;
    const [c] = await stack.sql<{ case_key: string }[]>`select case_key from cases where account_id = ${accountId}`;
    // What the failed task left behind: the payment's ledger row (written by its local activity), not the case's update.
    await stack.sql`insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at, fees_minor,
                                          penalty_minor, principal_minor, excess_minor, outstanding_after_minor)
                    values (${paymentId}, ${`${c!.case_key}:payment:${paymentId}`}, ${accountId}, ${c!.case_key}, 10000, 'CNY', now(), 0,
                            0, 10000, 0, 90000)`;
    // A delivery the case refuses (another currency) finds the payment in the ledger: not a duplicate, the case lacks it.
    const refused = await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, {
      paymentId,
      accountId,
      amountMinor: 10_000,
      currency: 'USD',
      paidAt: new Date().toISOString(),
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(refused.body.detail).toBe(`payment ${paymentId} is in the ledger but the case has not taken it yet; send it again`);
    // Sent again as the processor does: the case takes it, the ledger keeps its one row.
    const again = await pay(accountId, paymentId);
    expect(again.body).toEqual({ applied: true });
    await expect.poll(() => outstanding(accountId)).toBe(90_000);
    expect(await stack.sql`select amount_minor from payments where payment_id = ${paymentId}`).toEqual([{ amount_minor: 10_000 }]);
    expect((await pay(accountId, paymentId)).body).toEqual({ applied: false });
  });
});
