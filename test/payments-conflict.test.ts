import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLedgerActivities } from '../activities/ledger';
import { connectDb } from '../db/index';
import type { CaseRef, PaymentRecord } from '../shared/activities';
import { addDays, localDate } from '../shared/calendar';
import { ErrorTypes } from '../shared/errors';
import { caseWorkflowId } from '../shared/ids';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';
import { payByWebhook, postJson, startStack, uniqueAccountId, type Stack } from './helpers';

/**
 * The ledger's side of "a payment reaches both the case and the ledger, or neither": recordPayment
 * against the real PostgreSQL. A retry of its own write is `{recorded: false}`; a payment id the
 * ledger holds for another account, or for another case of the same account, is refused loudly.
 * And at the API: a receipt no case took (unmatched, after-close) follows the payment to the account
 * that took it, so finance does not return money a case has applied.
 */
const sql = connectDb(inject('databaseUrl'));
const ledger = createLedgerActivities({ sql });
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
  await sql.end();
});

const T0 = '2026-03-02T01:00:00.000Z';

async function openCase(accountId = `PAYC-${randomUUID().slice(0, 8)}`) {
  const caseKey = `Case:${accountId}/${randomUUID()}`;
  const ref = (suffix: string): CaseRef => ({ idempotencyKey: `${caseKey}:${suffix}`, caseKey, accountId, at: T0 });
  await ledger.recordCaseOpened({
    ...ref('open'),
    workflowId: `Case:${accountId}`,
    debtorName: '周八',
    debtor: { name: '周八', timeZone: 'Asia/Shanghai', phones: ['+86 138 0000 0088'], jurisdiction: 'CN' },
    guarantors: [],
    currency: 'CNY',
    firstMissed: { dueDate: '2026-03-01', amountMinor: 1_000_000, currency: 'CNY' },
    playbookId: DEFAULT_PLAYBOOK.id,
    playbookVersion: 1,
    openedAt: T0,
  });
  const payment = (paymentId: string): PaymentRecord => ({
    ...ref(`payment:${paymentId}`),
    payment: { paymentId, amountMinor: 200_000, currency: 'CNY', paidAt: T0 },
    allocation: { feesMinor: 0, penaltyMinor: 0, principalMinor: 200_000, excessMinor: 0 },
    outstandingAfterMinor: 800_000,
  });
  return { accountId, caseKey, payment };
}

const caseRow = async (caseKey: string) =>
  (
    await sql<
      { paid_minor: number; outstanding_minor: number }[]
    >`select paid_minor, outstanding_minor from cases where case_key = ${caseKey}`
  )[0];
const paymentAudits = async (caseKey: string) =>
  Number((await sql`select count(*)::int as n from audit_log where case_key = ${caseKey} and action = 'payment-applied'`)[0]!.n);

describe('recordPayment never skips a payment silently', () => {
  it(
    'a retry is {recorded: false}; a payment id the ledger holds for another account: ' +
      'non-retryable PaymentIdConflict naming both accounts, nothing written',
    async () => {
      const a1 = await openCase();
      const a2 = await openCase();
      const paymentId = `P-${randomUUID()}`;
      expect(await ledger.recordPayment(a1.payment(paymentId))).toEqual({ recorded: true });
      // A retry of that very write (same idempotency key) finds its own row: not a conflict.
      expect(await ledger.recordPayment(a1.payment(paymentId))).toEqual({ recorded: false });
      expect(await caseRow(a1.caseKey)).toEqual({ paid_minor: 200_000, outstanding_minor: 800_000 });
      expect(await paymentAudits(a1.caseKey)).toBe(1);

      const err = await ledger.recordPayment(a2.payment(paymentId)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject({ type: ErrorTypes.PaymentIdConflict, nonRetryable: true });
      expect((err as Error).message).toContain(paymentId);
      expect((err as Error).message).toContain(a1.accountId);
      expect((err as Error).message).toContain(a2.accountId);
      expect((err as ApplicationFailure).details).toEqual([
        { paymentId, accountId: a2.accountId, heldBy: { accountId: a1.accountId, caseKey: a1.caseKey } },
      ]);
      // A retry of the refused write is refused again: it never turns into {recorded: false}.
      await expect(ledger.recordPayment(a2.payment(paymentId))).rejects.toMatchObject({ type: ErrorTypes.PaymentIdConflict });

      expect(await sql`select account_id, case_key from payments where payment_id = ${paymentId}`).toEqual([
        { account_id: a1.accountId, case_key: a1.caseKey },
      ]);
      expect(await caseRow(a2.caseKey)).toEqual({ paid_minor: 0, outstanding_minor: 1_000_000 });
      expect(await paymentAudits(a2.caseKey)).toBe(0);
    },
  );

  it('a payment id recorded for an earlier case of the same account: refused for the new case, which names the earlier one', async () => {
    const first = await openCase();
    const second = await openCase(first.accountId);
    const paymentId = `P-${randomUUID()}`;
    expect(await ledger.recordPayment(first.payment(paymentId))).toEqual({ recorded: true });
    const err = await ledger.recordPayment(second.payment(paymentId)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ type: ErrorTypes.PaymentIdConflict, nonRetryable: true });
    expect((err as Error).message).toContain(first.caseKey);
    expect(await caseRow(second.caseKey)).toEqual({ paid_minor: 0, outstanding_minor: 1_000_000 });
  });
});

describe('a receipt no case took follows the payment', () => {
  const TZ = 'Asia/Shanghai';
  async function openCase(prefix: string, amountMinor: number): Promise<string> {
    const accountId = uniqueAccountId(prefix);
    const r = await postJson(
      `${stack.apiUrl}/v1/missed-payments`,
      {
        accountId,
        dueDate: addDays(localDate(Date.now(), TZ), -1),
        amountDue: { amountMinor, currency: 'CNY' },
        debtor: { name: '吴九', timeZone: TZ, phones: ['+86 139 0000 0099'] },
      },
      stack.keys.admin,
    );
    expect(r.status).toBe(202);
    return accountId;
  }
  const pay = (accountId: string, paymentId: string, amountMinor: number) => payByWebhook(stack.apiUrl, accountId, paymentId, amountMinor);

  it(
    'sent first for an account whose case had closed (409 after-close), ' +
      'then applied to another account: the first receipt is redirected',
    async () => {
      const closed = await openCase('SHUT', 10_000);
      expect((await pay(closed, `${closed}-full`, 10_000)).body).toEqual({ applied: true });
      expect(await stack.client.workflow.getHandle(caseWorkflowId(closed)).result()).toMatchObject({ stage: 'paid' });

      const other = await openCase('TAKER', 100_000);
      const paymentId = `${closed}-late`;
      expect((await pay(closed, paymentId, 5_000)).status).toBe(409);
      expect((await pay(other, paymentId, 5_000)).body).toEqual({ applied: true });
      expect(await sql`select account_id, status, detail from payment_receipts where payment_id = ${paymentId} order by id`).toEqual([
        { account_id: closed, status: 'redirected', detail: `applied to account ${other}` },
        { account_id: other, status: 'applied', detail: null },
      ]);
      expect(await sql`select account_id from payments where payment_id = ${paymentId}`).toEqual([{ account_id: other }]);
    },
  );
});
