import type { MissedPayment, PaymentReceived } from './case';

/**
 * The case workflow's side effects. Every call carries an idempotency key
 * (workflow ID + step + occurrence) so a retried activity never records twice.
 */
export interface CaseOpening {
  idempotencyKey: string;
  accountId: string;
  workflowId: string;
  runId: string;
  debtorName: string;
  currency: string;
  firstMissed: MissedPayment;
  openedAt: string;
}

export interface PaymentRecord {
  idempotencyKey: string;
  accountId: string;
  workflowId: string;
  runId: string;
  payment: PaymentReceived;
  outstandingAfterMinor: number;
}

export interface CaseClosing {
  idempotencyKey: string;
  runId: string;
  stage: 'paid';
  closedAt: string;
}

export interface CaseActivities {
  recordCaseOpened(opening: CaseOpening): Promise<{ caseId: number }>;
  recordPayment(record: PaymentRecord): Promise<{ recorded: boolean }>;
  recordCaseClosed(closing: CaseClosing): Promise<void>;
}
