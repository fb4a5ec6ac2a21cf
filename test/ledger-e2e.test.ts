import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDb } from '../db/index';
import { addDays, instantOf } from '../shared/calendar';
import { approveLegalReferralUpdate, approveVisitUpdate, caseStateQuery } from '../shared/messages';
import { DEFAULT_PLAYBOOK, Playbook, RECEIVABLES_PLAYBOOK } from '../shared/playbook';
import { startLedgerStories } from './ledger-stories';
import { type storyKit, STORY_TZ } from './story-kit';

/**
 * The default playbook end to end on the time-skipping server, with the real activities and the
 * real PostgreSQL: the ledger rows a case leaves behind.
 */
const TASK_QUEUE = 'ledger-e2e';
const sql = connectDb(inject('databaseUrl'));
let stories: Awaited<ReturnType<typeof startLedgerStories>> | undefined;
let kit: ReturnType<typeof storyKit>;

beforeAll(async () => {
  stories = await startLedgerStories(TASK_QUEUE, sql);
  kit = stories.kit;
});
afterAll(async () => {
  await stories?.stop();
  await sql.end();
});

const day = (day0: string, d: number) => addDays(day0, d);

describe('default playbook on the real ledger', () => {
  it('never pays (with a guarantor): exactly the expected visits, calls, notices, demand and legal referral', async () => {
    const s = await kit.openCase({ guarantor: true, prefix: 'E2E-NEVER' });
    await s.at(16, '12:00');
    expect((await s.handle.query(caseStateQuery)).legal?.status).toBe('awaiting-approval');
    await s.handle.executeUpdate(approveLegalReferralUpdate, { args: [{ by: 'sup-1', role: 'supervisor' }] });
    await s.at(17, '12:00');
    expect((await s.handle.query(caseStateQuery)).stage).toBe('legal');

    const local = (col: string) => sql.unsafe(`(${col} at time zone '${STORY_TZ}')::date`);
    const visits =
      await sql`select planned_for::text as d, officer_id, status from visits where account_id = ${s.accountId} order by planned_for`;
    expect(visits).toEqual([
      { d: day(s.day0, 0), officer_id: 'HD-01', status: 'planned' },
      { d: day(s.day0, 4), officer_id: 'HD-01', status: 'planned' },
    ]);
    const calls =
      await sql`select ${local('due_at')}::text as d, party from call_tasks where account_id = ${s.accountId} order by due_at, party`;
    const expectedCalls = [
      ...[1, 2, 3].map((d) => ({ d: day(s.day0, d), party: 'debtor' })),
      { d: day(s.day0, 4), party: 'guarantor' },
      ...Array.from({ length: 9 }, (_, i) => ({ d: day(s.day0, 8 + i), party: 'debtor' })), // days 8..16, until legal took the case
    ];
    expect(calls).toEqual(expectedCalls);
    const notices = await sql`select kind, ${local('issued_at')}::text as d, recipient, total_minor from notices
                              where account_id = ${s.accountId} order by issued_at, kind`;
    expect(notices.map((n) => [n.kind, n.d, n.recipient])).toEqual([
      ['overdue-notice', day(s.day0, 7), '王建国'],
      ['guarantor-demand', day(s.day0, 8), '李保证'],
      ['lawyers-letter', day(s.day0, 16), '王建国'],
    ]);
    // Every letter's total is the ledger's balance of its day: principal, the penalty accrued so far, and the
    // recoverable letter fees (20.00 each, playbook v2) of the notice and the guarantor demand.
    expect(notices.map((n) => n.total_minor)).toEqual([
      1_000_000 + 7 * 500 + 2_000,
      1_000_000 + 8 * 500 + 4_000,
      1_000_000 + 16 * 500 + 4_000,
    ]);
    const [referral] = await sql`select status, reason, approved_by, dossier from legal_referrals where account_id = ${s.accountId}`;
    expect(referral).toMatchObject({ status: 'approved', reason: 'the guarantor did not answer the demand', approved_by: 'sup-1' });
    expect(referral!.dossier.identity).toMatchObject({ name: '王建国', idNumber: '110108199001011234' });
    expect(referral!.dossier.overdueSince).toBe(s.day0);
    expect(referral!.dossier.collectionHistory.visits).toHaveLength(2);
    expect(referral!.dossier.collectionHistory.notices.map((n: { kind: string }) => n.kind)).toEqual([
      'overdue-notice',
      'guarantor-demand',
    ]);
    // days_overdue is as of the row's last change (the hand-off on day 16); overdue_since lets a reader count to any day.
    const [row] = await sql`select stage, days_overdue, overdue_since from cases where account_id = ${s.accountId}`;
    expect(row).toMatchObject({ stage: 'legal', days_overdue: 17 });
    expect((row!.overdue_since as Date).toISOString()).toBe(new Date(instantOf(s.day0, '00:00', STORY_TZ)).toISOString());
    expect(await sql`select lifted_at from credit_holds where account_id = ${s.accountId}`).toEqual([{ lifted_at: null }]);
    expect(await sql`select kind, amount_minor from case_costs where account_id = ${s.accountId} order by incurred_at, kind`).toEqual([
      { kind: 'field-visit', amount_minor: 5_000 },
      { kind: 'field-visit', amount_minor: 5_000 },
      { kind: 'overdue-notice', amount_minor: 2_000 },
      { kind: 'guarantor-demand', amount_minor: 2_000 },
      { kind: 'lawyers-letter', amount_minor: 2_000 },
    ]);
    await s.handle.terminate('test done');
  });

  it('pays on day 2: no ledger row dated after day 2, the case closed paid and the credit hold lifted', async () => {
    const s = await kit.openCase({ prefix: 'E2E-DAY2' });
    await s.at(2, '10:00');
    await s.pay(await s.outstanding());
    expect((await s.handle.result()).stage).toBe('paid');
    await stories!.env.sleep('10 days');

    const endOfDay2 = instantOf(addDays(s.day0, 3), '00:00', STORY_TZ);
    const dated = await sql`
      select 'call_tasks' as t, max(due_at) as at from call_tasks where account_id = ${s.accountId}
      union all select 'contact_attempts', max(attempted_at) from contact_attempts where account_id = ${s.accountId}
      union all select 'visits', max(planned_for::timestamp at time zone ${STORY_TZ}) from visits where account_id = ${s.accountId}
      union all select 'notices', max(issued_at) from notices where account_id = ${s.accountId}
      union all select 'payments', max(paid_at) from payments where account_id = ${s.accountId}
      union all select 'case_costs', max(incurred_at) from case_costs where account_id = ${s.accountId}
      union all select 'audit_log', max(at) from audit_log where account_id = ${s.accountId}
      union all select 'cases', max(closed_at) from cases where account_id = ${s.accountId}`;
    for (const row of dated) if (row.at) expect([row.t, row.at.getTime() < endOfDay2]).toEqual([row.t, true]);
    expect(await sql`select count(*)::int as n from call_tasks where account_id = ${s.accountId}`).toEqual([{ n: 2 }]);
    expect(await sql`select count(*)::int as n from notices where account_id = ${s.accountId}`).toEqual([{ n: 0 }]);
    // The final projection reached the ledger before the workflow ended (patch final-projection-on-close).
    expect(await sql`select stage, outstanding_minor, next_action from cases where account_id = ${s.accountId}`).toEqual([
      { stage: 'paid', outstanding_minor: 0, next_action: 'closed' },
    ]);
    expect((await sql`select lift_reason from credit_holds where account_id = ${s.accountId}`)[0]).toEqual({
      lift_reason: 'case closed: paid',
    });
    expect(await sql`select count(*)::int as n from blacklist where account_id = ${s.accountId}`).toEqual([{ n: 0 }]);
  });

  it('do-not-contact: every call is refused by the guard, recorded with its rule, and the case goes on', async () => {
    const s = await kit.openCase({ prefix: 'E2E-DNC' });
    await s.at(0, '12:00');
    await sql`update debtors set do_not_contact = true where account_id = ${s.accountId}`;
    await s.at(3, '12:00');
    expect(await sql`select count(*)::int as n from call_tasks where account_id = ${s.accountId}`).toEqual([{ n: 0 }]);
    const refused = await sql`select refused_rule, (attempted_at at time zone ${STORY_TZ})::date::text as d from contact_attempts
                              where account_id = ${s.accountId} and status = 'refused' order by attempted_at`;
    expect(refused).toEqual([1, 2, 3].map((d) => ({ refused_rule: 'do-not-contact', d: day(s.day0, d) })));
    const state = await s.handle.query(caseStateQuery);
    expect(state.done['early-call@1']).toBe('refused');
    expect(state.timeline.filter((t) => t.outcome.startsWith('refused by do-not-contact'))).toHaveLength(3);
    await s.handle.terminate('test done');
  });

  it('a visit the playbook says needs approval waits for it; without one it is cancelled when its window closes', async () => {
    const needsApproval: Playbook = Playbook.parse({
      ...DEFAULT_PLAYBOOK,
      id: 'visits-need-approval',
      steps: DEFAULT_PLAYBOOK.steps.map((st) => (st.action === 'field-visit' ? { ...st, approval: { role: 'supervisor' } } : st)),
    });
    const s = await kit.openCase({ prefix: 'E2E-VISIT', playbook: needsApproval });
    await s.at(0, '10:00');
    await s.handle.executeUpdate(approveVisitUpdate, { args: [{ by: 'sup-2', role: 'supervisor' }] });
    await s.at(4, '19:00'); // the day-4 visit is never approved
    const visits = await sql`select planned_for::text as d, status, approved_by, approval_required from visits
                             where account_id = ${s.accountId} order by planned_for`;
    expect(visits).toEqual([
      { d: day(s.day0, 0), status: 'approved', approved_by: 'sup-2', approval_required: true },
      { d: day(s.day0, 4), status: 'cancelled', approved_by: null, approval_required: true },
    ]);
    await s.handle.terminate('test done');
  });

  it('a letter whose amounts differ from the ledger is not issued: the step fails without retries and the case goes on', async () => {
    const s = await kit.openCase({ prefix: 'E2E-RECON' });
    await s.at(5, '12:00');
    // Someone books an instalment in the ledger that the case never heard of: the books disagree.
    const [c] = await sql`select case_key from cases where account_id = ${s.accountId}`;
    await sql`insert into instalments (idempotency_key, case_key, account_id, due_date, amount_minor, currency)
              values (${`manual-${s.accountId}`}, ${c!.case_key}, ${s.accountId}, ${addDays(s.day0, 2)}, 1, 'CNY')`;
    await s.at(8, '12:00');
    const state = await s.handle.query(caseStateQuery);
    expect(state.done['overdue-notice@7']).toBe('failed');
    const entry = state.timeline.find((t) => t.what === 'overdue-notice')!;
    expect(entry.outcome).toMatch(/ledger and case disagree on principalMinor \(ledger 1000001, case 1000000\)/);
    expect(await sql`select count(*)::int as n from notices where account_id = ${s.accountId}`).toEqual([{ n: 0 }]);
    // One attempt only: the failure is typed ReconciliationMismatch, non-retryable, and was not retried.
    const events = (await s.handle.fetchHistory()).events ?? [];
    const failed = events.filter(
      (e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type === 'ReconciliationMismatch',
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]!.activityTaskFailedEventAttributes!.failure!.applicationFailureInfo!.nonRetryable).toBe(true);
    const started = events.find((e) => Number(e.eventId) === Number(failed[0]!.activityTaskFailedEventAttributes!.startedEventId));
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(1);
    // The ladder goes on: the day-8 call was placed.
    expect(
      await sql`select count(*)::int as n from call_tasks
                where account_id = ${s.accountId} and (due_at at time zone ${STORY_TZ})::date = ${day(s.day0, 8)}`,
    ).toEqual([{ n: 1 }]);
    await s.handle.terminate('test done');
  });

  it('the receivables playbook: statement first, weekly calls, the demand letter, a visit an executive approves, then paid', async () => {
    const s = await kit.openCase({ prefix: 'E2E-RECV', playbook: RECEIVABLES_PLAYBOOK });
    await s.at(21, '10:00');
    await s.handle.executeUpdate(approveVisitUpdate, { args: [{ by: 'exec-1', role: 'manager' }] });
    await s.at(22, '10:00');
    await s.pay(await s.outstanding());
    expect((await s.handle.result()).stage).toBe('paid');

    const notices = await sql`select kind, (issued_at at time zone ${STORY_TZ})::date::text as d from notices
                              where account_id = ${s.accountId} order by issued_at`;
    expect(notices).toEqual([
      { kind: 'statement-of-account', d: day(s.day0, 0) },
      { kind: 'overdue-notice', d: day(s.day0, 14) },
    ]);
    const calls = await sql`select (due_at at time zone ${STORY_TZ})::date::text as d from call_tasks
                            where account_id = ${s.accountId} order by due_at`;
    expect(calls.map((c) => c.d)).toEqual([3, 10, 17].map((d) => day(s.day0, d)));
    expect(await sql`select planned_for::text as d, status, approved_by, materials from visits where account_id = ${s.accountId}`).toEqual([
      {
        d: day(s.day0, 21),
        status: 'approved',
        approved_by: 'exec-1',
        materials: ['statement of account', 'contract', 'demand letter', "lawyer's letter", 'visit receipt'],
      },
    ]);
    // The ladder's own costs: one visit at 200.00, two letters at 20.00.
    expect(await sql`select kind, amount_minor from case_costs where account_id = ${s.accountId} order by incurred_at`).toEqual([
      { kind: 'statement-of-account', amount_minor: 2_000 },
      { kind: 'overdue-notice', amount_minor: 2_000 },
      { kind: 'field-visit', amount_minor: 20_000 },
    ]);
    expect(await sql`select playbook_id, stage from cases where account_id = ${s.accountId}`).toEqual([
      { playbook_id: 'receivables-sales', stage: 'paid' },
    ]);
  });
});
