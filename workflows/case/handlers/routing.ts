import { ActivityFailure, ApplicationFailure, setHandler } from '@temporalio/workflow';
import type { Reassign } from '../../../shared/case';
import { ErrorTypes } from '../../../shared/errors';
import { reassignUpdate } from '../../../shared/messages';
import type { CaseContext } from '../context';
import { route } from '../routing';

/** A supervisor's reassignment (cases since 'teams'): the case and its open tasks move, audited by the assignment activity. */
export function registerRoutingHandlers(ctx: CaseContext): void {
  setHandler(
    reassignUpdate,
    async (r: Reassign) => {
      try {
        const a = await route(ctx, `assign:reassign:${ctx.notes()}`, `reassigned by ${r.by}: ${r.reason}`, r.by, {
          collectorId: r.collectorId,
          ...(r.teamId ? { teamId: r.teamId } : {}),
        });
        ctx.lastEvent = `reassigned to ${a.collectorId}`;
        return { ...ctx.ack(`the case and its open tasks are ${a.collectorId}'s (team ${a.teamId ?? 'none'})`), ...a };
      } catch (e) {
        // The routing's refusal (no such collector) is the answer; a local activity's arrives as itself.
        const why = e instanceof ActivityFailure ? e.cause : e;
        if (why instanceof ApplicationFailure) throw ApplicationFailure.nonRetryable(why.message, why.type ?? ErrorTypes.InvalidInput);
        throw e;
      }
    },
    {
      validator: (_r: Reassign) => {
        if (!ctx.teams) throw new Error('this case began before teams and routing; it is reassigned after its next continue-as-new');
        ctx.mustBeActive();
      },
    },
  );
}
