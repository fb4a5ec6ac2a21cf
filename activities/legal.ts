import { atomically, type Sql } from '../db/index';
import type {
  CaseActivities,
  CaseRef,
  LegalEventRecord,
  StepFailure,
  StepRequest,
  SupervisorReminder,
  TreatmentRecord,
  WriteOffRecord,
} from '../shared/activities';
import { addDays } from '../shared/calendar';
import { audit, auditOnce, loadCase, loadDebtor } from './audit';
import type { ChannelProvider } from './channels/index';
import { issueDocument, reconciledAmounts } from './notices';

type LegalActivities = Pick<
  CaseActivities,
  | 'requestLegalReferral'
  | 'referToLegal'
  | 'remindSupervisor'
  | 'recordStepFailure'
  | 'recordLegalEvent'
  | 'recordTreatment'
  | 'recordWriteOff'
>;

/**
 * Builds legal's dossier from the ledger and the contact log (sales company plan, part 5):
 * identity, overdue since, amounts, collection history, costs so far.
 */
async function buildDossier(sql: Sql, req: StepRequest) {
  const c = await loadCase(sql, req.caseKey);
  const d = await loadDebtor(sql, req.accountId);
  const amounts = await reconciledAmounts(sql, req);
  const [instalments, payments, contacts, visits, notices, promises, costs, guarantors] = await Promise.all([
    sql`select due_date, amount_minor from instalments where case_key = ${req.caseKey} order by due_date`,
    sql`select payment_id, amount_minor, paid_at, principal_minor, penalty_minor, fees_minor from payments
        where case_key = ${req.caseKey} order by paid_at`,
    sql`select attempted_at, channel, party, status, outcome, reason_category, refused_rule, note, actor from contact_attempts
        where case_key = ${req.caseKey} order by attempted_at, id`,
    sql`select planned_for, officer_id, status, outcome, signed_statement, written_promise from visits
        where case_key = ${req.caseKey} order by planned_for`,
    sql`select kind, reference, content_hash, total_minor, issued_at, delivery_status from notices
        where case_key = ${req.caseKey} order by issued_at`,
    sql`select promise_no, promised_date, amount_minor, status from promises where case_key = ${req.caseKey} order by promise_no`,
    sql`select kind, amount_minor, description, incurred_at from case_costs where case_key = ${req.caseKey} order by incurred_at`,
    sql`select guarantor_ref, name, phones, address from guarantors where account_id = ${req.accountId} order by id`,
  ]);
  const firstDue = c.first_due_date.toISOString().slice(0, 10);
  return {
    identity: { name: d.name, idNumber: d.id_number, address: d.address, phones: d.phones, jurisdiction: d.jurisdiction },
    account: { accountId: req.accountId, currency: c.currency },
    overdueSince: addDays(firstDue, 1),
    daysOverdue: req.daysOverdue,
    amounts,
    guarantors,
    instalments,
    payments,
    collectionHistory: { contacts, visits, notices, promises },
    costs,
    reason: req.reason ?? 'long unpaid',
  };
}

export function createLegalActivities({
  sql,
  letters,
  notify,
}: {
  sql: Sql;
  letters: ChannelProvider;
  notify: ChannelProvider;
}): LegalActivities {
  /** One email to the supervisors, once per idempotency key. */
  const tellSupervisors = (ref: CaseRef, subject: string, body: string) =>
    notify.send({
      idempotencyKey: ref.idempotencyKey,
      channel: 'email',
      caseKey: ref.caseKey,
      accountId: ref.accountId,
      recipient: { name: 'Collection supervisors', email: 'supervisors@recoup.local' },
      subject,
      body,
    });
  return {
    /** The referral, with its dossier, awaiting a supervisor's approval. */
    async requestLegalReferral(req) {
      const [done] = await sql<{ id: number }[]>`select id from legal_referrals where case_key = ${req.caseKey}`;
      if (done) return { status: 'done', reference: `legal#${done.id}` };
      const dossier = await buildDossier(sql, req);
      return atomically(sql, async (tx) => {
        const [row] = await tx<{ id: number }[]>`
          insert into legal_referrals (idempotency_key, case_key, account_id, reason, dossier, status, requested_at)
          values (${req.idempotencyKey}, ${req.caseKey}, ${req.accountId}, ${dossier.reason}, ${tx.json(dossier as never)}, 'requested',
                  ${req.at})
          on conflict (case_key) do update set case_key = excluded.case_key
          returning id`;
        await audit(tx, 'case-workflow', 'legal-referral-requested', req, {
          referral: row!.id,
          reason: dossier.reason,
          totalMinor: dossier.amounts.totalMinor,
        });
        return { status: 'done' as const, reference: `legal#${row!.id}` };
      });
    },

    /** Approved: legal takes the case, and the lawyer's letter (律师函) goes out from the ledger's amounts. */
    async referToLegal(req) {
      const [ref] = await sql<{ id: number }[]>`
        update legal_referrals set status = 'approved', approved_by = ${req.approvedBy}, approved_at = ${req.at}
        where case_key = ${req.caseKey} and approved_at is null returning id`;
      if (ref) await audit(sql, req.approvedBy, 'legal-referral-approved', req, { referral: ref.id });
      return issueDocument(sql, letters, req, {
        kind: 'lawyers-letter',
        to: { party: 'debtor' },
        idempotencyKey: `${req.idempotencyKey}:lawyers-letter`,
      });
    },

    /**
     * A step failed for good: a letter it left `pending` (its channel kept failing) is marked failed,
     * so finance never reads it as served; supervisors get one message per failure; the audit log says why.
     */
    async recordStepFailure(a: StepFailure) {
      await sql`update notices set delivery_status = 'failed'
                where case_key = ${a.caseKey} and delivery_status = 'pending'
                  and (idempotency_key = ${a.stepKey} or starts_with(idempotency_key, ${`${a.stepKey}:`}))`;
      const subject = `Case ${a.accountId}: day ${a.day} ${a.action.replace(/-/g, ' ')} failed`;
      await tellSupervisors(
        a,
        subject,
        `${subject}: ${a.reason}. The case goes on without this step; fix the cause (the timeline and the audit log say what it was).`,
      );
      await auditOnce(sql, 'case-workflow', 'step-failed', a, { step: a.stepId, action: a.action, day: a.day, reason: a.reason });
    },

    async remindSupervisor(r: SupervisorReminder) {
      await tellSupervisors(
        r,
        r.subject,
        `${r.subject} (reminder ${r.reminder}). ${r.body ?? 'Approve with the approveLegalReferral update or the API.'}`,
      );
      await auditOnce(sql, 'case-workflow', 'supervisor-reminded', r, { subject: r.subject, reminder: r.reminder });
    },

    /** Filing, asset freeze, mediation, judgment, closing: each recorded on the referral, each cost charged to the case. */
    async recordLegalEvent(r: LegalEventRecord) {
      const e = r.event;
      await atomically(sql, async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext(${r.idempotencyKey}))`;
        const [known] = await tx`select 1 from audit_log where action = 'legal-event' and detail->>'key' = ${r.idempotencyKey}`;
        if (known) return;
        if (e.kind === 'filed')
          await tx`update legal_referrals set status = 'filed', filed_at = ${r.at}, court = ${e.court}, court_case_number = ${e.caseNumber}
                   where case_key = ${r.caseKey}`;
        if (e.kind === 'assets-frozen') await tx`update legal_referrals set assets_frozen_at = ${r.at} where case_key = ${r.caseKey}`;
        if (e.kind === 'mediated-settlement')
          await tx`update legal_referrals set status = 'mediated', mediated_amount_minor = ${e.amountMinor} where case_key = ${r.caseKey}`;
        if (e.kind === 'judgment')
          await tx`update legal_referrals set status = 'judgment', judgment_amount_minor = ${e.amountMinor} where case_key = ${r.caseKey}`;
        if (e.kind === 'closed')
          await tx`update legal_referrals set status = 'closed', closed_at = ${r.at}, outcome = ${e.outcome} where case_key = ${r.caseKey}`;
        const cost = 'costMinor' in e ? e.costMinor : undefined;
        if (cost) {
          const c = await loadCase(tx, r.caseKey);
          await tx`insert into case_costs (idempotency_key, case_key, account_id, kind, amount_minor, currency, description, incurred_at)
                   values (${`${r.idempotencyKey}:cost`}, ${r.caseKey}, ${r.accountId}, ${`legal-${e.kind}`}, ${cost}, ${c.currency},
                           ${`legal: ${e.kind}`}, ${r.at})
                   on conflict (idempotency_key) do nothing`;
        }
        await audit(tx, 'legal', 'legal-event', r, { key: r.idempotencyKey, ...e });
      });
    },

    recordTreatment: (r: TreatmentRecord) => auditOnce(sql, r.approvedBy, `treatment-${r.treatment}`, r, { balance: r.balance }),
    recordWriteOff: (r: WriteOffRecord) => auditOnce(sql, r.by, 'write-off', r, { reason: r.reason, balance: r.balance }),
  };
}
