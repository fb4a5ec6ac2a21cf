import { ApplicationFailure } from '@temporalio/common';
import type { CaseActivities, CaseClosing, CaseOpening, PaymentRecord } from '../shared/activities';
import { ErrorTypes } from '../shared/errors';
import type { Sql } from '../db/index';

/**
 * The ledger's writes. Each is idempotent on its idempotency key: a unique constraint takes the
 * first write, and a retry reads back what the first one recorded.
 */
export function createLedgerActivities(deps: { sql: Sql }): CaseActivities {
  const { sql } = deps;
  return {
    async recordCaseOpened(o: CaseOpening) {
      const inserted = await sql<{ id: number }[]>`
        insert into cases (account_id, workflow_id, run_id, idempotency_key, debtor_name, currency,
                           first_due_date, opening_minor, opened_at)
        values (${o.accountId}, ${o.workflowId}, ${o.runId}, ${o.idempotencyKey}, ${o.debtorName}, ${o.currency},
                ${o.firstMissed.dueDate}, ${o.firstMissed.amountMinor}, ${o.openedAt})
        on conflict (idempotency_key) do nothing
        returning id`;
      const row = inserted[0] ?? (await sql<{ id: number }[]>`select id from cases where idempotency_key = ${o.idempotencyKey}`)[0];
      if (!row) throw ApplicationFailure.nonRetryable(`case ${o.idempotencyKey} neither inserted nor found`, ErrorTypes.InvalidInput);
      return { caseId: row.id };
    },

    async recordPayment(r: PaymentRecord) {
      const inserted = await sql`
        insert into payments (payment_id, idempotency_key, account_id, case_run_id, amount_minor, currency,
                              paid_at, outstanding_after_minor)
        select ${r.payment.paymentId}, ${r.idempotencyKey}, ${r.accountId}, ${r.runId}, ${r.payment.amountMinor},
               ${r.payment.currency}, ${r.payment.paidAt}, ${r.outstandingAfterMinor}
        where exists (select 1 from cases where run_id = ${r.runId} and currency = ${r.payment.currency})
        on conflict (payment_id) do nothing
        returning id`;
      if (inserted.length > 0) return { recorded: true };
      const [existing] = await sql<{ idempotency_key: string }[]>`
        select idempotency_key from payments where payment_id = ${r.payment.paymentId}`;
      if (!existing) {
        throw ApplicationFailure.nonRetryable(
          `payment ${r.payment.paymentId}: no open case ${r.runId} in ${r.payment.currency}`,
          ErrorTypes.CurrencyMismatch,
        );
      }
      return { recorded: false }; // already recorded by an earlier attempt
    },

    async recordCaseClosed(c: CaseClosing) {
      await sql`update cases set stage = ${c.stage}, closed_at = ${c.closedAt}
                where run_id = ${c.runId} and closed_at is null`;
    },
  };
}
