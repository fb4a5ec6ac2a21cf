import { describe, expect, it } from 'vitest';
import type { CaseInput, CaseState, PaymentReceived } from '../shared/case';
import { DEFAULT_PLAYBOOK, DEFAULT_PLAYBOOK_V1, Playbook, RECEIVABLES_PLAYBOOK, type PlaybookInput } from '../shared/playbook';
import {
  accrue,
  activePause,
  addMissedPayment,
  addPromise,
  applyPayment,
  dayIndex,
  daysOverdue,
  deferUntil,
  describeNext,
  endStage,
  isClosed,
  legalReferralTriggered,
  mayApprove,
  newCaseState,
  nextAction,
  nextLocalMidnight,
  nextReminderAt,
  outstandingMinor,
  promiseRefusal,
  recordStepRan,
  settleGuarantorDemand,
  settlePromises,
  startGuarantorDemand,
  view,
  wakeAt,
  type Plan,
} from '../workflows/core/case-core';

// ---- fixtures: due date 2026-03-01, so day 0 is 2026-03-02 in Asia/Shanghai (UTC+8) ----
const pb = DEFAULT_PLAYBOOK;
const TZ = 'Asia/Shanghai';
const PRINCIPAL = 1_000_000; // 10,000.00 CNY: 500 minor a day at 5 bps

/** The instant of local time `hh:mm` in Shanghai on ladder day `day` (computed without shared/calendar). */
function at(day: number, hh = 9, mm = 0): number {
  return Date.UTC(2026, 2, 2 + day, hh - 8, mm);
}
const iso = (ms: number) => new Date(ms).toISOString();

function caseInput(
  opts: { guarantor?: boolean; timeZone?: string; playbook?: Playbook; amountMinor?: number; dueDate?: string } = {},
): CaseInput {
  return {
    accountId: 'ACC-1',
    debtor: { name: 'Wang Fang', timeZone: opts.timeZone ?? TZ, phones: [], jurisdiction: 'CN' },
    guarantors: opts.guarantor === false ? [] : [{ id: 'G-1', name: 'Li Wei', phones: [] }],
    currency: 'CNY',
    firstMissed: { dueDate: opts.dueDate ?? '2026-03-01', amountMinor: opts.amountMinor ?? PRINCIPAL, currency: 'CNY' },
    playbook: opts.playbook ?? pb,
  };
}

function openCase(nowMs: number, opts: Parameters<typeof caseInput>[0] = {}): CaseState {
  return newCaseState(caseInput(opts), nowMs, 'Case:ACC-1/run-1');
}

function payment(id: string, amountMinor: number, nowMs: number, currency = 'CNY'): PaymentReceived {
  return { paymentId: id, amountMinor, currency, paidAt: iso(nowMs) };
}

interface Ran {
  day: number;
  stepId: string;
  action: string;
  key: string;
  dueAt: string;
}

/**
 * Runs everything due at `nowMs` (marking each next step as ran, asking again at the same instant),
 * recording skipped one-offs as skipped. Returns what ran and the plan that ended the run.
 */
function runDueAt(state: CaseState, playbook: Playbook, nowMs: number): { ran: Ran[]; skipped: string[]; rest: Plan } {
  const ran: Ran[] = [];
  const skipped: string[] = [];
  for (let guard = 0; guard < 50; guard++) {
    const plan = nextAction(state, playbook, nowMs);
    for (const s of plan.skipped) {
      skipped.push(s.key);
      state.done[s.key] = 'skipped';
    }
    const next = plan.next;
    if (!next || Date.parse(next.dueAt) > nowMs) return { ran, skipped, rest: plan };
    ran.push({ day: next.day, stepId: next.stepId, action: next.action, key: next.key, dueAt: next.dueAt });
    state.done[next.key] = 'ran';
  }
  throw new Error('nextAction kept returning steps');
}

/** Walks ladder days `from`..`to` at 09:00 local, running what is due each day. */
function walk(state: CaseState, from: number, to: number, playbook: Playbook = pb) {
  const ran: Ran[] = [];
  const idleDays: number[] = [];
  for (let d = from; d <= to; d++) {
    const now = at(d);
    const { ran: today, skipped, rest } = runDueAt(state, playbook, now);
    expect(skipped, `day ${d}`).toEqual([]);
    expect(rest.pause, `day ${d}`).toBeUndefined();
    // Nothing more is due today: the next step, if any, is on a later day at its window start.
    if (rest.next) {
      expect(rest.next.day, `day ${d}`).toBeGreaterThan(d);
      expect(rest.next.dueAt).toBe(iso(at(rest.next.day)));
    }
    if (today.length === 0) idleDays.push(d);
    ran.push(...today);
  }
  return { ran, idleDays };
}

function step(day: number, stepId: string, action: string, key = `${stepId}@${day}`): Ran {
  return { day, stepId, action, key, dueAt: iso(at(day)) };
}

function expectedLadder(withGuarantor: boolean, through: number): Ran[] {
  const rows: Ran[] = [step(0, 'first-visit', 'field-visit')];
  for (const d of [1, 2, 3]) rows.push(step(d, 'early-call', 'phone-call'));
  rows.push(step(4, 'second-visit', 'field-visit'));
  if (withGuarantor) rows.push(step(4, 'guarantor-contact', 'guarantor-contact'));
  rows.push(step(7, 'overdue-notice', 'overdue-notice'));
  for (let d = 8; d <= through; d++) {
    rows.push(step(d, 'daily-call', 'phone-call'));
    if (d === 8 && withGuarantor) rows.push(step(8, 'guarantor-demand', 'guarantor-demand'));
    if (d === 30) rows.push(step(30, 'legal-referral', 'legal-referral'));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------

describe('the built-in playbooks', () => {
  // They are plain data (the workflow bundle carries no zod): the schema must take each unchanged,
  // every default spelled out, in the schema's key order (a replayed case sees the same object).
  it.each([DEFAULT_PLAYBOOK_V1, DEFAULT_PLAYBOOK, RECEIVABLES_PLAYBOOK])('$id v$version is what the schema makes of it', (p) => {
    const parsed = Playbook.parse(p);
    expect(parsed).toStrictEqual(p);
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(p));
  });
});

describe('newCaseState', () => {
  it('opens on day 0 with the first missed principal and nothing accrued', () => {
    const s = openCase(at(0));
    expect(s.day0).toBe('2026-03-02');
    expect(s.timeZone).toBe(TZ);
    expect(s.stage).toBe('open');
    expect(s.openedAt).toBe('2026-03-02T01:00:00.000Z');
    expect(s.openedOnDay).toBe(0);
    expect(s.balance).toEqual({ principalMinor: PRINCIPAL, penaltyMinor: 0, feesMinor: 0 });
    expect(s.missedPayments).toEqual([{ dueDate: '2026-03-01', amountMinor: PRINCIPAL, currency: 'CNY' }]);
    expect(s.guarantors).toEqual([{ id: 'G-1', name: 'Li Wei', phones: [], status: 'not-contacted' }]);
    expect(s.treatment).toEqual({ kind: 'collect', approved: true });
    expect(s.done).toEqual({});
    expect(s.brokenPromises).toBe(0);
    expect(s.legalReviewRequested).toBe(false);
    expect(outstandingMinor(s)).toBe(PRINCIPAL);
  });

  it('records the day it opened on (late) and never a negative day', () => {
    expect(openCase(at(10)).openedOnDay).toBe(10);
    expect(openCase(Date.parse('2026-03-01T10:00:00Z')).openedOnDay).toBe(0); // still the due date locally
  });

  it('takes day 0 in the debtor’s time zone', () => {
    // 2026-03-01T20:00Z is already 2026-03-02 04:00 in Shanghai, but still 2026-03-01 15:00 in New York.
    const now = Date.parse('2026-03-01T20:00:00Z');
    expect(dayIndex(openCase(now), now)).toBe(0);
    expect(dayIndex(openCase(now, { timeZone: 'America/New_York' }), now)).toBe(-1);
  });
});

describe('daysOverdue and view', () => {
  it('is ladder day + 1, and 0 before day 0', () => {
    const s = openCase(at(0));
    expect(daysOverdue(s, at(0))).toBe(1);
    expect(daysOverdue(s, at(0, 23, 59))).toBe(1);
    expect(daysOverdue(s, at(1, 0, 0))).toBe(2);
    expect(daysOverdue(s, at(9))).toBe(10);
    expect(daysOverdue(s, at(29))).toBe(30);
    expect(daysOverdue(s, at(-1, 12))).toBe(0);
    expect(dayIndex(s, at(-1, 12))).toBe(-1);
  });

  it('view adds daysOverdue and outstandingMinor', () => {
    const s = openCase(at(0));
    s.balance.feesMinor = 200;
    const v = view(s, at(4));
    expect(v.daysOverdue).toBe(5);
    expect(v.outstandingMinor).toBe(PRINCIPAL + 200);
    expect(v.accountId).toBe('ACC-1');
  });
});

describe('the default ladder, day by day', () => {
  it('with a guarantor: every row on its day at 09:00 Asia/Shanghai (01:00Z), through day 40', () => {
    const s = openCase(at(0));
    const { ran, idleDays } = walk(s, 0, 40);
    expect(ran).toEqual(expectedLadder(true, 40));
    expect(idleDays).toEqual([5, 6]);
    // spot-check the instants the brief names
    expect(ran[0]).toEqual({
      day: 0,
      stepId: 'first-visit',
      action: 'field-visit',
      key: 'first-visit@0',
      dueAt: '2026-03-02T01:00:00.000Z',
    });
    expect(ran.filter((r) => r.day === 4).map((r) => r.stepId)).toEqual(['second-visit', 'guarantor-contact']);
    expect(ran.filter((r) => r.day === 8).map((r) => r.stepId)).toEqual(['daily-call', 'guarantor-demand']);
    expect(ran.find((r) => r.stepId === 'legal-referral')).toEqual({
      day: 30,
      stepId: 'legal-referral',
      action: 'legal-referral',
      key: 'legal-referral@30',
      dueAt: '2026-04-01T01:00:00.000Z',
    });
    expect(ran.filter((r) => r.stepId === 'daily-call').map((r) => r.day)).toEqual(Array.from({ length: 33 }, (_, i) => i + 8));
  });

  it('asks exactly: on day 0 after the visit, the next step is tomorrow’s early call', () => {
    const s = openCase(at(0));
    const first = nextAction(s, pb, at(0));
    expect(first).toEqual({
      skipped: [],
      next: { stepId: 'first-visit', action: 'field-visit', day: 0, dueAt: '2026-03-02T01:00:00.000Z', key: 'first-visit@0' },
    });
    s.done['first-visit@0'] = 'ran';
    expect(nextAction(s, pb, at(0))).toEqual({
      skipped: [],
      next: { stepId: 'early-call', action: 'phone-call', day: 1, dueAt: '2026-03-03T01:00:00.000Z', key: 'early-call@1' },
    });
  });

  it('before the window opens, the step is due at the window start', () => {
    const s = openCase(at(0, 6));
    const plan = nextAction(s, pb, at(0, 6)); // 06:00 local
    expect(plan.next).toMatchObject({ stepId: 'first-visit', day: 0, dueAt: '2026-03-02T01:00:00.000Z' });
  });

  it('inside the window, a step is due now', () => {
    const s = openCase(at(0, 11, 15));
    expect(nextAction(s, pb, at(0, 11, 15)).next).toMatchObject({ stepId: 'first-visit', dueAt: '2026-03-02T03:15:00.000Z' });
  });

  it('after the day-4 steps, the next is the overdue notice on day 7', () => {
    const s = openCase(at(0));
    walk(s, 0, 4);
    expect(nextAction(s, pb, at(5)).next).toEqual({
      stepId: 'overdue-notice',
      action: 'overdue-notice',
      day: 7,
      dueAt: '2026-03-09T01:00:00.000Z',
      key: 'overdue-notice@7',
    });
  });

  it('without a guarantor: guarantor-contact and guarantor-demand never appear', () => {
    const s = openCase(at(0), { guarantor: false });
    const { ran, idleDays } = walk(s, 0, 40);
    expect(ran).toEqual(expectedLadder(false, 40));
    expect(idleDays).toEqual([5, 6]);
    expect(ran.some((r) => r.stepId.startsWith('guarantor'))).toBe(false);
  });

  it('in America/New_York the windows follow local time across the DST change (2026-03-08)', () => {
    // due 2026-02-28: day 0 is 2026-03-01, day 7 (the notice) is 2026-03-08, the day clocks spring forward
    const s = openCase(Date.parse('2026-03-01T14:00:00Z'), { timeZone: 'America/New_York', guarantor: false, dueDate: '2026-02-28' });
    expect(s.day0).toBe('2026-03-01');
    s.done['first-visit@0'] = 'ran';
    for (const d of [1, 2, 3]) s.done[`early-call@${d}`] = 'ran';
    s.done['second-visit@4'] = 'ran';
    // Friday 2026-03-06 (day 5) noon EST: the next step is the notice, 09:00 EDT on 03-08 = 13:00Z
    expect(nextAction(s, pb, Date.parse('2026-03-06T17:00:00Z')).next).toEqual({
      stepId: 'overdue-notice',
      action: 'overdue-notice',
      day: 7,
      dueAt: '2026-03-08T13:00:00.000Z',
      key: 'overdue-notice@7',
    });
    // asked at 07:00Z on 03-08 (the instant clocks jump from 02:00 EST to 03:00 EDT): still 09:00 EDT
    expect(nextAction(s, pb, Date.parse('2026-03-08T07:00:00Z')).next?.dueAt).toBe('2026-03-08T13:00:00.000Z');
    // the office closes at 18:00 EDT = 22:00Z: at 22:00Z the notice moves to 03-09 09:00 EDT
    expect(nextAction(s, pb, Date.parse('2026-03-08T21:59:00Z')).next?.dueAt).toBe('2026-03-08T21:59:00.000Z');
    expect(nextAction(s, pb, Date.parse('2026-03-08T22:00:00Z')).next).toMatchObject({
      key: 'overdue-notice@7',
      day: 8,
      dueAt: '2026-03-09T13:00:00.000Z',
    });
    // the day-1 call was at 09:00 EST = 14:00Z
    const t = openCase(Date.parse('2026-03-01T14:00:00Z'), { timeZone: 'America/New_York', guarantor: false, dueDate: '2026-02-28' });
    t.done['first-visit@0'] = 'ran';
    expect(nextAction(t, pb, Date.parse('2026-03-01T14:00:00Z')).next).toMatchObject({
      key: 'early-call@1',
      dueAt: '2026-03-02T14:00:00.000Z',
    });
  });
});

describe('late opening and passed windows', () => {
  it(
    "docs/case-workflow.md's worked example: due 2026-03-01, reported 2026-03-11 11:00 Shanghai → " +
      'day 9, DaysOverdue 10, 9 days of penalty',
    () => {
      const opened = Date.parse('2026-03-11T11:00:00+08:00');
      const s = openCase(opened);
      expect(s.openedOnDay).toBe(9);
      expect(daysOverdue(s, opened)).toBe(10);
      accrue(s, pb, opened);
      expect(s.balance.penaltyMinor).toBe(9 * 500);
      const { ran } = runDueAt(s, pb, opened);
      expect(ran.map((r) => [r.key, r.day])).toEqual([
        ['overdue-notice@7', 9],
        ['daily-call@9', 9],
        ['guarantor-demand@8', 9],
      ]);
      // Opened at 19:00 instead: the notice's window (to 18:00) has closed, so it runs on day 10 at 09:00;
      // the day-9 call still happens (its window is open until 20:00).
      const evening = Date.parse('2026-03-11T19:00:00+08:00');
      const late = openCase(evening);
      expect(nextAction(late, pb, evening).next).toMatchObject({ key: 'daily-call@9', day: 9 });
      late.done['daily-call@9'] = 'ran';
      expect(nextAction(late, pb, evening).next).toMatchObject({ key: 'overdue-notice@7', day: 10, dueAt: '2026-03-12T01:00:00.000Z' });
    },
  );

  it(
    'opened on day 10: one-offs of days 0 and 4 are skipped, ' + 'the notice and the guarantor demand catch up once, then the daily call',
    () => {
      const s = openCase(at(10));
      const plan = nextAction(s, pb, at(10));
      expect(plan.skipped).toEqual([
        { key: 'first-visit@0', stepId: 'first-visit', day: 0 },
        { key: 'second-visit@4', stepId: 'second-visit', day: 4 },
        { key: 'guarantor-contact@4', stepId: 'guarantor-contact', day: 4 },
      ]);
      expect(plan.next).toEqual({
        stepId: 'overdue-notice',
        action: 'overdue-notice',
        day: 10,
        dueAt: '2026-03-12T01:00:00.000Z',
        key: 'overdue-notice@7',
      });
      const { ran, skipped, rest } = runDueAt(s, pb, at(10));
      expect(skipped).toEqual(['first-visit@0', 'second-visit@4', 'guarantor-contact@4']);
      expect(ran).toEqual([
        { day: 10, stepId: 'overdue-notice', action: 'overdue-notice', key: 'overdue-notice@7', dueAt: iso(at(10)) },
        { day: 10, stepId: 'daily-call', action: 'phone-call', key: 'daily-call@10', dueAt: iso(at(10)) },
        { day: 10, stepId: 'guarantor-demand', action: 'guarantor-demand', key: 'guarantor-demand@8', dueAt: iso(at(10)) },
      ]);
      expect(rest.next).toMatchObject({ stepId: 'daily-call', day: 11, dueAt: iso(at(11)) });
      // the following days: only the daily call (the notice does not come back), legal referral on day 30
      const { ran: later } = walk(s, 11, 31);
      expect(later.map((r) => r.key)).toEqual([
        ...Array.from({ length: 20 }, (_, i) => `daily-call@${i + 11}`),
        'legal-referral@30',
        'daily-call@31',
      ]);
    },
  );

  it('opened on day 10 without a guarantor: the notice, then the daily call; nothing from days 0–9 but the notice', () => {
    const s = openCase(at(10), { guarantor: false });
    const { ran, skipped } = runDueAt(s, pb, at(10));
    expect(skipped).toEqual(['first-visit@0', 'second-visit@4']);
    expect(ran.map((r) => r.key)).toEqual(['overdue-notice@7', 'daily-call@10']);
    expect(s.done).toEqual({
      'first-visit@0': 'skipped',
      'second-visit@4': 'skipped',
      'overdue-notice@7': 'ran',
      'daily-call@10': 'ran',
    });
  });

  it('a repeating call whose window has passed today is not made up: next is tomorrow 09:00', () => {
    const s = openCase(at(0));
    walk(s, 0, 9);
    const plan = nextAction(s, pb, at(10, 21)); // 21:00 local, calls end 20:00
    expect(plan.skipped).toEqual([]); // repeating steps are never recorded as skipped
    expect(plan.next).toEqual({
      stepId: 'daily-call',
      action: 'phone-call',
      day: 11,
      dueAt: '2026-03-13T01:00:00.000Z',
      key: 'daily-call@11',
    });
    // at 20:00 exactly the window is closed; at 19:59 the call is still due now
    expect(nextAction(s, pb, at(10, 20)).next?.key).toBe('daily-call@11');
    expect(nextAction(s, pb, at(10, 19, 59)).next).toMatchObject({ key: 'daily-call@10', dueAt: iso(at(10, 19, 59)) });
  });

  it('an early call whose window passed on its last day is gone; the ladder goes on to day 4', () => {
    const s = openCase(at(0));
    walk(s, 0, 2);
    const plan = nextAction(s, pb, at(3, 21));
    expect(plan.next).toMatchObject({ key: 'second-visit@4', day: 4, dueAt: iso(at(4)) });
  });

  it('a catch-up step whose window passed today moves to the next day’s window', () => {
    // opened on day 10 at 21:00 local: every window of day 10 is closed
    const s = openCase(at(10, 21), { guarantor: false });
    const plan = nextAction(s, pb, at(10, 21));
    expect(plan.skipped.map((x) => x.key)).toEqual(['first-visit@0', 'second-visit@4']);
    expect(plan.next).toEqual({
      stepId: 'overdue-notice',
      action: 'overdue-notice',
      day: 11,
      dueAt: '2026-03-13T01:00:00.000Z',
      key: 'overdue-notice@7',
    });
    // at 19:00 local the office is closed (notice tomorrow) but calls are open (daily call now)
    const t = openCase(at(10, 19), { guarantor: false });
    runDueAt(t, pb, at(10, 19)); // records skipped, runs the daily call
    expect(t.done['daily-call@10']).toBe('ran');
    expect(t.done['overdue-notice@7']).toBeUndefined();
    expect(nextAction(t, pb, at(10, 19)).next).toMatchObject({ key: 'overdue-notice@7', day: 11, dueAt: iso(at(11)) });
  });

  it('the overdue notice not run on day 7 (window passed) catches up on day 8 before the daily call', () => {
    const s = openCase(at(0), { guarantor: false });
    walk(s, 0, 6);
    const plan = nextAction(s, pb, at(7, 18)); // office closes at 18:00
    expect(plan.skipped).toEqual([]);
    expect(plan.next).toMatchObject({ key: 'overdue-notice@7', day: 8, dueAt: iso(at(8)) });
    const { ran } = runDueAt(s, pb, at(8));
    expect(ran.map((r) => r.key)).toEqual(['overdue-notice@7', 'daily-call@8']);
  });

  it('a one-off (not catch-up) whose window passed on its own day is skipped', () => {
    const s = openCase(at(0, 18, 30)); // opened on day 0 after the office closed
    const plan = nextAction(s, pb, at(0, 18, 30));
    expect(plan.skipped).toEqual([{ key: 'first-visit@0', stepId: 'first-visit', day: 0 }]);
    expect(plan.next).toMatchObject({ key: 'early-call@1', dueAt: iso(at(1)) });
  });
});

describe('more ladder edges', () => {
  it('a repeating step every 2 days until day 6 fires on days 1, 3, 5 only, and realigns after a late start', () => {
    const W = { from: '09:00', to: '20:00' };
    const every2 = Playbook.parse({
      ...DEFAULT_PLAYBOOK,
      id: 'every-2',
      steps: [
        { id: 'call', day: 1, action: 'phone-call', window: W, repeat: { everyDays: 2, untilDay: 6 }, description: 'every other day' },
      ],
    } satisfies PlaybookInput);
    const s = openCase(at(0), { playbook: every2 });
    const { ran, idleDays } = walk(s, 0, 10, every2);
    expect(ran.map((r) => r.key)).toEqual(['call@1', 'call@3', 'call@5']);
    expect(idleDays).toEqual([0, 2, 4, 6, 7, 8, 9, 10]);
    // opened on day 2: the next occurrence is day 3, not day 2
    const t = openCase(at(2), { playbook: every2 });
    expect(nextAction(t, every2, at(2))).toEqual({
      skipped: [],
      next: { stepId: 'call', action: 'phone-call', day: 3, dueAt: iso(at(3)), key: 'call@3' },
    });
  });

  it('opened on day 35: every catch-up step runs once (legal referral included), nothing else from the past', () => {
    const s = openCase(at(35));
    const { ran, skipped } = runDueAt(s, pb, at(35));
    expect(skipped).toEqual(['first-visit@0', 'second-visit@4', 'guarantor-contact@4']);
    expect(ran.map((r) => [r.key, r.day])).toEqual([
      ['overdue-notice@7', 35],
      ['daily-call@35', 35],
      ['guarantor-demand@8', 35],
      ['legal-referral@30', 35],
    ]);
    expect(runDueAt(s, pb, at(36)).ran.map((r) => r.key)).toEqual(['daily-call@36']);
  });

  it('a pending promise over day 4: the visit is not skipped during the pause, but is once it ends; the notice still runs on day 7', () => {
    const s = openCase(at(0), { guarantor: false });
    walk(s, 0, 2);
    addPromise(s, { date: '2026-03-05', amountMinor: 10_000 }, at(2, 12)); // day 3; deadline 2026-03-08 00:00 = day 6
    const during = nextAction(s, pb, at(5));
    expect(during.skipped).toEqual([]);
    expect(during.pause).toEqual({ reason: 'promise to pay 10000 by 2026-03-05', until: Date.parse('2026-03-07T16:00:00Z') });
    expect(settlePromises(s, pb, at(6, 0))).toEqual([{ id: 1, status: 'broken' }]);
    const after = nextAction(s, pb, at(6, 0));
    expect(after.skipped).toEqual([{ key: 'second-visit@4', stepId: 'second-visit', day: 4 }]);
    expect(after.next).toMatchObject({ key: 'overdue-notice@7', day: 7, dueAt: iso(at(7)) });
  });

  it('in America/New_York a promise deadline is local midnight (EDT after the change)', () => {
    const s = openCase(Date.parse('2026-03-02T14:00:00Z'), { timeZone: 'America/New_York', guarantor: false });
    addPromise(s, { date: '2026-03-07', amountMinor: 10_000 }, Date.parse('2026-03-02T15:00:00Z'));
    // 2026-03-07 + 2 days of grace → midnight starting 2026-03-10, EDT (UTC−4) = 04:00Z
    expect(activePause(s, pb, Date.parse('2026-03-03T15:00:00Z'))?.until).toBe(Date.parse('2026-03-10T04:00:00Z'));
    expect(settlePromises(s, pb, Date.parse('2026-03-10T03:59:59Z'))).toEqual([]);
    expect(settlePromises(s, pb, Date.parse('2026-03-10T04:00:00Z'))).toEqual([{ id: 1, status: 'broken' }]);
  });

  it('a second missed instalment: accrue first, and later days accrue on the larger principal', () => {
    const s = openCase(at(0));
    accrue(s, pb, at(30)); // days 1–30 on 1,000,000
    expect(s.balance.penaltyMinor).toBe(15_000);
    // the instalment due 2026-04-01 is overdue from day 31 (2026-04-02)
    expect(addMissedPayment(s, { dueDate: '2026-04-01', amountMinor: 1_000_000, currency: 'CNY' })).toBe(true);
    accrue(s, pb, at(32)); // days 31, 32 on 2,000,000
    expect(s.balance).toEqual({ principalMinor: 2_000_000, penaltyMinor: 17_000, feesMinor: 0 });
  });
});

describe('pauses', () => {
  it('hold with until: no next, the pause reason and until; resumes at until with catch-up and skips', () => {
    const s = openCase(at(0));
    walk(s, 0, 2);
    s.hold = { reason: 'manager review', until: iso(at(5, 10)), since: iso(at(3, 8)) };
    for (const now of [at(3), at(4), at(4, 17), at(5, 9, 59), at(5, 10) - 1]) {
      const plan = nextAction(s, pb, now);
      expect(plan).toEqual({ skipped: [], pause: { reason: 'on hold: manager review', until: at(5, 10) } });
      expect(activePause(s, pb, now)).toEqual({ reason: 'on hold: manager review', until: at(5, 10) });
    }
    // at `until` the hold no longer applies: day 4's one-offs come back skipped, next is day 7's notice
    const plan = nextAction(s, pb, at(5, 10));
    expect(plan.pause).toBeUndefined();
    expect(plan.skipped).toEqual([
      { key: 'second-visit@4', stepId: 'second-visit', day: 4 },
      { key: 'guarantor-contact@4', stepId: 'guarantor-contact', day: 4 },
    ]);
    expect(plan.next).toMatchObject({ key: 'overdue-notice@7', day: 7, dueAt: iso(at(7)) });
    expect(activePause(s, pb, at(5, 10))).toBeUndefined();
  });

  it('a hold across day 7 and 8: the notice and the guarantor demand catch up when it ends, the missed calls do not', () => {
    const s = openCase(at(0));
    walk(s, 0, 6);
    s.hold = { reason: 'audit', until: iso(at(9, 10)), since: iso(at(6, 12)) };
    expect(nextAction(s, pb, at(8)).next).toBeUndefined();
    const { ran, skipped } = runDueAt(s, pb, at(9, 10));
    expect(skipped).toEqual([]);
    expect(ran.map((r) => [r.key, r.day, r.dueAt])).toEqual([
      ['overdue-notice@7', 9, iso(at(9, 10))],
      ['daily-call@9', 9, iso(at(9, 10))],
      ['guarantor-demand@8', 9, iso(at(9, 10))],
    ]);
    expect(s.done['daily-call@8']).toBeUndefined();
  });

  it('hold without until stays until removed', () => {
    const s = openCase(at(0));
    s.hold = { reason: 'call centre outage', since: iso(at(0)) };
    expect(nextAction(s, pb, at(20))).toEqual({ skipped: [], pause: { reason: 'on hold: call centre outage' } });
    delete s.hold;
    expect(nextAction(s, pb, at(20)).next).toMatchObject({ key: 'overdue-notice@7', day: 20 });
  });

  it('dispute pauses indefinitely, even past a hold’s until, until state.dispute is removed', () => {
    const s = openCase(at(0), { guarantor: false });
    walk(s, 0, 8);
    s.dispute = { reason: 'amount contested', since: iso(at(8, 12)) };
    for (const now of [at(9), at(15), at(45)]) {
      expect(nextAction(s, pb, now)).toEqual({ skipped: [], pause: { reason: 'in dispute: amount contested' } });
    }
    s.hold = { reason: 'x', until: iso(at(10)), since: iso(at(9)) };
    expect(nextAction(s, pb, at(12)).pause).toEqual({ reason: 'in dispute: amount contested' });
    delete s.dispute;
    const plan = nextAction(s, pb, at(12));
    expect(plan.pause).toBeUndefined();
    expect(plan.next).toMatchObject({ key: 'daily-call@12', day: 12, dueAt: iso(at(12)) });
  });

  it('stage legal, or any stage but open: no next at all', () => {
    const s = openCase(at(0));
    s.stage = 'legal';
    expect(nextAction(s, pb, at(0))).toEqual({ skipped: [] });
    s.stage = 'paid';
    expect(nextAction(s, pb, at(0))).toEqual({ skipped: [] });
  });
});

describe('promises to pay', () => {
  /** A case walked through day 7; now is day 8 09:00 = 2026-03-10 09:00 local. */
  function caseOnDay8(guarantor = false): CaseState {
    const s = openCase(at(0), { guarantor });
    walk(s, 0, 7);
    return s;
  }

  it('a pending promise pauses the ladder until the local midnight after date + graceDays', () => {
    const s = caseOnDay8();
    const now = at(8);
    expect(promiseRefusal(s, pb, { date: '2026-03-12', amountMinor: 50_000 }, now)).toBeUndefined();
    expect(addPromise(s, { date: '2026-03-12', amountMinor: 50_000 }, now)).toBe(1);
    expect(s.promises).toEqual([
      { date: '2026-03-12', amountMinor: 50_000, id: 1, madeAt: '2026-03-10T01:00:00.000Z', paidBeforeMinor: 0, status: 'pending' },
    ]);
    const deadline = Date.parse('2026-03-14T16:00:00Z'); // 2026-03-15 00:00 Shanghai = after 03-12 + 2 days of grace
    expect(nextAction(s, pb, now)).toEqual({ skipped: [], pause: { reason: 'promise to pay 50000 by 2026-03-12', until: deadline } });
    expect(settlePromises(s, pb, deadline - 1)).toEqual([]);
    expect(s.promises[0]!.status).toBe('pending');
    expect(nextAction(s, pb, deadline - 1).next).toBeUndefined();
    // the deadline passes unpaid: broken, and the ladder resumes (day 13 = 2026-03-15)
    expect(settlePromises(s, pb, deadline)).toEqual([{ id: 1, status: 'broken' }]);
    expect(s.brokenPromises).toBe(1);
    expect(s.promises[0]!.status).toBe('broken');
    const plan = nextAction(s, pb, deadline);
    expect(plan.pause).toBeUndefined();
    expect(plan.next).toEqual({
      stepId: 'daily-call',
      action: 'phone-call',
      day: 13,
      dueAt: '2026-03-15T01:00:00.000Z',
      key: 'daily-call@13',
    });
    expect(settlePromises(s, pb, deadline + 1)).toEqual([]); // settled once
    expect(s.brokenPromises).toBe(1);
  });

  it('kept: payments since the promise reach its amount (earlier payments do not count)', () => {
    const s = caseOnDay8();
    expect(applyPayment(s, pb, payment('P-0', 10_000, at(8)), at(8))).toBe(true);
    addPromise(s, { date: '2026-03-12', amountMinor: 50_000 }, at(8, 10));
    expect(s.promises[0]!.paidBeforeMinor).toBe(10_000);
    applyPayment(s, pb, payment('P-1', 30_000, at(9)), at(9));
    expect(settlePromises(s, pb, at(9))).toEqual([]);
    applyPayment(s, pb, payment('P-2', 19_999, at(10)), at(10));
    expect(settlePromises(s, pb, at(10))).toEqual([]);
    expect(activePause(s, pb, at(10))?.reason).toBe('promise to pay 50000 by 2026-03-12');
    applyPayment(s, pb, payment('P-3', 1, at(10, 12)), at(10, 12));
    expect(settlePromises(s, pb, at(10, 12))).toEqual([{ id: 1, status: 'kept' }]);
    expect(s.promises[0]!.status).toBe('kept');
    expect(s.brokenPromises).toBe(0);
    expect(activePause(s, pb, at(10, 12))).toBeUndefined();
    expect(nextAction(s, pb, at(10, 12)).next).toMatchObject({ key: 'daily-call@10', dueAt: iso(at(10, 12)) });
    // and later, past the deadline, nothing changes
    expect(settlePromises(s, pb, at(20))).toEqual([]);
    expect(s.brokenPromises).toBe(0);
  });

  it('refuses past dates, dates beyond maxDaysAhead, non-positive amounts and a second pending promise', () => {
    const s = caseOnDay8();
    const now = at(8); // today is 2026-03-10 in Shanghai
    expect(promiseRefusal(s, pb, { date: '2026-03-09', amountMinor: 1 }, now)).toBe(
      'the promised date 2026-03-09 is in the past (today is 2026-03-10)',
    );
    expect(promiseRefusal(s, pb, { date: '2026-03-10', amountMinor: 1 }, now)).toBeUndefined(); // today is fine
    expect(promiseRefusal(s, pb, { date: '2026-04-09', amountMinor: 1 }, now)).toBeUndefined(); // today + 30
    expect(promiseRefusal(s, pb, { date: '2026-04-10', amountMinor: 1 }, now)).toBe(
      'the promised date 2026-04-10 is more than 30 days ahead (latest 2026-04-09)',
    );
    for (const amountMinor of [0, -100, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
      expect(promiseRefusal(s, pb, { date: '2026-03-12', amountMinor }, now), String(amountMinor)).toBe(
        'the promised amount must be a positive whole number of minor units',
      );
    }
    expect(promiseRefusal(s, pb, { date: '12/03/2026', amountMinor: 1 }, now)).toBe('the date must be YYYY-MM-DD');
    addPromise(s, { date: '2026-03-12', amountMinor: 50_000 }, now);
    expect(promiseRefusal(s, pb, { date: '2026-03-13', amountMinor: 1 }, now)).toBe('a promise is already pending');
    // once the first is broken, a new one is acceptable
    settlePromises(s, pb, Date.parse('2026-03-14T16:00:00Z'));
    expect(promiseRefusal(s, pb, { date: '2026-03-16', amountMinor: 1 }, Date.parse('2026-03-14T16:00:00Z'))).toBeUndefined();
    s.stage = 'paid';
    expect(promiseRefusal(s, pb, { date: '2026-03-16', amountMinor: 1 }, Date.parse('2026-03-14T16:00:00Z'))).toBe('the case is paid');
  });

  it('“today” is the debtor’s local date', () => {
    const s = caseOnDay8();
    const now = Date.parse('2026-03-09T16:30:00Z'); // 2026-03-10 00:30 in Shanghai, still 03-09 in UTC
    expect(promiseRefusal(s, pb, { date: '2026-03-09', amountMinor: 1 }, now)).toBe(
      'the promised date 2026-03-09 is in the past (today is 2026-03-10)',
    );
  });

  it('broken promises reaching brokenPromisesForReferral bring the legal referral forward', () => {
    const s = caseOnDay8();
    expect(pb.legal.brokenPromisesForReferral).toBe(2);
    addPromise(s, { date: '2026-03-10', amountMinor: 50_000 }, at(8));
    expect(settlePromises(s, pb, Date.parse('2026-03-12T16:00:00Z'))).toEqual([{ id: 1, status: 'broken' }]);
    expect(legalReferralTriggered(s, pb)).toBeUndefined();
    runDueAt(s, pb, at(11));
    expect(s.done['legal-referral@30']).toBeUndefined();
    addPromise(s, { date: '2026-03-14', amountMinor: 50_000 }, at(11, 10));
    expect(settlePromises(s, pb, Date.parse('2026-03-16T16:00:00Z'))).toEqual([{ id: 2, status: 'broken' }]);
    expect(s.brokenPromises).toBe(2);
    expect(legalReferralTriggered(s, pb)).toBe('2 broken promises');
    // day 15, 09:00: the daily call and, before day 30, the legal referral
    const { ran } = runDueAt(s, pb, at(15));
    expect(ran.map((r) => [r.key, r.day, r.dueAt])).toEqual([
      ['daily-call@15', 15, iso(at(15))],
      ['legal-referral@30', 15, iso(at(15))],
    ]);
  });
});

describe('guarantor demand and legal referral', () => {
  it('startGuarantorDemand sets the deadline responseDays later and marks guarantors demanded', () => {
    const s = openCase(at(0));
    startGuarantorDemand(s, pb, at(8));
    expect(s.guarantorDemand).toEqual({ demandedAt: '2026-03-10T01:00:00.000Z', deadline: '2026-03-17T01:00:00.000Z' });
    expect(s.guarantors.map((g) => g.status)).toEqual(['demanded']);
  });

  it('timeout: settleGuarantorDemand makes the outcome silent, and legal referral comes before day 30', () => {
    const s = openCase(at(0));
    walk(s, 0, 8); // the demand runs on day 8
    startGuarantorDemand(s, pb, at(8));
    walk(s, 9, 14);
    expect(s.done['legal-referral@30']).toBeUndefined();
    expect(settleGuarantorDemand(s, at(15) - 1)).toBe(false);
    expect(s.guarantorDemand?.outcome).toBeUndefined();
    expect(settleGuarantorDemand(s, at(15))).toBe(true);
    expect(s.guarantorDemand?.outcome).toBe('silent');
    expect(s.guarantors.map((g) => g.status)).toEqual(['silent']);
    expect(settleGuarantorDemand(s, at(16))).toBe(false); // once
    expect(legalReferralTriggered(s, pb)).toBe('the guarantor did not answer the demand');
    const { ran } = runDueAt(s, pb, at(15));
    expect(ran).toEqual([
      { day: 15, stepId: 'daily-call', action: 'phone-call', key: 'daily-call@15', dueAt: iso(at(15)) },
      { day: 15, stepId: 'legal-referral', action: 'legal-referral', key: 'legal-referral@30', dueAt: iso(at(15)) },
    ]);
  });

  it('a guarantor who answered is not made silent', () => {
    const s = openCase(at(0));
    startGuarantorDemand(s, pb, at(8));
    s.guarantorDemand!.outcome = 'will-pay';
    expect(settleGuarantorDemand(s, at(20))).toBe(false);
    expect(s.guarantorDemand!.outcome).toBe('will-pay');
    expect(legalReferralTriggered(s, pb)).toBeUndefined();
    s.guarantorDemand!.outcome = 'refuses';
    expect(legalReferralTriggered(s, pb)).toBe('the guarantor refused to pay');
    expect(settleGuarantorDemand(openCase(at(0)), at(20))).toBe(false); // no demand at all
  });

  it('reason 6 (fraud): legal referral at the next window', () => {
    const s = openCase(at(0), { guarantor: false });
    walk(s, 0, 4);
    s.reasonCategory = 6;
    s.legalReviewRequested = true;
    expect(legalReferralTriggered(s, pb)).toBe('fraud or misuse reported (reason 6)');
    // day 5 at 19:00 local: the office window has closed, so the next window is day 6 at 09:00
    expect(nextAction(s, pb, at(5, 19))).toEqual({
      skipped: [],
      next: { stepId: 'legal-referral', action: 'legal-referral', day: 6, dueAt: iso(at(6)), key: 'legal-referral@30' },
    });
    // day 5 at 10:00 local: now
    expect(nextAction(s, pb, at(5, 10)).next).toEqual({
      stepId: 'legal-referral',
      action: 'legal-referral',
      day: 5,
      dueAt: iso(at(5, 10)),
      key: 'legal-referral@30',
    });
    // day 5 at 06:00 local: the window start
    expect(nextAction(s, pb, at(5, 6)).next).toMatchObject({ key: 'legal-referral@30', day: 5, dueAt: iso(at(5)) });
  });

  it('treatment litigate brings the referral forward', () => {
    const s = openCase(at(0), { guarantor: false });
    walk(s, 0, 4);
    s.treatment = { kind: 'litigate', approved: true };
    expect(legalReferralTriggered(s, pb)).toBe('treatment set to litigate');
    expect(nextAction(s, pb, at(5)).next).toMatchObject({ key: 'legal-referral@30', day: 5 });
  });

  it('once state.legal is set, no more legal referral (also not on day 30)', () => {
    const s = openCase(at(0), { guarantor: false });
    walk(s, 0, 29);
    s.legal = { status: 'awaiting-approval', requestedAt: iso(at(29, 10)), remindersSent: 0, events: [] };
    const { ran } = walk(s, 30, 32);
    expect(ran.map((r) => r.key)).toEqual(['daily-call@30', 'daily-call@31', 'daily-call@32']);
    s.legalReviewRequested = true;
    expect(runDueAt(s, pb, at(33)).ran.map((r) => r.key)).toEqual(['daily-call@33']);
  });

  it('legal referral not triggered early: nothing before day 30', () => {
    const s = openCase(at(0), { guarantor: false });
    const { ran } = walk(s, 0, 29);
    expect(ran.some((r) => r.stepId === 'legal-referral')).toBe(false);
  });

  it('nextReminderAt: every approvalReminderHours after the request while awaiting approval', () => {
    const s = openCase(at(0));
    expect(nextReminderAt(s, pb)).toBeUndefined();
    s.legal = { status: 'awaiting-approval', requestedAt: '2026-04-01T01:00:00.000Z', remindersSent: 0, events: [] };
    expect(nextReminderAt(s, pb)).toBe(Date.parse('2026-04-02T01:00:00.000Z'));
    s.legal.remindersSent = 2;
    expect(nextReminderAt(s, pb)).toBe(Date.parse('2026-04-04T01:00:00.000Z'));
    s.legal.status = 'approved';
    expect(nextReminderAt(s, pb)).toBeUndefined();
  });
});

describe('step conditions on a custom playbook', () => {
  const W = { from: '09:00', to: '18:00' };
  const custom = Playbook.parse({
    ...DEFAULT_PLAYBOOK,
    id: 'custom',
    steps: [
      { id: 'base', day: 0, action: 'phone-call', window: W, description: 'always' },
      {
        id: 'big',
        day: 0,
        action: 'statement-of-account',
        window: W,
        conditions: { balanceAtLeastMinor: 100_000 },
        description: 'big balance',
      },
      {
        id: 'cause',
        day: 0,
        action: 'field-visit',
        window: W,
        conditions: { reasonCategoryIn: [5, 6] },
        description: 'wrong account or fraud',
      },
      {
        id: 'breaker',
        day: 0,
        action: 'overdue-notice',
        window: W,
        conditions: { brokenPromisesAtLeast: 1 },
        description: 'a broken promise',
      },
      {
        id: 'restructure',
        day: 0,
        action: 'field-visit',
        window: W,
        conditions: { treatmentIn: ['restructure', 'settle-in-kind'] },
        description: 'restructure visit',
      },
      {
        id: 'all',
        day: 0,
        action: 'guarantor-contact',
        window: W,
        conditions: { hasGuarantor: true, balanceAtLeastMinor: 1, brokenPromisesAtLeast: 0 },
        description: 'all hold',
      },
    ],
  } satisfies PlaybookInput);

  const dueIds = (s: CaseState) => runDueAt(structuredClone(s), custom, at(0)).ran.map((r) => r.stepId);

  it('balanceAtLeastMinor compares with the outstanding total', () => {
    expect(dueIds(openCase(at(0), { playbook: custom, amountMinor: 99_999 }))).toEqual(['base', 'all']);
    expect(dueIds(openCase(at(0), { playbook: custom, amountMinor: 100_000 }))).toEqual(['base', 'big', 'all']);
    const s = openCase(at(0), { playbook: custom, amountMinor: 99_000 });
    s.balance.feesMinor = 1_000; // fees count toward the balance
    expect(dueIds(s)).toEqual(['base', 'big', 'all']);
  });

  it('reasonCategoryIn needs a recorded reason in the list', () => {
    const s = openCase(at(0), { playbook: custom, amountMinor: 5_000 });
    expect(dueIds(s)).toEqual(['base', 'all']);
    s.reasonCategory = 3;
    expect(dueIds(s)).toEqual(['base', 'all']);
    s.reasonCategory = 5;
    expect(dueIds(s)).toEqual(['base', 'cause', 'all']);
    s.reasonCategory = 6;
    expect(dueIds(s)).toEqual(['base', 'cause', 'all']);
  });

  it('brokenPromisesAtLeast', () => {
    const s = openCase(at(0), { playbook: custom, amountMinor: 5_000 });
    s.brokenPromises = 1;
    expect(dueIds(s)).toEqual(['base', 'breaker', 'all']);
  });

  it('treatmentIn', () => {
    const s = openCase(at(0), { playbook: custom, amountMinor: 5_000 });
    s.treatment = { kind: 'restructure', approved: false };
    expect(dueIds(s)).toEqual(['base', 'restructure', 'all']);
    s.treatment = { kind: 'litigate', approved: true };
    expect(dueIds(s)).toEqual(['base', 'all']);
  });

  it('all conditions together must hold (no guarantor: no "all")', () => {
    expect(dueIds(openCase(at(0), { playbook: custom, amountMinor: 5_000, guarantor: false }))).toEqual(['base']);
  });

  it('a step whose conditions fail is neither due nor skipped', () => {
    const s = openCase(at(3), { playbook: custom, amountMinor: 5_000, guarantor: false });
    expect(nextAction(s, custom, at(3))).toEqual({ skipped: [{ key: 'base@0', stepId: 'base', day: 0 }] });
  });
});

describe('missed payments', () => {
  it('adds principal; idempotent by due date', () => {
    const s = openCase(at(0));
    expect(addMissedPayment(s, { dueDate: '2026-04-01', amountMinor: 250_000, currency: 'CNY' })).toBe(true);
    expect(s.balance.principalMinor).toBe(PRINCIPAL + 250_000);
    expect(addMissedPayment(s, { dueDate: '2026-04-01', amountMinor: 250_000, currency: 'CNY' })).toBe(false);
    expect(addMissedPayment(s, { dueDate: '2026-03-01', amountMinor: 999, currency: 'CNY' })).toBe(false); // the first one again
    expect(s.balance.principalMinor).toBe(PRINCIPAL + 250_000);
    expect(s.missedPayments.map((m) => m.dueDate)).toEqual(['2026-03-01', '2026-04-01']);
  });

  it('refuses another currency and a closed case', () => {
    const s = openCase(at(0));
    expect(addMissedPayment(s, { dueDate: '2026-04-01', amountMinor: 250_000, currency: 'USD' })).toBe(false);
    expect(s.balance.principalMinor).toBe(PRINCIPAL);
    expect(s.missedPayments).toHaveLength(1);
    s.stage = 'written-off';
    expect(addMissedPayment(s, { dueDate: '2026-05-01', amountMinor: 1, currency: 'CNY' })).toBe(false);
  });
});

describe('payments', () => {
  it('idempotent by paymentId', () => {
    const s = openCase(at(0));
    expect(applyPayment(s, pb, payment('P-1', 100_000, at(0)), at(0))).toBe(true);
    expect(applyPayment(s, pb, payment('P-1', 100_000, at(0)), at(0))).toBe(false);
    expect(applyPayment(s, pb, payment('P-1', 5, at(2)), at(2))).toBe(false); // same id, other amount
    expect(s.paidMinor).toBe(100_000);
    expect(s.payments).toHaveLength(1);
    expect(s.balance.principalMinor).toBe(PRINCIPAL - 100_000);
    expect(s.accruedThroughDay).toBe(0); // the ignored duplicate on day 2 accrued nothing
  });

  it('refuses another currency', () => {
    const s = openCase(at(0));
    expect(applyPayment(s, pb, payment('P-1', 100_000, at(0), 'USD'), at(0))).toBe(false);
    expect(s.paidMinor).toBe(0);
    expect(s.balance.principalMinor).toBe(PRINCIPAL);
  });

  it('allocates fees → penalty → principal and records the allocation', () => {
    const s = openCase(at(0));
    s.balance.feesMinor = 1_000;
    accrue(s, pb, at(3)); // 3 days × 500
    expect(s.balance).toEqual({ principalMinor: PRINCIPAL, penaltyMinor: 1_500, feesMinor: 1_000 });
    expect(applyPayment(s, pb, payment('P-1', 1_200, at(3, 10)), at(3, 10))).toBe(true);
    expect(s.payments[0]!.allocation).toEqual({ feesMinor: 1_000, penaltyMinor: 200, principalMinor: 0, excessMinor: 0 });
    expect(s.payments[0]!.outstandingAfterMinor).toBe(PRINCIPAL + 1_300);
    expect(applyPayment(s, pb, payment('P-2', 11_300, at(3, 11)), at(3, 11))).toBe(true);
    expect(s.payments[1]!.allocation).toEqual({ feesMinor: 0, penaltyMinor: 1_300, principalMinor: 10_000, excessMinor: 0 });
    expect(s.balance).toEqual({ principalMinor: PRINCIPAL - 10_000, penaltyMinor: 0, feesMinor: 0 });
    expect(s.paidMinor).toBe(12_500);
  });

  it('follows the playbook’s allocation order', () => {
    const principalFirst = Playbook.parse({ ...DEFAULT_PLAYBOOK, allocationOrder: ['principal', 'penalty', 'fees'] });
    const s = openCase(at(0), { playbook: principalFirst, amountMinor: 10_000 });
    s.balance.feesMinor = 300;
    s.balance.penaltyMinor = 200;
    applyPayment(s, principalFirst, payment('P-1', 10_100, at(0)), at(0));
    expect(s.payments[0]!.allocation).toEqual({ feesMinor: 0, penaltyMinor: 100, principalMinor: 10_000, excessMinor: 0 });
    expect(s.balance).toEqual({ principalMinor: 0, penaltyMinor: 100, feesMinor: 300 });
  });

  it('records the excess of an overpayment and ends the case as paid', () => {
    const s = openCase(at(0), { amountMinor: 50_000 });
    applyPayment(s, pb, payment('P-1', 20_000, at(1)), at(1)); // day 1: 25 penalty accrued first
    expect(s.payments[0]!.allocation).toEqual({ feesMinor: 0, penaltyMinor: 25, principalMinor: 19_975, excessMinor: 0 });
    expect(endStage(s)).toBeUndefined();
    applyPayment(s, pb, payment('P-2', 40_000, at(1, 12)), at(1, 12));
    expect(s.payments[1]!.allocation).toEqual({ feesMinor: 0, penaltyMinor: 0, principalMinor: 30_025, excessMinor: 9_975 });
    expect(s.payments[1]!.outstandingAfterMinor).toBe(0);
    expect(s.excessMinor).toBe(9_975);
    expect(s.paidMinor).toBe(60_000);
    expect(outstandingMinor(s)).toBe(0);
    expect(endStage(s)).toBe('paid');
  });

  it('is ignored on a closed case', () => {
    const s = openCase(at(0));
    s.stage = 'paid';
    expect(isClosed(s)).toBe(true);
    expect(applyPayment(s, pb, payment('P-1', 1, at(0)), at(0))).toBe(false);
    expect(s.paidMinor).toBe(0);
  });
});

describe('penalty accrual', () => {
  it('nothing on day 0; one day’s penalty per ladder day from day 1', () => {
    const s = openCase(at(0));
    accrue(s, pb, at(0, 23, 59));
    expect(s.balance.penaltyMinor).toBe(0);
    expect(s.accruedThroughDay).toBe(0);
    accrue(s, pb, at(1, 0, 0)); // local midnight: day 1
    expect(s.balance.penaltyMinor).toBe(500);
    expect(s.accruedThroughDay).toBe(1);
    accrue(s, pb, at(3, 20));
    expect(s.balance.penaltyMinor).toBe(1_500);
    expect(s.accruedThroughDay).toBe(3);
    accrue(s, pb, at(3, 23)); // same day again: nothing more
    accrue(s, pb, at(2)); // an earlier instant: nothing
    expect(s.balance.penaltyMinor).toBe(1_500);
    expect(s.accruedThroughDay).toBe(3);
  });

  it('nothing before day 0', () => {
    const s = openCase(Date.parse('2026-03-01T10:00:00Z'));
    accrue(s, pb, Date.parse('2026-03-01T15:59:00Z'));
    expect(s.balance.penaltyMinor).toBe(0);
    expect(s.accruedThroughDay).toBe(0);
  });

  it('a case opened late accrues from day 1, not from its opening', () => {
    const s = openCase(at(10));
    accrue(s, pb, at(10));
    expect(s.balance.penaltyMinor).toBe(5_000);
    expect(s.accruedThroughDay).toBe(10);
  });

  it('before a payment, accrual uses the principal outstanding on those days', () => {
    const s = openCase(at(0));
    accrue(s, pb, at(3)); // days 1–3 on 1,000,000: 1,500
    // day 5: days 4 and 5 accrue on 1,000,000 first (1,000), then the payment
    applyPayment(s, pb, payment('P-1', 500_000, at(5, 15)), at(5, 15));
    expect(s.accruedThroughDay).toBe(5);
    expect(s.payments[0]!.allocation).toEqual({ feesMinor: 0, penaltyMinor: 2_500, principalMinor: 497_500, excessMinor: 0 });
    expect(s.balance).toEqual({ principalMinor: 502_500, penaltyMinor: 0, feesMinor: 0 });
    // day 6 and 7 on 502,500: 251.25 → 251 a day
    accrue(s, pb, at(7));
    expect(s.balance.penaltyMinor).toBe(502);
  });

  it('accrues nothing on a closed case', () => {
    const s = openCase(at(0));
    s.stage = 'written-off';
    accrue(s, pb, at(10));
    expect(s.balance.penaltyMinor).toBe(0);
  });
});

describe('endStage', () => {
  it('paid when the balance is 0; undefined while anything is owed', () => {
    const s = openCase(at(0), { amountMinor: 10_000 });
    expect(endStage(s)).toBeUndefined();
    s.balance.feesMinor = 1;
    applyPayment(s, pb, payment('P-1', 10_000, at(0)), at(0));
    expect(outstandingMinor(s)).toBe(1);
    expect(endStage(s)).toBeUndefined();
    applyPayment(s, pb, payment('P-2', 1, at(0)), at(0));
    expect(endStage(s)).toBe('paid');
  });

  it('settled when payments cover legal.settlementMinor', () => {
    const s = openCase(at(0));
    s.stage = 'legal';
    s.legal = { status: 'approved', requestedAt: iso(at(30)), remindersSent: 0, events: [], settlementMinor: 600_000 };
    applyPayment(s, pb, payment('P-1', 400_000, at(0)), at(0));
    applyPayment(s, pb, payment('P-2', 199_999, at(0)), at(0));
    expect(endStage(s)).toBeUndefined();
    applyPayment(s, pb, payment('P-3', 1, at(0)), at(0));
    expect(endStage(s)).toBe('settled');
    expect(outstandingMinor(s)).toBe(400_000);
  });

  it('undefined for a case already ended', () => {
    const s = openCase(at(0));
    s.balance.principalMinor = 0;
    s.stage = 'written-off';
    expect(endStage(s)).toBeUndefined();
  });
});

describe('playbook schema', () => {
  const base = (): PlaybookInput => structuredClone({ ...DEFAULT_PLAYBOOK }) as PlaybookInput;
  const issues = (input: unknown) => {
    const r = Playbook.safeParse(input);
    expect(r.success).toBe(false);
    return r.success ? [] : r.error.issues.map((i) => ({ path: i.path, message: i.message }));
  };

  it('DEFAULT_PLAYBOOK parses to itself, with the ladder in order', () => {
    expect(Playbook.parse(DEFAULT_PLAYBOOK)).toEqual(DEFAULT_PLAYBOOK);
    expect(DEFAULT_PLAYBOOK.steps.map((s) => [s.id, s.day, s.action, s.catchUp])).toEqual([
      ['first-visit', 0, 'field-visit', false],
      ['early-call', 1, 'phone-call', false],
      ['second-visit', 4, 'field-visit', false],
      ['guarantor-contact', 4, 'guarantor-contact', false],
      ['overdue-notice', 7, 'overdue-notice', true],
      ['daily-call', 8, 'phone-call', false],
      ['guarantor-demand', 8, 'guarantor-demand', true],
      ['legal-referral', 30, 'legal-referral', true],
    ]);
  });

  it('rejects duplicate step ids at the second one', () => {
    const p = base();
    p.steps[2]!.id = 'first-visit';
    expect(issues(p)).toEqual([{ path: ['steps', 2, 'id'], message: 'duplicate step id first-visit' }]);
  });

  it('rejects a window whose from is not before to', () => {
    const p = base();
    p.steps[1]!.window = { from: '20:00', to: '09:00' };
    p.steps[3]!.window = { from: '09:00', to: '09:00' };
    expect(issues(p)).toEqual([
      { path: ['steps', 1, 'window'], message: 'window.from must be before window.to' },
      { path: ['steps', 3, 'window'], message: 'window.from must be before window.to' },
    ]);
  });

  it('rejects a malformed local time', () => {
    const p = base();
    p.steps[0]!.window = { from: '08:00', to: '24:00' };
    p.steps[1]!.window = { from: '7:00', to: '8:00' };
    expect(issues(p).map((i) => i.path)).toEqual([
      ['steps', 0, 'window', 'to'],
      ['steps', 1, 'window', 'from'],
      ['steps', 1, 'window', 'to'],
    ]);
  });

  it('rejects repeat.untilDay before the step’s day', () => {
    const p = base();
    p.steps[1]!.repeat = { everyDays: 1, untilDay: 0 };
    expect(issues(p)).toEqual([{ path: ['steps', 1, 'repeat', 'untilDay'], message: 'untilDay before day' }]);
    const q = base();
    q.steps[1]!.repeat = { everyDays: 1, untilDay: 1 }; // equal is fine
    expect(Playbook.safeParse(q).success).toBe(true);
  });

  it('rejects a bad allocation order', () => {
    expect(issues({ ...base(), allocationOrder: ['fees', 'fees', 'principal'] })).toEqual([
      { path: ['allocationOrder'], message: 'each of fees, penalty, principal once' },
    ]);
    const short = Playbook.safeParse({ ...base(), allocationOrder: ['fees', 'penalty'] });
    expect(short.success).toBe(false);
    expect(short.error?.issues.map((i) => [i.path, i.code])).toEqual([
      [['allocationOrder'], 'too_small'],
      [['allocationOrder'], 'custom'],
    ]);
    expect(issues({ ...base(), allocationOrder: ['fees', 'penalty', 'interest'] }).map((i) => i.path)).toEqual([['allocationOrder', 2]]);
  });

  it('rejects unknown fields in conditions and an unknown action', () => {
    const p = base() as any;
    p.steps[0].conditions = { hasGuarantor: true, vip: true };
    p.steps[1].action = 'sms-blast';
    expect(issues(p).map((i) => i.path)).toEqual([
      ['steps', 0, 'conditions'],
      ['steps', 1, 'action'],
    ]);
  });
});

describe('per-instalment rule (cases since patch per-instalment-accrual): days overdue from the oldest unpaid instalment', () => {
  const perInstalment = (nowMs: number, opts: Parameters<typeof caseInput>[0] = {}) =>
    newCaseState(caseInput(opts), nowMs, 'Case:ACC-1/run-1', { perInstalment: true });
  // The first instalment is due 2026-03-15: day 0 is 2026-03-16 = ladder day 14 of the fixtures' calendar (at(14)).
  const later = { dueDate: '2026-03-15' };

  it('an older instalment reported later moves day 0 back: days overdue count from it', () => {
    const s = perInstalment(at(16), later); // day 2 of the 03-15 instalment
    expect(daysOverdue(s, at(16))).toBe(3);
    expect(addMissedPayment(s, { dueDate: '2026-03-01', amountMinor: 100_000, currency: 'CNY' })).toBe(true);
    expect(s.day0).toBe('2026-03-02');
    expect(daysOverdue(s, at(16))).toBe(17);
    expect(dayIndex(s, at(16))).toBe(16);
    // A newer one does not move it.
    expect(addMissedPayment(s, { dueDate: '2026-03-10', amountMinor: 1, currency: 'CNY' })).toBe(true);
    expect(s.day0).toBe('2026-03-02');
  });

  it('the old rule (cases opened before the patch) keeps day 0 where the first instalment put it', () => {
    const s = newCaseState(caseInput(later), at(16), 'Case:ACC-1/run-1');
    addMissedPayment(s, { dueDate: '2026-03-01', amountMinor: 100_000, currency: 'CNY' });
    expect(daysOverdue(s, at(16))).toBe(3);
  });

  it('each instalment accrues from its own due date, the late one its past days at once', () => {
    const s = perInstalment(at(16), later);
    accrue(s, pb, at(16));
    expect(s.balance.penaltyMinor).toBe(2 * 500); // 03-15's days 1 and 2
    addMissedPayment(s, { dueDate: '2026-03-01', amountMinor: 100_000, currency: 'CNY' });
    accrue(s, pb, at(16));
    expect(s.balance.penaltyMinor).toBe(2 * 500 + 16 * 50); // + 03-01's days 1..16 at 50 a day
    accrue(s, pb, at(17));
    expect(s.balance.penaltyMinor).toBe(3 * 500 + 17 * 50);
  });

  it('a payment pays the oldest instalment first; days overdue then count from the next unpaid one', () => {
    const s = perInstalment(at(16), later);
    addMissedPayment(s, { dueDate: '2026-03-01', amountMinor: 100_000, currency: 'CNY' });
    accrue(s, pb, at(16));
    const penalty = s.balance.penaltyMinor;
    expect(applyPayment(s, pb, payment('P-1', penalty + 100_000, at(16)), at(16))).toBe(true);
    expect(s.instalments).toEqual({
      '2026-03-15': { principalPaidMinor: 0, accruedDays: 2 },
      '2026-03-01': { principalPaidMinor: 100_000, accruedDays: 16 },
    });
    expect(daysOverdue(s, at(16))).toBe(3);
    // From now on only the unpaid instalment accrues.
    accrue(s, pb, at(17));
    expect(s.balance.penaltyMinor).toBe(500);
  });

  it('the ladder catches up as for a late start: passed one-offs skipped, the notice once, then the daily call', () => {
    const s = perInstalment(at(14, 10), later); // day 0 of the 03-15 instalment, after the first visit
    s.done['first-visit@0'] = 'ran'; // its day 0 (03-16): the same key once day 0 moves, so it never runs twice
    addMissedPayment(s, { dueDate: '2026-03-01', amountMinor: 100_000, currency: 'CNY' });
    const { ran, skipped } = runDueAt(s, pb, at(14, 10));
    expect(skipped).toEqual(['second-visit@4', 'guarantor-contact@4']);
    expect(ran.map((r) => r.key)).toEqual(['overdue-notice@7', 'daily-call@14', 'guarantor-demand@8']);
  });
});

describe('decisions moved out of the loop (issue 9): a refused step, a step that ran, the wake-up, approvals, the next-action line', () => {
  const notice = pb.steps.find((s) => s.id === 'overdue-notice')!; // catchUp
  const secondVisit = pb.steps.find((s) => s.id === 'second-visit')!; // no catchUp
  const windowEnd = iso(at(7, 18));

  it('a refused step is deferred when the next allowed moment still serves it, else refused for good', () => {
    expect(deferUntil(secondVisit, windowEnd, iso(at(7, 12)), at(7, 10))).toBe(iso(at(7, 12)));
    expect(deferUntil(secondVisit, windowEnd, iso(at(8, 9)), at(7, 10))).toBeUndefined(); // after its window: gone
    expect(deferUntil(notice, windowEnd, iso(at(8, 9)), at(7, 10))).toBe(iso(at(8, 9))); // a catch-up step waits
    expect(deferUntil({ action: 'legal-referral', catchUp: false }, windowEnd, iso(at(9, 9)), at(7, 10))).toBe(iso(at(9, 9)));
    expect(deferUntil(notice, windowEnd, undefined, at(7, 10))).toBeUndefined(); // never allowed (do-not-contact)
    expect(deferUntil(notice, windowEnd, iso(at(7, 9)), at(7, 10))).toBeUndefined(); // not in the future
  });

  it('a step that ran: done, its deferral cleared, and what it starts', () => {
    const s = openCase(at(0));
    s.notBefore['first-visit@0'] = iso(at(0, 11));
    recordStepRan(s, pb, pb.steps[0]!, 'first-visit@0', 'visit#1', iso(at(0, 18)), at(0, 12));
    expect(s.done['first-visit@0']).toBe('ran');
    expect(s.notBefore).toEqual({});
    expect(s.lastVisitReference).toBe('visit#1');
    expect(s.pendingVisit).toBeUndefined();
    recordStepRan(
      s,
      pb,
      pb.steps.find((x) => x.id === 'guarantor-contact')!,
      'guarantor-contact@4',
      'call#2',
      iso(at(4, 18)),
      at(4, 9),
    );
    expect(s.guarantors.map((g) => g.status)).toEqual(['contacted']);
    recordStepRan(
      s,
      pb,
      pb.steps.find((x) => x.id === 'guarantor-demand')!,
      'guarantor-demand@8',
      'GD-1',
      iso(at(8, 18)),
      at(8, 9),
    );
    expect(s.guarantorDemand).toEqual({ demandedAt: iso(at(8, 9)), deadline: iso(at(15, 9)) });
    recordStepRan(
      s,
      pb,
      pb.steps.find((x) => x.id === 'legal-referral')!,
      'legal-referral@30',
      'legal#1',
      iso(at(30, 18)),
      at(30, 9),
    );
    expect(s.legal).toEqual({ status: 'awaiting-approval', requestedAt: iso(at(30, 9)), remindersSent: 0, events: [] });
    const approved = { ...pb.steps[0]!, approval: { role: 'manager' as const } };
    recordStepRan(s, pb, approved, 'first-visit@0', 'visit#9', iso(at(0, 18)), at(0, 12));
    expect(s.pendingVisit).toEqual({ reference: 'visit#9', stepId: 'first-visit', role: 'manager', deadline: iso(at(0, 18)) });
  });

  it('the case wakes at the earliest of the next step, a deadline, a reminder and local midnight', () => {
    const s = openCase(at(2, 10));
    const plan = nextAction(s, pb, at(2, 10));
    expect(wakeAt(s, plan, undefined, at(2, 10))).toBe(at(3, 0)); // the day-3 call is at 09:00; midnight first
    expect(wakeAt(s, plan, at(2, 15), at(2, 10))).toBe(at(2, 15));
    expect(nextLocalMidnight(s, at(2, 10))).toBe(at(3, 0));
  });

  it('a manager may approve what asks for a supervisor, not the other way round', () => {
    expect(mayApprove('supervisor', 'supervisor')).toBe(true);
    expect(mayApprove('manager', 'supervisor')).toBe(true);
    expect(mayApprove('supervisor', 'manager')).toBe(false);
    expect(mayApprove('legal', 'supervisor')).toBe(false);
    expect(mayApprove('finance', 'manager')).toBe(false);
  });

  it('the next-action line', () => {
    const s = openCase(at(1, 10));
    expect(describeNext(s, pb, nextAction(s, pb, at(1, 10)))).toBe('daily phone call on day 1, 10:00 Asia/Shanghai');
    expect(describeNext(s, pb, { skipped: [], pause: { reason: 'on hold: x' } })).toBe('paused (on hold: x)');
    expect(describeNext(s, pb, { skipped: [] })).toBe('nothing scheduled');
    s.legal = { status: 'awaiting-approval', requestedAt: iso(at(1)), remindersSent: 0, events: [] };
    expect(describeNext(s, pb, undefined)).toBe("legal referral awaiting a supervisor's approval");
    s.stage = 'paid';
    expect(describeNext(s, pb, undefined)).toBe('closed');
  });
});

describe('patch generations (workflows/case/patches.ts)', () => {
  it('each generation stands for exactly the patches made before it: a generation never grows', async () => {
    const { GENERATIONS } = await import('../workflows/case/patches');
    expect(GENERATIONS.map((g) => g.id)).toEqual(['generation-1', 'generation-2']);
    const generation1 = [
      'close-in-a-task-of-its-own',
      'end-cancels-step',
      'final-projection-on-close',
      'lean-case',
      'open-and-assign-in-one-write',
      'payment-ledger-first',
      'payment-one-write',
      'payment-settles-first',
      'per-instalment-accrual',
      'record-step-failure',
      'start-attributes',
      'step-one-write',
      'teams',
      'treatments',
    ];
    expect([...GENERATIONS[0]!.patches].sort()).toEqual(generation1.sort());
    expect([...GENERATIONS[1]!.patches].sort()).toEqual([...generation1, 'open-in-one-write'].sort());
  });

  it('a case started now names the newest generation (CASE_GENERATION): it takes its patches without a marker', async () => {
    const { GENERATIONS } = await import('../workflows/case/patches');
    const { CASE_GENERATION } = await import('../shared/case');
    expect(GENERATIONS.at(-1)!.id).toBe(CASE_GENERATION);
  });
});
