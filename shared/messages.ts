import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  Approver,
  CaseView,
  ContactDetails,
  ContactOutcome,
  Dispute,
  GuarantorResponse,
  Hold,
  InKindStepInput,
  LegalEvent,
  MissedPayment,
  PaymentReceived,
  PlanDecision,
  PlanProposal,
  PromiseToPay,
  Reassign,
  SetTreatment,
  ShortfallDecision,
  SituationChange,
  VisitReportInput,
  WriteOff,
} from './case';

// Signals: facts from outside that the case takes as they come.
/** A missed instalment on the account; idempotent by due date. Sent with signalWithStart. */
export const missedPaymentSignal = defineSignal<[MissedPayment]>('missedPayment');
/** A payment from the processor's webhook; idempotent by paymentId. */
export const paymentReceivedSignal = defineSignal<[PaymentReceived]>('paymentReceived');
/** A collector's or field officer's report of a contact. Reason 6 (fraud) asks for legal review at once. */
export const contactOutcomeSignal = defineSignal<[ContactOutcome]>('contactOutcome');
/** The guarantor's answer to the demand. */
export const guarantorResponseSignal = defineSignal<[GuarantorResponse]>('guarantorResponse');
/** A field officer's report of the last visit: outcome, signed statement, written promise. */
export const visitReportSignal = defineSignal<[VisitReportInput]>('visitReport');

// Updates: requests the case accepts or rejects, with an answer.
export interface UpdateAck {
  accepted: true;
  stage: CaseView['stage'];
  detail: string;
}
export const recordPromiseUpdate = defineUpdate<UpdateAck & { promiseId: number }, [PromiseToPay]>('recordPromise');
export const setTreatmentUpdate = defineUpdate<UpdateAck, [SetTreatment]>('setTreatment');
export const approveUpdate = defineUpdate<UpdateAck, [Approver]>('approve');
export const holdUpdate = defineUpdate<UpdateAck, [Hold]>('hold');
export const resumeUpdate = defineUpdate<UpdateAck, []>('resume');
export const disputeUpdate = defineUpdate<UpdateAck, [Dispute]>('dispute');
export const resolveDisputeUpdate = defineUpdate<UpdateAck, []>('resolveDispute');
export const writeOffUpdate = defineUpdate<UpdateAck, [WriteOff]>('writeOff');
export const approveLegalReferralUpdate = defineUpdate<UpdateAck, [Approver]>('approveLegalReferral');
export const recordLegalEventUpdate = defineUpdate<UpdateAck, [LegalEvent]>('recordLegalEvent');
/** Approves the planned field visit that the playbook says needs an approval. */
export const approveVisitUpdate = defineUpdate<UpdateAck, [Approver]>('approveVisit');

/** A field officer's visit report; a written promise in it is a promise to pay, refused like recordPromise's. */
export const recordVisitReportUpdate = defineUpdate<UpdateAck & { promiseId?: number }, [VisitReportInput]>('recordVisitReport');
/** New or corrected phones, email or address of the debtor or a guarantor; a letter waiting for an address then catches up. */
export const updateContactDetailsUpdate = defineUpdate<UpdateAck, [ContactDetails]>('updateContactDetails');

// Treatments that run (cases since 'treatments').
/** A restructuring plan proposed: dated instalments adding up to the balance (or a reduced amount); reviews follow. */
export const proposePlanUpdate = defineUpdate<UpdateAck & { planNo: number }, [PlanProposal]>('proposePlan');
/** Finance's or legal's review of the proposed plan, then the manager's approval (which starts it); a refusal ends it. */
export const decidePlanUpdate = defineUpdate<UpdateAck & { planNo: number; planStatus: string }, [PlanDecision]>('decidePlan');
/** A step of the settlement in kind: offered, appraised, preserved, transferred (or abandoned). */
export const inKindStepUpdate = defineUpdate<UpdateAck, [InKindStepInput]>('inKindStep');
/** The manager's decision on what the appraised value leaves unpaid: written off, or still collected. */
export const decideShortfallUpdate = defineUpdate<UpdateAck, [ShortfallDecision]>('decideShortfall');
/** A supervisor moves the case and its open tasks to another collector (cases since 'teams'). */
export const reassignUpdate = defineUpdate<UpdateAck & { teamId?: string; collectorId?: string }, [Reassign]>('reassign');
/** Credit grade and segment (the lender's), funds (observed): the situation the recommendation is made from. */
export const setSituationUpdate = defineUpdate<UpdateAck, [SituationChange]>('setSituation');

/** The API's way in: start-or-add a missed instalment (update-with-start) and learn whether it opened the case. */
export const registerMissedPaymentUpdate = defineUpdate<{ created: boolean; caseKey: string; outstandingMinor: number }, [MissedPayment]>(
  'registerMissedPayment',
);
/**
 * The API's way to apply a payment and learn whether it was applied (false: a duplicate paymentId).
 * `inLedger`: the payment's ledger row was written before the answer, with the processor's receipt
 * marked in the same transaction (cases since 'payment-ledger-first'); absent, the API marks it.
 */
export const receivePaymentUpdate = defineUpdate<
  { applied: boolean; outstandingMinor: number; stage: CaseView['stage']; inLedger?: boolean },
  [PaymentReceived]
>('receivePayment');

// Queries.
/** The case as a supervisor or the API reads it: stage, balance, days overdue, next action, timeline. */
/**
 * `asOf` (epoch ms, the caller's clock): penalty and days overdue as of then. A sleeping case wakes
 * only when something is due, so its own clock is the last time it woke; the API passes its now.
 */
export const caseStateQuery = defineQuery<CaseView, [asOf?: number]>('caseState');
