import { atomically, type Sql } from '../db/index';
import type { CaseActivities, InKindLedgerRecord, PaymentInvestigationRequest, PlanLedgerRecord } from '../shared/activities';
import type { PlanRecord } from '../shared/case';
import { audit } from './audit';

type TreatmentActivities = Pick<CaseActivities, 'recordPlan' | 'recordInKind' | 'openPaymentInvestigation'>;

/**
 * What a plan's payments covered of each instalment: `paidMinor` fills them in order. An instalment
 * fully covered is paid; the one whose grace ran out, in a broken plan, is missed; the rest pending.
 */
function planInstalmentRows(plan: PlanRecord, paidMinor: number) {
  let left = Math.max(0, paidMinor);
  return plan.instalments.map((i, n) => {
    const seq = n + 1;
    const paid = Math.min(i.amountMinor, left);
    left -= paid;
    const status = paid >= i.amountMinor ? 'paid' : plan.status === 'broken' && plan.brokenInstalment === seq ? 'missed' : 'pending';
    return { seq, dueDate: i.dueDate, amountMinor: i.amountMinor, paidMinor: paid, status };
  });
}

/**
 * The ledger's rows of restructuring plans, settlements in kind and payment investigations. A plan or
 * a settlement is written as it stands after an event, only when the event's revision is newer than
 * the one stored: a retry finds its own revision there and writes nothing, a late older one changes
 * nothing. Each in one transaction with its audit row, written only when the rows were.
 */
export function createTreatmentActivities({ sql }: { sql: Sql }): TreatmentActivities {
  return {
    /** The plan, its instalments (paid amounts filled in order) and its reviews. */
    async recordPlan(r: PlanLedgerRecord) {
      const p = r.plan;
      const totalMinor = p.instalments.reduce((sum, i) => sum + i.amountMinor, 0);
      await atomically(sql, async (tx) => {
        const written = await tx`
          insert into repayment_plans (case_key, account_id, plan_no, status, proposed_by, proposed_at, total_minor, reduced_to_minor,
                                       grace_days, penalty_mode, penalty_bps, security, note, started_at, ended_at, broken_instalment,
                                       waived_minor, paid_minor, revision, updated_at)
          values (${r.caseKey}, ${r.accountId}, ${p.no}, ${p.status}, ${p.proposedBy}, ${p.proposedAt}, ${totalMinor},
                  ${p.reducedToMinor ?? null}, ${p.graceDays}, ${p.penalty.mode},
                  ${p.penalty.mode === 'reduced' ? p.penalty.bpsPerDay : null}, ${p.security ? tx.json(p.security as never) : null},
                  ${p.note ?? null}, ${p.startedAt ?? null}, ${p.endedAt ?? null}, ${p.brokenInstalment ?? null},
                  ${p.waivedMinor ?? 0}, ${r.paidMinor}, ${r.revision}, ${r.at})
          on conflict (case_key, plan_no) do update set
            status = excluded.status, total_minor = excluded.total_minor, reduced_to_minor = excluded.reduced_to_minor,
            grace_days = excluded.grace_days, penalty_mode = excluded.penalty_mode, penalty_bps = excluded.penalty_bps,
            security = excluded.security, note = excluded.note, started_at = excluded.started_at, ended_at = excluded.ended_at,
            broken_instalment = excluded.broken_instalment, waived_minor = excluded.waived_minor, paid_minor = excluded.paid_minor,
            revision = excluded.revision, updated_at = excluded.updated_at
          where repayment_plans.revision < excluded.revision
          returning id`;
        if (written.length === 0) return;
        const instalments = planInstalmentRows(p, r.paidMinor).map((i) => ({
          case_key: r.caseKey,
          plan_no: p.no,
          seq: i.seq,
          due_date: i.dueDate,
          amount_minor: i.amountMinor,
          paid_minor: i.paidMinor,
          status: i.status,
        }));
        // Rebased at approval, a plan keeps its instalments' count; should it ever have fewer, the rest go.
        await tx`delete from repayment_plan_instalments
                 where case_key = ${r.caseKey} and plan_no = ${p.no} and seq > ${instalments.length}`;
        if (instalments.length > 0)
          await tx`
            insert into repayment_plan_instalments ${tx(instalments)}
            on conflict (case_key, plan_no, seq) do update set due_date = excluded.due_date, amount_minor = excluded.amount_minor,
              paid_minor = excluded.paid_minor, status = excluded.status`;
        for (const a of p.approvals) {
          await tx`
            insert into treatment_approvals (case_key, account_id, subject, subject_no, role, decided_by, decision, note, decided_at)
            values (${r.caseKey}, ${r.accountId}, 'plan', ${p.no}, ${a.role}, ${a.by}, ${a.decision}, ${a.note ?? null}, ${a.at})
            on conflict (case_key, subject, subject_no, role) do update set decided_by = excluded.decided_by,
              decision = excluded.decision, note = excluded.note, decided_at = excluded.decided_at`;
        }
        await audit(tx, r.actor, `plan-${r.event}`, r, {
          key: r.idempotencyKey,
          planNo: p.no,
          status: p.status,
          revision: r.revision,
          totalMinor,
          paidMinor: r.paidMinor,
        });
      });
    },

    /** The settlement in kind as it stands, and the manager's shortfall decision when there is one. */
    async recordInKind(r: InKindLedgerRecord) {
      const k = r.inKind;
      await atomically(sql, async (tx) => {
        const written = await tx`
          insert into in_kind_settlements (case_key, account_id, status, asset, offered_by, estimated_value_minor, appraised_value_minor,
                                           appraiser, appraisal_document, preservation_reference, transfer_document, shortfall_minor,
                                           shortfall_decision, abandoned_reason, applied_payment_id, revision, updated_at)
          values (${r.caseKey}, ${r.accountId}, ${k.status}, ${k.asset}, ${k.offeredBy}, ${k.estimatedValueMinor ?? null},
                  ${k.appraisal?.valueMinor ?? null}, ${k.appraisal?.appraiser ?? null}, ${k.appraisal?.document ?? null},
                  ${k.preservation?.reference ?? null}, ${k.transfer?.document ?? null}, ${k.shortfallMinor ?? null},
                  ${k.shortfall?.decision ?? null}, ${k.abandoned?.reason ?? null}, ${k.appliedPaymentId ?? null}, ${r.revision}, ${r.at})
          on conflict (case_key) do update set
            status = excluded.status, asset = excluded.asset, offered_by = excluded.offered_by,
            estimated_value_minor = excluded.estimated_value_minor, appraised_value_minor = excluded.appraised_value_minor,
            appraiser = excluded.appraiser, appraisal_document = excluded.appraisal_document,
            preservation_reference = excluded.preservation_reference, transfer_document = excluded.transfer_document,
            shortfall_minor = excluded.shortfall_minor, shortfall_decision = excluded.shortfall_decision,
            abandoned_reason = excluded.abandoned_reason, applied_payment_id = excluded.applied_payment_id,
            revision = excluded.revision, updated_at = excluded.updated_at
          where in_kind_settlements.revision < excluded.revision
          returning case_key`;
        if (written.length === 0) return;
        const s = k.shortfall;
        if (s)
          await tx`
            insert into treatment_approvals (case_key, account_id, subject, subject_no, role, decided_by, decision, note, decided_at)
            values (${r.caseKey}, ${r.accountId}, 'in-kind-shortfall', 1, ${s.role}, ${s.by}, ${s.decision}, ${s.note ?? null}, ${s.at})
            on conflict (case_key, subject, subject_no, role) do update set decided_by = excluded.decided_by,
              decision = excluded.decision, note = excluded.note, decided_at = excluded.decided_at`;
        await audit(tx, r.actor, `in-kind-${r.event}`, r, {
          key: r.idempotencyKey,
          status: k.status,
          revision: r.revision,
          ...(k.appraisal ? { appraisedValueMinor: k.appraisal.valueMinor } : {}),
          ...(s ? { shortfallDecision: s.decision } : {}),
          ...(k.appliedPaymentId ? { appliedPaymentId: k.appliedPaymentId } : {}),
        });
      });
    },

    /** One investigation per key, for finance to look into (the receipts route resolves it). */
    async openPaymentInvestigation(r: PaymentInvestigationRequest) {
      await atomically(sql, async (tx) => {
        const [row] = await tx<{ id: number }[]>`
          insert into payment_investigations (idempotency_key, case_key, account_id, reason_category, reported_by, note, opened_at)
          values (${r.idempotencyKey}, ${r.caseKey}, ${r.accountId}, ${r.reasonCategory}, ${r.reportedBy}, ${r.note}, ${r.at})
          on conflict (idempotency_key) do nothing
          returning id`;
        if (row)
          await audit(tx, r.reportedBy, 'payment-investigation-opened', r, { investigation: row.id, reasonCategory: r.reasonCategory });
      });
    },
  };
}
