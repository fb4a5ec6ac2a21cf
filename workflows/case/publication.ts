import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CaseState } from '../../shared/case';
import {
  BrokenPromises,
  CaseStage,
  CollectorId,
  CreditGrade,
  DaysOverdue,
  Funds,
  HasGuarantor,
  OutstandingMinor,
  OverdueSince,
  Segment,
  TeamId,
  Treatment,
} from '../../shared/search-attributes';
import { dayIndex, daysOverdue, describeNext, isClosed, nextAction, outstandingMinor, overdueSince, type Plan } from '../core/case-core';
import { recommendation } from '../core/treatments';
import type { CaseContext } from './context';

const KEYS = {
  CaseStage,
  DaysOverdue,
  OutstandingMinor,
  HasGuarantor,
  BrokenPromises,
  Treatment,
  CollectorId,
  OverdueSince,
  CreditGrade,
  Segment,
  Funds,
  TeamId,
} as const;

/** What moves the balance other than time: principal, fees, payments. */
const movedOf = (s: CaseState) => `${s.balance.principalMinor}/${s.balance.feesMinor}/${s.paidMinor}`;

export const upcoming = (plan?: Plan): CaseState['nextAction'] =>
  plan?.next ? { stepId: plan.next.stepId, action: plan.next.action, day: plan.next.day, dueAt: plan.next.dueAt } : undefined;

/**
 * What supervisors see of a case: its search attributes (upserted when a value changed), the
 * current-details line, and the ledger's cases row (queued when what it shows changed).
 */
export function createPublication(ctx: CaseContext): (plan?: Plan) => void {
  const { state } = ctx;
  const published: Record<string, unknown> = {};
  let projected = '';
  let lastMoved = '';
  // A new case starts with the attributes intake gave it (activities/intake.ts): what they already say is
  // not upserted again, and the balance they show is the case's as it opens (cases since 'start-attributes').
  if (ctx.fresh && ctx.lean && ctx.patched('start-attributes')) {
    const given = workflowInfo().typedSearchAttributes;
    for (const [name, key] of Object.entries(KEYS)) {
      const v = given.get(key as never) as unknown;
      if (v !== undefined) published[name] = v instanceof Date ? v.toISOString() : v;
    }
    published.CollectorId ??= ''; // no collector is published as no attribute
    lastMoved = movedOf(state);
  }

  // The ledger's cases row follows the workflow: written whenever what it shows changes.
  const rowOf = (s: CaseState, next: string) => ({
    stage: s.stage,
    ...(s.collectorId ? { collectorId: s.collectorId } : {}),
    daysOverdue: daysOverdue(s, ctx.now()),
    balance: { ...s.balance },
    paidMinor: s.paidMinor,
    brokenPromises: s.brokenPromises,
    treatment: s.treatment.kind,
    inDispute: !!s.dispute,
    nextAction: next,
    ...(s.nextAction ? { nextActionAt: s.nextAction.dueAt } : {}),
    ...(ctx.lean ? { overdueSince: overdueSince(s) } : {}),
    ...(s.situation ? { situation: { ...s.situation } } : {}),
    // Contact paused (its call tasks leave every queue): cases since 'teams'.
    ...(ctx.teams ? { paused: next.startsWith('paused') || s.stage === 'restructured' } : {}),
  });
  const projectIfChanged = (next: string) => {
    const row = rowOf(state, next);
    const signature = JSON.stringify(row);
    if (signature === projected) return;
    projected = signature;
    const n = ++state.projectionNo;
    ctx.queue('projectCase', `Update the ledger's case row (${n})`, { ...ctx.ref(`projection:${n}`), projectionNo: n, ...row });
  };

  // The row a change will leave (a payment's), computed on a copy of the state the way the loop's next
  // pass will compute it (the plan as of now), so that pass finds nothing new to send.
  ctx.draftProjection = (after, assigned) => {
    const plan = nextAction(after, ctx.pb, ctx.now());
    after.nextAction = upcoming(plan);
    const row = rowOf(after, describeNext(after, ctx.pb, plan));
    const n = ++state.projectionNo;
    return {
      write: { fn: 'projectCase', arg: { ...ctx.ref(`projection:${n}`), projectionNo: n, ...row } },
      commit: () => {
        // Unless a later row was queued meanwhile (then the loop compares with that one).
        if (state.projectionNo !== n) return;
        // The row with the collector the batch's assignment wrote into it, where rowOf puts one.
        const collectorId = assigned?.();
        const { stage, ...rest } = row;
        projected = JSON.stringify(collectorId ? { stage, collectorId, ...rest } : row);
      },
      abandon: () => {
        if (state.projectionNo === n) state.projectionNo = n - 1;
      },
    };
  };

  // Letters reconcile their amounts with this row: a lean run brings it up to date before one (steps.ts).
  ctx.project = () => projectIfChanged(describeNext(state, ctx.pb, undefined));

  return (plan?: Plan) => {
    const t = ctx.now();
    const values: Record<string, unknown> = {
      CaseStage: state.stage,
      DaysOverdue: daysOverdue(state, t),
      OutstandingMinor: outstandingMinor(state),
      HasGuarantor: state.guarantors.length > 0,
      BrokenPromises: state.brokenPromises,
      Treatment: state.treatment.kind,
      CollectorId: state.collectorId ?? '',
      ...(ctx.lean ? { OverdueSince: overdueSince(state) } : {}),
      // The situation, once known (cases since 'treatments'); never a person's particulars.
      ...(state.situation?.creditGrade ? { CreditGrade: state.situation.creditGrade } : {}),
      ...(state.situation?.segment ? { Segment: state.situation.segment } : {}),
      ...(state.situation?.funds ? { Funds: state.situation.funds } : {}),
      ...(state.teamId ? { TeamId: state.teamId } : {}),
    };
    let changed = Object.entries(values).filter(([k, v]) => published[k] !== v);
    // A lean run does not upsert for time passing alone: DaysOverdue and the penalty in OutstandingMinor
    // move every day (OverdueSince answers "how long"); they are brought up to date with any other change.
    if (ctx.lean) {
      const moved = movedOf(state);
      if (changed.every(([k]) => k === 'DaysOverdue' || k === 'OutstandingMinor') && moved === lastMoved) changed = [];
      lastMoved = moved;
    }
    if (changed.length > 0) {
      upsertSearchAttributes(
        changed
          .filter(([k, v]) => !(k === 'CollectorId' && v === ''))
          .map(([k, v]) => ({ key: KEYS[k as keyof typeof KEYS], value: k === 'OverdueSince' ? new Date(v as string) : v }) as never),
      );
      Object.assign(published, values);
    }
    const next = describeNext(state, ctx.pb, plan);
    state.nextAction = upcoming(plan);
    ctx.plannedVersion = state.version;
    const rec = ctx.treatments && !isClosed(state) ? recommendation(state, ctx.pb) : undefined;
    const advice = rec && rec.treatment !== state.treatment.kind ? ` Recommended: ${rec.treatment} (${rec.why}).` : '';
    setCurrentDetails(
      `Day ${dayIndex(state, t)}: ${ctx.lastEvent}. Outstanding ${ctx.money(outstandingMinor(state))}. Next: ${next}.${advice}`,
    );
    projectIfChanged(next);
  };
}
