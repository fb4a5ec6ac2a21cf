import { localDate } from '../../shared/calendar';
import { assignedOutcome, type Assignment, type AssignmentRequest } from '../../shared/activities';
import { dayIndex, daysOverdue, outstandingMinor } from '../core/case-core';
import { addDays, instantOf } from '../../shared/calendar';
import type { CaseContext, Drafted } from './context';

/** Why a case is routed and by whom; to a given collector (a reassignment) or by the rules. */
type RouteArgs = [
  key: string,
  reason: string,
  by: string,
  target?: { collectorId: string; teamId?: string },
  opts?: { moveOnlyToAnotherTeam?: boolean },
];

/** What routing asks the ledger: the case's figures now, and who asked why. */
export function assignmentRequest(ctx: CaseContext, ...[key, reason, by, target, opts = {}]: RouteArgs): AssignmentRequest {
  const { state, pb, input } = ctx;
  const t = ctx.now();
  return {
    ...ctx.ref(key),
    reason,
    by,
    ...(target ? { collectorId: target.collectorId, ...(target.teamId ? { teamId: target.teamId } : {}) } : {}),
    ...(input.debtor.region ? { region: input.debtor.region } : {}),
    ...(state.situation?.segment ? { segment: state.situation.segment } : {}),
    language: pb.letterLanguage,
    outstandingMinor: outstandingMinor(state),
    daysOverdue: daysOverdue(state, t),
    localDate: localDate(t, state.timeZone),
    ...(opts.moveOnlyToAnotherTeam ? { moveOnlyToAnotherTeam: true } : {}),
  };
}

/**
 * The case takes the assignment: its owner, team and leader, and a timeline entry saying so. `noted`:
 * the entry drafted for the ledger batch that assigned the case, which wrote it in these words.
 */
export function applyAssignment(ctx: CaseContext, reason: string, a: Assignment, noted?: Drafted): void {
  const { state } = ctx;
  const from = assignedFrom(ctx);
  if (a.collectorId) state.collectorId = a.collectorId;
  else delete state.collectorId;
  if (a.teamId) state.teamId = a.teamId;
  else delete state.teamId;
  if (a.leaderId) state.leaderId = a.leaderId;
  else delete state.leaderId;
  const outcome = assignedOutcome(reason, a, from);
  if (noted) noted.commit(outcome);
  else ctx.note('assigned', outcome);
  ctx.touch();
}

/** Who has the case now, in the words of its 'assigned' entries. */
export const assignedFrom = ({ state }: CaseContext): string => `${state.teamId ?? 'no team'}/${state.collectorId ?? 'nobody'}`;

/**
 * Routing (cases since 'teams'): the assignment activity chooses the team and the collector; the
 * case records what it answered (CollectorId, TeamId) and the leader who joins large or old cases.
 */
export async function route(ctx: CaseContext, ...args: RouteArgs) {
  const reason = args[1];
  const a: Assignment = await ctx.call('assignCase', `Assign the case: ${reason}`, assignmentRequest(ctx, ...args));
  applyAssignment(ctx, reason, a);
  return a;
}

/** Reassessment days passed before the case opened are not routed again: intake already used today's figures. */
export function markPassedReassessments(ctx: CaseContext): void {
  const today = dayIndex(ctx.state, ctx.now());
  ctx.state.reassessed = ctx.pb.routing.reassessOnDays.filter((d) => d <= today);
}

/** The reassessment day due now, if any. */
export function dueReassessment(ctx: CaseContext, t: number): number | undefined {
  const today = dayIndex(ctx.state, t);
  return ctx.pb.routing.reassessOnDays.find((d) => d <= today && !ctx.state.reassessed?.includes(d));
}

/**
 * The next instant routing needs the case awake: the start of a reassessment day, or of the local day
 * the escalation's days threshold is reached.
 */
export function routingWakeAt(ctx: CaseContext, t: number): number | undefined {
  const { state, pb } = ctx;
  const days = pb.routing.reassessOnDays
    .filter((d) => !state.reassessed?.includes(d))
    .map((d) => instantOf(addDays(state.day0, d), '00:00', state.timeZone));
  const dpd = pb.routing.escalateAt.daysOverdueAtLeast;
  if (dpd !== undefined && !state.escalated && state.leaderId) {
    const now = daysOverdue(state, t);
    if (now < dpd) days.push(instantOf(addDays(localDate(t, state.timeZone), dpd - now), '00:00', state.timeZone));
  }
  const future = days.filter((x) => x > t);
  return future.length > 0 ? Math.min(...future) : undefined;
}

/** Why the case escalates to its team leader now, if it does. */
export function escalationReason(ctx: CaseContext, t: number): string | undefined {
  const { state, pb } = ctx;
  if (state.escalated || !state.leaderId || !state.teamId) return undefined;
  const e = pb.routing.escalateAt;
  if (e.balanceAtLeastMinor !== undefined && outstandingMinor(state) >= e.balanceAtLeastMinor)
    return `balance ${ctx.money(outstandingMinor(state))} at or over ${ctx.money(e.balanceAtLeastMinor)}`;
  if (e.daysOverdueAtLeast !== undefined && daysOverdue(state, t) >= e.daysOverdueAtLeast)
    return `${daysOverdue(state, t)} days overdue (threshold ${e.daysOverdueAtLeast})`;
  return undefined;
}
