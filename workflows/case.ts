import {
  condition,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  ApplicationFailure,
} from '@temporalio/workflow';
import type { CaseActivities } from '../shared/activities';
import type { CaseInput, CaseResult, CaseState, MissedPayment, PaymentReceived } from '../shared/case';
import { ErrorTypes } from '../shared/errors';
import { caseStateQuery, missedPaymentSignal, paymentReceivedSignal } from '../shared/messages';
import { CaseStage, OutstandingMinor } from '../shared/search-attributes';

/** Ledger writes are short; a database outage is retried with a capped interval, business errors are not. */
const ledger = proxyActivities<CaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [ErrorTypes.CurrencyMismatch, ErrorTypes.InvalidInput],
  },
});

/**
 * One overdue account's collection case. This first slice opens the case in the ledger, takes
 * missed instalments and payments, and closes the case as paid when the balance reaches zero.
 */
export async function collectionCase(input: CaseInput): Promise<CaseResult> {
  const { workflowId, runId } = workflowInfo();
  const openedAt = new Date().toISOString(); // workflow clock: deterministic on replay
  const state: CaseState = {
    accountId: input.accountId,
    stage: 'open',
    currency: input.currency,
    missedMinor: 0,
    paidMinor: 0,
    outstandingMinor: 0,
    missedPayments: [],
    payments: [],
    openedAt,
  };
  const unrecorded: PaymentReceived[] = [];

  const addMissed = (m: MissedPayment): void => {
    if (m.currency !== state.currency || state.stage !== 'open') return;
    if (state.missedPayments.some((p) => p.dueDate === m.dueDate)) return; // idempotent by due date
    state.missedPayments.push(m);
    state.missedMinor += m.amountMinor;
    state.outstandingMinor = state.missedMinor - state.paidMinor;
  };

  // Handlers before the first await, so a signal sent with the start is never missed.
  setHandler(caseStateQuery, () => state);
  setHandler(missedPaymentSignal, addMissed);
  setHandler(paymentReceivedSignal, (p) => {
    if (state.payments.some((q) => q.paymentId === p.paymentId)) return; // idempotent by paymentId
    if (p.currency !== state.currency) return; // the API refuses these before they get here
    state.payments.push(p);
    state.paidMinor += p.amountMinor;
    state.outstandingMinor = state.missedMinor - state.paidMinor;
    unrecorded.push(p);
  });

  if (input.firstMissed.currency !== input.currency) {
    throw ApplicationFailure.nonRetryable(
      `first missed payment is in ${input.firstMissed.currency}, the account in ${input.currency}`,
      ErrorTypes.CurrencyMismatch,
    );
  }
  addMissed(input.firstMissed);
  publish(state);

  await ledger.recordCaseOpened({
    idempotencyKey: `${workflowId}:${runId}:open:1`,
    accountId: input.accountId,
    workflowId,
    runId,
    debtorName: input.debtor.name,
    currency: input.currency,
    firstMissed: input.firstMissed,
    openedAt,
  });

  while (state.outstandingMinor > 0 || unrecorded.length > 0) {
    await condition(() => unrecorded.length > 0);
    const payment = unrecorded.shift()!;
    const outstandingAfter = balanceAfter(state, payment);
    await ledger.recordPayment({
      idempotencyKey: `${workflowId}:payment:${payment.paymentId}`,
      accountId: input.accountId,
      workflowId,
      runId,
      payment,
      outstandingAfterMinor: outstandingAfter,
    });
    publish(state);
  }

  state.stage = 'paid';
  state.closedAt = new Date().toISOString();
  await ledger.recordCaseClosed({
    idempotencyKey: `${workflowId}:${runId}:close:1`,
    runId,
    stage: 'paid',
    closedAt: state.closedAt,
  });
  publish(state);
  return { accountId: input.accountId, stage: state.stage, paidMinor: state.paidMinor, closedAt: state.closedAt };
}

/** The balance right after `payment`, counting only the payments that came before it. */
function balanceAfter(state: CaseState, payment: PaymentReceived): number {
  const idx = state.payments.findIndex((p) => p.paymentId === payment.paymentId);
  const paidUpTo = state.payments.slice(0, idx + 1).reduce((sum, p) => sum + p.amountMinor, 0);
  return Math.max(0, state.missedMinor - paidUpTo);
}

function publish(state: CaseState): void {
  upsertSearchAttributes([
    { key: CaseStage, value: state.stage },
    { key: OutstandingMinor, value: state.outstandingMinor },
  ]);
  setCurrentDetails(
    state.stage === 'paid'
      ? `Closed: paid in full (${state.paidMinor} ${state.currency} minor units).`
      : `Open: ${state.outstandingMinor} ${state.currency} minor units outstanding.`,
  );
}
