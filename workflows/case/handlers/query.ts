import { setHandler } from '@temporalio/workflow';
import { caseStateQuery } from '../../../shared/messages';
import { accrue, isClosed, nextAction, view } from '../../core/case-core';
import { recommendation } from '../../core/treatments';
import type { CaseContext } from '../context';
import { upcoming } from '../publication';

/**
 * The case as it stands. A message changes the picture before the loop has planned again (it may
 * first have ledger rows to write): until then the query answers with the plan as of now, so a
 * caller never reads the step a promise or a hold has just paused.
 */
export function registerQuery(ctx: CaseContext): void {
  const { state } = ctx;
  setHandler(caseStateQuery, (asOf?: number) => {
    // The caller's clock when later than the case's own (the last time it woke); never earlier.
    const t = typeof asOf === 'number' && asOf > ctx.now() ? asOf : ctx.now();
    // Penalty to this moment: a sleeping case accrues when it wakes, a reader sees today's figure now.
    const now = isClosed(state) ? state : (JSON.parse(JSON.stringify(state)) as typeof state);
    if (now !== state) accrue(now, ctx.pb, t);
    const v = view(now, t);
    const rec = ctx.treatments && !isClosed(state) ? recommendation(state, ctx.pb) : undefined;
    if (rec) v.recommendation = rec;
    if (state.version !== ctx.plannedVersion && !isClosed(state) && state.stage !== 'legal')
      v.nextAction = upcoming(nextAction(state, ctx.pb, t));
    return v;
  });
}
