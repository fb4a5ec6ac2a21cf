import { ApplicationFailure } from '@temporalio/common';
import { atomically, type Sql } from '../db/index';
import type {
  BlacklistRequest,
  CaseActivities,
  CaseClosing,
  CaseOpening,
  CaseProjection,
  MissedPaymentRecord,
  PaymentRecord,
  PromiseLedgerRecord,
  TimelineRecord,
} from '../shared/activities';
import { ErrorTypes } from '../shared/errors';
import { audit, auditRow } from './audit';

type LedgerActivities = Pick<
  CaseActivities,
  | 'recordCaseOpened'
  | 'recordMissedPayment'
  | 'recordPayment'
  | 'projectCase'
  | 'recordPromise'
  | 'recordCaseClosed'
  | 'placeOnBlacklist'
  | 'recordTimeline'
>;

const ACTOR = 'case-workflow';

/**
 * The receivables ledger's writes. Each is idempotent on its idempotency key (or on the business
 * key it carries: the case key, the payment id): a unique constraint takes the first write and a
 * retry finds it, in one transaction with its audit row.
 */
export function createLedgerActivities({ sql }: { sql: Sql }): LedgerActivities {
  return {
    /**
     * The case, its debtor, account and guarantors, the credit hold (no new lending while overdue) and
     * its audit row: one statement, one round trip (each part a data-modifying CTE, nothing written when
     * the case is there already: a retry finds it).
     */
    async recordCaseOpened(o: CaseOpening) {
      const d = o.debtor;
      // One row per guarantor id (the last given wins, as one upsert after another would leave it).
      const guarantors = [...new Map(o.guarantors.map((g) => [g.id, g])).values()].map((g) => ({
        ref: g.id,
        name: g.name,
        phones: g.phones,
        address: g.address ?? null,
      }));
      const detail = { firstMissed: o.firstMissed, playbook: `${o.playbookId} v${o.playbookVersion}` };
      const [row] = await sql<{ id: number }[]>`
        with existing as (select id from cases where case_key = ${o.caseKey}),
        debtor as (
          insert into debtors (account_id, name, id_number, phones, email, address, region, time_zone, jurisdiction)
          select ${o.accountId}::text, ${d.name}::text, ${d.idNumber ?? null}::text, ${d.phones}::text[], ${d.email ?? null}::text,
                 ${d.address ?? null}::text, ${d.region ?? null}::text, ${d.timeZone}::text, ${d.jurisdiction}::text
          where not exists (select 1 from existing)
          on conflict (account_id) do update set name = excluded.name, id_number = coalesce(excluded.id_number, debtors.id_number),
            phones = excluded.phones, email = coalesce(excluded.email, debtors.email),
            address = coalesce(excluded.address, debtors.address),
            region = coalesce(excluded.region, debtors.region), time_zone = excluded.time_zone, jurisdiction = excluded.jurisdiction,
            updated_at = now()
          returning id),
        account as (
          insert into accounts (account_id, debtor_id, currency) select ${o.accountId}::text, id, ${o.currency}::text from debtor
          on conflict (account_id) do nothing),
        guarantor as (
          insert into guarantors (account_id, guarantor_ref, name, phones, address)
          select ${o.accountId}::text, g.ref, g.name, array(select jsonb_array_elements_text(g.phones)), g.address
          from jsonb_to_recordset(${sql.json(guarantors as never)}::jsonb) as g(ref text, name text, phones jsonb, address text)
          where not exists (select 1 from existing)
          on conflict (account_id, guarantor_ref) do update set name = excluded.name, phones = excluded.phones,
            address = coalesce(excluded.address, guarantors.address)),
        opened as (
          insert into cases (case_key, idempotency_key, account_id, workflow_id, debtor_name, currency, first_due_date,
                             opening_minor, playbook_id, playbook_version, outstanding_minor, principal_minor, collector_id,
                             opened_at, credit_grade, segment)
          select ${o.caseKey}::text, ${o.idempotencyKey}::text, ${o.accountId}::text, ${o.workflowId}::text, ${o.debtorName}::text,
                 ${o.currency}::text, ${o.firstMissed.dueDate}::date, ${o.firstMissed.amountMinor}::bigint, ${o.playbookId}::text,
                 ${o.playbookVersion}::int, ${o.firstMissed.amountMinor}::bigint, ${o.firstMissed.amountMinor}::bigint,
                 ${o.collectorId ?? null}::text, ${o.openedAt}::timestamptz,
                 ${o.situation?.creditGrade ?? null}::text, ${o.situation?.segment ?? null}::text
          where not exists (select 1 from existing)
          returning id),
        hold as (
          insert into credit_holds (account_id, case_key, reason, placed_at)
          select ${o.accountId}::text, ${o.caseKey}::text, 'account overdue: no further supply or lending', ${o.at}::timestamptz
          from opened),
        audited as (insert into audit_log ${auditRow(sql, ACTOR, 'case-opened', o, detail)} where exists (select 1 from opened))
        select id from existing union all select id from opened`;
      return { caseRowId: row!.id };
    },

    async recordMissedPayment(r: MissedPaymentRecord) {
      await atomically(sql, async (tx) => {
        const inserted = await tx`
          insert into instalments (idempotency_key, case_key, account_id, due_date, amount_minor, currency)
          values (${r.idempotencyKey}, ${r.caseKey}, ${r.accountId}, ${r.missed.dueDate}, ${r.missed.amountMinor}, ${r.missed.currency})
          on conflict (case_key, due_date) do nothing
          returning id`;
        if (inserted.length > 0) await audit(tx, ACTOR, 'instalment-missed', r, r.missed);
      });
    },

    async recordPayment(r: PaymentRecord) {
      return atomically(sql, async (tx) => {
        const [c] = await tx<{ currency: string }[]>`select currency from cases where case_key = ${r.caseKey}`;
        if (!c) throw ApplicationFailure.nonRetryable(`no case ${r.caseKey} in the ledger`, ErrorTypes.CaseNotFound);
        if (c.currency !== r.payment.currency) {
          throw ApplicationFailure.nonRetryable(
            `payment ${r.payment.paymentId} is in ${r.payment.currency}, the case in ${c.currency}`,
            ErrorTypes.CurrencyMismatch,
          );
        }
        const a = r.allocation;
        const inserted = await tx`
          insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at,
                                fees_minor, penalty_minor, principal_minor, excess_minor, outstanding_after_minor)
          values (${r.payment.paymentId}, ${r.idempotencyKey}, ${r.accountId}, ${r.caseKey}, ${r.payment.amountMinor},
                  ${r.payment.currency}, ${r.payment.paidAt}, ${a.feesMinor}, ${a.penaltyMinor}, ${a.principalMinor},
                  ${a.excessMinor}, ${r.outstandingAfterMinor})
          on conflict (payment_id) do nothing
          returning id`;
        if (inserted.length === 0) {
          // A retry of this very write finds its own row. Anything else holding the payment id (another
          // account's or another case's payment) is refused loudly: the case must not apply a payment
          // the ledger does not have.
          const [held] = await tx<{ idempotency_key: string; account_id: string; case_key: string }[]>`
            select idempotency_key, account_id, case_key from payments where payment_id = ${r.payment.paymentId}`;
          if (held?.idempotency_key === r.idempotencyKey) return { recorded: false };
          throw ApplicationFailure.create({
            message: held
              ? `payment ${r.payment.paymentId} is already recorded for account ${held.account_id}` +
                `${held.account_id === r.accountId ? ` (case ${held.case_key})` : ''}; refused for account ${r.accountId}`
              : `payment ${r.payment.paymentId} could not be recorded for account ${r.accountId}`,
            type: ErrorTypes.PaymentIdConflict,
            nonRetryable: true,
            details: [
              {
                paymentId: r.payment.paymentId,
                accountId: r.accountId,
                ...(held ? { heldBy: { accountId: held.account_id, caseKey: held.case_key } } : {}),
              },
            ],
          });
        }
        await tx`update cases set paid_minor = paid_minor + ${r.payment.amountMinor}, outstanding_minor = ${r.outstandingAfterMinor}
                 where case_key = ${r.caseKey}`;
        // The processor's receipt (if it came by the webhook) is applied with the payment, in this transaction;
        // the same payment sent earlier for an account no case took it for is marked as gone here.
        await tx`
          update payment_receipts
          set status = case when account_id = ${r.accountId} then 'applied' else 'redirected' end,
              detail = case when account_id = ${r.accountId} then null else ${`applied to account ${r.accountId}`} end
          where payment_id = ${r.payment.paymentId}
            and ((account_id = ${r.accountId} and status <> 'applied')
              or (account_id <> ${r.accountId} and status in ('unmatched', 'after-close')))`;
        await audit(tx, ACTOR, 'payment-applied', r, { paymentId: r.payment.paymentId, amountMinor: r.payment.amountMinor, allocation: a });
        return { recorded: true };
      });
    },

    /** The cases row follows the workflow; an older projection arriving late never overwrites a newer one. */
    async projectCase(p: CaseProjection) {
      const b = p.balance;
      await sql`
        update cases set stage = ${p.stage}, collector_id = coalesce(${p.collectorId ?? null}, collector_id),
          days_overdue = ${p.daysOverdue},
          principal_minor = ${b.principalMinor}, penalty_minor = ${b.penaltyMinor}, fees_minor = ${b.feesMinor},
          outstanding_minor = ${b.principalMinor + b.penaltyMinor + b.feesMinor}, paid_minor = ${p.paidMinor},
          broken_promises = ${p.brokenPromises}, treatment = ${p.treatment}, in_dispute = ${p.inDispute},
          next_action = ${p.nextAction ?? null}, next_action_at = ${p.nextActionAt ?? null},
          overdue_since = coalesce(${p.overdueSince ?? null}::timestamptz, overdue_since),
          paused = coalesce(${p.paused ?? null}::boolean, paused),
          credit_grade = coalesce(${p.situation?.creditGrade ?? null}, credit_grade),
          segment = coalesce(${p.situation?.segment ?? null}, segment),
          funds = coalesce(${p.situation?.funds ?? null}, funds),
          projection_no = ${p.projectionNo}, projected_at = ${p.at}
        where case_key = ${p.caseKey} and projection_no < ${p.projectionNo}`;
    },

    async recordPromise(r: PromiseLedgerRecord) {
      await atomically(sql, async (tx) => {
        const written = await tx`
          insert into promises (idempotency_key, case_key, promise_no, promised_date, amount_minor, status, made_at, settled_at)
          values (${r.idempotencyKey}, ${r.caseKey}, ${r.promiseNo}, ${r.date}, ${r.amountMinor}, ${r.status}, ${r.madeAt},
                  ${r.status === 'pending' ? null : r.at})
          on conflict (case_key, promise_no) do update set status = excluded.status, settled_at = excluded.settled_at
          where promises.status = 'pending' and excluded.status <> 'pending'
          returning id`;
        if (written.length > 0)
          await audit(tx, ACTOR, `promise-${r.status}`, r, { promiseNo: r.promiseNo, date: r.date, amountMinor: r.amountMinor });
      });
    },

    /**
     * Closes the case and lifts its credit hold, unless the closing keeps it (`liftHold: false`: written off,
     * legal-closed, settled with something forgiven; a supervisor releases it). Absent: lifted (older cases).
     */
    async recordCaseClosed(c: CaseClosing) {
      const lift = c.liftHold !== false;
      await atomically(sql, async (tx) => {
        const closed = await tx`update cases set stage = ${c.stage}, closed_at = ${c.closedAt}, outstanding_minor = ${c.outstandingMinor}
                                where case_key = ${c.caseKey} and closed_at is null returning id`;
        if (lift)
          await tx`update credit_holds set lifted_at = ${c.closedAt}, lift_reason = ${`case closed: ${c.stage}`}
                   where case_key = ${c.caseKey} and lifted_at is null`;
        // A closed case's calls leave every queue.
        await tx`update call_tasks set status = 'cancelled' where case_key = ${c.caseKey} and status = 'open'`;
        if (closed.length > 0)
          await audit(tx, ACTOR, 'case-closed', c, {
            stage: c.stage,
            paidMinor: c.paidMinor,
            outstandingMinor: c.outstandingMinor,
            creditHold: lift ? 'lifted' : 'kept',
          });
      });
    },

    async placeOnBlacklist(b: BlacklistRequest) {
      await atomically(sql, async (tx) => {
        const inserted = await tx`
          insert into blacklist (idempotency_key, account_id, case_key, debtor_name, id_number, days_overdue, listed_at)
          select ${b.idempotencyKey}, ${b.accountId}, ${b.caseKey}, ${b.debtorName}, d.id_number, ${b.daysOverdue}, ${b.at}
          from (select 1) one left join debtors d on d.account_id = ${b.accountId}
          on conflict (idempotency_key) do nothing
          returning id`;
        if (inserted.length > 0) await audit(tx, ACTOR, 'blacklisted', b, { daysOverdue: b.daysOverdue });
      });
    },

    /** The case's timeline entries; a retry finds them (case key, seq). */
    async recordTimeline(r: TimelineRecord) {
      if (r.entries.length === 0) return;
      const rows = r.entries.map((e) => ({ case_key: r.caseKey, seq: e.seq, at: e.at, day: e.day, what: e.what, outcome: e.outcome }));
      await sql`insert into case_timeline ${sql(rows)} on conflict (case_key, seq) do nothing`;
    },
  };
}
