import { condition, allHandlersFinished, continueAsNew, sleep } from '@temporalio/workflow';
import type { CaseInput, CaseResult } from '../../shared/case';
import { createContext } from './context';
import { registerContactHandlers } from './handlers/contacts';
import { registerDecisionHandlers } from './handlers/decisions';
import { registerLegalHandlers } from './handlers/legal';
import { registerPaymentHandlers } from './handlers/payments';
import { registerPromiseHandlers } from './handlers/promises';
import { registerQuery } from './handlers/query';
import { registerRoutingHandlers } from './handlers/routing';
import { registerTreatmentHandlers } from './handlers/treatments';
import { openCase } from './lifecycle';
import { runCase } from './loop';
import { createPublication } from './publication';

/**
 * One overdue account's collection case, driven by its playbook. The workflow only sleeps until the
 * next thing is due, asks the pure decision core (workflows/core/) what that is, runs the activity
 * and records the outcome. Every message bumps `state.version`, which wakes the loop to decide again.
 */
export async function collectionCase(input: CaseInput): Promise<CaseResult> {
  const ctx = createContext(input);
  // Handlers first, before the first await: a message that comes with the start is not lost.
  registerQuery(ctx);
  registerPaymentHandlers(ctx);
  registerContactHandlers(ctx);
  registerPromiseHandlers(ctx);
  registerDecisionHandlers(ctx);
  registerLegalHandlers(ctx);
  registerTreatmentHandlers(ctx);
  registerRoutingHandlers(ctx);
  const publish = createPublication(ctx);

  if (ctx.fresh) await openCase(ctx, publish);
  const ended = await runCase(ctx, publish);
  if (ended !== 'closed') return continueAsNew<typeof collectionCase>(ended.continueWith);

  await condition(allHandlersFinished);
  // The task that closed the case (often a payment's update) ends with a timer, not with the completion:
  // the server takes it even if an activity ended meanwhile, and the update's answer stands.
  if (ctx.closeApart) await sleep(1);
  const { state } = ctx;
  return { accountId: state.accountId, stage: state.stage, paidMinor: state.paidMinor, closedAt: state.closedAt! };
}
