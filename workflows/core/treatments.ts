/**
 * Treatments that run (issue 12), as pure functions over the case state: restructuring plans, the
 * settlement in kind, and the treatment the debtor's situation calls for. No Temporal import: the
 * workflow calls these with its own clock, and unit tests call them directly.
 *
 * Rules written down here (docs/case-workflow.md repeats them):
 * - A plan is proposed with dated instalments that add up to the outstanding balance of the day (or
 *   to a reduced amount the approvers agree to). Finance and legal review it (either order), then a
 *   manager approves it; any refusal ends the proposal. On the manager's approval the plan starts:
 *   its instalments are brought to the balance of that day (what accrued since the proposal is added
 *   to the last instalment, what was paid meanwhile comes off the last ones), the case's stage is
 *   `restructured` and the ladder pauses.
 * - While the plan holds, penalty is frozen, or accrues at the plan's reduced rate (added to the last
 *   instalment); payments pay the plan's instalments in order (and the balance by allocationOrder).
 * - An instalment not paid in full by the end of its due date + grace days breaks the plan: the case
 *   is `open` again, a broken plan counts as a broken promise, the penalty the plan held back is
 *   charged per the playbook ('whole-plan': the plan's days at the playbook's rate, less what the plan
 *   charged; 'from-break': from the break on), and the ladder resumes where it stands (or the legal
 *   referral comes forward when the playbook says so).
 * - The plan is kept when what was paid since it started reaches its total: a plan for the whole
 *   balance leaves nothing owed (the case closes `paid`); a plan for a reduced amount forgives the
 *   rest (written off with the manager's approval; the case closes `settled`).
 * - Settlement in kind: the asset offered → appraisal → legal preservation → title transfer, each
 *   recorded by a person; the ladder pauses meanwhile and supervisors are reminded when a step waits
 *   longer than the playbook allows. A manager decides the shortfall (appraised value below the
 *   balance) before title passes: written off, or still collected. On transfer the appraised value is
 *   applied as a payment; the case closes `settled` unless the shortfall is still collected (then
 *   the ladder resumes for it and the case closes `paid` when it is paid).
 */
import { addDays, daysBetween, instantOf, localDate } from '../../shared/calendar';
import type {
  CaseState,
  InKindRecord,
  InKindStepInput,
  PlanDecision,
  PlanProposal,
  PlanRecord,
  ShortfallDecision,
} from '../../shared/case';
import { accruePenalty, allocatePayment, totalOf } from '../../shared/money';
import type { Playbook, TreatmentKind } from '../../shared/playbook';

const DAY = 86_400_000;

export const currentPlan = (state: CaseState): PlanRecord | undefined => state.plans?.[state.plans.length - 1];
export const activePlan = (state: CaseState): PlanRecord | undefined => {
  const p = currentPlan(state);
  return p?.status === 'active' ? p : undefined;
};
export const planTotal = (plan: Pick<PlanRecord, 'instalments'>): number => plan.instalments.reduce((s, i) => s + i.amountMinor, 0);
/** What was paid toward the plan since it started. */
export const planPaid = (state: CaseState, plan: PlanRecord): number =>
  Math.max(0, state.paidMinor - (plan.paidAtStartMinor ?? state.paidMinor));

/** What the plan must add up to: the reduced amount, or the outstanding balance. */
const planTarget = (state: CaseState, reducedToMinor?: number) => reducedToMinor ?? totalOf(state.balance);

/** Why a proposal is refused (the validator's reason; the balance must be accrued to now), or undefined. */
export function planRefusal(state: CaseState, p: PlanProposal, nowMs: number, money: (m: number) => string): string | undefined {
  if (!state.instalments) return 'this case began before restructuring plans; it takes one after its next continue-as-new';
  if (state.stage !== 'open') return `a plan is proposed for an open case; this one is ${state.stage}`;
  if (state.legal) return 'the case has a legal referral: restructure through legal';
  const cur = currentPlan(state);
  if (cur?.status === 'proposed') return `plan ${cur.no} is still under review`;
  if (inKindActive(state)) return 'a settlement in kind is in progress';
  const today = localDate(nowMs, state.timeZone);
  for (let i = 0; i < p.instalments.length; i++) {
    const d = p.instalments[i]!.dueDate;
    if (d <= today) return `instalment ${i + 1} is due ${d}: plan instalments fall due after today (${today})`;
    if (i > 0 && d <= p.instalments[i - 1]!.dueDate)
      return `instalment ${i + 1} (${d}) is not after instalment ${i} (${p.instalments[i - 1]!.dueDate})`;
  }
  const outstanding = totalOf(state.balance);
  if (p.reducedToMinor !== undefined) {
    if (p.reducedToMinor >= outstanding)
      return `the reduced amount ${money(p.reducedToMinor)} is not below the outstanding balance ${money(outstanding)}`;
    if (p.penalty.mode !== 'frozen') return 'a plan for a reduced amount freezes the penalty';
  }
  const total = planTotal(p);
  const target = planTarget(state, p.reducedToMinor);
  if (total !== target) {
    const what = p.reducedToMinor !== undefined ? 'the reduced amount' : `the outstanding balance as of ${today}`;
    return `the instalments add up to ${money(total)}; they must add up to ${money(target)}, ${what}`;
  }
  return undefined;
}

export function proposePlan(state: CaseState, pb: Playbook, p: PlanProposal, nowMs: number): PlanRecord {
  const plan: PlanRecord = {
    no: (state.plans?.length ?? 0) + 1,
    status: 'proposed',
    proposedBy: p.by,
    proposedAt: new Date(nowMs).toISOString(),
    instalments: p.instalments.map((i) => ({ ...i })),
    graceDays: p.graceDays ?? pb.restructure.graceDays,
    penalty: p.penalty,
    ...(p.reducedToMinor !== undefined ? { reducedToMinor: p.reducedToMinor } : {}),
    ...(p.security ? { security: p.security } : {}),
    ...(p.note ? { note: p.note } : {}),
    approvals: [],
  };
  state.plans = [...(state.plans ?? []), plan];
  return plan;
}

/** Why a review of the proposed plan is refused, or undefined. */
export function planDecisionRefusal(state: CaseState, d: PlanDecision): string | undefined {
  const plan = currentPlan(state);
  if (plan?.status !== 'proposed') return 'no plan is awaiting review';
  if (d.role === 'supervisor') return 'a plan is reviewed by finance and legal, then approved by a manager';
  if (plan.approvals.some((a) => a.role === d.role)) return `${d.role} has already reviewed plan ${plan.no}`;
  if (d.role === 'manager' && d.decision === 'approve') {
    const missing = (['finance', 'legal'] as const).filter((r) => !plan.approvals.some((a) => a.role === r && a.decision === 'approve'));
    if (missing.length > 0) return `the manager approves after ${missing.join(' and ')} review`;
  }
  return undefined;
}

/** Records a review: 'refused' ends the proposal, 'started' when the manager's approval starts the plan. */
export function decidePlan(state: CaseState, d: PlanDecision, nowMs: number): 'refused' | 'reviewed' | 'started' {
  const plan = currentPlan(state)!;
  const at = new Date(nowMs).toISOString();
  plan.approvals.push({
    role: d.role as 'finance' | 'legal' | 'manager',
    by: d.by,
    at,
    decision: d.decision,
    ...(d.note ? { note: d.note } : {}),
  });
  if (d.decision === 'refuse') {
    plan.status = 'refused';
    plan.endedAt = at;
    return 'refused';
  }
  if (d.role !== 'manager') return 'reviewed';
  startPlan(state, plan, nowMs);
  return 'started';
}

/**
 * The plan starts (the balance accrued to now): its instalments are brought to the balance of the day,
 * the stage is `restructured`, and the treatment `restructure`.
 */
function startPlan(state: CaseState, plan: PlanRecord, nowMs: number): void {
  const target = plan.reducedToMinor !== undefined ? plan.reducedToMinor - paidSince(state, plan.proposedAt) : totalOf(state.balance);
  let delta = Math.max(0, target) - planTotal(plan);
  const inst = plan.instalments;
  if (delta > 0) inst[inst.length - 1]!.amountMinor += delta;
  for (let i = inst.length - 1; i >= 0 && delta < 0; i--) {
    const take = Math.min(inst[i]!.amountMinor, -delta);
    inst[i]!.amountMinor -= take;
    delta += take;
  }
  plan.instalments = inst.filter((i) => i.amountMinor > 0);
  plan.status = 'active';
  plan.startedAt = new Date(nowMs).toISOString();
  plan.paidAtStartMinor = state.paidMinor;
  plan.penaltyChargedMinor = 0;
  plan.accruedThrough = localDate(nowMs, state.timeZone);
  plan.paidInstalments = 0;
  plan.dueNoted = 0;
  state.stage = 'restructured';
  state.treatment = { kind: 'restructure', approved: true, approvedBy: plan.approvals.find((a) => a.role === 'manager')?.by ?? 'manager' };
}

const paidSince = (state: CaseState, iso: string) => state.payments.filter((p) => p.paidAt >= iso).reduce((s, p) => s + p.amountMinor, 0);

/** Penalty while the plan holds: none when frozen, else at its reduced rate on the unpaid principal, added to the last instalment. */
export function accruePlan(state: CaseState, plan: PlanRecord, nowMs: number): void {
  const today = localDate(nowMs, state.timeZone);
  if (!plan.accruedThrough || plan.accruedThrough >= today) return;
  if (plan.penalty.mode === 'reduced') {
    const accrued = accruePenalty(state.balance, daysBetween(plan.accruedThrough, today), plan.penalty.bpsPerDay);
    const added = accrued.penaltyMinor - state.balance.penaltyMinor;
    if (added > 0) {
      state.balance = accrued;
      plan.penaltyChargedMinor = (plan.penaltyChargedMinor ?? 0) + added;
      plan.instalments[plan.instalments.length - 1]!.amountMinor += added;
    }
  }
  plan.accruedThrough = today;
}

/** End of the local day an instalment's grace runs out: the plan breaks then if it is unpaid. */
const instalmentDeadline = (state: CaseState, plan: PlanRecord, i: number): number =>
  instantOf(addDays(plan.instalments[i]!.dueDate, plan.graceDays + 1), '00:00', state.timeZone);
const instalmentDue = (state: CaseState, plan: PlanRecord, i: number): number =>
  instantOf(plan.instalments[i]!.dueDate, '00:00', state.timeZone);

export type PlanEvent =
  | { kind: 'paid'; n: number }
  | { kind: 'due'; n: number; unpaidMinor: number }
  | { kind: 'kept' }
  | { kind: 'broken'; n: number; unpaidMinor: number };

/**
 * The active plan's news at `nowMs`: instalments paid, fallen due, the plan kept or broken. Applies
 * them to the state (a broken plan reopens the case; the caller accrues the penalty it brings back).
 */
export function settlePlan(state: CaseState, nowMs: number): PlanEvent[] {
  const plan = activePlan(state);
  if (!plan) return [];
  const events: PlanEvent[] = [];
  const paid = planPaid(state, plan);
  let cum = 0;
  for (let i = 0; i < plan.instalments.length; i++) {
    cum += plan.instalments[i]!.amountMinor;
    if (paid >= cum) {
      if ((plan.paidInstalments ?? 0) < i + 1) {
        plan.paidInstalments = i + 1;
        events.push({ kind: 'paid', n: i + 1 });
      }
      continue;
    }
    if (nowMs >= instalmentDue(state, plan, i) && (plan.dueNoted ?? 0) < i + 1) {
      plan.dueNoted = i + 1;
      events.push({ kind: 'due', n: i + 1, unpaidMinor: cum - paid });
    }
    if (nowMs >= instalmentDeadline(state, plan, i)) {
      plan.status = 'broken';
      plan.brokenInstalment = i + 1;
      plan.endedAt = new Date(nowMs).toISOString();
      state.stage = 'open';
      state.brokenPromises += 1;
      state.treatment = { kind: 'collect', approved: true };
      events.push({ kind: 'broken', n: i + 1, unpaidMinor: cum - paid });
    }
    return events;
  }
  plan.status = 'kept';
  plan.endedAt = new Date(nowMs).toISOString();
  if (state.stage === 'restructured') state.stage = 'open';
  // A plan for a reduced amount forgives the rest of the debt it covered (not an instalment reported since).
  const left = totalOf(state.balance) - (plan.addedMinor ?? 0);
  if (left > 0 && plan.reducedToMinor !== undefined) plan.waivedMinor = left;
  events.push({ kind: 'kept' });
  return events;
}

/** A kept plan that forgave the rest (a reduced amount): the case closes settled once that is written off. */
export const keptPlanWaiver = (state: CaseState): { plan: PlanRecord; waivedMinor: number } | undefined => {
  const plan = currentPlan(state);
  const pending = plan?.status === 'kept' && (plan.waivedMinor ?? 0) > 0 && !plan.waiverRecorded;
  return pending ? { plan, waivedMinor: plan.waivedMinor! } : undefined;
};

/** Takes a forgiven or written-off amount off the balance: fees, then penalty, then principal. */
export function writeDownBalance(state: CaseState, amountMinor: number): void {
  state.balance = allocatePayment(state.balance, amountMinor, ['fees', 'penalty', 'principal']).balance;
}

/** The kept plan's forgiven rest comes off the balance: what is left is debt the plan did not cover. */
export function writeDown(state: CaseState, plan: PlanRecord): void {
  writeDownBalance(state, plan.waivedMinor ?? 0);
  plan.waiverRecorded = true;
}

/** When the active plan next needs the case awake: an instalment falling due, or its grace running out. */
export function planWakeAt(state: CaseState, nowMs: number): number | undefined {
  const plan = activePlan(state);
  if (!plan) return undefined;
  const paid = planPaid(state, plan);
  let cum = 0;
  for (let i = 0; i < plan.instalments.length; i++) {
    cum += plan.instalments[i]!.amountMinor;
    if (paid >= cum) continue;
    const due = instalmentDue(state, plan, i);
    return due > nowMs ? due : instalmentDeadline(state, plan, i);
  }
  return undefined;
}

/** The "Next:" words while a plan holds. */
export function describePlan(state: CaseState, plan: PlanRecord, money: (m: number) => string): string {
  const paid = planPaid(state, plan);
  let cum = 0;
  for (let i = 0; i < plan.instalments.length; i++) {
    const inst = plan.instalments[i]!;
    cum += inst.amountMinor;
    if (paid < cum)
      return `restructuring plan ${plan.no}: instalment ${i + 1} of ${plan.instalments.length}, ${money(cum - paid)} due ${inst.dueDate}`;
  }
  return `restructuring plan ${plan.no}: paid`;
}

/**
 * The penalty a broken plan brings back, after the caller let the regular accrual catch up:
 * 'whole-plan' keeps the catch-up less what the plan charged; 'from-break' is called before the
 * catch-up and moves each instalment's accrued days to today, charging nothing for the plan's days.
 */
export function skipPlanDays(state: CaseState, nowMs: number): void {
  if (!state.instalments) return;
  const today = localDate(nowMs, state.timeZone);
  for (const m of state.missedPayments) {
    const i = state.instalments[m.dueDate]!;
    const days = Math.max(0, daysBetween(addDays(m.dueDate, 1), today));
    if (days > i.accruedDays) i.accruedDays = days;
  }
}

// ---- settlement in kind ----
const IN_PROGRESS = new Set<InKindRecord['status']>(['offered', 'appraised', 'preserved']);
export const inKindActive = (state: CaseState): boolean => !!state.inKind && IN_PROGRESS.has(state.inKind.status);

/** Who records each step. Managers (and admins, as managers) may record any. */
export const IN_KIND_STEP_ROLES: Record<InKindStepInput['step'], readonly string[]> = {
  offered: ['collector', 'supervisor'],
  appraised: ['supervisor', 'finance'],
  preserved: ['legal'],
  transferred: ['legal', 'supervisor'],
  abandoned: ['supervisor'],
};
const NEXT: Record<InKindRecord['status'], string> = {
  offered: 'appraisal',
  appraised: 'legal preservation',
  preserved: 'title transfer',
  transferred: 'nothing',
  abandoned: 'nothing',
};
export const inKindWaitingFor = (k: InKindRecord): string => NEXT[k.status];

/** Why a step of the settlement in kind is refused (the balance accrued to now), or undefined. */
export function inKindRefusal(state: CaseState, s: InKindStepInput, money: (m: number) => string): string | undefined {
  const roles = IN_KIND_STEP_ROLES[s.step];
  if (!roles.includes(s.role) && s.role !== 'manager')
    return `the ${s.step} step is recorded by ${roles.join(', ')} or a manager, not ${s.role}`;
  const k = state.inKind;
  switch (s.step) {
    case 'offered':
      if (state.stage !== 'open') return `an asset is offered on an open case; this one is ${state.stage}`;
      if (state.legal) return 'the case has a legal referral: settle through legal';
      if (k && IN_PROGRESS.has(k.status)) return `a settlement in kind is already in progress (${k.status})`;
      if (currentPlan(state)?.status === 'proposed') return 'a restructuring plan is under review';
      return undefined;
    case 'appraised':
      return k && (k.status === 'offered' || k.status === 'appraised') ? undefined : 'appraisal follows an offered asset';
    case 'preserved':
      return k?.status === 'appraised' ? undefined : 'legal preservation follows the appraisal';
    case 'transferred': {
      if (k?.status !== 'preserved') return 'title transfer follows legal preservation';
      const shortfall = totalOf(state.balance) - k.appraisal!.valueMinor;
      if (shortfall > 0 && !k.shortfall)
        return `the appraised value leaves ${money(shortfall)} unpaid: a manager decides the shortfall first (write-off or collect)`;
      return undefined;
    }
    case 'abandoned':
      return k && IN_PROGRESS.has(k.status) ? undefined : 'no settlement in kind is in progress';
  }
}

/** Records a step (not the transfer's payment: the workflow applies it through the ledger). */
export function takeInKindStep(state: CaseState, s: InKindStepInput, nowMs: number): InKindRecord {
  const at = new Date(nowMs).toISOString();
  if (s.step === 'offered') {
    state.inKind = {
      status: 'offered',
      asset: s.asset,
      ...(s.estimatedValueMinor !== undefined ? { estimatedValueMinor: s.estimatedValueMinor } : {}),
      offeredBy: s.by,
      since: at,
      remindersSent: 0,
    };
    state.treatment = { kind: 'settle-in-kind', approved: true, decidedBy: s.by };
    return state.inKind;
  }
  const k = state.inKind!;
  if (s.step === 'appraised') {
    k.appraisal = { valueMinor: s.valueMinor, appraiser: s.appraiser, document: s.document, by: s.by, at };
    delete k.shortfall; // a new value: the shortfall is decided again
  }
  if (s.step === 'preserved') k.preservation = { reference: s.reference, ...(s.note ? { note: s.note } : {}), by: s.by, at };
  if (s.step === 'transferred') k.transfer = { document: s.document, by: s.by, at };
  if (s.step === 'abandoned') {
    k.abandoned = { reason: s.reason, by: s.by, at };
    state.treatment = { kind: 'collect', approved: true, decidedBy: s.by };
  }
  k.status = s.step;
  k.since = at;
  k.remindersSent = 0;
  return k;
}

export function shortfallRefusal(state: CaseState, d: ShortfallDecision): string | undefined {
  if (d.role !== 'manager') return 'a manager decides the shortfall';
  const k = state.inKind;
  if (!k?.appraisal || !IN_PROGRESS.has(k.status)) return 'the shortfall is decided once the asset is appraised, before title passes';
  return undefined;
}

/** When supervisors are next reminded that the settlement in kind waits. */
export function inKindReminderAt(state: CaseState, pb: Playbook): number | undefined {
  const k = state.inKind;
  if (!k || !IN_PROGRESS.has(k.status)) return undefined;
  return Date.parse(k.since) + (k.remindersSent + 1) * pb.inKind.stepReminderDays * DAY;
}

// ---- the debtor's situation ----
const FUNDS_WORDS: Record<string, string> = {
  good: 'funds are there',
  'short-prospects': 'funds short, the business has prospects',
  'short-poorly-run': 'funds short, the business is badly run',
  evasive: 'malicious or evasive',
};

/** The treatment the situation calls for: fraud (reason 6) is sued; else the playbook's table by funds. */
export function recommendation(state: CaseState, pb: Playbook): { treatment: TreatmentKind; why: string } | undefined {
  if (state.reasonCategory === 6) return { treatment: 'litigate', why: 'fraud or misuse (reason 6)' };
  const funds = state.situation?.funds;
  if (!funds) return undefined;
  const row = pb.treatmentTable.find((r) => r.funds === funds);
  return row ? { treatment: row.treatment, why: FUNDS_WORDS[funds] ?? funds } : undefined;
}
