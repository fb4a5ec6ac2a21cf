import { ApplicationFailure } from '@temporalio/common';
import type { CaseActivities, CaseClosing, CaseOpening, CaseRef, PaymentRecord, StepRequest } from '../shared/activities';
import { ErrorTypes } from '../shared/errors';
import type { Sql } from '../db/index';

/**
 * The ledger's writes. Each is idempotent on its idempotency key: a unique constraint takes the
 * first write, and a retry reads back what the first one recorded.
 */
export function createLedgerActivities(deps: { sql: Sql }): CaseActivities {
  const { sql } = deps;

  /** Records one case action in the outbox; returns its reference, the same on every retry. */
  const recordAction = async (r: CaseRef, kind: string, payload: object, step?: { stepId: string; day: number }): Promise<{ reference: string }> => {
    const json = sql.json(payload as never);
    const [row] = await sql<{ id: number }[]>`
      insert into case_actions (idempotency_key, case_key, account_id, kind, step_id, day, payload)
      select ${r.idempotencyKey}, ${r.caseKey}, ${r.accountId}, ${kind}, ${step?.stepId ?? null}, ${step?.day ?? null}, ${json}
      where exists (select 1 from cases where case_key = ${r.caseKey})
      on conflict (idempotency_key) do update set idempotency_key = excluded.idempotency_key
      returning id`;
    if (!row) throw ApplicationFailure.nonRetryable(`no case ${r.caseKey} in the ledger`, ErrorTypes.InvalidInput);
    return { reference: `${kind}#${row.id}` };
  };
  const step = (kind: string) => (req: StepRequest) => recordAction(req, kind, req, { stepId: req.stepId, day: req.day });

  return {
    async recordCaseOpened(o: CaseOpening) {
      const [row] = await sql<{ id: number }[]>`
        insert into cases (case_key, idempotency_key, account_id, workflow_id, debtor_name, currency,
                           first_due_date, opening_minor, playbook_id, playbook_version, outstanding_minor, opened_at)
        values (${o.caseKey}, ${o.idempotencyKey}, ${o.accountId}, ${o.workflowId}, ${o.debtorName}, ${o.currency},
                ${o.firstMissed.dueDate}, ${o.firstMissed.amountMinor}, ${o.playbookId}, ${o.playbookVersion},
                ${o.firstMissed.amountMinor}, ${o.openedAt})
        on conflict (case_key) do update set case_key = excluded.case_key
        returning id`;
      return { caseId: row!.id };
    },

    async recordPayment(r: PaymentRecord) {
      const a = r.allocation;
      const inserted = await sql`
        insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at,
                              fees_minor, penalty_minor, principal_minor, excess_minor, outstanding_after_minor)
        select ${r.payment.paymentId}, ${r.idempotencyKey}, ${r.accountId}, ${r.caseKey}, ${r.payment.amountMinor},
               ${r.payment.currency}, ${r.payment.paidAt}, ${a.feesMinor}, ${a.penaltyMinor}, ${a.principalMinor},
               ${a.excessMinor}, ${r.outstandingAfterMinor}
        where exists (select 1 from cases where case_key = ${r.caseKey} and currency = ${r.payment.currency})
        on conflict (payment_id) do nothing
        returning id`;
      if (inserted.length > 0) {
        await sql`update cases set paid_minor = paid_minor + ${r.payment.amountMinor}, outstanding_minor = ${r.outstandingAfterMinor}
                  where case_key = ${r.caseKey}`;
        return { recorded: true };
      }
      const [existing] = await sql`select 1 from payments where payment_id = ${r.payment.paymentId}`;
      if (!existing) {
        throw ApplicationFailure.nonRetryable(
          `payment ${r.payment.paymentId}: no case ${r.caseKey} in ${r.payment.currency}`,
          ErrorTypes.CurrencyMismatch,
        );
      }
      return { recorded: false }; // already recorded by an earlier attempt
    },

    async recordCaseClosed(c: CaseClosing) {
      await sql`update cases set stage = ${c.stage}, closed_at = ${c.closedAt}, outstanding_minor = ${c.outstandingMinor}
                where case_key = ${c.caseKey} and closed_at is null`;
    },

    scheduleFieldVisit: step('field-visit'),
    placeCollectionCall: step('phone-call'),
    contactGuarantor: step('guarantor-contact'),
    serveOverdueNotice: step('overdue-notice'),
    demandGuarantorPayment: step('guarantor-demand'),
    sendStatementOfAccount: step('statement-of-account'),
    requestLegalReferral: step('legal-referral'),
    referToLegal: (req) => recordAction(req, 'legal-handoff', req, { stepId: req.stepId, day: req.day }),
    remindSupervisor: async (r) => void (await recordAction(r, 'supervisor-reminder', r)),
    recordContactOutcome: async (r) => void (await recordAction(r, 'contact-outcome', r.outcome, { stepId: 'contact-outcome', day: r.day })),
    recordLegalEvent: async (r) => void (await recordAction(r, `legal-${r.event.kind}`, r.event)),
    recordTreatment: async (r) => void (await recordAction(r, `treatment-${r.treatment}`, r)),
    recordWriteOff: async (r) => void (await recordAction(r, 'write-off', r)),

    async placeOnBlacklist(b) {
      await sql`
        insert into blacklist (idempotency_key, account_id, case_key, debtor_name, days_overdue)
        values (${b.idempotencyKey}, ${b.accountId}, ${b.caseKey}, ${b.debtorName}, ${b.daysOverdue})
        on conflict (idempotency_key) do nothing`;
    },
  };
}
