import { localDate } from '../shared/calendar';
import { atomically, type Db, type Sql } from '../db/index';
import type {
  CaseActivities,
  ContactDetailsRecord,
  ContactOutcomeRecord,
  StepRequest,
  StepResult,
  VisitApproval,
  VisitCancellation,
  VisitReport,
} from '../shared/activities';
import { audit, loadCase, loadDebtor, loadGuarantors, type DebtorRow, type GuarantorRow, type PreferredChannel } from './audit';
import { checkContact, RULE_SETS, type ContactChannel, type ContactLogEntry, type ContactParty } from './compliance/rules';

type Tx = Db;
type ContactActivities = Pick<
  CaseActivities,
  | 'placeCollectionCall'
  | 'contactGuarantor'
  | 'scheduleFieldVisit'
  | 'recordVisitApproval'
  | 'cancelVisit'
  | 'recordVisitReport'
  | 'recordContactOutcome'
  | 'recordContactDetails'
>;

const CONVERSATION_OUTCOMES = new Set(['reached', 'promise', 'refused']);

/** The contact log's channel of each preferred channel. */
const LOG_CHANNEL: Record<PreferredChannel, ContactChannel> = {
  call: 'phone',
  sms: 'sms',
  email: 'email',
  letter: 'letter',
  visit: 'visit',
};

/**
 * What a contact's log row adds when the person prefers another channel: the preference is not a
 * prohibition (the contact happens), but the ledger says it was not the preferred one. '' when it was.
 */
export function preferenceNote(who: 'debtor' | 'guarantor', preferred: PreferredChannel | null, channel: ContactChannel): string {
  return preferred && LOG_CHANNEL[preferred] !== channel ? ` (the ${who} prefers ${preferred})` : '';
}

/** Whom a contact is for: the debtor, or a guarantor with their own flags. */
type Recipient = { party: 'debtor' } | { party: 'guarantor'; guarantor: GuarantorRow };

/**
 * The compliance guard before a contact: the jurisdiction's rules (values in data) over the case's
 * contact log, the debtor's flags and consent, and a guarantor's own flags, all read from the ledger
 * now (so a preference set a moment ago applies). A refusal is recorded with the rule that refused it,
 * once per `key` (the contact's own key: one per guarantor of a step).
 */
async function guard(
  tx: Tx,
  req: StepRequest,
  key: string,
  debtor: DebtorRow,
  channel: ContactChannel,
  to: Recipient,
): Promise<StepResult | undefined> {
  const party: ContactParty = to.party;
  const rows = await tx<
    {
      at: Date;
      channel: ContactChannel;
      party: ContactParty;
      status: 'placed' | 'completed';
      outcome: string | null;
      conversation: boolean;
    }[]
  >`
    select a.attempted_at as at, a.channel, a.party, a.status, a.outcome, a.conversation from contact_attempts a
    where a.account_id = ${req.accountId} and a.status <> 'refused'
      -- One call, one entry: a call task the collector has reported is logged twice (placed, then completed);
      -- its report stands for it (the date it was made, its outcome), so the placed row does not count again.
      and not (a.status = 'placed' and a.channel = 'phone' and a.idempotency_key like '%:attempt' and exists (
        select 1 from call_tasks t where t.idempotency_key = left(a.idempotency_key, -length(':attempt')) and t.reported_at is not null))
    order by a.attempted_at`;
  const log: ContactLogEntry[] = rows.map((r) => ({
    at: r.at.getTime(),
    channel: r.channel,
    party: r.party,
    status: r.status,
    ...(r.outcome ? { outcome: r.outcome as ContactLogEntry['outcome'] } : {}),
    conversation: r.conversation,
  }));
  const debtorOutcomes = log
    .filter((e) => e.party === 'debtor' && e.status === 'completed')
    .slice(-3)
    .map((e) => e.outcome);
  const debtorUnreachable =
    debtorOutcomes.at(-1) === 'wrong-number' || (debtorOutcomes.length === 3 && debtorOutcomes.every((o) => o === 'no-answer'));
  const verdict = checkContact(
    RULE_SETS[debtor.jurisdiction],
    { at: Date.parse(req.at), channel, party, timeZone: debtor.time_zone },
    log,
    {
      doNotContact: debtor.do_not_contact,
      ceaseCommunication: debtor.cease_communication,
      inDispute: req.inDispute,
      debtorUnreachable,
      thirdPartyConsent: debtor.third_party_consent,
      ...(to.party === 'guarantor'
        ? { recipient: { doNotContact: to.guarantor.do_not_contact, ceaseCommunication: to.guarantor.cease_communication } }
        : {}),
    },
  );
  if (verdict.allowed) return undefined;
  const nextAllowedAt = verdict.nextAllowedAt !== undefined ? new Date(verdict.nextAllowedAt).toISOString() : undefined;
  const partyRef = to.party === 'guarantor' ? to.guarantor.guarantor_ref : undefined;
  const recorded = await tx`
    insert into contact_attempts (idempotency_key, case_key, account_id, channel, party, status, refused_rule, next_allowed_at, note, actor,
                                  attempted_at)
    values (${`${key}:refused@${req.at}`}, ${req.caseKey}, ${req.accountId}, ${channel}, ${party}, 'refused',
            ${verdict.rule},
            ${nextAllowedAt ?? null}, ${partyRef ? `guarantor ${partyRef}: ${verdict.reason}` : verdict.reason}, 'compliance-guard',
            ${req.at})
    on conflict (idempotency_key) do nothing
    returning id`;
  if (recorded.length > 0) {
    await audit(tx, 'compliance-guard', 'contact-refused', req, {
      step: req.stepId,
      channel,
      party,
      ...(partyRef ? { partyRef } : {}),
      rule: verdict.rule,
      nextAllowedAt,
    });
  }
  return { status: 'refused', rule: verdict.rule, reason: verdict.reason, ...(nextAllowedAt ? { nextAllowedAt } : {}) };
}

async function existing(tx: Tx, table: 'call_tasks' | 'visits', key: string): Promise<StepResult | undefined> {
  const [row] = await tx<{ id: number }[]>`select id from ${tx(table)} where idempotency_key = ${key}`;
  return row ? { status: 'done', reference: `${table === 'visits' ? 'visit' : 'call'}#${row.id}` } : undefined;
}

export function createContactActivities({ sql }: { sql: Sql }): ContactActivities {
  /** A call task in the collector's queue; the outcome arrives when the collector reports it. */
  const callTask = async (req: StepRequest, to: Recipient, phone: string | undefined, key: string) =>
    atomically(sql, async (tx): Promise<StepResult> => {
      const done = await existing(tx, 'call_tasks', key);
      if (done) return done;
      const debtor = await loadDebtor(tx, req.accountId);
      const refused = await guard(tx, req, key, debtor, 'phone', to);
      if (refused) return refused;
      const party = to.party;
      const partyRef = to.party === 'guarantor' ? to.guarantor.guarantor_ref : null;
      const preferred = to.party === 'guarantor' ? to.guarantor.preferred_channel : debtor.preferred_channel;
      const note = preferenceNote(party, preferred, 'phone');
      if (!phone) return { status: 'refused', rule: 'no-phone-number', reason: `no phone number on file for the ${party}` };
      const c = await loadCase(tx, req.caseKey);
      // The case's owner and team as routed (cases.collector_id / team_id); a task without a collector is its team's.
      const [row] = await tx<{ id: number }[]>`
        insert into call_tasks (idempotency_key, case_key, account_id, collector_id, team_id, party, party_ref, phone, due_at, window_end)
        values (${key}, ${req.caseKey}, ${req.accountId}, ${req.collectorId ?? c.collector_id},
                (select team_id from cases where case_key = ${req.caseKey}), ${party}, ${partyRef}, ${phone}, ${req.at}, ${req.windowEnd})
        returning id`;
      await tx`
        insert into contact_attempts (idempotency_key, case_key, account_id, channel, party, status, note, actor, attempted_at)
        values (${`${key}:attempt`}, ${req.caseKey}, ${req.accountId}, 'phone', ${party}, 'placed', ${req.description + note},
                ${req.collectorId ?? c.collector_id ?? 'queue'}, ${req.at})`;
      await audit(tx, 'case-workflow', 'call-task-placed', req, {
        step: req.stepId,
        day: req.day,
        party,
        partyRef,
        ...(note ? { preferredChannel: preferred } : {}),
      });
      return { status: 'done', reference: `call#${row!.id}` };
    });

  return {
    /**
     * New or corrected phones, email or address of the debtor or a guarantor: the debtors and
     * guarantors rows take them (what is not given stays), audited with who changed which fields
     * (not the values: the rows hold those). Once per idempotency key.
     */
    async recordContactDetails(r: ContactDetailsRecord) {
      await atomically(sql, async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext(${r.idempotencyKey}))`;
        const [known] = await tx`select 1 from audit_log where case_key = ${r.caseKey} and detail->>'key' = ${r.idempotencyKey}`;
        if (known) return;
        const d = r.debtor;
        if (d) {
          await tx`update debtors set phones = coalesce(${d.phones ?? null}::text[], phones), email = coalesce(${d.email ?? null}, email),
                     address = coalesce(${d.address ?? null}, address), updated_at = now()
                   where account_id = ${r.accountId}`;
        }
        for (const g of r.guarantors ?? []) {
          await tx`update guarantors set phones = coalesce(${g.phones ?? null}::text[], phones),
                   address = coalesce(${g.address ?? null}, address), updated_at = now()
                   where account_id = ${r.accountId} and guarantor_ref = ${g.id}`;
        }
        const fields = [
          ...Object.keys(d ?? {}).map((k) => `debtor.${k}`),
          ...(r.guarantors ?? []).flatMap((g) =>
            Object.keys(g)
              .filter((k) => k !== 'id')
              .map((k) => `guarantor.${g.id}.${k}`),
          ),
        ];
        await audit(tx, r.by, 'contact-details-updated', r, { key: r.idempotencyKey, fields });
      });
    },

    async placeCollectionCall(req) {
      const debtor = await loadDebtor(sql, req.accountId);
      return callTask(req, { party: 'debtor' }, debtor.phones[0], req.idempotencyKey);
    },

    /**
     * One call task per guarantor, asking them to help collect (day 4 of the ladder). Each passes the
     * guard with the debtor's flags and the guarantor's own; done when at least one call was placed.
     */
    async contactGuarantor(req) {
      const guarantors = await loadGuarantors(sql, req.accountId);
      const results: StepResult[] = [];
      for (const g of guarantors)
        results.push(await callTask(req, { party: 'guarantor', guarantor: g }, g.phones[0], `${req.idempotencyKey}:${g.guarantor_ref}`));
      const done = results.filter((r): r is Extract<StepResult, { status: 'done' }> => r.status === 'done');
      if (done.length > 0) return { status: 'done', reference: done.map((r) => r.reference).join(',') };
      return results[0] ?? { status: 'refused', rule: 'no-guarantor', reason: 'no guarantor on file' };
    },

    /** Plans the visit and assigns the officer of the debtor's region with the fewest visits that day. */
    async scheduleFieldVisit(req) {
      return atomically(sql, async (tx): Promise<StepResult> => {
        const done = await existing(tx, 'visits', req.idempotencyKey);
        if (done) return done;
        const debtor = await loadDebtor(tx, req.accountId);
        const refused = await guard(tx, req, req.idempotencyKey, debtor, 'visit', { party: 'debtor' });
        if (refused) return refused;
        const note = preferenceNote('debtor', debtor.preferred_channel, 'visit');
        const plannedFor = localDate(Date.parse(req.at), debtor.time_zone);
        const [officer] = await tx<{ officer_id: string; vehicle: string | null }[]>`
          select o.officer_id, o.vehicle from field_officers o
          left join visits v on v.officer_id = o.officer_id and v.planned_for = ${plannedFor} and v.status in ('planned', 'approved')
          where o.active and (o.region = ${debtor.region} or ${debtor.region}::text is null)
          group by o.officer_id, o.vehicle order by count(v.id), o.officer_id limit 1`;
        const [row] = await tx<{ id: number }[]>`
          insert into visits (idempotency_key, case_key, account_id, planned_for, window_from, window_to, officer_id, vehicle, materials,
                              purpose, approval_required, status)
          values (${req.idempotencyKey}, ${req.caseKey}, ${req.accountId}, ${plannedFor}, ${req.windowFrom}, ${req.windowTo},
                  ${officer?.officer_id ?? null}, ${officer?.vehicle ?? null}, ${req.materials ?? []}, ${req.description},
                  ${!!req.approvalRole}, 'planned')
          returning id`;
        await tx`
          insert into contact_attempts (idempotency_key, case_key, account_id, channel, party, status, note, actor, attempted_at)
          values (${`${req.idempotencyKey}:attempt`}, ${req.caseKey}, ${req.accountId}, 'visit', 'debtor', 'placed',
                  ${req.description + note}, ${officer?.officer_id ?? 'unassigned'}, ${req.at})`;
        if (req.costMinor > 0) {
          // Recoverable when the case charged it to the debt's fees part (req.feeMinor).
          await tx`insert into case_costs (idempotency_key, case_key, account_id, kind, amount_minor, currency, description, incurred_at,
                                           recoverable)
                   values (${`${req.idempotencyKey}:cost`}, ${req.caseKey}, ${req.accountId}, 'field-visit', ${req.costMinor},
                           ${req.currency},
                           ${`visit#${row!.id}: ${req.stepId} day ${req.day}`}, ${req.at}, ${(req.feeMinor ?? 0) > 0})`;
        }
        await audit(tx, 'case-workflow', 'visit-planned', req, {
          visit: row!.id,
          officer: officer?.officer_id ?? null,
          approvalRequired: !!req.approvalRole,
          ...(note ? { preferredChannel: debtor.preferred_channel } : {}),
        });
        return { status: 'done', reference: `visit#${row!.id}` };
      });
    },

    async recordVisitApproval(a: VisitApproval) {
      await atomically(sql, async (tx) => {
        const changed = await tx`update visits set status = 'approved', approved_by = ${a.by}, approved_at = ${a.at}
                                 where id = ${visitId(a.visitReference)} and status = 'planned' returning id`;
        if (changed.length > 0) await audit(tx, a.by, 'visit-approved', a, { visit: a.visitReference, role: a.role });
      });
    },

    async cancelVisit(c: VisitCancellation) {
      await atomically(sql, async (tx) => {
        const changed = await tx`update visits set status = 'cancelled', outcome = ${c.reason}
                                 where id = ${visitId(c.visitReference)} and status in ('planned', 'approved') returning id`;
        if (changed.length > 0) await audit(tx, 'case-workflow', 'visit-cancelled', c, { visit: c.visitReference, reason: c.reason });
      });
    },

    async recordVisitReport(r: VisitReport) {
      await atomically(sql, async (tx) => {
        const changed = await tx`
          update visits set status = 'done', outcome = ${r.outcome}, signed_statement = ${r.signedStatement},
                 written_promise = ${r.writtenPromise ?? null}, reported_at = ${r.at}
          where id = ${visitId(r.visitReference)} and status <> 'done' returning id`;
        if (changed.length === 0) return;
        await tx`
          insert into contact_attempts (idempotency_key, case_key, account_id, channel, party, status, outcome, conversation, note, actor,
                                        attempted_at)
          values (${r.idempotencyKey}, ${r.caseKey}, ${r.accountId}, 'visit', 'debtor', 'completed',
                  ${r.outcome === 'met' ? 'reached' : r.outcome === 'refused' ? 'refused' : 'no-answer'},
                  ${r.outcome === 'met' || r.outcome === 'refused'},
                  ${r.note}, ${r.officerId ?? 'field-officer'}, ${r.at})
          on conflict (idempotency_key) do nothing`;
        await audit(tx, r.officerId ?? 'field-officer', 'visit-reported', r, {
          visit: r.visitReference,
          outcome: r.outcome,
          signedStatement: r.signedStatement,
        });
      });
    },

    /** A collector's report: the contact log row, and the oldest open call task of the case closed. */
    async recordContactOutcome(r: ContactOutcomeRecord) {
      await atomically(sql, async (tx) => {
        const o = r.outcome;
        const inserted = await tx`
          insert into contact_attempts (idempotency_key, case_key, account_id, channel, party, status, outcome, reason_category,
                                        conversation, note, actor, attempted_at)
          values (${r.idempotencyKey}, ${r.caseKey}, ${r.accountId}, ${o.channel}, 'debtor', 'completed', ${o.outcome},
                  ${o.reasonCategory ?? null}, ${CONVERSATION_OUTCOMES.has(o.outcome)}, ${o.note}, ${r.actor}, ${r.at})
          on conflict (idempotency_key) do nothing
          returning id`;
        if (inserted.length === 0) return;
        if (o.channel === 'phone') {
          await tx`update call_tasks set status = 'done', outcome = ${o.outcome}, reported_at = ${r.at}
                   where id = (select id from call_tasks where case_key = ${r.caseKey} and status = 'open' order by due_at limit 1)`;
        }
        await audit(tx, r.actor, 'contact-outcome', r, {
          channel: o.channel,
          outcome: o.outcome,
          reasonCategory: o.reasonCategory ?? null,
        });
      });
    },
  };
}

function visitId(reference: string): number {
  const id = Number(reference.replace(/^visit#/, ''));
  if (!Number.isSafeInteger(id)) throw new Error(`not a visit reference: ${reference}`);
  return id;
}
