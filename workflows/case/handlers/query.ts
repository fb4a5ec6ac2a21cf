import { setHandler } from '@temporalio/workflow';
import { caseStateQuery } from '../../../shared/messages';
import { isClosed, nextAction, view } from '../../core/case-core';
import type { CaseContext } from '../context';
import { upcoming } from '../publication';

/**
 * The case as it stands. A message changes the picture before the loop has planned again (it may
 * first have ledger rows to write): until then the query answers with the plan as of now, so a
 * caller never reads the step a promise or a hold has just paused.
 */
export function registerQuery(ctx: CaseContext): void {
  const { state } = ctx;
  setHandler(caseStateQuery, () => {
    const t = ctx.now();
    const v = view(state, t);
    if (state.version !== ctx.plannedVersion && !isClosed(state) && state.stage !== 'legal')
      v.nextAction = upcoming(nextAction(state, ctx.pb, t));
    return v;
  });
}
