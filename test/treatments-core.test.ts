import { describe, expect, it } from 'vitest';
import type { CaseInput, CaseState, PlanProposal } from '../shared/case';
import { formatAmount } from '../shared/money';
import { DEFAULT_PLAYBOOK, type Playbook } from '../shared/playbook';
import {
  accrue,
  activePause,
  applyPayment,
  endStage,
  legalReferralTriggered,
  newCaseState,
  nextAction,
  outstandingMinor,
  promiseRefusal,
} from '../workflows/core/case-core';
import {
  decidePlan,
  inKindRefusal,
  keptPlanWaiver,
  planDecisionRefusal,
  planRefusal,
  planWakeAt,
  proposePlan,
  recommendation,
  settlePlan,
  shortfallRefusal,
  takeInKindStep,
  writeDown,
} from '../workflows/core/treatments';

// Due 2026-03-01: day 0 is 2026-03-02 in Asia/Shanghai (UTC+8). 10,000.00 CNY at 5 bps: 5.00 a day.
const pb = DEFAULT_PLAYBOOK;
const TZ = 'Asia/Shanghai';
const PRINCIPAL = 1_000_000;
const DAILY = 500;
const at = (day: number, hh = 9) => Date.UTC(2026, 2, 2 + day, hh - 8, 0);
const money = (m: number) => formatAmount(m, 'CNY');

function openCase(nowMs: number, playbook: Playbook = pb): CaseState {
  const input: CaseInput = {
    accountId: 'ACC-T',
    debtor: { name: 'Wang Fang', timeZone: TZ, phones: [], jurisdiction: 'CN' },
    guarantors: [],
    currency: 'CNY',
    firstMissed: { dueDate: '2026-03-01', amountMinor: PRINCIPAL, currency: 'CNY' },
    playbook,
    situation: { creditGrade: 'C', segment: 'micro-loan' },
  };
  return newCaseState(input, nowMs, 'Case:ACC-T/run-1', { perInstalment: true, treatments: true });
}

/** Three monthly instalments (local dates) adding up to `total`, the last one taking the remainder. */
function threeMonthly(total: number, first = '2026-03-20'): PlanProposal {
  const third = Math.floor(total / 3);
  const [y, m, d] = first.split('-').map(Number) as [number, number, number];
  const date = (k: number) => `${y}-${String(m + k).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  return {
    instalments: [
      { dueDate: date(0), amountMinor: third },
      { dueDate: date(1), amountMinor: third },
      { dueDate: date(2), amountMinor: total - 2 * third },
    ],
    penalty: { mode: 'frozen' },
    by: 'col-1',
  };
}

function approveAll(s: CaseState, nowMs: number): void {
  decidePlan(s, { decision: 'approve', by: 'fin-1', role: 'finance' }, nowMs);
  decidePlan(s, { decision: 'approve', by: 'law-1', role: 'legal' }, nowMs);
  accrue(s, pb, nowMs);
  decidePlan(s, { decision: 'approve', by: 'mgr-1', role: 'manager' }, nowMs);
}

let payments = 0;
const pay = (s: CaseState, amountMinor: number, nowMs: number) =>
  applyPayment(s, pb, { paymentId: `P-${++payments}`, amountMinor, currency: 'CNY', paidAt: new Date(nowMs).toISOString() }, nowMs);

describe('a restructuring plan', () => {
  it('is refused when its instalments do not add up to the outstanding balance, with both amounts', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    const outstanding = PRINCIPAL + 10 * DAILY; // day 10: ten days of penalty (per-instalment rule)
    expect(outstandingMinor(s)).toBe(outstanding);
    const short = threeMonthly(900_000);
    expect(planRefusal(s, short, at(10), money)).toBe(
      `the instalments add up to 9,000.00 CNY; they must add up to ${money(outstanding)}, the outstanding balance as of 2026-03-12`,
    );
    expect(planRefusal(s, threeMonthly(outstanding), at(10), money)).toBeUndefined();
  });

  it('is refused with instalments out of order, or due today or earlier', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    const p = threeMonthly(outstandingMinor(s));
    p.instalments[1]!.dueDate = '2026-03-19';
    expect(planRefusal(s, p, at(10), money)).toBe('instalment 2 (2026-03-19) is not after instalment 1 (2026-03-20)');
    const early = threeMonthly(outstandingMinor(s), '2026-03-12');
    expect(planRefusal(s, early, at(10), money)).toMatch(/^instalment 1 is due 2026-03-12: plan instalments fall due after today/);
  });

  it('needs finance and legal before the manager; a refusal ends it and the ladder goes on', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    proposePlan(s, pb, threeMonthly(outstandingMinor(s)), at(10));
    expect(planDecisionRefusal(s, { decision: 'approve', by: 'm', role: 'manager' })).toBe(
      'the manager approves after finance and legal review',
    );
    decidePlan(s, { decision: 'approve', by: 'fin-1', role: 'finance' }, at(10));
    expect(planDecisionRefusal(s, { decision: 'approve', by: 'f2', role: 'finance' })).toBe('finance has already reviewed plan 1');
    expect(decidePlan(s, { decision: 'refuse', by: 'law-1', role: 'legal' }, at(10))).toBe('refused');
    expect(s.plans![0]!.status).toBe('refused');
    expect(s.stage).toBe('open');
    expect(nextAction(s, pb, at(10, 10)).next).toBeDefined();
    expect(planDecisionRefusal(s, { decision: 'approve', by: 'm', role: 'manager' })).toBe('no plan is awaiting review');
  });

  it('kept: the ladder pauses, penalty is frozen, instalments are paid in order, the case ends paid', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    const total = outstandingMinor(s);
    proposePlan(s, pb, threeMonthly(total), at(10));
    approveAll(s, at(10));
    expect(s.stage).toBe('restructured');
    expect(s.treatment.kind).toBe('restructure');
    expect(nextAction(s, pb, at(11)).next).toBeUndefined();
    accrue(s, pb, at(40));
    expect(outstandingMinor(s)).toBe(total); // frozen
    expect(planWakeAt(s, at(11))).toBe(Date.UTC(2026, 2, 19, 16)); // 2026-03-20 00:00 local
    pay(s, s.plans![0]!.instalments[0]!.amountMinor, at(17));
    expect(settlePlan(s, at(17))).toEqual([{ kind: 'paid', n: 1 }]);
    pay(s, s.plans![0]!.instalments[1]!.amountMinor, at(47));
    expect(settlePlan(s, at(47))).toEqual([{ kind: 'paid', n: 2 }]);
    pay(s, s.plans![0]!.instalments[2]!.amountMinor, at(77));
    expect(settlePlan(s, at(77))).toEqual([{ kind: 'paid', n: 3 }, { kind: 'kept' }]);
    expect(outstandingMinor(s)).toBe(0);
    expect(endStage(s)).toBe('paid');
    expect(keptPlanWaiver(s)).toBeUndefined();
  });

  it('broken after grace: open again, a broken promise, the plan days charged at the playbook rate', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    const total = outstandingMinor(s);
    proposePlan(s, pb, threeMonthly(total), at(10));
    approveAll(s, at(10));
    const first = s.plans![0]!.instalments[0]!.amountMinor;
    pay(s, first, at(17));
    settlePlan(s, at(17));
    // Instalment 2 due 2026-04-20, grace 5 days: still holding on 04-25, broken from 04-26 00:00 local.
    expect(settlePlan(s, Date.UTC(2026, 3, 25, 15, 59))).toEqual([{ kind: 'due', n: 2, unpaidMinor: first }]);
    const events = settlePlan(s, Date.UTC(2026, 3, 25, 16, 0));
    expect(events).toEqual([{ kind: 'broken', n: 2, unpaidMinor: first }]);
    expect(s.stage).toBe('open');
    expect(s.brokenPromises).toBe(1);
    expect(s.plans![0]!.status).toBe('broken');
    const penaltyBefore = s.balance.penaltyMinor;
    accrue(s, pb, Date.UTC(2026, 3, 25, 16, 0));
    // Whole plan: every day since the plan began, at 5 bps, on the principal still unpaid.
    expect(s.balance.penaltyMinor).toBeGreaterThan(penaltyBefore);
    expect(nextAction(s, pb, Date.UTC(2026, 3, 26, 1)).next).toBeDefined();
    expect(legalReferralTriggered(s, pb)).toBeUndefined();
    expect(legalReferralTriggered(s, { ...pb, restructure: { ...pb.restructure, onBroken: 'legal-referral' } })).toBe(
      'restructuring plan 1 broken',
    );
  });

  it('a reduced amount: kept when it is paid, the rest forgiven', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    const p = { ...threeMonthly(600_000), reducedToMinor: 600_000 };
    expect(planRefusal(s, p, at(10), money)).toBeUndefined();
    proposePlan(s, pb, p, at(10));
    approveAll(s, at(10));
    pay(s, 600_000, at(15));
    expect(settlePlan(s, at(15)).at(-1)).toEqual({ kind: 'kept' });
    expect(keptPlanWaiver(s)?.waivedMinor).toBe(PRINCIPAL + 10 * DAILY - 600_000);
    writeDown(s, s.plans![0]!);
    expect(outstandingMinor(s)).toBe(0);
    expect(keptPlanWaiver(s)).toBeUndefined();
  });

  it('a full-balance plan kept with an instalment reported meanwhile forgives nothing: that instalment is still owed', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    const total = outstandingMinor(s);
    proposePlan(s, pb, threeMonthly(total), at(10));
    approveAll(s, at(10));
    s.plans![0]!.addedMinor = 50_000; // as the payment handler records an instalment reported while the plan holds
    s.balance.principalMinor += 50_000;
    pay(s, total, at(15));
    expect(settlePlan(s, at(15)).at(-1)).toEqual({ kind: 'kept' });
    expect(keptPlanWaiver(s)).toBeUndefined();
    expect(s.stage).toBe('open');
    expect(outstandingMinor(s)).toBe(50_000);
  });

  it('a reduced penalty rate accrues on the unpaid principal and joins the last instalment', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    const total = outstandingMinor(s);
    proposePlan(s, pb, { ...threeMonthly(total), penalty: { mode: 'reduced', bpsPerDay: 1 } }, at(10));
    approveAll(s, at(10));
    accrue(s, pb, at(20));
    expect(outstandingMinor(s)).toBe(total + 10 * 100);
    expect(s.plans![0]!.instalments[2]!.amountMinor).toBe(total - 2 * Math.floor(total / 3) + 1000);
  });

  it('no promise is taken while a plan holds', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    proposePlan(s, pb, threeMonthly(outstandingMinor(s)), at(10));
    approveAll(s, at(10));
    expect(promiseRefusal(s, pb, { date: '2026-03-15', amountMinor: 1000 }, at(10))).toBe(
      'a restructuring plan holds: its instalments are the promise',
    );
  });
});

describe('settlement in kind', () => {
  it('goes offered → appraised → preserved → transferred, by the roles that record each step, pausing the ladder', () => {
    const s = openCase(at(5));
    accrue(s, pb, at(5));
    expect(inKindRefusal(s, { step: 'appraised', valueMinor: 1, appraiser: 'A', document: 'D', by: 'x', role: 'finance' }, money)).toBe(
      'appraisal follows an offered asset',
    );
    expect(inKindRefusal(s, { step: 'offered', asset: 'truck', by: 'f', role: 'field-officer' }, money)).toBe(
      'the offered step is recorded by collector, supervisor or a manager, not field-officer',
    );
    takeInKindStep(s, { step: 'offered', asset: 'Truck 京A-12345', by: 'col-1', role: 'collector' }, at(5));
    expect(activePause(s, pb, at(6))?.reason).toBe('settlement in kind: waiting for appraisal');
    expect(s.treatment.kind).toBe('settle-in-kind');
    takeInKindStep(
      s,
      { step: 'appraised', valueMinor: 800_000, appraiser: '评估所', document: 'AP-1', by: 'fin-1', role: 'finance' },
      at(8),
    );
    takeInKindStep(s, { step: 'preserved', reference: '(2026)保1号', by: 'law-1', role: 'legal' }, at(9));
    accrue(s, pb, at(9));
    const transfer = { step: 'transferred', document: 'TT-1', by: 'law-1', role: 'legal' } as const;
    expect(inKindRefusal(s, transfer, money)).toMatch(
      /^the appraised value leaves 2,\d{3}\.00 CNY unpaid: a manager decides the shortfall first/,
    );
    expect(shortfallRefusal(s, { decision: 'write-off', by: 'sup', role: 'supervisor' })).toBe('a manager decides the shortfall');
    s.inKind!.shortfall = { decision: 'write-off', by: 'mgr-1', role: 'manager', at: new Date(at(9)).toISOString() };
    expect(inKindRefusal(s, transfer, money)).toBeUndefined();
  });
});

describe('the recommendation', () => {
  it("follows article 16's table by funds, and fraud (reason 6) is sued", () => {
    const s = openCase(at(1));
    expect(recommendation(s, pb)).toBeUndefined();
    s.situation = { ...s.situation, funds: 'short-prospects' };
    expect(recommendation(s, pb)).toEqual({ treatment: 'restructure', why: 'funds short, the business has prospects' });
    s.situation.funds = 'short-poorly-run';
    expect(recommendation(s, pb)?.treatment).toBe('settle-in-kind');
    s.situation.funds = 'evasive';
    expect(recommendation(s, pb)?.treatment).toBe('litigate');
    s.reasonCategory = 6;
    s.situation.funds = 'good';
    expect(recommendation(s, pb)).toEqual({ treatment: 'litigate', why: 'fraud or misuse (reason 6)' });
  });

  it('grade, segment and funds are playbook conditions', () => {
    const s = openCase(at(1));
    const only = (conditions: Playbook['steps'][number]['conditions']): Playbook => ({
      ...pb,
      steps: [{ ...pb.steps.find((x) => x.id === 'daily-call')!, day: 1, repeat: { everyDays: 1 }, conditions }],
    });
    expect(nextAction(s, only({ creditGradeIn: ['C'] }), at(1, 8)).next).toBeDefined();
    expect(nextAction(s, only({ creditGradeIn: ['A', 'B'] }), at(1, 8)).next).toBeUndefined();
    expect(nextAction(s, only({ segmentIn: ['micro-loan'] }), at(1, 8)).next).toBeDefined();
    expect(nextAction(s, only({ fundsIn: ['evasive'] }), at(1, 8)).next).toBeUndefined();
    s.situation = { ...s.situation, funds: 'evasive' };
    expect(nextAction(s, only({ fundsIn: ['evasive'] }), at(1, 8)).next).toBeDefined();
  });
});
