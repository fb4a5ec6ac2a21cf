import { proxyActivities, proxyLocalActivities, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { CaseActivities } from '../../shared/activities';
import { ErrorTypes } from '../../shared/errors';

/** Ledger writes and outbound steps are short; a database or gateway outage is retried with a capped interval. */
const ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: [
      ErrorTypes.CurrencyMismatch,
      ErrorTypes.InvalidInput,
      ErrorTypes.ReconciliationMismatch,
      ErrorTypes.CaseNotFound,
      ErrorTypes.InvalidRecipient,
      ErrorTypes.ChannelRejected,
      ErrorTypes.InconsistentAmounts,
      ErrorTypes.PaymentIdConflict,
      ErrorTypes.LetterNotPossible,
    ],
  },
};
const acts = proxyActivities<CaseActivities>(ACTIVITY_OPTIONS);

type Callable = { executeWithOptions(o: ActivityOptions, a: unknown[]): Promise<unknown> };

/** Calls an activity with a summary, the line the Temporal UI shows for it. */
export function act<K extends keyof CaseActivities>(
  fn: K,
  summary: string,
  ...args: Parameters<CaseActivities[K]>
): ReturnType<CaseActivities[K]> {
  return (acts[fn] as unknown as Callable).executeWithOptions({ ...ACTIVITY_OPTIONS, summary }, args) as ReturnType<CaseActivities[K]>;
}

/** Steps of playbooks from before `stepAttempts` existed. */
const DEFAULT_STEP_ATTEMPTS = 12;

/** Calls a step's activity with its summary and the playbook's bounded retry. */
export function actStep<T>(fn: keyof CaseActivities, summary: string, stepAttempts: number | undefined, req: unknown): Promise<T> {
  const retry = { ...ACTIVITY_OPTIONS.retry, maximumAttempts: stepAttempts ?? DEFAULT_STEP_ATTEMPTS };
  return (acts[fn] as unknown as Callable).executeWithOptions({ ...ACTIVITY_OPTIONS, summary, retry }, [req]) as Promise<T>;
}

/**
 * A payment's ledger row is written before the case applies the payment, as a local activity: the
 * processor waits for it, and a local activity answers in the worker without a round trip through
 * the server (idempotent on its key, so a worker that dies mid-write and replays writes it once). A
 * ledger that stays unreachable refuses the payment (the processor retries) rather than leaving it
 * half applied.
 */
const LEDGER_NOW_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: ACTIVITY_OPTIONS.retry,
};
const ledgerNow = proxyLocalActivities<Pick<CaseActivities, 'recordPayment'>>(LEDGER_NOW_OPTIONS);

export function recordPaymentNow(
  summary: string,
  record: Parameters<CaseActivities['recordPayment']>[0],
): ReturnType<CaseActivities['recordPayment']> {
  return ledgerNow.recordPayment.executeWithOptions({ ...LEDGER_NOW_OPTIONS, summary }, [record]);
}
