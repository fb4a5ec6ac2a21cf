import { ActivityFailure, ApplicationFailure, CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import type { CaseActivities, StepRequest, StepResult } from '../../shared/activities';
import { addDays, instantOf } from '../../shared/calendar';
import type { PlaybookStep } from '../../shared/playbook';
import { daysOverdue, endStage, type Plan } from '../core/case-core';
import { actStep } from './activities';
import { drainLedger, type CaseContext } from './context';

type StepShape = Pick<PlaybookStep, 'id' | 'action' | 'description'> & Partial<Pick<PlaybookStep, 'window' | 'approval' | 'materials'>>;
const LETTERS = new Set<PlaybookStep['action']>(['overdue-notice', 'guarantor-demand', 'statement-of-account', 'legal-referral']);
/** The letters a recoverable letter fee is charged for: those sent to the debtor or a guarantor (not the referral to legal). */
const CHARGED_LETTERS = new Set<PlaybookStep['action']>(['overdue-notice', 'guarantor-demand', 'statement-of-account']);

/** The request a step's activity gets: the occurrence, its window, the case's amounts and people. */
export function stepRequest(ctx: CaseContext, step: StepShape, day: number, key: string, reason?: string): StepRequest {
  const { state, pb, input } = ctx;
  const window = step.window ?? { from: '09:00', to: '18:00' };
  const date = addDays(state.day0, day);
  return {
    ...ctx.ref(key),
    windowFrom: window.from,
    windowTo: window.to,
    windowEnd: new Date(instantOf(date, window.to, state.timeZone)).toISOString(),
    ...(step.approval ? { approvalRole: step.approval.role } : {}),
    ...(step.materials ? { materials: step.materials } : {}),
    inDispute: !!state.dispute,
    costMinor: step.action === 'field-visit' ? pb.costs.fieldVisitMinor : LETTERS.has(step.action) ? pb.costs.letterMinor : 0,
    letterLanguage: pb.letterLanguage,
    creditor: pb.creditor,
    daysOverdue: daysOverdue(state, ctx.now()),
    dueDate: state.missedPayments[0]?.dueDate ?? input.firstMissed.dueDate,
    stepId: step.id,
    action: step.action,
    day,
    description: step.description,
    debtorName: input.debtor.name,
    timeZone: state.timeZone,
    currency: state.currency,
    balance: { ...state.balance },
    ...(state.collectorId ? { collectorId: state.collectorId } : {}),
    guarantorIds: state.guarantors.map((g) => g.id),
    ...(reason ? { reason } : {}),
  };
}

/**
 * What a step charges to the debt's fees part: its cost, when the playbook makes that cost recoverable
 * (the guarantor demand is a letter to each guarantor, each one charged).
 */
export function recoverableFee(ctx: CaseContext, action: PlaybookStep['action']): number {
  const { pb, state } = ctx;
  const recoverable = pb.costs.recoverable ?? [];
  if (action === 'field-visit') return recoverable.includes('field-visit') ? pb.costs.fieldVisitMinor : 0;
  if (!CHARGED_LETTERS.has(action) || !recoverable.includes('letter')) return 0;
  return pb.costs.letterMinor * (action === 'guarantor-demand' ? state.guarantors.length : 1);
}

/** A lean run's step that runs as a local activity (not a letter). */
export const isLocalStep = (ctx: CaseContext, action: PlaybookStep['action']): boolean => ctx.lean && !LETTERS.has(action);

export type StepOutcome = StepResult | { status: 'failed'; reference: string; type?: string } | { status: 'cancelled' };

/**
 * Runs a step's activity with the playbook's bounded retry. A business refusal, or retries run out,
 * is the step's outcome ('failed', with the failure's type) and the case goes on. Since
 * 'end-cancels-step', a case that reaches an end state while the step runs cancels it ('cancelled').
 */
export async function runStep(
  ctx: CaseContext,
  fn: keyof CaseActivities,
  req: StepRequest & { approvedBy?: string },
  summary: string,
): Promise<StepOutcome> {
  // Letters (a PDF, a gateway that may be slow) stay activities: a local activity holds the workflow task, and a
  // payment arriving meanwhile would wait for it. Calls, visits and guarantor contacts are short ledger writes.
  const local = isLocalStep(ctx, req.action);
  const call = () => actStep<StepResult>(fn, summary, ctx.pb.stepAttempts, req, local);
  if (ctx.lean && LETTERS.has(req.action)) {
    // A letter checks its amounts against the ledger's cases row, which a lean run updates only when it sleeps.
    ctx.project();
    await drainLedger(ctx);
  }
  try {
    if (ctx.lean) return await cancelledOnEnd(ctx, call);
    return ctx.patched('end-cancels-step') ? await untilCaseEnds(ctx, call) : await call();
  } catch (e) {
    if (e instanceof ActivityFailure) {
      const type = e.cause instanceof ApplicationFailure ? (e.cause.type ?? undefined) : undefined;
      return { status: 'failed', reference: `failed: ${e.cause?.message ?? e.message}`, ...(type ? { type } : {}) };
    }
    // A local activity's business refusal arrives as the ApplicationFailure itself.
    if (local && e instanceof ApplicationFailure) {
      return { status: 'failed', reference: `failed: ${e.message}`, ...(e.type ? { type: e.type } : {}) };
    }
    throw e;
  }
}

/** The case has reached an end state (paid, settled, written off) that a step in flight must not hold up. */
const endReached = (ctx: CaseContext) => endStage(ctx.state) !== undefined || !!ctx.state.writeOff;

/** Runs `work` in its own scope, cancelled if the case reaches an end state first. */
async function untilCaseEnds(ctx: CaseContext, work: () => Promise<StepResult>): Promise<StepResult | { status: 'cancelled' }> {
  const stepScope = new CancellationScope();
  const watchScope = new CancellationScope();
  let ended = false;
  void watchScope
    .run(() => condition(() => endReached(ctx)))
    .then(
      () => {
        ended = true;
        stepScope.cancel();
      },
      () => undefined, // the step finished first and the watch was cancelled
    );
  try {
    return await stepScope.run(work);
  } catch (e) {
    if (ended && isCancellation(e)) return { status: 'cancelled' };
    throw e;
  } finally {
    watchScope.cancel();
  }
}

/** A lean run's step, in a scope ctx.touch() cancels when a message ends the case (no watcher of its own). */
async function cancelledOnEnd(ctx: CaseContext, work: () => Promise<StepResult>): Promise<StepResult | { status: 'cancelled' }> {
  const scope = new CancellationScope();
  ctx.stepInFlight = scope;
  ctx.stepCancelled = false;
  try {
    return await scope.run(work);
  } catch (e) {
    if (ctx.stepCancelled && isCancellation(e)) return { status: 'cancelled' };
    throw e;
  } finally {
    ctx.stepInFlight = undefined;
  }
}

/** What a supervisor reads once a step has run. */
export const DONE_WORDS: Record<PlaybookStep['action'], string> = {
  'field-visit': 'field visit planned',
  'phone-call': 'call placed',
  'guarantor-contact': 'guarantor contacted',
  'overdue-notice': 'overdue notice served',
  'guarantor-demand': 'guarantor demand served',
  'statement-of-account': 'statement of account sent',
  'legal-referral': 'legal referral requested',
};

/** One-off steps whose time passed without them (the plan's `skipped`): recorded as skipped, in the timeline too. */
export function recordSkipped(ctx: CaseContext, plan: Plan): void {
  for (const s of plan.skipped) {
    ctx.state.done[s.key] = 'skipped';
    ctx.note(ctx.pb.steps.find((x) => x.id === s.stepId)!.action, `skipped: day ${s.day} passed before it could run`);
  }
}
