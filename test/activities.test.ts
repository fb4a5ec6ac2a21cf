import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../activities/index';
import { connectDb } from '../db/index';
import type { CaseActivities, CaseRef, LedgerWrite, StepRequest } from '../shared/activities';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';

/** Every activity against the real PostgreSQL, each run twice with one key: one row, one result. */
const sql = connectDb(inject('databaseUrl'));
const acts: CaseActivities = createActivities({ sql });
afterAll(() => sql.end());

const T0 = '2026-03-02T01:00:00.000Z'; // day 0, 09:00 Asia/Shanghai
const REGION = `R-${randomUUID().slice(0, 6)}`;
beforeAll(async () => {
  await sql`insert into field_officers (officer_id, name, region, vehicle) values
    (${`${REGION}-o1`}, 'Officer One', ${REGION}, '京A-00001'), (${`${REGION}-o2`}, 'Officer Two', ${REGION}, '京A-00002')`;
});

interface TestCase {
  ref: (suffix: string, at?: string) => CaseRef;
  step: (suffix: string, over?: Partial<StepRequest>) => StepRequest;
  caseKey: string;
  accountId: string;
}

async function openCase(over: { jurisdiction?: 'CN' | 'US'; region?: string; guarantor?: boolean } = {}): Promise<TestCase> {
  const accountId = `ACT-${randomUUID().slice(0, 8)}`;
  const caseKey = `Case:${accountId}/${randomUUID()}`;
  const ref = (suffix: string, at = T0): CaseRef => ({ idempotencyKey: `${caseKey}:${suffix}`, caseKey, accountId, at });
  const opening = {
    ...ref('open'),
    workflowId: `Case:${accountId}`,
    debtorName: '王建国',
    debtor: {
      name: '王建国',
      timeZone: over.jurisdiction === 'US' ? 'America/New_York' : 'Asia/Shanghai',
      idNumber: '110108199001011234',
      phones: ['+86 138 0000 0000'],
      address: '北京市海淀区中关村大街1号',
      region: over.region ?? REGION,
      jurisdiction: over.jurisdiction ?? 'CN',
    },
    guarantors: over.guarantor ? [{ id: 'G1', name: '李保证', phones: ['+86 139 0000 0000'], address: '北京市朝阳区建国路2号' }] : [],
    currency: 'CNY',
    firstMissed: { dueDate: '2026-03-01', amountMinor: 1_000_000, currency: 'CNY' },
    playbookId: DEFAULT_PLAYBOOK.id,
    playbookVersion: 1,
    openedAt: T0,
  };
  const a = await acts.recordCaseOpened(opening);
  const b = await acts.recordCaseOpened(opening);
  expect(b).toEqual(a);
  await acts.recordMissedPayment({ ...ref('missed:2026-03-01'), missed: opening.firstMissed });
  const step = (suffix: string, over: Partial<StepRequest> = {}): StepRequest => ({
    ...ref(suffix, over.at),
    stepId: 'daily-call',
    action: 'phone-call',
    day: 0,
    description: 'test step',
    debtorName: '王建国',
    timeZone: 'Asia/Shanghai',
    currency: 'CNY',
    balance: { principalMinor: 1_000_000, penaltyMinor: 0, feesMinor: 0 },
    guarantorIds: over.guarantorIds ?? [],
    windowEnd: '2026-03-02T12:00:00.000Z',
    windowFrom: '09:00',
    windowTo: '20:00',
    inDispute: false,
    costMinor: 0,
    letterLanguage: 'zh-CN',
    creditor: { name: '示范小额贷款有限公司' },
    daysOverdue: 1,
    dueDate: '2026-03-01',
    ...over,
  });
  return { ref, step, caseKey, accountId };
}

const count = async (table: string, caseKey: string) =>
  Number((await sql`select count(*)::int as n from ${sql(table)} where case_key = ${caseKey}`)[0]!.n);

describe('ledger activities are idempotent', () => {
  it('opening: one case, one debtor, one account, one credit hold, one instalment', async () => {
    const c = await openCase({ guarantor: true });
    await acts.recordMissedPayment({
      ...c.ref('missed:2026-03-01'),
      missed: { dueDate: '2026-03-01', amountMinor: 1_000_000, currency: 'CNY' },
    });
    expect(await count('cases', c.caseKey)).toBe(1);
    expect(await count('credit_holds', c.caseKey)).toBe(1);
    expect(await count('instalments', c.caseKey)).toBe(1);
    expect(await sql`select name from debtors where account_id = ${c.accountId}`).toHaveLength(1);
    expect(await sql`select guarantor_ref from guarantors where account_id = ${c.accountId}`).toEqual([{ guarantor_ref: 'G1' }]);
    // Written in one statement: every part as the opening gave it, once.
    expect(await sql`select phones, region, time_zone from debtors where account_id = ${c.accountId}`).toEqual([
      { phones: ['+86 138 0000 0000'], region: REGION, time_zone: 'Asia/Shanghai' },
    ]);
    expect(await sql`select phones, address from guarantors where account_id = ${c.accountId}`).toEqual([
      { phones: ['+86 139 0000 0000'], address: '北京市朝阳区建国路2号' },
    ]);
    expect(await sql`select currency from accounts where account_id = ${c.accountId}`).toEqual([{ currency: 'CNY' }]);
    expect(
      await sql`select detail->'firstMissed'->>'dueDate' as due from audit_log where case_key = ${c.caseKey} and action = 'case-opened'`,
    ).toEqual([{ due: '2026-03-01' }]);
  });

  it('payment: recorded once, allocation kept, second attempt says so', async () => {
    const c = await openCase();
    const record = {
      ...c.ref(`payment:p-${c.accountId}`),
      payment: { paymentId: `p-${c.accountId}`, amountMinor: 400_000, currency: 'CNY', paidAt: T0 },
      allocation: { feesMinor: 0, penaltyMinor: 500, principalMinor: 399_500, excessMinor: 0 },
      outstandingAfterMinor: 600_500,
    };
    expect(await acts.recordPayment(record)).toEqual({ recorded: true });
    expect(await acts.recordPayment(record)).toEqual({ recorded: false });
    expect(await sql`select amount_minor, penalty_minor, principal_minor from payments where case_key = ${c.caseKey}`).toEqual([
      { amount_minor: 400_000, penalty_minor: 500, principal_minor: 399_500 },
    ]);
    expect((await sql`select paid_minor from cases where case_key = ${c.caseKey}`)[0]).toEqual({ paid_minor: 400_000 });
    const usd = {
      ...record,
      idempotencyKey: `${c.caseKey}:payment:usd`,
      payment: { ...record.payment, paymentId: `usd-${c.accountId}`, currency: 'USD' },
    };
    const err = await acts.recordPayment(usd).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'CurrencyMismatch', nonRetryable: true });
  });

  it('projection: a late older projection never overwrites a newer one', async () => {
    const c = await openCase();
    const p = (n: number, days: number) => ({
      ...c.ref(`projection:${n}`),
      projectionNo: n,
      stage: 'open' as const,
      daysOverdue: days,
      balance: { principalMinor: 1_000_000, penaltyMinor: days * 500, feesMinor: 0 },
      paidMinor: 0,
      brokenPromises: 0,
      treatment: 'collect' as const,
      inDispute: false,
    });
    await acts.projectCase(p(2, 2));
    await acts.projectCase(p(1, 1));
    await acts.projectCase(p(2, 2));
    expect((await sql`select days_overdue, penalty_minor, projection_no from cases where case_key = ${c.caseKey}`)[0]).toEqual({
      days_overdue: 2,
      penalty_minor: 1000,
      projection_no: 2,
    });
  });

  it('promise: one row, status moves from pending once', async () => {
    const c = await openCase();
    const r = {
      ...c.ref('promise:1:pending'),
      promiseNo: 1,
      date: '2026-03-05',
      amountMinor: 300_000,
      status: 'pending' as const,
      madeAt: T0,
    };
    await acts.recordPromise(r);
    await acts.recordPromise(r);
    await acts.recordPromise({ ...r, idempotencyKey: `${c.caseKey}:promise:1:broken`, status: 'broken' });
    await acts.recordPromise({ ...r, idempotencyKey: `${c.caseKey}:promise:1:kept`, status: 'kept' }); // too late: already broken
    expect(await sql`select status from promises where case_key = ${c.caseKey}`).toEqual([{ status: 'broken' }]);
  });

  it('close: the case closes once and its credit hold is lifted; blacklist once', async () => {
    const c = await openCase();
    const closing = {
      ...c.ref('close'),
      stage: 'paid' as const,
      closedAt: '2026-04-20T02:00:00.000Z',
      paidMinor: 1_020_000,
      outstandingMinor: 0,
    };
    await acts.recordCaseClosed(closing);
    await acts.recordCaseClosed(closing);
    expect((await sql`select stage from cases where case_key = ${c.caseKey}`)[0]).toEqual({ stage: 'paid' });
    expect((await sql`select lift_reason from credit_holds where case_key = ${c.caseKey}`)[0]).toEqual({
      lift_reason: 'case closed: paid',
    });
    const bl = { ...c.ref('blacklist'), debtorName: '王建国', daysOverdue: 46 };
    await acts.placeOnBlacklist(bl);
    await acts.placeOnBlacklist(bl);
    expect(await sql`select id_number, days_overdue from blacklist where case_key = ${c.caseKey}`).toEqual([
      { id_number: '110108199001011234', days_overdue: 46 },
    ]);
    expect(
      await sql`select action from audit_log where case_key = ${c.caseKey} and action in ('case-closed', 'blacklisted') order by id`,
    ).toEqual([{ action: 'case-closed' }, { action: 'blacklisted' }]);
  });
});

describe('contact activities: idempotent, behind the compliance guard', () => {
  it('a call task placed twice with one key is one task and one attempt', async () => {
    const c = await openCase();
    const req = c.step('daily-call@1', { day: 1, at: '2026-03-03T01:00:00.000Z' });
    const a = await acts.placeCollectionCall(req);
    const b = await acts.placeCollectionCall(req);
    expect(a).toMatchObject({ status: 'done' });
    expect(b).toEqual(a);
    expect(await count('call_tasks', c.caseKey)).toBe(1);
    expect(await sql`select status, channel from contact_attempts where case_key = ${c.caseKey}`).toEqual([
      { status: 'placed', channel: 'phone' },
    ]);
  });

  it('a step with rows after it: when done, its timeline entry and the cases row in its transaction; when refused, neither', async () => {
    const c = await openCase();
    const after = (n: number, seq: number): LedgerWrite[] => [
      { fn: 'recordTimeline', arg: { ...c.ref(`timeline:${seq}`), entries: [{ seq, at: T0, day: 1, what: 'phone-call', outcome: '' }] } },
      {
        fn: 'projectCase',
        arg: {
          ...c.ref(`projection:${n}`),
          projectionNo: n,
          stage: 'open',
          daysOverdue: 2,
          balance: { principalMinor: 1_000_000, penaltyMinor: 500, feesMinor: 0 },
          paidMinor: 0,
          brokenPromises: 0,
          treatment: 'collect',
          inDispute: false,
          nextAction: 'daily phone call on day 2, 09:00 Asia/Shanghai',
        },
      },
    ];
    const req = { ...c.step('daily-call@1', { day: 1, at: '2026-03-03T01:00:00.000Z' }), afterDone: after(5, 7) };
    const a = await acts.placeCollectionCall(req);
    expect(await acts.placeCollectionCall(req)).toEqual(a); // a retry: one task, one entry
    expect(a).toMatchObject({ status: 'done', reference: expect.stringMatching(/^call#\d+$/) });
    expect(await sql`select seq, what, outcome from case_timeline where case_key = ${c.caseKey}`).toEqual([
      { seq: 7, what: 'phone-call', outcome: (a as { reference: string }).reference },
    ]);
    expect((await sql`select projection_no, next_action from cases where case_key = ${c.caseKey}`)[0]).toEqual({
      projection_no: 5,
      next_action: 'daily phone call on day 2, 09:00 Asia/Shanghai',
    });

    // Refused by the guard: the step's refusal is recorded, the rows after it are not written.
    await sql`update debtors set do_not_contact = true where account_id = ${c.accountId}`;
    const refused = await acts.placeCollectionCall({ ...c.step('daily-call@2', { day: 2 }), afterDone: after(6, 8) });
    expect(refused).toMatchObject({ status: 'refused', rule: 'do-not-contact' });
    expect(await count('case_timeline', c.caseKey)).toBe(1);
    expect((await sql`select projection_no from cases where case_key = ${c.caseKey}`)[0]).toEqual({ projection_no: 5 });
  });

  it('do-not-contact: the call is refused, the refusal recorded once with its rule', async () => {
    const c = await openCase();
    await sql`update debtors set do_not_contact = true where account_id = ${c.accountId}`;
    const req = c.step('daily-call@2', { day: 2 });
    const r = await acts.placeCollectionCall(req);
    expect(r).toEqual({ status: 'refused', rule: 'do-not-contact', reason: expect.any(String) });
    await acts.placeCollectionCall(req);
    expect(await count('call_tasks', c.caseKey)).toBe(0);
    expect(await sql`select refused_rule from contact_attempts where case_key = ${c.caseKey}`).toEqual([
      { refused_rule: 'do-not-contact' },
    ]);
  });

  it('CN: after 3 answered calls today the guard refuses until 08:00 tomorrow', async () => {
    const c = await openCase();
    for (let i = 1; i <= 3; i++) {
      await acts.recordContactOutcome({
        ...c.ref(`outcome:${i}`, `2026-03-03T0${i}:00:00.000Z`),
        day: 1,
        actor: 'col-1',
        outcome: { channel: 'phone', outcome: 'reached', note: '', actor: 'col-1' },
      });
    }
    const r = await acts.placeCollectionCall(c.step('daily-call@1', { day: 1, at: '2026-03-03T05:00:00.000Z' }));
    expect(r).toMatchObject({ status: 'refused', rule: 'answered-calls-per-day', nextAllowedAt: '2026-03-04T00:00:00.000Z' });
  });

  it('Regulation F 7-in-7 counts a reported call once: its placed row and the report of it are one call', async () => {
    const c = await openCase({ jurisdiction: 'US' });
    // 10:00 in New York (EST) on 2 to 5 March: four calls placed and each reported unanswered (eight log rows).
    const at = (day: number) => `2026-03-0${day}T15:00:00.000Z`;
    for (let day = 2; day <= 5; day++) {
      expect(await acts.placeCollectionCall(c.step(`daily-call@${day}`, { day, at: at(day) }))).toMatchObject({ status: 'done' });
      await acts.recordContactOutcome({
        ...c.ref(`outcome:${day}`, at(day)),
        day,
        actor: 'col-1',
        outcome: { channel: 'phone', outcome: 'no-answer', note: '', actor: 'col-1' },
      });
    }
    expect(await sql`select count(*)::int as n from contact_attempts where case_key = ${c.caseKey}`).toEqual([{ n: 8 }]);
    // Three more on 6 March make seven calls in seven days: each allowed. Counted twice, the fifth was refused.
    for (const h of [14, 15, 16]) {
      const r = await acts.placeCollectionCall(c.step(`daily-call@6:${h}`, { day: 6, at: `2026-03-06T${h}:00:00.000Z` }));
      expect(r, `call at ${h}:00Z`).toMatchObject({ status: 'done' });
    }
    // The eighth within 2–8 March is refused by the rule, until the first call's day leaves the period.
    const eighth = await acts.placeCollectionCall(c.step('daily-call@7', { day: 7, at: '2026-03-07T15:00:00.000Z' }));
    expect(eighth).toMatchObject({ status: 'refused', rule: 'call-attempts-7-in-7' });
  });

  it('a field visit is planned once, assigned by region and workload, its cost charged once', async () => {
    const [a, b, c] = [await openCase(), await openCase(), await openCase()];
    const visit = (t: TestCase) =>
      t.step('first-visit@0', {
        stepId: 'first-visit',
        action: 'field-visit',
        windowFrom: '09:00',
        windowTo: '18:00',
        costMinor: 5_000,
        materials: ['statement of account', 'visit receipt'],
        approvalRole: 'supervisor',
      });
    const r1 = await acts.scheduleFieldVisit(visit(a));
    expect(await acts.scheduleFieldVisit(visit(a))).toEqual(r1);
    await acts.scheduleFieldVisit(visit(b));
    await acts.scheduleFieldVisit(visit(c));
    const officers = await sql`select officer_id from visits where case_key in ${sql([a.caseKey, b.caseKey, c.caseKey])} order by id`;
    expect(officers.map((o) => o.officer_id)).toEqual([`${REGION}-o1`, `${REGION}-o2`, `${REGION}-o1`]);
    expect(await sql`select amount_minor from case_costs where case_key = ${a.caseKey}`).toEqual([{ amount_minor: 5_000 }]);
    const [v] = await sql`select planned_for, approval_required, status, materials, vehicle from visits where case_key = ${a.caseKey}`;
    expect(v).toMatchObject({
      approval_required: true,
      status: 'planned',
      materials: ['statement of account', 'visit receipt'],
      vehicle: '京A-00001',
    });
    const ref = (r1 as { reference: string }).reference;
    await acts.recordVisitApproval({ ...a.ref('visit-approval'), visitReference: ref, by: 'sup-1', role: 'supervisor' });
    await acts.recordVisitReport({
      ...a.ref('visit-report:1', '2026-03-02T06:00:00.000Z'),
      visitReference: ref,
      outcome: 'met',
      signedStatement: true,
      writtenPromise: 'will pay 2026-03-10',
      note: 'shop open',
      officerId: `${REGION}-o1`,
    });
    expect((await sql`select status, approved_by, signed_statement, written_promise from visits where case_key = ${a.caseKey}`)[0]).toEqual(
      { status: 'done', approved_by: 'sup-1', signed_statement: true, written_promise: 'will pay 2026-03-10' },
    );
  });
});

describe('documents: reconciled against the ledger, issued once', () => {
  it('the overdue notice is rendered, stored and sent once', async () => {
    const c = await openCase();
    await acts.projectCase({
      ...c.ref('projection:1'),
      projectionNo: 1,
      stage: 'open',
      daysOverdue: 8,
      balance: { principalMinor: 1_000_000, penaltyMinor: 3_500, feesMinor: 0 },
      paidMinor: 0,
      brokenPromises: 0,
      treatment: 'collect',
      inDispute: false,
    });
    const req = c.step('overdue-notice@7', {
      stepId: 'overdue-notice',
      action: 'overdue-notice',
      day: 7,
      balance: { principalMinor: 1_000_000, penaltyMinor: 3_500, feesMinor: 0 },
      costMinor: 2_000,
    });
    const a = await acts.serveOverdueNotice(req);
    expect(await acts.serveOverdueNotice(req)).toEqual(a);
    const notices = await sql`select kind, total_minor, octet_length(document) > 1000 as has_pdf, delivery_status
                              from notices where case_key = ${c.caseKey}`;
    expect(notices).toEqual([{ kind: 'overdue-notice', total_minor: 1_003_500, has_pdf: true, delivery_status: 'queued' }]);
    expect(await sql`select channel from channel_outbox where case_key = ${c.caseKey}`).toEqual([{ channel: 'letter' }]);
    expect(await sql`select amount_minor from case_costs where case_key = ${c.caseKey}`).toEqual([{ amount_minor: 2_000 }]);
  });

  it('a document whose amounts differ from the ledger is refused: ReconciliationMismatch, non-retryable, nothing issued', async () => {
    const c = await openCase();
    const req = c.step('overdue-notice@7', {
      stepId: 'overdue-notice',
      action: 'overdue-notice',
      day: 7,
      balance: { principalMinor: 900_000, penaltyMinor: 0, feesMinor: 0 },
    });
    const err = await acts.serveOverdueNotice(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'ReconciliationMismatch', nonRetryable: true });
    expect((err as Error).message).toMatch(/principalMinor \(ledger 1000000, case 900000\)/);
    expect(await count('notices', c.caseKey)).toBe(0);
  });

  it('the guarantor demand goes to each guarantor once', async () => {
    const c = await openCase({ guarantor: true });
    const req = c.step('guarantor-demand@8', { stepId: 'guarantor-demand', action: 'guarantor-demand', day: 8, guarantorIds: ['G1'] });
    const a = await acts.demandGuarantorPayment(req);
    expect(await acts.demandGuarantorPayment(req)).toEqual(a);
    expect(await sql`select kind, recipient from notices where case_key = ${c.caseKey}`).toEqual([
      { kind: 'guarantor-demand', recipient: '李保证' },
    ]);
  });
});

describe('legal hand-off', () => {
  it('the referral carries a dossier from the ledger; approval, events and costs recorded once', async () => {
    const c = await openCase();
    await acts.placeCollectionCall(c.step('daily-call@1', { day: 1, at: '2026-03-03T01:00:00.000Z' }));
    const req = c.step('legal-referral@30', { stepId: 'legal-referral', action: 'legal-referral', day: 30, reason: 'long unpaid' });
    const a = await acts.requestLegalReferral(req);
    expect(await acts.requestLegalReferral(req)).toEqual(a);
    const [ref] = await sql`select status, dossier from legal_referrals where case_key = ${c.caseKey}`;
    expect(ref!.status).toBe('requested');
    expect(ref!.dossier).toMatchObject({
      identity: { name: '王建国', idNumber: '110108199001011234' },
      overdueSince: '2026-03-02',
      amounts: { principalMinor: 1_000_000, totalMinor: 1_000_000 },
      reason: 'long unpaid',
    });
    expect(ref!.dossier.collectionHistory.contacts).toHaveLength(1);

    const handoff = { ...c.step('legal-handoff', { stepId: 'legal-handoff', action: 'legal-referral', day: 31 }), approvedBy: 'sup-9' };
    const letter = await acts.referToLegal(handoff);
    expect(await acts.referToLegal(handoff)).toEqual(letter);
    expect(await sql`select kind from notices where case_key = ${c.caseKey}`).toEqual([{ kind: 'lawyers-letter' }]);
    const filed = {
      ...c.ref('legal-event:1'),
      event: { kind: 'filed' as const, court: '海淀区人民法院', caseNumber: '(2026)京0108民初1号', costMinor: 150_000 },
    };
    await acts.recordLegalEvent(filed);
    await acts.recordLegalEvent(filed);
    expect((await sql`select status, approved_by, court from legal_referrals where case_key = ${c.caseKey}`)[0]).toEqual({
      status: 'filed',
      approved_by: 'sup-9',
      court: '海淀区人民法院',
    });
    expect(await sql`select kind, amount_minor from case_costs where case_key = ${c.caseKey}`).toEqual([
      { kind: 'legal-filed', amount_minor: 150_000 },
    ]);
  });
});
