import type { CaseStage, ContactOutcome, LegalEvent, MissedPayment, PaymentReceived } from './case';
import type { Allocation, Balance } from './money';
import type { ActionKind, TreatmentKind } from './playbook';

/**
 * The case workflow's side effects, as typed interfaces. Every request carries an idempotency key
 * built from the case key (workflow ID + the first run's ID, stable across continue-as-new),
 * the step and its occurrence, so a retried activity never sends, visits or records twice.
 */
export interface CaseRef {
  idempotencyKey: string;
  /** `<workflowId>/<first run ID>`: one collection case of the account, across continue-as-new. */
  caseKey: string;
  accountId: string;
}

export interface CaseOpening extends CaseRef {
  workflowId: string;
  debtorName: string;
  currency: string;
  firstMissed: MissedPayment;
  playbookId: string;
  playbookVersion: number;
  openedAt: string;
}

export interface PaymentRecord extends CaseRef {
  payment: PaymentReceived;
  allocation: Allocation;
  outstandingAfterMinor: number;
}

export interface CaseClosing extends CaseRef {
  stage: CaseStage;
  closedAt: string;
  paidMinor: number;
  outstandingMinor: number;
}

/** A playbook step to carry out: a visit, call, letter, demand or referral. */
export interface StepRequest extends CaseRef {
  stepId: string;
  action: ActionKind;
  /** Ladder day of this occurrence (day 0 = first overdue day). */
  day: number;
  description: string;
  debtorName: string;
  timeZone: string;
  currency: string;
  balance: Balance;
  collectorId?: string;
  guarantorIds: string[];
  /** Why a legal referral came forward, when it did. */
  reason?: string;
}

export interface StepResult {
  /** The ledger row (visit, call task, notice, demand, referral) the step created or found. */
  reference: string;
}

export interface ContactOutcomeRecord extends CaseRef {
  day: number;
  outcome: ContactOutcome;
}

export interface LegalEventRecord extends CaseRef {
  event: LegalEvent;
}

export interface TreatmentRecord extends CaseRef {
  treatment: TreatmentKind;
  approvedBy: string;
  balance: Balance;
}

export interface WriteOffRecord extends CaseRef {
  reason: string;
  by: string;
  balance: Balance;
}

export interface SupervisorReminder extends CaseRef {
  subject: string;
  reminder: number;
}

export interface BlacklistRequest extends CaseRef {
  debtorName: string;
  daysOverdue: number;
}

export interface CaseActivities {
  recordCaseOpened(opening: CaseOpening): Promise<{ caseId: number }>;
  recordPayment(record: PaymentRecord): Promise<{ recorded: boolean }>;
  recordCaseClosed(closing: CaseClosing): Promise<void>;
  scheduleFieldVisit(req: StepRequest): Promise<StepResult>;
  placeCollectionCall(req: StepRequest): Promise<StepResult>;
  contactGuarantor(req: StepRequest): Promise<StepResult>;
  serveOverdueNotice(req: StepRequest): Promise<StepResult>;
  demandGuarantorPayment(req: StepRequest): Promise<StepResult>;
  sendStatementOfAccount(req: StepRequest): Promise<StepResult>;
  requestLegalReferral(req: StepRequest): Promise<StepResult>;
  remindSupervisor(reminder: SupervisorReminder): Promise<void>;
  referToLegal(req: StepRequest & { approvedBy: string }): Promise<StepResult>;
  recordContactOutcome(record: ContactOutcomeRecord): Promise<void>;
  recordLegalEvent(record: LegalEventRecord): Promise<void>;
  recordTreatment(record: TreatmentRecord): Promise<void>;
  recordWriteOff(record: WriteOffRecord): Promise<void>;
  placeOnBlacklist(req: BlacklistRequest): Promise<void>;
}

/** The activity that carries out each playbook action. */
export const STEP_ACTIVITY: Record<ActionKind, keyof CaseActivities> = {
  'field-visit': 'scheduleFieldVisit',
  'phone-call': 'placeCollectionCall',
  'guarantor-contact': 'contactGuarantor',
  'overdue-notice': 'serveOverdueNotice',
  'guarantor-demand': 'demandGuarantorPayment',
  'statement-of-account': 'sendStatementOfAccount',
  'legal-referral': 'requestLegalReferral',
};
