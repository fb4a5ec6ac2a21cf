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

/**
 * Local activities (cases since 'lean-case'): short writes and sends that run in the worker inside
 * the workflow task, one history event each, no round trip through the server. Retried like the
 * activities above; a retry that waits longer than a minute waits on a workflow timer.
 */
const LOCAL_OPTIONS: LocalActivityOptions = { startToCloseTimeout: '1 minute', retry: ACTIVITY_OPTIONS.retry };
const locals = proxyLocalActivities<CaseActivities>(LOCAL_OPTIONS);
type LocalCallable = { executeWithOptions(o: LocalActivityOptions, a: unknown[]): Promise<unknown> };

/** Calls an activity as a local activity, with a summary. */
export function actLocal<K extends keyof CaseActivities>(
  fn: K,
  summary: string,
  arg: Parameters<CaseActivities[K]>[0],
): ReturnType<CaseActivities[K]> {
  return (locals[fn] as unknown as LocalCallable).executeWithOptions({ ...LOCAL_OPTIONS, summary }, [arg]) as ReturnType<CaseActivities[K]>;
}

/** The ledger rows of one step, in one transaction. */
export function writeLedgerNow(
  summary: string,
  batch: Parameters<CaseActivities['writeLedger']>[0],
): ReturnType<CaseActivities['writeLedger']> {
  return actLocal('writeLedger', summary, batch);
}

/** Calls a step's activity with its summary and the playbook's bounded retry (a local activity in a lean run). */
export function actStep<T>(
  fn: keyof CaseActivities,
  summary: string,
  stepAttempts: number | undefined,
  req: unknown,
  local = false,
): Promise<T> {
  const retry = { ...ACTIVITY_OPTIONS.retry, maximumAttempts: stepAttempts ?? DEFAULT_STEP_ATTEMPTS };
  if (local) return (locals[fn] as unknown as LocalCallable).executeWithOptions({ ...LOCAL_OPTIONS, summary, retry }, [req]) as Promise<T>;
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
const ledgerNow = proxyLocalActivities<Pick<CaseActivities, 'recordPayment' | 'writeLedger'>>(LEDGER_NOW_OPTIONS);

export function recordPaymentNow(
  summary: string,
  record: Parameters<CaseActivities['recordPayment']>[0],
): ReturnType<CaseActivities['recordPayment']> {
  return ledgerNow.recordPayment.executeWithOptions({ ...LEDGER_NOW_OPTIONS, summary }, [record]);
}

/**
 * A payment with the rows that follow from it (its timeline entry, the cases row as the payment
 * leaves it), in one transaction, with the payment's bounded retry: the update answers after one
 * local activity (cases since 'payment-one-write').
 */
export async function writePaymentNow(summary: string, batch: Parameters<CaseActivities['writeLedger']>[0]): Promise<void> {
  await ledgerNow.writeLedger.executeWithOptions({ ...LEDGER_NOW_OPTIONS, summary }, [batch]);
}
