import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CaseState, MissedPayment, PaymentReceived } from './case';

/** A missed instalment on the account; idempotent by due date. Sent with signalWithStart. */
export const missedPaymentSignal = defineSignal<[MissedPayment]>('missedPayment');
/** A payment from the processor's webhook; idempotent by paymentId. */
export const paymentReceivedSignal = defineSignal<[PaymentReceived]>('paymentReceived');
/** The case as a supervisor or the API reads it. */
export const caseStateQuery = defineQuery<CaseState>('caseState');
