import { allHandlersFinished, condition, workflowInfo } from '@temporalio/workflow';
import { STEP_ACTIVITY } from '../../shared/activities';
import { addDays } from '../../shared/calendar';
import type { CaseInput, CaseState } from '../../shared/case';
import type { PlaybookStep } from '../../shared/playbook';
import { ErrorTypes } from '../../shared/errors';
import {
  accrue,
  dayIndex,
  deferUntil,
  endStage,
  isClosed,
  legalReferralTriggered,
  nextAction,
  outstandingMinor,
  nextReminderAt,
  recordStepRan,
  settleGuarantorDemand,
  settlePromises,
  wakeAt,
  type Plan,
} from '../core/case-core';
import {
  activePlan,
  currentPlan,
  inKindReminderAt,
  inKindWaitingFor,
  keptPlanWaiver,
  writeDown,
  writeDownBalance,
  planWakeAt,
  settlePlan,
  skipPlanDays,
} from '../core/treatments';
import { drainLedger, type CaseContext, type Drafted } from './context';
import { inKindPaymentId, queueInKindRow, queuePlanRow } from './handlers/treatments';
import { dueReassessment, escalationReason, route, routingWakeAt } from './routing';
import { closeCase } from './lifecycle';
import { DONE_WORDS, isLocalStep, recordSkipped, recoverableFee, runStep, stepRequest } from './steps';

type Publish = (plan?: Plan) => void;
/** What a pass of the loop ended with: look again now, the case closed, or hand the state to a new run. */
type Pass = 'again' | 'closed' | { continueWith: CaseInput };

/** How early a lean run may send a supervisor reminder that is about to fall due. */
const REMINDER_SLACK_MS = 10 * 60_000;

/** Runs per run before continuing-as-new even if the server has not suggested it (the limit is 51,200). */
const DEFAULT_MAX_HISTORY_EVENTS = 8_000;

/**
 * The case's life: each pass sends queued ledger rows, keeps the books (penalty, promises,
 * deadlines), closes the case when it has ended, runs what is due, or sleeps until the next thing is
 * due or a message changes the picture.
 */
export async function runCase(ctx: CaseContext, publish: Publish): Promise<'closed' | { continueWith: CaseInput }> {
  for (;;) {
    const pass = await onePass(ctx, publish);
    if (pass !== 'again') return pass;
  }
}

async function onePass(ctx: CaseContext, publish: Publish): Promise<Pass> {
  const { state, pb } = ctx;
  // A lean run sends the timeline and the cases row with the rest of the wake's rows, before it sleeps;
  // rows a step may read (a contact outcome, a promise) go before the step.
  if (!ctx.lean || ctx.ledgerQueue.some((w) => w.fn !== 'recordTimeline' && w.fn !== 'projectCase')) await drainLedger(ctx);
  const t = ctx.now();
  if (await keepTheBooks(ctx, t)) return 'again';
  if (await closeIfEnded(ctx, publish)) return 'closed';
  if (state.stage === 'open' && state.legal?.status === 'approved') return handToLegal(ctx, publish, t);
  const reminderAt = nextReminderAt(state, pb);
  // A lean run sends a reminder due within minutes with whatever woke the case (a call at the same hour): one wake-up, not two.
  if (reminderAt !== undefined && t >= reminderAt - (ctx.lean ? REMINDER_SLACK_MS : 0)) {
    const n = state.legal!.remindersSent + 1;
    const outcome = `legal referral approval, reminder ${n}`;
    // A lean run's reminder writes its own timeline entry once sent (patch 'step-one-write').
    const note = ctx.lean && ctx.patched('step-one-write') ? ctx.draftNote('reminder', outcome) : undefined;
    const remind = ctx
      .call('remindSupervisor', `Remind supervisors: legal referral awaits approval (${n})`, {
        ...ctx.ref(`legal-approval-reminder:${n}`),
        subject: `Legal referral of ${state.accountId} awaits approval`,
        reminder: n,
        ...(note ? { afterDone: [note.write] } : {}),
      })
      .then(() => {
        state.legal!.remindersSent = n;
        if (note) note.commit();
        else ctx.note('reminder', outcome);
      });
    // A lean run sends it alongside the ladder step due now (the daily call): both in one go.
    const plan = ctx.lean ? nextAction(state, pb, t) : undefined;
    const step = plan?.next && plan.skipped.length === 0 && Date.parse(plan.next.dueAt) <= t ? plan.next : undefined;
    if (step) return (await Promise.all([remind, runDueStep(ctx, step)]))[1];
    await remind;
    return 'again';
  }

  // The ladder.
  const plan = nextAction(state, pb, t);
  recordSkipped(ctx, plan);
  if (plan.next && Date.parse(plan.next.dueAt) <= t) return runDueStep(ctx, plan.next);
  publish(plan);

  // A long life: hand the state to a fresh run before the history grows large.
  if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= (ctx.input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS)) {
    await condition(allHandlersFinished);
    await drainLedger(ctx);
    return { continueWith: { ...ctx.input, carried: { ...state, runs: state.runs + 1 } } };
  }

  // The wake's rows reach the ledger before the case sleeps (then it looks again: a message may have come meanwhile).
  if (ctx.lean && ctx.ledgerQueue.length > 0) {
    await drainLedger(ctx);
    return 'again';
  }

  // Sleep until the next thing is due, or until a message changes the picture.
  // A lean run wakes only when something is due: days overdue and penalty are worked out when read.
  const also = ctx.treatments
    ? [planWakeAt(state, t), inKindReminderAt(state, pb), ...(ctx.teams ? [routingWakeAt(ctx, t)] : [])]
    : undefined;
  const wake = wakeAt(state, plan, reminderAt, t, ctx.lean ? { atMidnight: false, pb, ...(also ? { also } : {}) } : { atMidnight: true });
  const version = state.version;
  const changed = () => state.version !== version || ctx.ledgerQueue.length > 0;
  if (wake === undefined) {
    await condition(changed);
    return 'again';
  }
  const what =
    plan.next && Date.parse(plan.next.dueAt) === wake
      ? `until day ${plan.next.day} ${ctx.local(wake)}: ${plan.next.stepId}`
      : `until ${ctx.local(wake)}`;
  await condition(changed, wake - t, { summary: what });
  return 'again';
}

/**
 * Penalty to today, promises kept or broken, a visit's approval or its lapse, deadlines and holds that ran out.
 * True when it ran an activity.
 */
async function keepTheBooks(ctx: CaseContext, t: number): Promise<boolean> {
  const { state, pb } = ctx;
  accrue(state, pb, t);
  if (ctx.treatments && (await keepThePlan(ctx, t))) return true;
  if (ctx.teams && (await keepTheRouting(ctx, t))) return true;
  for (const c of settlePromises(state, pb, t)) {
    ctx.note(`promise ${c.id}`, c.status);
    const p = state.promises[c.id - 1]!;
    ctx.queue('recordPromise', `Promise ${c.id} ${c.status}`, {
      ...ctx.ref(`promise:${c.id}:${c.status}`),
      promiseNo: c.id,
      date: p.date,
      amountMinor: p.amountMinor,
      status: c.status,
      madeAt: p.madeAt,
    });
  }
  // A visit that needs an approval: go ahead once approved, cancel when its window closes without one.
  const pv = state.pendingVisit;
  if (pv?.approvedBy) {
    await ctx.call('recordVisitApproval', `Visit approved by ${pv.approvedBy}`, {
      ...ctx.ref(`visit-approval:${pv.reference}`),
      visitReference: pv.reference,
      by: pv.approvedBy,
      role: pv.role,
    });
    delete state.pendingVisit;
    return true;
  }
  if (pv && t >= Date.parse(pv.deadline)) {
    await ctx.call('cancelVisit', 'Cancel the visit: not approved in time', {
      ...ctx.ref(`visit-cancel:${pv.reference}`),
      visitReference: pv.reference,
      reason: `no ${pv.role} approval before the window closed`,
    });
    ctx.note('visit cancelled', `no ${pv.role} approval before ${ctx.local(pv.deadline)}`);
    delete state.pendingVisit;
    return true;
  }
  if (settleGuarantorDemand(state, t))
    ctx.note('guarantor demand', `no answer within ${pb.guarantor.responseDays} days: counts toward legal referral`);
  if (state.hold?.until && Date.parse(state.hold.until) <= t) {
    ctx.note('resumed', 'hold expired');
    delete state.hold;
  }
  return false;
}

/**
 * The restructuring plan's news (instalments paid or due, kept, broken) and the settlement in kind's
 * reminder. True when it ran an activity.
 */
async function keepThePlan(ctx: CaseContext, t: number): Promise<boolean> {
  const { state, pb } = ctx;
  const held = activePlan(state);
  for (const e of settlePlan(state, t)) {
    const plan = held!;
    if (e.kind === 'paid') {
      ctx.note(`plan ${plan.no}`, `instalment ${e.n} of ${plan.instalments.length} paid`);
      queuePlanRow(ctx, plan, `instalment-${e.n}-paid`, 'case-workflow');
    } else if (e.kind === 'due') {
      const until = addDays(plan.instalments[e.n - 1]!.dueDate, plan.graceDays);
      ctx.note(`plan ${plan.no}`, `instalment ${e.n} due: ${ctx.money(e.unpaidMinor)} unpaid, grace until the end of ${until}`);
    } else if (e.kind === 'kept') {
      ctx.note(
        `plan ${plan.no} kept`,
        plan.waivedMinor ? `the reduced amount is paid; ${ctx.money(plan.waivedMinor)} is forgiven` : 'paid in full',
      );
      queuePlanRow(ctx, plan, 'kept', 'case-workflow');
      ctx.lastEvent = `plan ${plan.no} kept`;
    } else {
      // Broken: the penalty the plan held back, per the playbook, then the full balance is due again.
      const before = state.balance.penaltyMinor;
      if (pb.restructure.penaltyOnBreak === 'from-break') skipPlanDays(state, t);
      accrue(state, pb, t);
      const credit = Math.min(state.balance.penaltyMinor - before, plan.penaltyChargedMinor ?? 0);
      if (credit > 0) state.balance = { ...state.balance, penaltyMinor: state.balance.penaltyMinor - credit };
      const then = pb.restructure.onBroken === 'legal-referral' ? 'the legal referral comes forward' : 'the ladder resumes';
      ctx.note(
        `plan ${plan.no} broken`,
        `instalment ${e.n}: ${ctx.money(e.unpaidMinor)} unpaid after ${plan.graceDays} days' grace; ` +
          `the full balance ${ctx.money(outstandingMinor(state))} is due again ` +
          `(penalty ${ctx.money(state.balance.penaltyMinor - before)} ` +
          `for the plan's days); ${then}`,
      );
      queuePlanRow(ctx, plan, 'broken', 'case-workflow');
      ctx.lastEvent = `plan ${plan.no} broken`;
    }
    ctx.touch();
  }
  const k = state.inKind;
  const remindAt = inKindReminderAt(state, pb);
  if (k && remindAt !== undefined && t >= remindAt) {
    const n = k.remindersSent + 1;
    const waiting = inKindWaitingFor(k);
    await ctx.call('remindSupervisor', `Remind supervisors: settlement in kind waits for ${waiting} (${n})`, {
      ...ctx.ref(`in-kind-reminder:${k.status}:${n}`),
      subject: `Settlement in kind of ${state.accountId} waits for ${waiting}`,
      body: `The asset (${k.asset}) has waited ${n * pb.inKind.stepReminderDays} days for ${waiting} since it was ${k.status}.`,
      reminder: n,
    });
    k.remindersSent = n;
    ctx.note('reminder', `settlement in kind waits for ${waiting} (${n})`);
    return true;
  }
  return false;
}

/** The playbook's reassessment days (the rules choose the team again, once each) and escalation to the team leader. */
async function keepTheRouting(ctx: CaseContext, t: number): Promise<boolean> {
  const { state } = ctx;
  if (isClosed(state) || state.stage === 'legal') return false;
  const day = dueReassessment(ctx, t);
  if (day !== undefined) {
    state.reassessed = [...(state.reassessed ?? []), day];
    await route(ctx, `assign:day-${day}`, `day ${day} reassessment`, 'case-workflow', undefined, { moveOnlyToAnotherTeam: true });
    return true;
  }
  const why = escalationReason(ctx, t);
  if (why) {
    const leaderId = state.leaderId!;
    await ctx.call('escalateToLeader', `Escalate to team leader ${leaderId}: ${why}`, {
      ...ctx.ref(`escalate:${state.teamId}:${leaderId}`),
      leaderId,
      teamId: state.teamId!,
      reason: why,
    });
    state.escalated = { leaderId, at: new Date(t).toISOString(), reason: why };
    ctx.note('escalated', `team leader ${leaderId} joins the case: ${why}`);
    ctx.touch();
    return true;
  }
  return false;
}

/** Title passed: the shortfall is written off and the case settles, or it is still collected. True when the case closed. */
async function settleInKind(ctx: CaseContext, publish: Publish): Promise<boolean> {
  const { state } = ctx;
  const k = state.inKind;
  if (k?.status !== 'transferred' || k.shortfallMinor !== undefined) return false;
  if (!state.payments.some((p) => p.paymentId === inKindPaymentId(state))) return false; // the appraised value is not applied yet
  const left = outstandingMinor(state);
  k.shortfallMinor = Math.max(0, left);
  k.closesCase = left <= 0 || k.shortfall?.decision === 'write-off';
  queueInKindRow(ctx, k, k.closesCase ? 'settled' : 'shortfall-collected', 'case-workflow');
  if (!k.closesCase) {
    ctx.note('settlement in kind', `shortfall ${ctx.money(left)} still collected: the ladder resumes`);
    state.treatment = { kind: 'collect', approved: true };
    return false;
  }
  if (left > 0) {
    await ctx.call('recordWriteOff', `Write off the shortfall of the settlement in kind: ${ctx.money(left)}`, {
      ...ctx.ref('in-kind-shortfall'),
      reason: `settlement in kind: shortfall ${ctx.money(left)} written off`,
      by: k.shortfall!.by,
      balance: { ...state.balance },
    });
    // Off the balance (the case owes nothing more), but written off: the credit hold stays.
    writeDownBalance(state, left);
    state.holdKept = true;
  }
  await closeCase(ctx, publish, 'settled', `title transferred${left > 0 ? `, shortfall ${ctx.money(left)} written off` : ''}`);
  return true;
}

/** End states first: money, then decisions people made. True when the case closed. */
async function closeIfEnded(ctx: CaseContext, publish: Publish): Promise<boolean> {
  const { state } = ctx;
  // A payment being written to the ledger right now decides whether the case is paid: wait for it.
  if (ctx.paymentsInFlight > 0) await condition(() => ctx.paymentsInFlight === 0);
  if (ctx.treatments) {
    if (await settleInKind(ctx, publish)) return true;
    const waiver = keptPlanWaiver(state);
    if (waiver) {
      // The reduced amount is paid: the rest is forgiven as the manager approved (written down, recorded).
      const manager = waiver.plan.approvals.find((a) => a.role === 'manager')?.by ?? 'manager';
      await ctx.call('recordWriteOff', `Forgive the rest of the reduced plan: ${ctx.money(waiver.waivedMinor)}`, {
        ...ctx.ref(`plan-waiver:${waiver.plan.no}`),
        reason: `restructuring plan ${waiver.plan.no} kept at the reduced amount: ${ctx.money(waiver.waivedMinor)} forgiven`,
        by: manager,
        balance: { ...state.balance },
      });
      writeDown(state, waiver.plan);
      ctx.note(`plan ${waiver.plan.no}`, `${ctx.money(waiver.waivedMinor)} forgiven (approved by ${manager})`);
      if (outstandingMinor(state) <= 0) {
        await closeCase(ctx, publish, 'settled', `restructuring plan ${waiver.plan.no} kept (reduced amount)`);
        return true;
      }
    }
  }
  const ended = endStage(state);
  if (ended) {
    const plan = ctx.treatments ? currentPlan(state) : undefined;
    const why =
      ended === 'settled' ? 'mediated settlement paid' : plan?.status === 'kept' ? `restructuring plan ${plan.no} paid` : 'balance covered';
    await closeCase(ctx, publish, ended, why);
    return true;
  }
  if (state.writeOff) {
    await ctx.call('recordWriteOff', `Write off: ${state.writeOff.reason}`, {
      ...ctx.ref('write-off'),
      reason: state.writeOff.reason,
      by: state.writeOff.by,
      balance: { ...state.balance },
    });
    await closeCase(ctx, publish, 'written-off', state.writeOff.reason);
    return true;
  }
  const t = state.treatment;
  if (!ctx.treatments && t.approved && (t.kind === 'restructure' || t.kind === 'settle-in-kind')) {
    await ctx.call('recordTreatment', `Record approved ${t.kind}`, {
      ...ctx.ref(`treatment:${t.kind}`),
      treatment: t.kind,
      approvedBy: t.approvedBy ?? 'unknown',
      balance: { ...state.balance },
    });
    await closeCase(ctx, publish, 'settled', `${t.kind} approved by ${t.approvedBy}`);
    return true;
  }
  const lastLegal = state.legal?.events[state.legal.events.length - 1];
  if (lastLegal?.kind === 'closed') {
    await closeCase(ctx, publish, 'legal-closed', lastLegal.outcome);
    return true;
  }
  return false;
}

/** The approved referral: legal takes the case (with the lawyer's letter). */
async function handToLegal(ctx: CaseContext, publish: Publish, t: number): Promise<Pass> {
  const { state } = ctx;
  const day = dayIndex(state, t);
  const handoff = { id: 'legal-handoff', action: 'legal-referral', description: 'Hand the case and its dossier to legal' } as const;
  const req = { ...stepRequest(ctx, handoff, day, 'legal-handoff'), approvedBy: state.legal!.approvedBy! };
  const r = await runStep(ctx, 'referToLegal', req, `Day ${day}: hand the case to legal`);
  if (r.status === 'cancelled') return 'again'; // paid or written off meanwhile: the next pass closes it
  state.stage = 'legal';
  ctx.note('handed to legal', 'reference' in r ? r.reference : r.status);
  ctx.lastEvent = 'handed to legal';
  publish();
  return 'again';
}

/**
 * The rows a step leaves once done, drafted before it runs: its timeline entry (the activity fills in
 * the outcome, its reference) and the cases row as the next pass will compute it.
 */
function draftStepRows(ctx: CaseContext, step: PlaybookStep, key: string, windowEnd: string): Drafted[] {
  const after = JSON.parse(JSON.stringify(ctx.state)) as CaseState;
  recordStepRan(after, ctx.pb, step, key, '', windowEnd, ctx.now());
  return [ctx.draftNote(step.action, ''), ctx.draftProjection(after)];
}

/** Runs the ladder step that is due and records what came of it. */
async function runDueStep(ctx: CaseContext, next: NonNullable<Plan['next']>): Promise<Pass> {
  const { state, pb } = ctx;
  const step = pb.steps.find((s) => s.id === next.stepId)!;
  const { day, key } = next;
  const reason = step.action === 'legal-referral' ? legalReferralTriggered(state, pb) : undefined;
  // A recoverable cost is charged to the debt's fees part when incurred: the letter shows it (given back if the step does not happen).
  const fee = ctx.treatments ? recoverableFee(ctx, step.action) : 0;
  if (fee > 0) {
    state.balance = { ...state.balance, feesMinor: state.balance.feesMinor + fee };
    state.feesCharged = { ...state.feesCharged, [key]: fee };
  }
  const req = { ...stepRequest(ctx, step, day, key, reason), ...(fee > 0 ? { feeMinor: fee } : {}) };
  // A lean run's call, visit or guarantor contact writes its timeline entry and the cases row it leaves
  // in its own transaction once done: one local activity per wake, not two (patch 'step-one-write').
  const drafts = isLocalStep(ctx, step.action) && ctx.patched('step-one-write') ? draftStepRows(ctx, step, key, req.windowEnd) : [];
  const result = await runStep(
    ctx,
    STEP_ACTIVITY[step.action],
    drafts.length > 0 ? { ...req, afterDone: drafts.map((d) => d.write) } : req,
    `Day ${day}: ${step.description}`,
  );
  if (result.status !== 'done') for (const d of drafts) d.abandon();
  if (result.status !== 'done' && fee > 0) {
    state.balance = { ...state.balance, feesMinor: Math.max(0, state.balance.feesMinor - fee) };
    delete state.feesCharged![key];
  }
  const words = step.action.replace(/-/g, ' ');
  if (result.status === 'cancelled') {
    // The case reached an end state while the step ran: the next pass closes it.
    ctx.note(step.action, 'cancelled: the case ended while it ran');
    return 'again';
  }
  if (result.status === 'refused') {
    // The compliance guard said not now: wait for the next allowed moment if it still serves this
    // occurrence, else this occurrence does not happen.
    const until = deferUntil(step, req.windowEnd, result.nextAllowedAt, ctx.now());
    if (until) {
      state.notBefore[key] = until;
      ctx.note(step.action, `deferred by ${result.rule} until ${ctx.local(until)}: ${result.reason}`);
    } else {
      state.done[key] = 'refused';
      ctx.note(step.action, `refused by ${result.rule}: ${result.reason}`);
    }
    ctx.lastEvent = `${words} refused (${result.rule})`;
    return 'again';
  }
  if (result.status === 'failed') {
    // The step did not happen, nothing that depends on it starts, and a person has to look.
    state.done[key] = 'failed';
    ctx.note(step.action, result.reference);
    ctx.lastEvent = `${words} ${result.reference}`;
    // A letter that failed for want of an address runs once the address arrives, if the step catches up.
    if (result.type === ErrorTypes.LetterNotPossible && step.catchUp) state.awaitingAddress = [...(state.awaitingAddress ?? []), key];
    if (ctx.patched('record-step-failure')) {
      await ctx.call('recordStepFailure', `Tell supervisors: day ${day} ${words} failed`, {
        ...ctx.ref(`step-failed:${key}:${ctx.notes()}`),
        stepKey: req.idempotencyKey,
        stepId: step.id,
        action: step.action,
        day,
        reason: result.reference,
      });
    }
    return 'again';
  }
  recordStepRan(state, pb, step, key, result.reference, req.windowEnd, ctx.now());
  if (drafts.length > 0) for (const d of drafts) d.commit(result.reference);
  else ctx.note(step.action, result.reference);
  ctx.lastEvent = `${DONE_WORDS[step.action]} (${result.reference})`;
  return 'again';
}
