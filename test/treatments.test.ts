import { extractText } from 'unpdf';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDb } from '../db/index';
import { addDays } from '../shared/calendar';
import type { PlanDecision } from '../shared/case';
import {
  caseStateQuery,
  contactOutcomeSignal,
  decidePlanUpdate,
  decideShortfallUpdate,
  inKindStepUpdate,
  proposePlanUpdate,
  setSituationUpdate,
  writeOffUpdate,
} from '../shared/messages';
import { dailyPenaltyMinor } from '../shared/money';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';
import { recording, saveHistories } from './record-histories';
import { startLedgerStories } from './ledger-stories';
import { type storyKit, STORY_PRINCIPAL as PRINCIPAL, STORY_TZ, type Story } from './story-kit';

/**
 * Treatments that run (issue 12), on the time-skipping server with the real activities and the real
 * PostgreSQL: restructuring plans kept and broken, a refused proposal, the settlement in kind, the
 * recoverable letter fee, the payment investigation, and the credit hold a write-off leaves.
 */
const TASK_QUEUE = 'treatments';
const sql = connectDb(inject('databaseUrl'));
let stories: Awaited<ReturnType<typeof startLedgerStories>> | undefined;
let kit: ReturnType<typeof storyKit>;

beforeAll(async () => {
  stories = await startLedgerStories(TASK_QUEUE, sql);
  kit = stories.kit;
});
afterAll(async () => {
  if (recording && stories) {
    await saveHistories(
      stories.env.client,
      kit.started.map(({ name, handle }) => ({ name, workflowId: handle.workflowId, firstExecutionRunId: handle.firstExecutionRunId })),
      'treatments-',
    );
  }
  await stories?.stop();
  await sql.end();
});

/** The reason a refused update gives (the validator's message). */
const why = (e: unknown): string => ((e as { cause?: Error }).cause ?? (e as Error)).message;
const review = (s: Story, d: Omit<PlanDecision, 'note'>) => s.handle.executeUpdate(decidePlanUpdate, { args: [d] });
const state = (s: Story) => s.handle.query(caseStateQuery);
/** Ladder steps the case took (calls, visits, letters) on local days from `from` to `to`, inclusive. */
async function stepsBetween(s: Story, from: number, to: number): Promise<string[]> {
  const local = (col: string) => sql.unsafe(`(${col} at time zone '${STORY_TZ}')::date`);
  const lo = addDays(s.day0, from);
  const hi = addDays(s.day0, to);
  const rows = await sql<{ what: string; d: string }[]>`
    select 'call' as what, ${local('due_at')}::text as d from call_tasks where account_id = ${s.accountId}
    union all select 'visit', planned_for::text from visits where account_id = ${s.accountId}
    union all select kind, ${local('issued_at')}::text from notices where account_id = ${s.accountId}`;
  return rows
    .filter((r) => r.d >= lo && r.d <= hi)
    .map((r) => `${r.d}:${r.what}`)
    .sort();
}

/** Proposes three monthly instalments (days 20, 50, 80) adding up to what is outstanding now, and has them approved. */
async function restructure(s: Story): Promise<number[]> {
  const outstanding = (await state(s)).outstandingMinor;
  const third = Math.floor(outstanding / 3);
  const amounts = [third, third, outstanding - 2 * third];
  const r = await s.handle.executeUpdate(proposePlanUpdate, {
    args: [
      {
        instalments: [20, 50, 80].map((d, i) => ({ dueDate: addDays(s.day0, d), amountMinor: amounts[i]! })),
        penalty: { mode: 'frozen' },
        security: { kind: 'collateral', description: '店铺设备抵押 (shop equipment)', valueMinor: 500_000 },
        by: 'col-1',
      },
    ],
  });
  expect(r.planNo).toBe(1);
  await review(s, { decision: 'approve', by: 'fin-1', role: 'finance' });
  await review(s, { decision: 'approve', by: 'law-1', role: 'legal' });
  const started = await review(s, { decision: 'approve', by: 'mgr-1', role: 'manager' });
  expect(started.planStatus).toBe('active');
  expect(started.stage).toBe('restructured');
  return amounts;
}

describe('restructuring plans', () => {
  it('3 monthly instalments kept: no ladder step while the plan holds, closed paid on the third, the ledger has it all', async () => {
    const s = await kit.openCase({ prefix: 'PLAN-KEPT' });
    await s.at(10, '12:00');
    const amounts = await restructure(s);
    await s.at(19, '12:00');
    await s.pay(amounts[0]!);
    await s.at(49, '12:00');
    await s.pay(amounts[1]!);
    await s.at(79, '12:00');
    expect((await state(s)).stage).toBe('restructured');
    await s.pay(amounts[2]!);
    const result = await s.handle.result();
    expect(result.stage).toBe('paid');
    // While the plan held (from day 10, after the day's call, to the close): no call, visit or letter.
    expect(await stepsBetween(s, 11, 90)).toEqual([]);
    const [plan] = await sql`select status, total_minor, paid_minor, grace_days, penalty_mode, security->>'kind' as security
                             from repayment_plans where account_id = ${s.accountId}`;
    expect(plan).toEqual({
      status: 'kept',
      total_minor: amounts.reduce((a, b) => a + b, 0),
      paid_minor: amounts.reduce((a, b) => a + b, 0),
      grace_days: DEFAULT_PLAYBOOK.restructure.graceDays,
      penalty_mode: 'frozen',
      security: 'collateral',
    });
    const inst = await sql`select seq, due_date::text as d, amount_minor, paid_minor, status from repayment_plan_instalments
                           where case_key = (select case_key from cases where account_id = ${s.accountId}) order by seq`;
    expect(inst.map((i) => [i.seq, i.d, i.amount_minor, i.paid_minor, i.status])).toEqual(
      [20, 50, 80].map((d, i) => [i + 1, addDays(s.day0, d), amounts[i], amounts[i], 'paid']),
    );
    const approvals = await sql`select role, decided_by, decision from treatment_approvals
                                where account_id = ${s.accountId} and subject = 'plan' order by decided_at, id`;
    expect(approvals.map((a) => [a.role, a.decided_by, a.decision])).toEqual([
      ['finance', 'fin-1', 'approve'],
      ['legal', 'law-1', 'approve'],
      ['manager', 'mgr-1', 'approve'],
    ]);
    // Paid in full: the credit hold is lifted.
    expect((await sql`select lifted_at from credit_holds where account_id = ${s.accountId}`)[0]!.lifted_at).not.toBeNull();
  });

  it('the second instalment missed: broken after grace, the ladder resumes with the balance plus penalty per the playbook', async () => {
    const s = await kit.openCase({ prefix: 'PLAN-BROKEN' });
    await s.at(10, '12:00');
    const amounts = await restructure(s);
    const { balance: atStart, outstandingMinor: owedAtStart } = await state(s);
    await s.at(19, '12:00');
    await s.pay(amounts[0]!);
    // Due day 50, grace 5 days: the plan holds through day 55 and breaks at the start of day 56.
    await s.at(55, '12:00');
    let v = await state(s);
    expect(v.stage).toBe('restructured');
    expect(v.outstandingMinor).toBe(owedAtStart - amounts[0]!); // the penalty is frozen while the plan holds
    await s.at(56, '12:00');
    v = await state(s);
    expect(v.stage).toBe('open');
    expect(v.brokenPromises).toBe(1);
    expect(v.plans?.[0]?.status).toBe('broken');
    expect(v.timeline.some((e) => e.what === 'plan 1 broken')).toBe(true);
    // The whole plan's days at the playbook's rate on the principal still unpaid: the balance is due again.
    const principal = v.balance.principalMinor;
    expect(principal).toBe(PRINCIPAL - (amounts[0]! - atStart.penaltyMinor - atStart.feesMinor));
    // The first instalment paid the penalty of days 1-10; days 11-56 come back at the playbook's rate.
    expect(v.balance.penaltyMinor).toBe(46 * dailyPenaltyMinor(principal, DEFAULT_PLAYBOOK.penaltyBpsPerDay));
    // The ladder resumes where it stands: daily calls again, and the legal referral (a catch-up step) comes due.
    expect(await stepsBetween(s, 11, 55)).toEqual([]);
    expect((await stepsBetween(s, 56, 56)).some((x) => x.endsWith(':call'))).toBe(true);
    const desc = await s.handle.describe();
    expect(desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'BrokenPromises')?.value).toBe(1);
    expect(desc.typedSearchAttributes.getAll().find((p) => p.key.name === 'CaseStage')?.value).toBe('open');
    const inst = await sql`select seq, status from repayment_plan_instalments
                           where case_key = (select case_key from cases where account_id = ${s.accountId}) order by seq`;
    expect(inst.map((i) => i.status)).toEqual(['paid', 'missed', 'pending']);
    expect((await sql`select status from repayment_plans where account_id = ${s.accountId}`)[0]!.status).toBe('broken');
  });

  it('a reduced amount agreed: paid, the rest forgiven by the manager, settled with nothing owed (hold lifted)', async () => {
    const s = await kit.openCase({ prefix: 'PLAN-REDUCED' });
    await s.at(10, '12:00');
    await s.handle.executeUpdate(proposePlanUpdate, {
      args: [
        {
          instalments: [{ dueDate: addDays(s.day0, 30), amountMinor: 700_000 }],
          reducedToMinor: 700_000,
          penalty: { mode: 'frozen' },
          by: 'col-1',
        },
      ],
    });
    await review(s, { decision: 'approve', by: 'fin-1', role: 'finance' });
    await review(s, { decision: 'approve', by: 'law-1', role: 'legal' });
    await review(s, { decision: 'approve', by: 'mgr-1', role: 'manager' });
    await s.at(29, '12:00');
    await s.pay(700_000);
    const result = await s.handle.result();
    expect(result.stage).toBe('settled');
    const [writeOff] =
      await sql`select actor, detail->>'reason' as reason from audit_log where account_id = ${s.accountId} and action = 'write-off'`;
    expect(writeOff).toEqual({
      actor: 'mgr-1',
      reason: expect.stringMatching(/^restructuring plan 1 kept at the reduced amount: 3,\d{3}\.00 CNY forgiven$/),
    });
    expect((await sql`select outstanding_minor from cases where account_id = ${s.accountId}`)[0]!.outstanding_minor).toBe(0);
    expect((await sql`select lifted_at from credit_holds where account_id = ${s.accountId}`)[0]!.lifted_at).not.toBeNull();
  });

  it('refused by legal: no plan, the ladder goes on', async () => {
    const s = await kit.openCase({ prefix: 'PLAN-REFUSED' });
    await s.at(10, '12:00');
    const outstanding = (await state(s)).outstandingMinor;
    await s.handle.executeUpdate(proposePlanUpdate, {
      args: [{ instalments: [{ dueDate: addDays(s.day0, 40), amountMinor: outstanding }], penalty: { mode: 'frozen' }, by: 'col-1' }],
    });
    await review(s, { decision: 'approve', by: 'fin-1', role: 'finance' });
    const refused = await review(s, { decision: 'refuse', by: 'law-1', role: 'legal' });
    expect(refused.planStatus).toBe('refused');
    await expect(review(s, { decision: 'approve', by: 'mgr-1', role: 'manager' }).catch(why)).resolves.toBe('no plan is awaiting review');
    await s.at(12, '12:00');
    expect((await state(s)).stage).toBe('open');
    expect(await stepsBetween(s, 11, 12)).toEqual([`${addDays(s.day0, 11)}:call`, `${addDays(s.day0, 12)}:call`]);
    expect((await sql`select status from repayment_plans where account_id = ${s.accountId}`)[0]!.status).toBe('refused');
  });
});

describe('settlement in kind', () => {
  it('offered, appraised, preserved, transferred with the shortfall written off: settled; the hold stays', async () => {
    const s = await kit.openCase({ prefix: 'IN-KIND' });
    await s.at(5, '12:00');
    await s.handle.executeUpdate(inKindStepUpdate, {
      args: [{ step: 'offered', asset: '货车一辆 (a truck)', by: 'col-1', role: 'collector' }],
    });
    await s.at(6, '12:00');
    expect(await stepsBetween(s, 6, 6)).toEqual([]); // paused while the asset is settled
    expect((await state(s)).nextAction).toBeUndefined();
    await s.handle.executeUpdate(inKindStepUpdate, {
      args: [{ step: 'appraised', valueMinor: 800_000, appraiser: '北京评估所', document: 'AP-2026-1', by: 'fin-1', role: 'finance' }],
    });
    // Waiting past the playbook's 7 days for preservation: supervisors are reminded.
    await s.at(14, '12:00');
    expect(
      (await sql`select count(*)::int as n from audit_log where account_id = ${s.accountId} and action = 'supervisor-reminded'`)[0]!.n,
    ).toBe(1);
    await s.handle.executeUpdate(inKindStepUpdate, {
      args: [{ step: 'preserved', reference: '(2026)京0108财保1号', by: 'law-1', role: 'legal' }],
    });
    const early = await s.handle
      .executeUpdate(inKindStepUpdate, { args: [{ step: 'transferred', document: 'TT-1', by: 'law-1', role: 'legal' }] })
      .catch(why);
    expect(early).toMatch(/a manager decides the shortfall first \(write-off or collect\)$/);
    await s.handle.executeUpdate(decideShortfallUpdate, { args: [{ decision: 'write-off', by: 'mgr-1', role: 'manager' }] });
    const t = await s.handle.executeUpdate(inKindStepUpdate, {
      args: [{ step: 'transferred', document: 'TT-1', by: 'law-1', role: 'legal' }],
    });
    expect(t.detail).toMatch(/^title transferred: 8,000\.00 CNY applied; outstanding 2,\d{3}\.\d{2} CNY$/);
    const result = await s.handle.result();
    expect(result.stage).toBe('settled');
    const [row] =
      await sql`select status, appraised_value_minor, shortfall_decision from in_kind_settlements where account_id = ${s.accountId}`;
    expect(row).toEqual({ status: 'transferred', appraised_value_minor: 800_000, shortfall_decision: 'write-off' });
    const [payment] = await sql`select amount_minor from payments where account_id = ${s.accountId}`;
    expect(Number(payment!.amount_minor)).toBe(800_000);
    expect((await sql`select count(*)::int as n from audit_log where account_id = ${s.accountId} and action = 'write-off'`)[0]!.n).toBe(1);
    // Written off the balance: the case owes nothing more (its last row says so) ...
    expect((await state(s)).outstandingMinor).toBe(0);
    expect((await sql`select outstanding_minor, stage from cases where account_id = ${s.accountId}`)[0]).toEqual({
      outstanding_minor: 0,
      stage: 'settled',
    });
    // ... but it was written off, not paid: the credit hold stays until a supervisor releases it.
    expect((await sql`select lifted_at from credit_holds where account_id = ${s.accountId}`)[0]!.lifted_at).toBeNull();
  });

  it('the shortfall still collected: the ladder resumes for it after title passes', async () => {
    const s = await kit.openCase({ prefix: 'IN-KIND-COLLECT' });
    await s.at(5, '12:00');
    const by = { by: 'sup-1', role: 'supervisor' };
    await s.handle.executeUpdate(inKindStepUpdate, { args: [{ step: 'offered', asset: 'a tractor', ...by }] });
    await s.handle.executeUpdate(inKindStepUpdate, {
      args: [{ step: 'appraised', valueMinor: 600_000, appraiser: 'A', document: 'AP-2', ...by }],
    });
    await s.handle.executeUpdate(inKindStepUpdate, { args: [{ step: 'preserved', reference: 'P-2', by: 'law-1', role: 'legal' }] });
    await s.handle.executeUpdate(decideShortfallUpdate, { args: [{ decision: 'collect', by: 'mgr-1', role: 'manager' }] });
    await s.handle.executeUpdate(inKindStepUpdate, { args: [{ step: 'transferred', document: 'TT-2', ...by }] });
    await s.at(9, '12:00');
    const v = await state(s);
    expect(v.stage).toBe('open');
    expect(v.inKind?.closesCase).toBe(false);
    expect(v.outstandingMinor).toBeGreaterThan(0);
    expect((await stepsBetween(s, 9, 9)).some((x) => x.endsWith(':call'))).toBe(true);
    await s.pay(v.outstandingMinor);
    expect((await s.handle.result()).stage).toBe('paid');
  });
});

describe("the debtor's situation, payment problems and fees", () => {
  it('grade and segment at intake, funds observed: search attributes, the recommendation, accepted or overridden', async () => {
    const s = await kit.openCase({ prefix: 'SITUATION' });
    await s.handle.executeUpdate(setSituationUpdate, { args: [{ creditGrade: 'B', segment: 'sme', by: 'sup-1' }] });
    await s.handle.signal(contactOutcomeSignal, {
      channel: 'phone',
      outcome: 'reached',
      funds: 'short-prospects',
      note: 'orders are coming back',
      actor: 'col-1',
    });
    await s.at(1, '12:00');
    const v = await state(s);
    expect(v.recommendation).toEqual({ treatment: 'restructure', why: 'funds short, the business has prospects' });
    const meta = await s.handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toMatch(/ Recommended: restructure \(funds short, the business has prospects\)\.$/);
    const sa = (await s.handle.describe()).typedSearchAttributes.getAll();
    expect(
      Object.fromEntries(sa.filter((p) => ['CreditGrade', 'Segment', 'Funds'].includes(p.key.name)).map((p) => [p.key.name, p.value])),
    ).toEqual({
      CreditGrade: 'B',
      Segment: 'sme',
      Funds: 'short-prospects',
    });
    const set = await s.handle.executeUpdate('setTreatment', { args: [{ treatment: 'collect', by: 'sup-1' }] });
    expect((set as { detail: string }).detail).toBe('treatment is collect (overrides the recommendation: restructure)');
  });

  it('reason 5 opens a payment investigation for finance, once', async () => {
    const s = await kit.openCase({ prefix: 'REASON-5' });
    for (let i = 0; i < 2; i++) {
      await s.handle.signal(contactOutcomeSignal, {
        channel: 'phone',
        outcome: 'reached',
        reasonCategory: 5,
        note: 'paid to old card',
        actor: 'col-1',
      });
    }
    await s.at(1, '12:00');
    const rows = await sql`select reason_category, status, reported_by from payment_investigations where account_id = ${s.accountId}`;
    expect(rows).toEqual([{ reason_category: 5, status: 'open', reported_by: 'col-1' }]);
  });

  it('the recoverable letter fee of the default playbook: the notice shows it and a payment pays it first', async () => {
    const s = await kit.openCase({ prefix: 'FEE' });
    await s.at(7, '12:00');
    const [notice] = await sql<{ kind: string; fees_minor: number; document: Buffer }[]>`
      select kind, fees_minor, document from notices where account_id = ${s.accountId}`;
    expect({ kind: notice!.kind, fees_minor: notice!.fees_minor }).toEqual({
      kind: 'overdue-notice',
      fees_minor: DEFAULT_PLAYBOOK.costs.letterMinor,
    });
    // The letter itself (zh-CN) lists the fee with the principal and the penalty.
    const { text } = await extractText(new Uint8Array(notice!.document), { mergePages: true });
    expect(text.replace(/\s+/g, '')).toContain('费用¥20.00合计¥10,055.00');
    expect((await state(s)).balance.feesMinor).toBe(DEFAULT_PLAYBOOK.costs.letterMinor);
    const [cost] =
      await sql`select amount_minor, recoverable from case_costs where account_id = ${s.accountId} and kind = 'overdue-notice'`;
    expect(cost).toEqual({ amount_minor: DEFAULT_PLAYBOOK.costs.letterMinor, recoverable: true });
    await s.pay(3_000);
    await s.at(7, '13:00');
    const [p] = await sql`select fees_minor, penalty_minor, principal_minor from payments where account_id = ${s.accountId}`;
    expect(p).toEqual({ fees_minor: 2000, penalty_minor: 1000, principal_minor: 0 });
  });

  it('a write-off keeps the credit hold', async () => {
    const s = await kit.openCase({ prefix: 'WRITE-OFF' });
    await s.handle.executeUpdate(writeOffUpdate, { args: [{ reason: 'debtor deceased, no estate', by: 'sup-1' }] });
    expect((await s.handle.result()).stage).toBe('written-off');
    const [hold] = await sql`select lifted_at from credit_holds where account_id = ${s.accountId}`;
    expect(hold!.lifted_at).toBeNull();
  });
});
