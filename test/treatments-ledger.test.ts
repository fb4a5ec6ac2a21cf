import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../activities/index';
import { connectDb } from '../db/index';
import type { CaseActivities, CaseOpening, CaseRef, InKindLedgerRecord, PlanLedgerRecord, StepRequest } from '../shared/activities';
import type { InKindRecord, PlanRecord } from '../shared/case';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';

/** The treatments' ledger rows (plans, settlements in kind, payment investigations) on the real PostgreSQL. */
const sql = connectDb(inject('databaseUrl'));
const acts: CaseActivities = createActivities({ sql });
afterAll(() => sql.end());

const T0 = '2026-03-02T01:00:00.000Z';

interface TestCase {
  ref: (suffix: string, at?: string) => CaseRef;
  caseKey: string;
  accountId: string;
}

async function openCase(over: Partial<CaseOpening> = {}): Promise<TestCase> {
  const accountId = `TRT-${randomUUID().slice(0, 8)}`;
  const caseKey = `Case:${accountId}/${randomUUID()}`;
  const ref = (suffix: string, at = T0): CaseRef => ({ idempotencyKey: `${caseKey}:${suffix}`, caseKey, accountId, at });
  const firstMissed = { dueDate: '2026-03-01', amountMinor: 1_000_000, currency: 'CNY' };
  await acts.recordCaseOpened({
    ...ref('open'),
    workflowId: `Case:${accountId}`,
    debtorName: '王建国',
    debtor: {
      name: '王建国',
      timeZone: 'Asia/Shanghai',
      phones: ['+86 138 0000 0000'],
      address: '北京市海淀区中关村大街1号',
      region: `R-${randomUUID().slice(0, 6)}`,
      jurisdiction: 'CN',
    },
    guarantors: [],
    currency: 'CNY',
    firstMissed,
    playbookId: DEFAULT_PLAYBOOK.id,
    playbookVersion: 1,
    openedAt: T0,
    ...over,
  });
  await acts.recordMissedPayment({ ...ref('missed:2026-03-01'), missed: firstMissed });
  return { ref, caseKey, accountId };
}

const auditActions = async (caseKey: string, like: string) =>
  (await sql<{ action: string }[]>`select action from audit_log where case_key = ${caseKey} and action like ${like} order by id`).map(
    (r) => r.action,
  );

describe('restructuring plans in the ledger', () => {
  const plan = (over: Partial<PlanRecord> = {}): PlanRecord => ({
    no: 1,
    status: 'proposed',
    proposedBy: 'col-1',
    proposedAt: T0,
    instalments: [
      { dueDate: '2026-04-01', amountMinor: 400_000 },
      { dueDate: '2026-05-01', amountMinor: 400_000 },
      { dueDate: '2026-06-01', amountMinor: 200_000 },
    ],
    graceDays: 5,
    penalty: { mode: 'reduced', bpsPerDay: 2 },
    security: { kind: 'guarantee', description: '李保证 guarantees the plan' },
    approvals: [],
    ...over,
  });
  const record = (c: TestCase, p: PlanRecord, event: string, revision: number, paidMinor = 0, actor = 'case-workflow') =>
    ({
      ...c.ref(`plan:${p.no}:${event}:${revision}`),
      plan: p,
      paidMinor,
      revision,
      event,
      actor,
    }) satisfies PlanLedgerRecord;
  const twice = async (r: PlanLedgerRecord) => {
    await acts.recordPlan(r);
    await acts.recordPlan(r);
  };

  it('proposed, reviewed, started, paid, kept: one plan row, its instalments paid in order, its reviews; each audited once', async () => {
    const c = await openCase();
    const finance = { role: 'finance' as const, by: 'fin-1', at: '2026-03-03T02:00:00.000Z', decision: 'approve' as const };
    const legal = { role: 'legal' as const, by: 'law-1', at: '2026-03-03T03:00:00.000Z', decision: 'approve' as const, note: 'ok' };
    const manager = { role: 'manager' as const, by: 'mgr-1', at: '2026-03-04T02:00:00.000Z', decision: 'approve' as const };
    const started = { status: 'active' as const, startedAt: manager.at, approvals: [finance, legal, manager] };

    await twice(record(c, plan(), 'proposed', 3, 0, 'col-1'));
    await twice(record(c, plan({ approvals: [finance] }), 'finance-approved', 4, 0, 'fin-1'));
    await twice(record(c, plan({ approvals: [finance, legal] }), 'legal-approved', 5, 0, 'law-1'));
    await twice(record(c, plan(started), 'started', 7, 0, 'mgr-1'));
    const firstPaid = record(c, plan({ ...started, paidInstalments: 1 }), 'instalment-1-paid', 9, 500_000);
    await twice(firstPaid);
    expect(
      await sql`select seq, due_date::text, amount_minor, paid_minor, status from repayment_plan_instalments
                where case_key = ${c.caseKey} order by seq`,
    ).toEqual([
      { seq: 1, due_date: '2026-04-01', amount_minor: 400_000, paid_minor: 400_000, status: 'paid' },
      { seq: 2, due_date: '2026-05-01', amount_minor: 400_000, paid_minor: 100_000, status: 'pending' },
      { seq: 3, due_date: '2026-06-01', amount_minor: 200_000, paid_minor: 0, status: 'pending' },
    ]);
    await twice(
      record(c, plan({ ...started, status: 'kept', paidInstalments: 3, endedAt: '2026-06-01T02:00:00.000Z' }), 'kept', 12, 1_000_000),
    );
    // A late retry of an older revision changes nothing (and is not audited again).
    await acts.recordPlan(firstPaid);
    await acts.recordPlan(record(c, plan(), 'proposed', 3, 0, 'col-1'));

    expect(
      await sql`select plan_no, status, proposed_by, total_minor, reduced_to_minor, grace_days, penalty_mode, penalty_bps, security,
                       started_at, ended_at, waived_minor, paid_minor, revision
                from repayment_plans where case_key = ${c.caseKey}`,
    ).toEqual([
      {
        plan_no: 1,
        status: 'kept',
        proposed_by: 'col-1',
        total_minor: 1_000_000,
        reduced_to_minor: null,
        grace_days: 5,
        penalty_mode: 'reduced',
        penalty_bps: 2,
        security: { kind: 'guarantee', description: '李保证 guarantees the plan' },
        started_at: new Date(manager.at),
        ended_at: new Date('2026-06-01T02:00:00.000Z'),
        waived_minor: 0,
        paid_minor: 1_000_000,
        revision: 12,
      },
    ]);
    expect(await sql`select seq, paid_minor, status from repayment_plan_instalments where case_key = ${c.caseKey} order by seq`).toEqual([
      { seq: 1, paid_minor: 400_000, status: 'paid' },
      { seq: 2, paid_minor: 400_000, status: 'paid' },
      { seq: 3, paid_minor: 200_000, status: 'paid' },
    ]);
    expect(
      await sql`select subject, subject_no, role, decided_by, decision, note from treatment_approvals
                where case_key = ${c.caseKey} order by decided_at`,
    ).toEqual([
      { subject: 'plan', subject_no: 1, role: 'finance', decided_by: 'fin-1', decision: 'approve', note: null },
      { subject: 'plan', subject_no: 1, role: 'legal', decided_by: 'law-1', decision: 'approve', note: 'ok' },
      { subject: 'plan', subject_no: 1, role: 'manager', decided_by: 'mgr-1', decision: 'approve', note: null },
    ]);
    expect(await auditActions(c.caseKey, 'plan-%')).toEqual([
      'plan-proposed',
      'plan-finance-approved',
      'plan-legal-approved',
      'plan-started',
      'plan-instalment-1-paid',
      'plan-kept',
    ]);
    expect(
      await sql`select actor from audit_log where case_key = ${c.caseKey} and action in ('plan-proposed', 'plan-kept') order by id`,
    ).toEqual([{ actor: 'col-1' }, { actor: 'case-workflow' }]);
  });

  it('a broken plan marks the instalment whose grace ran out missed; a refused second plan is its own row', async () => {
    const c = await openCase();
    const active = { status: 'active' as const, startedAt: T0, penalty: { mode: 'frozen' as const }, reducedToMinor: 900_000 };
    await acts.recordPlan(record(c, plan(active), 'started', 4));
    await acts.recordPlan(record(c, plan({ ...active, status: 'broken', brokenInstalment: 2, endedAt: T0 }), 'broken', 6, 450_000));
    const refusal = { role: 'finance' as const, by: 'fin-2', at: T0, decision: 'refuse' as const, note: 'no security' };
    await acts.recordPlan(record(c, plan({ no: 2, status: 'refused', approvals: [refusal], security: undefined }), 'refused', 8));
    expect(
      await sql`select plan_no, status, penalty_mode, penalty_bps, reduced_to_minor, broken_instalment, security
                from repayment_plans where case_key = ${c.caseKey} order by plan_no`,
    ).toEqual([
      {
        plan_no: 1,
        status: 'broken',
        penalty_mode: 'frozen',
        penalty_bps: null,
        reduced_to_minor: 900_000,
        broken_instalment: 2,
        security: { kind: 'guarantee', description: '李保证 guarantees the plan' },
      },
      {
        plan_no: 2,
        status: 'refused',
        penalty_mode: 'reduced',
        penalty_bps: 2,
        reduced_to_minor: null,
        broken_instalment: null,
        security: null,
      },
    ]);
    expect(
      await sql`select plan_no, seq, paid_minor, status from repayment_plan_instalments
                where case_key = ${c.caseKey} order by plan_no, seq`,
    ).toEqual([
      { plan_no: 1, seq: 1, paid_minor: 400_000, status: 'paid' },
      { plan_no: 1, seq: 2, paid_minor: 50_000, status: 'missed' },
      { plan_no: 1, seq: 3, paid_minor: 0, status: 'pending' },
      { plan_no: 2, seq: 1, paid_minor: 0, status: 'pending' },
      { plan_no: 2, seq: 2, paid_minor: 0, status: 'pending' },
      { plan_no: 2, seq: 3, paid_minor: 0, status: 'pending' },
    ]);
    expect(await sql`select subject_no, role, decision from treatment_approvals where case_key = ${c.caseKey}`).toEqual([
      { subject_no: 2, role: 'finance', decision: 'refuse' },
    ]);
  });
});

describe('settlement in kind in the ledger', () => {
  it('offered, appraised, shortfall decided, transferred: one row, one approval; an older revision changes nothing', async () => {
    const c = await openCase();
    const offered: InKindRecord = {
      status: 'offered',
      asset: 'delivery van 京B-12345',
      estimatedValueMinor: 700_000,
      offeredBy: 'col-1',
      since: T0,
      remindersSent: 0,
    };
    const appraisal = { valueMinor: 600_000, appraiser: '北京评估有限公司', document: 'APR-2026-001', by: 'fin-1', at: T0 };
    const shortfall = { decision: 'write-off' as const, by: 'mgr-1', role: 'manager', at: '2026-03-05T02:00:00.000Z', note: 'small' };
    const transfer = { document: 'TITLE-2026-77', by: 'law-1', at: '2026-03-06T02:00:00.000Z' };
    const rec = (k: InKindRecord, event: string, revision: number, actor: string): InKindLedgerRecord => ({
      ...c.ref(`in-kind:${event}:${revision}`),
      inKind: k,
      revision,
      event,
      actor,
    });
    const steps = [
      rec(offered, 'offered', 2, 'col-1'),
      rec({ ...offered, status: 'appraised', appraisal }, 'appraised', 3, 'fin-1'),
      rec({ ...offered, status: 'appraised', appraisal, shortfall }, 'shortfall-decided', 4, 'mgr-1'),
      rec(
        {
          ...offered,
          status: 'transferred',
          appraisal,
          shortfall,
          transfer,
          appliedPaymentId: `in-kind:${c.caseKey}`,
          shortfallMinor: 400_000,
          closesCase: true,
        },
        'transferred',
        6,
        'law-1',
      ),
    ];
    for (const s of steps) {
      await acts.recordInKind(s);
      await acts.recordInKind(s);
    }
    await acts.recordInKind(steps[1]!); // late: changes nothing

    expect(
      await sql`select status, asset, offered_by, estimated_value_minor, appraised_value_minor, appraiser, appraisal_document,
                       transfer_document, shortfall_minor, shortfall_decision, applied_payment_id, revision
                from in_kind_settlements where case_key = ${c.caseKey}`,
    ).toEqual([
      {
        status: 'transferred',
        asset: 'delivery van 京B-12345',
        offered_by: 'col-1',
        estimated_value_minor: 700_000,
        appraised_value_minor: 600_000,
        appraiser: '北京评估有限公司',
        appraisal_document: 'APR-2026-001',
        transfer_document: 'TITLE-2026-77',
        shortfall_minor: 400_000,
        shortfall_decision: 'write-off',
        applied_payment_id: `in-kind:${c.caseKey}`,
        revision: 6,
      },
    ]);
    expect(
      await sql`select subject, subject_no, role, decided_by, decision, note from treatment_approvals where case_key = ${c.caseKey}`,
    ).toEqual([
      { subject: 'in-kind-shortfall', subject_no: 1, role: 'manager', decided_by: 'mgr-1', decision: 'write-off', note: 'small' },
    ]);
    expect(await auditActions(c.caseKey, 'in-kind-%')).toEqual([
      'in-kind-offered',
      'in-kind-appraised',
      'in-kind-shortfall-decided',
      'in-kind-transferred',
    ]);
  });
});

describe('payment investigations, batched writes', () => {
  it('an investigation opened twice with one key is one row, audited once', async () => {
    const c = await openCase();
    const r = { ...c.ref('investigation:4'), reasonCategory: 4 as const, reportedBy: 'col-1', note: 'paid 3,000 short' };
    await acts.openPaymentInvestigation(r);
    await acts.openPaymentInvestigation(r);
    expect(
      await sql`select reason_category, reported_by, note, status, opened_at, resolved_by, payment_id
                from payment_investigations where case_key = ${c.caseKey}`,
    ).toEqual([
      {
        reason_category: 4,
        reported_by: 'col-1',
        note: 'paid 3,000 short',
        status: 'open',
        opened_at: new Date(T0),
        resolved_by: null,
        payment_id: null,
      },
    ]);
    expect(await auditActions(c.caseKey, 'payment-investigation-%')).toEqual(['payment-investigation-opened']);
  });

  it("the new writes go in the ledger batch, the write-off's audit row too, each once when the batch is retried", async () => {
    const c = await openCase();
    const batch = {
      caseKey: c.caseKey,
      writes: [
        {
          fn: 'openPaymentInvestigation' as const,
          arg: { ...c.ref('investigation:5'), reasonCategory: 5 as const, reportedBy: 'fo-1', note: 'wrong card' },
        },
        {
          fn: 'recordInKind' as const,
          arg: {
            ...c.ref('in-kind:offered:3'),
            inKind: { status: 'offered' as const, asset: 'stock', offeredBy: 'col-1', since: T0, remindersSent: 0 },
            revision: 3,
            event: 'offered',
            actor: 'col-1',
          },
        },
        {
          fn: 'recordWriteOff' as const,
          arg: {
            ...c.ref('write-off'),
            reason: 'uncollectable',
            by: 'mgr-1',
            balance: { principalMinor: 1, penaltyMinor: 0, feesMinor: 0 },
          },
        },
      ],
    };
    await acts.writeLedger(batch);
    await acts.writeLedger(batch);
    expect(Number((await sql`select count(*)::int as n from payment_investigations where case_key = ${c.caseKey}`)[0]!.n)).toBe(1);
    expect(await sql`select status from in_kind_settlements where case_key = ${c.caseKey}`).toEqual([{ status: 'offered' }]);
    expect(
      await sql<{ action: string }[]>`select action from audit_log where case_key = ${c.caseKey}
                                     and action in ('payment-investigation-opened', 'in-kind-offered', 'write-off') order by id`,
    ).toEqual([{ action: 'payment-investigation-opened' }, { action: 'in-kind-offered' }, { action: 'write-off' }]);
  });
});

describe('closing, situation and recoverable costs', () => {
  const closing = (c: TestCase, over: { liftHold?: boolean; stage?: 'paid' | 'written-off' } = {}) => ({
    ...c.ref('close'),
    stage: over.stage ?? ('paid' as const),
    closedAt: '2026-04-20T02:00:00.000Z',
    paidMinor: 0,
    outstandingMinor: 1_000_000,
    ...(over.liftHold === undefined ? {} : { liftHold: over.liftHold }),
  });
  const hold = async (c: TestCase) =>
    (await sql`select lifted_at, lift_reason, released_by from credit_holds where case_key = ${c.caseKey}`)[0];

  it('a closing that keeps the credit hold leaves it active; one that says nothing (an older case) or lifts it, lifts it', async () => {
    const kept = await openCase();
    await acts.recordCaseClosed(closing(kept, { liftHold: false, stage: 'written-off' }));
    await acts.recordCaseClosed(closing(kept, { liftHold: false, stage: 'written-off' }));
    expect(await hold(kept)).toEqual({ lifted_at: null, lift_reason: null, released_by: null });
    expect((await sql`select stage, closed_at from cases where case_key = ${kept.caseKey}`)[0]).toEqual({
      stage: 'written-off',
      closed_at: new Date('2026-04-20T02:00:00.000Z'),
    });
    expect((await sql`select detail from audit_log where case_key = ${kept.caseKey} and action = 'case-closed'`)[0]!.detail).toMatchObject({
      creditHold: 'kept',
    });

    const older = await openCase();
    await acts.recordCaseClosed(closing(older));
    expect(await hold(older)).toEqual({
      lifted_at: new Date('2026-04-20T02:00:00.000Z'),
      lift_reason: 'case closed: paid',
      released_by: null,
    });
    const lifted = await openCase();
    await acts.recordCaseClosed(closing(lifted, { liftHold: true }));
    expect(await hold(lifted)).toMatchObject({ lift_reason: 'case closed: paid' });
  });

  it('the situation at intake and as the case learns it is on the cases row', async () => {
    const c = await openCase({ situation: { creditGrade: 'C', segment: 'micro-loan' } });
    const row = async () => (await sql`select credit_grade, segment, funds from cases where case_key = ${c.caseKey}`)[0];
    expect(await row()).toEqual({ credit_grade: 'C', segment: 'micro-loan', funds: null });
    const projection = (n: number, situation?: { creditGrade?: string; segment?: string; funds?: string }) => ({
      ...c.ref(`projection:${n}`),
      projectionNo: n,
      stage: 'open' as const,
      daysOverdue: 2,
      balance: { principalMinor: 1_000_000, penaltyMinor: 0, feesMinor: 0 },
      paidMinor: 0,
      brokenPromises: 0,
      treatment: 'collect' as const,
      inDispute: false,
      ...(situation ? { situation } : {}),
    });
    await acts.projectCase(projection(1, { creditGrade: 'D', funds: 'short-prospects' }));
    expect(await row()).toEqual({ credit_grade: 'D', segment: 'micro-loan', funds: 'short-prospects' });
    await acts.projectCase(projection(2)); // a projection that says nothing of it keeps it
    expect(await row()).toEqual({ credit_grade: 'D', segment: 'micro-loan', funds: 'short-prospects' });
  });

  it('a cost charged to the fees part is recoverable; the others are not', async () => {
    const c = await openCase();
    const step = (suffix: string, over: Partial<StepRequest>): StepRequest => ({
      ...c.ref(suffix),
      stepId: 'first-visit',
      action: 'field-visit',
      day: 0,
      description: 'test step',
      debtorName: '王建国',
      timeZone: 'Asia/Shanghai',
      currency: 'CNY',
      balance: { principalMinor: 1_000_000, penaltyMinor: 0, feesMinor: 0 },
      guarantorIds: [],
      windowEnd: '2026-03-02T10:00:00.000Z',
      windowFrom: '09:00',
      windowTo: '18:00',
      inDispute: false,
      costMinor: 0,
      letterLanguage: 'zh-CN',
      creditor: { name: '示范小额贷款有限公司' },
      daysOverdue: 1,
      dueDate: '2026-03-01',
      ...over,
    });
    await acts.scheduleFieldVisit(step('first-visit@0', { costMinor: 5_000, feeMinor: 5_000 }));
    await acts.serveOverdueNotice(
      step('overdue-notice@7', { stepId: 'overdue-notice', action: 'overdue-notice', day: 7, costMinor: 2_000 }),
    );
    expect(await sql`select kind, amount_minor, recoverable from case_costs where case_key = ${c.caseKey} order by kind`).toEqual([
      { kind: 'field-visit', amount_minor: 5_000, recoverable: true },
      { kind: 'overdue-notice', amount_minor: 2_000, recoverable: false },
    ]);
  });
});
