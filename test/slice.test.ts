import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDate } from '../shared/calendar';
import { caseWorkflowId } from '../shared/ids';
import { getJson, postJson, postSignedWebhook, startStack, uniqueAccountId, type Stack } from './helpers';

/** The vertical slice through the real API, worker, Temporal dev server and PostgreSQL. */
describe('missed payment → case → payments → closed paid', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const missed = (accountId: string, dueDate: string, amountMinor: number) => ({
    accountId,
    debtor: { name: '张三', timeZone: 'Asia/Shanghai' },
    dueDate,
    amountDue: { amountMinor, currency: 'CNY' },
  });
  const payment = (accountId: string, paymentId: string, amountMinor: number) => ({
    paymentId,
    accountId,
    amountMinor,
    currency: 'CNY',
    paidAt: '2026-11-28T10:00:00+08:00',
  });

  // Due yesterday: the case is on day 0, before any penalty interest accrues.
  const yesterday = () => addDays(localDate(Date.now(), 'Asia/Shanghai'), -1);

  it('opens one case per account, records payments, and completes when the balance is covered', async () => {
    const accountId = uniqueAccountId();
    const first = await postJson(`${stack.apiUrl}/v1/missed-payments`, missed(accountId, yesterday(), 100_000), stack.keys.admin);
    expect(first.status).toBe(202);
    expect(first.body.workflowId).toBe(caseWorkflowId(accountId));

    // A second call for the open case starts no second case: same run, the instalment is added. It is
    // older (due the day before): day 0 moves back a day and it accrues its own day of penalty (25).
    const second = await postJson(
      `${stack.apiUrl}/v1/missed-payments`,
      missed(accountId, addDays(yesterday(), -1), 50_000),
      stack.keys.admin,
    );
    expect(second.status).toBe(202);
    expect(second.body.runId).toBe(first.body.runId);
    // ...and repeating one is idempotent on its due date.
    await postJson(`${stack.apiUrl}/v1/missed-payments`, missed(accountId, addDays(yesterday(), -1), 50_000), stack.keys.admin);

    const handle = stack.client.workflow.getHandle(first.body.workflowId);
    await expect.poll(async () => (await stack.sql`select 1 from cases where account_id = ${accountId}`).length).toBe(1);

    const open = await getJson(`${stack.apiUrl}/v1/cases/${accountId}`, stack.keys.supervisor);
    expect(open.status).toBe(200);
    expect(open.body).toMatchObject({ stage: 'open', currency: 'CNY', outstandingMinor: 150_025, daysOverdue: 2 });
    expect(open.body.missedPayments).toHaveLength(2);

    expect((await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, payment(accountId, `${accountId}-p1`, 60_000))).status).toBe(
      200,
    );
    // The same payment delivered twice is applied once.
    expect((await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, payment(accountId, `${accountId}-p1`, 60_000))).status).toBe(
      200,
    );
    await expect
      .poll(async () => (await getJson(`${stack.apiUrl}/v1/cases/${accountId}`, stack.keys.supervisor)).body.outstandingMinor)
      .toBe(90_025);

    expect((await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, payment(accountId, `${accountId}-p2`, 90_025))).status).toBe(
      200,
    );
    const result = await handle.result();
    expect(result).toMatchObject({ accountId, stage: 'paid', paidMinor: 150_025 });
    expect((await handle.describe()).status.name).toBe('COMPLETED');

    const cases = await stack.sql`select stage, opening_minor, paid_minor, outstanding_minor, closed_at, case_key from cases
                                  where account_id = ${accountId}`;
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({
      stage: 'paid',
      opening_minor: 100_000,
      paid_minor: 150_025,
      outstanding_minor: 0,
      case_key: `${first.body.workflowId}/${first.body.runId}`,
    });
    expect(cases[0]!.closed_at).toBeInstanceOf(Date);
    const payments = await stack.sql`
      select payment_id, amount_minor, principal_minor, outstanding_after_minor from payments where account_id = ${accountId} order by id`;
    expect(payments).toEqual([
      { payment_id: `${accountId}-p1`, amount_minor: 60_000, principal_minor: 59_975, outstanding_after_minor: 90_025 },
      { payment_id: `${accountId}-p2`, amount_minor: 90_025, principal_minor: 90_025, outstanding_after_minor: 0 },
    ]);

    // A closed case takes no more payments.
    const late = await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, payment(accountId, `${accountId}-p3`, 1));
    expect(late.status).toBe(409);
  });

  it('answers 404 for a payment or a case of an unknown account, and 400 with field-level issues for bad input', async () => {
    const unknown = uniqueAccountId('NOPE');
    const pay = await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, payment(unknown, 'x1', 100));
    expect(pay.status).toBe(404);
    expect((await getJson(`${stack.apiUrl}/v1/cases/${unknown}`, stack.keys.supervisor)).status).toBe(404);

    const bad = await postJson(
      `${stack.apiUrl}/v1/missed-payments`,
      { ...missed(unknown, '2026-13-01', 1.5), debtor: {} },
      stack.keys.admin,
    );
    expect(bad.status).toBe(400);
    const paths = bad.body.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.dueDate', 'body.amountDue.amountMinor', 'body.debtor.name']));
    // Nothing was started for the refused request.
    await expect(stack.client.workflow.getHandle(caseWorkflowId(unknown)).describe()).rejects.toThrow();
  });

  it('refuses a payment in another currency than the case with 422, leaving the balance untouched', async () => {
    const accountId = uniqueAccountId();
    await postJson(`${stack.apiUrl}/v1/missed-payments`, missed(accountId, yesterday(), 10_000), stack.keys.admin);
    const res = await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, {
      ...payment(accountId, 'usd-1', 10_000),
      currency: 'USD',
    });
    expect(res.status).toBe(422);
    const state = await getJson(`${stack.apiUrl}/v1/cases/${accountId}`, stack.keys.supervisor);
    expect(state.body).toMatchObject({ stage: 'open', outstandingMinor: 10_000, payments: [] });
  });
});
