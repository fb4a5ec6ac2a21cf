/**
 * The decision core of a collection case: pure functions over the case state, the playbook and
 * an instant. No Temporal import: the workflow calls these with its own clock, and unit tests call
 * them directly.
 *
 * Rules written down here (docs/case-workflow.md repeats them):
 * - Day 0 is the first local date the account is overdue: the day after the first missed due date,
 *   in the debtor's time zone. DaysOverdue on ladder day n is n + 1.
 * - A step happens inside its local time window on its day. A repeating step never fires for an
 *   occurrence whose window has passed (no call is made up later).
 * - A one-off step whose window passed before it could run (the case opened late, or was on hold, in
 *   dispute or waiting on a promise) is skipped and recorded as skipped, unless the playbook marks it
 *   `catchUp`: then it runs once, at the next window. So a case opened on day 10 serves the overdue
 *   notice once and joins the daily calls, and fires nothing else from days 0–9.
 * - Penalty interest accrues for each ladder day from day 1, on the principal outstanding that day.
 * - Cases opened with the per-instalment rule (every case since patch 'per-instalment-accrual'):
 *   day 0 is the day after the oldest missed instalment's due date, and moves back when an older
 *   instalment is reported later (the ladder then catches up as for a late start: passed one-off
 *   steps are skipped, `catchUp` steps run once). DaysOverdue counts from the oldest instalment whose
 *   principal is unpaid (payments pay instalments' principal oldest first). Each instalment accrues
 *   its own penalty for each day from the day after its due date + 1, rounded per instalment and
 *   day, on its own unpaid principal; one reported late accrues its past days at once.
 * - Legal referral comes forward (due at the next window) on fraud (reason 6), a guarantor who is
 *   silent past the deadline or refuses, broken promises reaching the playbook's count, or the
 *   `litigate` treatment.
 */
import { addDays, daysBetween, instantOf, localDate, localTime } from '../../shared/calendar';
import type {
  AppliedPayment,
  CaseInput,
  CaseState,
  CaseView,
  MissedPayment,
  NextAction,
  PaymentReceived,
  PromiseToPay,
} from '../../shared/case';
import { accruePenalty, allocatePayment, dailyPenaltyMinor, formatAmount, totalOf, type Allocation } from '../../shared/money';
import type { Playbook, PlaybookStep } from '../../shared/playbook';
import { END_STAGES } from '../../shared/stages';
import { accruePlan, activePlan, currentPlan, describePlan, inKindActive, inKindWaitingFor } from './treatments';

const HOUR = 3_600_000;

export function newCaseState(
  input: CaseInput,
  nowMs: number,
  caseKey: string,
  opts: { perInstalment?: boolean; treatments?: boolean } = {},
): CaseState {
  const day0 = addDays(input.firstMissed.dueDate, 1);
  const pb = input.playbook ?? input.playbookRef!;
  const state: CaseState = {
    accountId: input.accountId,
    caseKey,
    playbookId: pb.id,
    playbookVersion: pb.version,
    stage: 'open',
    currency: input.currency,
    timeZone: input.debtor.timeZone,
    day0,
    openedAt: new Date(nowMs).toISOString(),
    openedOnDay: 0,
    ...(input.collectorId ? { collectorId: input.collectorId } : {}),
    balance: { principalMinor: 0, penaltyMinor: 0, feesMinor: 0 },
    accruedThroughDay: 0,
    missedPayments: [],
    payments: [],
    paidMinor: 0,
    excessMinor: 0,
    guarantors: input.guarantors.map((g) => ({ ...g, status: 'not-contacted' as const })),
    legalReviewRequested: false,
    treatment: { kind: 'collect', approved: true },
    promises: [],
    brokenPromises: 0,
    done: {},
    notBefore: {},
    projectionNo: 0,
    timeline: [],
    blacklisted: false,
    version: 0,
    runs: 1,
    ...(opts.perInstalment ? { instalments: {} } : {}),
    ...(opts.treatments && input.situation && Object.keys(input.situation).length > 0 ? { situation: { ...input.situation } } : {}),
  };
  state.openedOnDay = Math.max(0, dayIndex(state, nowMs));
  addMissedPayment(state, input.firstMissed);
  return state;
}

export function dayIndex(state: Pick<CaseState, 'day0' | 'timeZone'>, nowMs: number): number {
  return daysBetween(state.day0, localDate(nowMs, state.timeZone));
}

/** Days past due: from the oldest instalment with unpaid principal (per-instalment rule), else from day 0. */
export function daysOverdue(state: CaseState, nowMs: number): number {
  if (state.instalments) {
    const oldest = [...state.missedPayments]
      .sort((a, b) => a.dueDate.localeCompare(b.dueDate))
      .find((m) => m.amountMinor > (state.instalments![m.dueDate]?.principalPaidMinor ?? 0));
    if (oldest) return Math.max(0, daysBetween(addDays(oldest.dueDate, 1), localDate(nowMs, state.timeZone)) + 1);
  }
  return Math.max(0, dayIndex(state, nowMs) + 1);
}

/** Start of the local day from which daysOverdue counts (its day 1): daysOverdue = local days since, + 1. */
export function overdueSince(state: CaseState): string {
  let from = state.day0;
  if (state.instalments) {
    const oldest = [...state.missedPayments]
      .sort((a, b) => a.dueDate.localeCompare(b.dueDate))
      .find((m) => m.amountMinor > (state.instalments![m.dueDate]?.principalPaidMinor ?? 0));
    if (oldest) from = addDays(oldest.dueDate, 1);
  }
  return new Date(instantOf(from, '00:00', state.timeZone)).toISOString();
}

export function outstandingMinor(state: CaseState): number {
  return totalOf(state.balance);
}

export function isClosed(state: CaseState): boolean {
  return END_STAGES.has(state.stage);
}

export function view(state: CaseState, nowMs: number): CaseView {
  return { ...state, daysOverdue: daysOverdue(state, nowMs), outstandingMinor: outstandingMinor(state) };
}

/** Adds a missed instalment's principal; idempotent by due date. Returns false when ignored. */
export function addMissedPayment(state: CaseState, m: MissedPayment): boolean {
  if (isClosed(state) || m.currency !== state.currency) return false;
  if (state.missedPayments.some((p) => p.dueDate === m.dueDate)) return false;
  state.missedPayments.push(m);
  state.balance.principalMinor += m.amountMinor;
  if (state.instalments) {
    state.instalments[m.dueDate] = { principalPaidMinor: 0, accruedDays: 0 };
    const day0 = addDays(m.dueDate, 1);
    if (day0 < state.day0) state.day0 = day0; // an older instalment: the delinquency began earlier
  }
  return true;
}

/** Accrues penalty interest for every ladder day from day 1 up to the day of `nowMs`. */
export function accrue(state: CaseState, pb: Playbook, nowMs: number): void {
  if (isClosed(state)) return;
  // While a restructuring plan holds, its own penalty rule (frozen, or a reduced rate).
  const plan = activePlan(state);
  if (plan) return accruePlan(state, plan, nowMs);
  if (state.instalments) return accruePerInstalment(state, state.instalments, pb, nowMs);
  const through = dayIndex(state, nowMs);
  if (through <= state.accruedThroughDay) return;
  state.balance = accruePenalty(state.balance, through - state.accruedThroughDay, pb.penaltyBpsPerDay);
  state.accruedThroughDay = through;
}

/** Each instalment accrues its own days, from the day after its due date + 1, on its own unpaid principal. */
function accruePerInstalment(state: CaseState, instalments: NonNullable<CaseState['instalments']>, pb: Playbook, nowMs: number): void {
  const today = localDate(nowMs, state.timeZone);
  let penalty = state.balance.penaltyMinor;
  for (const m of state.missedPayments) {
    const i = instalments[m.dueDate]!;
    const days = Math.max(0, daysBetween(addDays(m.dueDate, 1), today));
    if (days <= i.accruedDays) continue;
    penalty += (days - i.accruedDays) * dailyPenaltyMinor(m.amountMinor - i.principalPaidMinor, pb.penaltyBpsPerDay);
    i.accruedDays = days;
  }
  state.balance = { ...state.balance, penaltyMinor: penalty };
  state.accruedThroughDay = Math.max(state.accruedThroughDay, dayIndex(state, nowMs));
}

/** How a payment would be split now (accruing first), without applying it: the ledger writes this split. */
export function planPayment(state: CaseState, pb: Playbook, p: PaymentReceived, nowMs: number): Allocation | undefined {
  if (state.payments.some((q) => q.paymentId === p.paymentId)) return undefined;
  if (p.currency !== state.currency || isClosed(state)) return undefined;
  accrue(state, pb, nowMs);
  return allocatePayment(state.balance, p.amountMinor, pb.allocationOrder).allocation;
}

/**
 * Applies a planned split to the balance as it is now. Between plan and commit the balance can only
 * have grown (a day's accrual, a new instalment; payments are applied one at a time), so no part
 * goes below zero. Principal pays the instalments oldest first.
 */
export function commitPayment(state: CaseState, p: PaymentReceived, allocation: Allocation): AppliedPayment {
  const b = state.balance;
  state.balance = {
    feesMinor: b.feesMinor - allocation.feesMinor,
    penaltyMinor: b.penaltyMinor - allocation.penaltyMinor,
    principalMinor: b.principalMinor - allocation.principalMinor,
  };
  if (state.instalments) {
    let left = allocation.principalMinor;
    for (const m of [...state.missedPayments].sort((x, y) => x.dueDate.localeCompare(y.dueDate))) {
      const i = state.instalments[m.dueDate]!;
      const take = Math.min(left, m.amountMinor - i.principalPaidMinor);
      i.principalPaidMinor += take;
      left -= take;
    }
  }
  state.paidMinor += p.amountMinor;
  state.excessMinor += allocation.excessMinor;
  const applied = { ...p, allocation, outstandingAfterMinor: totalOf(state.balance) };
  state.payments.push(applied);
  return applied;
}

/**
 * Applies a payment (accruing first); idempotent by paymentId. Returns false when ignored.
 * A payment takes effect when the case receives it: penalty accrues up to that moment, not to paidAt
 * (a processor's late report does not rewrite days already accrued).
 */
export function applyPayment(state: CaseState, pb: Playbook, p: PaymentReceived, nowMs: number): boolean {
  const allocation = planPayment(state, pb, p, nowMs);
  if (!allocation) return false;
  commitPayment(state, p, allocation);
  return true;
}

// ---- promises ----
function promiseDeadline(state: CaseState, pb: Playbook, date: string): number {
  return instantOf(addDays(date, pb.promise.graceDays + 1), '00:00', state.timeZone);
}

/** Why a promise is refused, or undefined when it is acceptable. */
export function promiseRefusal(state: CaseState, pb: Playbook, p: PromiseToPay, nowMs: number): string | undefined {
  if (isClosed(state)) return `the case is ${state.stage}`;
  if (state.stage === 'restructured') return 'a restructuring plan holds: its instalments are the promise';
  if (!Number.isSafeInteger(p.amountMinor) || p.amountMinor <= 0)
    return 'the promised amount must be a positive whole number of minor units';
  const today = localDate(nowMs, state.timeZone);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(p.date)) return 'the date must be YYYY-MM-DD';
  if (p.date < today) return `the promised date ${p.date} is in the past (today is ${today})`;
  const latest = addDays(today, pb.promise.maxDaysAhead);
  if (p.date > latest) return `the promised date ${p.date} is more than ${pb.promise.maxDaysAhead} days ahead (latest ${latest})`;
  if (state.promises.some((q) => q.status === 'pending')) return 'a promise is already pending';
  return undefined;
}

export function addPromise(state: CaseState, p: PromiseToPay, nowMs: number): number {
  const id = state.promises.length + 1;
  state.promises.push({ ...p, id, madeAt: new Date(nowMs).toISOString(), paidBeforeMinor: state.paidMinor, status: 'pending' });
  return id;
}

/** Marks pending promises kept (paid since reaches the amount) or broken (deadline passed). Returns what changed. */
export function settlePromises(state: CaseState, pb: Playbook, nowMs: number): Array<{ id: number; status: 'kept' | 'broken' }> {
  const changed: Array<{ id: number; status: 'kept' | 'broken' }> = [];
  for (const p of state.promises) {
    if (p.status !== 'pending') continue;
    if (state.paidMinor - p.paidBeforeMinor >= p.amountMinor) {
      p.status = 'kept';
      changed.push({ id: p.id, status: 'kept' });
    } else if (nowMs >= promiseDeadline(state, pb, p.date)) {
      p.status = 'broken';
      state.brokenPromises += 1;
      changed.push({ id: p.id, status: 'broken' });
    }
  }
  return changed;
}

// ---- guarantor ----
export function startGuarantorDemand(state: CaseState, pb: Playbook, nowMs: number): void {
  state.guarantorDemand = {
    demandedAt: new Date(nowMs).toISOString(),
    deadline: new Date(nowMs + pb.guarantor.responseDays * 24 * HOUR).toISOString(),
  };
  for (const g of state.guarantors) g.status = 'demanded';
}

/** The timeout branch of the guarantor demand: silence past the deadline is a decision, recorded. */
export function settleGuarantorDemand(state: CaseState, nowMs: number): boolean {
  const d = state.guarantorDemand;
  if (!d || d.outcome || nowMs < Date.parse(d.deadline)) return false;
  d.outcome = 'silent';
  for (const g of state.guarantors) if (g.status === 'demanded') g.status = 'silent';
  return true;
}

// ---- legal ----
export function legalReferralTriggered(state: CaseState, pb: Playbook): string | undefined {
  if (state.legalReviewRequested) return 'fraud or misuse reported (reason 6)';
  const outcome = state.guarantorDemand?.outcome;
  if (outcome === 'silent') return 'the guarantor did not answer the demand';
  if (outcome === 'refuses') return 'the guarantor refused to pay';
  if (state.brokenPromises >= pb.legal.brokenPromisesForReferral) return `${state.brokenPromises} broken promises`;
  if (state.treatment.kind === 'litigate') return 'treatment set to litigate';
  const plan = currentPlan(state);
  if (plan?.status === 'broken' && pb.restructure?.onBroken === 'legal-referral') return `restructuring plan ${plan.no} broken`;
  return undefined;
}

export function nextReminderAt(state: CaseState, pb: Playbook): number | undefined {
  if (state.legal?.status !== 'awaiting-approval') return undefined;
  return Date.parse(state.legal.requestedAt) + (state.legal.remindersSent + 1) * pb.legal.approvalReminderHours * HOUR;
}

// ---- the ladder ----
function conditionsHold(step: PlaybookStep, state: CaseState): boolean {
  const c = step.conditions;
  if (c.hasGuarantor !== undefined && c.hasGuarantor !== state.guarantors.length > 0) return false;
  if (c.balanceAtLeastMinor !== undefined && outstandingMinor(state) < c.balanceAtLeastMinor) return false;
  if (c.reasonCategoryIn && (state.reasonCategory === undefined || !c.reasonCategoryIn.includes(state.reasonCategory as 1))) return false;
  if (c.brokenPromisesAtLeast !== undefined && state.brokenPromises < c.brokenPromisesAtLeast) return false;
  if (c.treatmentIn && !c.treatmentIn.includes(state.treatment.kind)) return false;
  const sit = state.situation;
  if (c.creditGradeIn && (!sit?.creditGrade || !c.creditGradeIn.includes(sit.creditGrade))) return false;
  if (c.segmentIn && (!sit?.segment || !c.segmentIn.includes(sit.segment))) return false;
  if (c.fundsIn && (!sit?.funds || !c.fundsIn.includes(sit.funds))) return false;
  return true;
}

export type Pause = { reason: string; until?: number };

/** What stops contact now: a hold, a dispute, or a pending promise (until its date plus grace). */
export function activePause(state: CaseState, pb: Playbook, nowMs: number): Pause | undefined {
  if (state.dispute) return { reason: `in dispute: ${state.dispute.reason}` };
  if (inKindActive(state)) return { reason: `settlement in kind: waiting for ${inKindWaitingFor(state.inKind!)}` };
  if (state.hold && (!state.hold.until || Date.parse(state.hold.until) > nowMs)) {
    return { reason: `on hold: ${state.hold.reason}`, ...(state.hold.until ? { until: Date.parse(state.hold.until) } : {}) };
  }
  const pending = state.promises.find((p) => p.status === 'pending');
  if (pending)
    return { reason: `promise to pay ${pending.amountMinor} by ${pending.date}`, until: promiseDeadline(state, pb, pending.date) };
  return undefined;
}

export interface Plan {
  next?: NextAction & { key: string };
  /** One-off occurrences whose time passed without them: record them as skipped. */
  skipped: Array<{ key: string; stepId: string; day: number }>;
  pause?: Pause;
}

function windowOf(state: CaseState, step: PlaybookStep, day: number): { start: number; end: number } {
  const date = addDays(state.day0, day);
  return { start: instantOf(date, step.window.from, state.timeZone), end: instantOf(date, step.window.to, state.timeZone) };
}

/** The next ladder step due for the case at `nowMs`, and the one-off steps to record as skipped. */
export function nextAction(state: CaseState, pb: Playbook, nowMs: number): Plan {
  const plan: Plan = { skipped: [] };
  if (state.stage !== 'open') return plan;
  const pause = activePause(state, pb, nowMs);
  if (pause) plan.pause = pause;
  const today = dayIndex(state, nowMs);
  const early = legalReferralTriggered(state, pb);
  const candidates: Array<NextAction & { key: string; order: number }> = [];

  pb.steps.forEach((step, order) => {
    if (!conditionsHold(step, state)) return;
    if (step.action === 'legal-referral' && state.legal) return;
    const due = (day: number, key: string) => {
      const w = windowOf(state, step, day);
      const deferred = state.notBefore[key] ? Date.parse(state.notBefore[key]) : 0;
      candidates.push({
        stepId: step.id,
        action: step.action,
        day,
        key,
        order,
        dueAt: new Date(Math.max(w.start, nowMs, deferred)).toISOString(),
      });
    };

    if (step.repeat) {
      const last = step.repeat.untilDay ?? Number.POSITIVE_INFINITY;
      let k = Math.max(step.day, today);
      const every = step.repeat.everyDays;
      if ((k - step.day) % every !== 0) k += every - ((k - step.day) % every);
      for (; k <= last; k += every) {
        const key = `${step.id}@${k}`;
        if (state.done[key]) continue;
        if (nowMs >= windowOf(state, step, k).end) continue; // this occurrence's window has passed
        due(k, key);
        break;
      }
      return;
    }

    const key = `${step.id}@${step.day}`;
    if (state.done[key]) return;
    const day = step.action === 'legal-referral' && early ? Math.min(step.day, today) : step.day;
    if (day > today) return due(day, key);
    const missed = day < today || nowMs >= windowOf(state, step, day).end;
    const dueToday = day === today && !missed;
    if (dueToday) return due(day, key);
    if (!step.catchUp && !(step.action === 'legal-referral' && early)) {
      // Skipped only once its time has passed outside a pause; during a pause it waits for the decision after.
      if (!pause) plan.skipped.push({ key, stepId: step.id, day: step.day });
      return;
    }
    // Catch-up: today's window if still open, else the next day's.
    if (nowMs < windowOf(state, step, today).end) return due(today, key);
    return due(today + 1, key);
  });

  if (pause) return plan; // nothing runs while paused; the workflow wakes at pause.until or on a message
  candidates.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.order - b.order);
  const first = candidates[0];
  if (first) plan.next = { stepId: first.stepId, action: first.action, day: first.day, dueAt: first.dueAt, key: first.key };
  return plan;
}

/** The stage a case ends in now, if any: paid in full, or a mediated settlement paid. */
export function endStage(state: CaseState): 'paid' | 'settled' | undefined {
  if (state.stage !== 'open' && state.stage !== 'legal' && state.stage !== 'restructured') return undefined;
  if (outstandingMinor(state) <= 0) return 'paid';
  const settlement = state.legal?.settlementMinor;
  if (settlement !== undefined) {
    const paidSince = state.paidMinor; // settlement covers the whole debt: all payments count toward it
    if (paidSince >= settlement) return 'settled';
  }
  return undefined;
}

// ---- after a step, and the sleep ----
/**
 * A step the compliance guard refused: the instant to try again, when that still serves this
 * occurrence (before its window ends, or any time for a catch-up step or the legal referral);
 * undefined when this occurrence does not happen.
 */
export function deferUntil(
  step: Pick<PlaybookStep, 'catchUp' | 'action'>,
  windowEnd: string,
  nextAllowedAt: string | undefined,
  nowMs: number,
): string | undefined {
  const nextAllowed = nextAllowedAt ? Date.parse(nextAllowedAt) : undefined;
  if (nextAllowed === undefined || nextAllowed <= nowMs) return undefined;
  return nextAllowed < Date.parse(windowEnd) || step.catchUp || step.action === 'legal-referral' ? nextAllowedAt : undefined;
}

/** What a step that ran changes in the case: visits to report on or approve, guarantors asked, the referral awaiting approval. */
export function recordStepRan(
  state: CaseState,
  pb: Playbook,
  step: PlaybookStep,
  key: string,
  reference: string,
  windowEnd: string,
  nowMs: number,
): void {
  state.done[key] = 'ran';
  delete state.notBefore[key];
  if (step.action === 'field-visit') {
    state.lastVisitReference = reference;
    if (step.approval) state.pendingVisit = { reference, stepId: step.id, role: step.approval.role, deadline: windowEnd };
  }
  if (step.action === 'guarantor-contact') for (const g of state.guarantors) if (g.status === 'not-contacted') g.status = 'contacted';
  if (step.action === 'guarantor-demand') startGuarantorDemand(state, pb, nowMs);
  if (step.action === 'legal-referral') {
    state.legal = { status: 'awaiting-approval', requestedAt: new Date(nowMs).toISOString(), remindersSent: 0, events: [] };
  }
}

/** The next local midnight: the day changes, and with it DaysOverdue and the penalty interest. */
export function nextLocalMidnight(state: CaseState, nowMs: number): number {
  return instantOf(addDays(state.day0, dayIndex(state, nowMs) + 1), '00:00', state.timeZone);
}

/**
 * When the sleeping case must wake at the latest: the next step, a pause's end, a deadline, a
 * reminder, and (runs before 'lean-case') local midnight. Undefined: nothing is due until a message comes.
 */
export function wakeAt(
  state: CaseState,
  plan: Plan,
  reminderAt: number | undefined,
  nowMs: number,
  opts: { atMidnight: true } | { atMidnight: false; pb: Playbook; also?: Array<number | undefined> } = { atMidnight: true },
): number | undefined {
  // Without the daily wake-up, each pending promise's deadline wakes the case to settle it.
  const promiseDeadlines = opts.atMidnight
    ? []
    : state.promises.filter((p) => p.status === 'pending').map((p) => promiseDeadline(state, opts.pb, p.date));
  const candidates = [
    plan.next ? Date.parse(plan.next.dueAt) : undefined,
    plan.pause?.until,
    state.guarantorDemand && !state.guarantorDemand.outcome ? Date.parse(state.guarantorDemand.deadline) : undefined,
    reminderAt,
    state.pendingVisit ? Date.parse(state.pendingVisit.deadline) : undefined,
    opts.atMidnight ? nextLocalMidnight(state, nowMs) : undefined,
    ...promiseDeadlines,
    ...(!opts.atMidnight && opts.also ? opts.also : []),
  ].filter((x): x is number => x !== undefined && x > nowMs);
  return candidates.length > 0 ? Math.min(...candidates) : undefined;
}

/**
 * Who may approve: the role asked for, or a manager where a supervisor is asked for. Treatments
 * and legal referrals ask for a supervisor; a visit for the role its playbook step names.
 */
export function mayApprove(role: string, needs: 'supervisor' | 'manager'): boolean {
  return role === needs || (needs === 'supervisor' && role === 'manager');
}

/** The "Next:" part of the line a supervisor reads: what the case does next, in words. */
export function describeNext(state: CaseState, pb: Playbook, plan: Plan | undefined): string {
  if (isClosed(state)) return 'closed';
  if (plan?.pause) return `paused (${plan.pause.reason})`;
  if (state.legal?.status === 'awaiting-approval') return "legal referral awaiting a supervisor's approval";
  if (state.stage === 'legal') return 'in legal proceedings';
  const held = activePlan(state);
  if (held) return describePlan(state, held, (m) => formatAmount(m, state.currency));
  if (!plan?.next) return 'nothing scheduled';
  const at = Date.parse(plan.next.dueAt);
  const step = pb.steps.find((s) => s.id === plan.next!.stepId)!;
  return (
    `${step.repeat ? 'daily ' : ''}${step.action.replace(/-/g, ' ')} on day ${plan.next.day}, ` +
    `${localTime(at, state.timeZone)} ${state.timeZone}`
  );
}
