import type {
  CaseStage,
  ContactOutcome,
  Debtor,
  Guarantor,
  InKindRecord,
  LegalEvent,
  MissedPayment,
  PaymentReceived,
  PlanRecord,
  Situation,
  TimelineEntry,
} from './case';
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
  /** The workflow's clock when it asked: rows are dated by the case's time, not the worker's. */
  at: string;
}

export interface CaseOpening extends CaseRef {
  workflowId: string;
  debtorName: string;
  debtor: Debtor;
  guarantors: Guarantor[];
  collectorId?: string;
  currency: string;
  firstMissed: MissedPayment;
  playbookId: string;
  playbookVersion: number;
  openedAt: string;
  /** Credit grade and segment given at intake (cases since 'treatments'). */
  situation?: Situation;
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
  /**
   * Lift the account's credit hold (cases since 'treatments': only when paid, or settled with nothing
   * forgiven; a written-off or legal-closed case keeps it until a supervisor releases it). Absent: lift
   * it (older cases lifted it on every close).
   */
  liftHold?: boolean;
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
  /**
   * Rows the step writes itself, in its own transaction, once it is done (a lean case's call, visit or
   * guarantor contact, since 'step-one-write'): its timeline entry, whose outcome is the step's
   * reference, and the cases row the step leaves. Not written when the step is refused.
   */
  afterDone?: LedgerWrite[];
  /** Why a legal referral came forward, when it did. */
  reason?: string;
  /** End of this occurrence's local window (calls, visits). */
  windowEnd: string;
  windowFrom: string;
  windowTo: string;
  /** Field visits: the approval the playbook asks for, and what to bring. */
  approvalRole?: 'supervisor' | 'manager';
  materials?: string[];
  /** The case is in dispute (the guard refuses contact). */
  inDispute: boolean;
  costMinor: number;
  /** Part of costMinor charged to the debt's fees part (a recoverable cost, already in `balance`). */
  feeMinor?: number;
  letterLanguage: 'zh-CN' | 'en';
  creditor: { name: string; address?: string; phone?: string };
  daysOverdue: number;
  dueDate: string;
}

/** What a step did: done (with the ledger row it created or found), or refused by the compliance guard. */
export type StepResult =
  { status: 'done'; reference: string } | { status: 'refused'; rule: string; reason: string; nextAllowedAt?: string };

export interface MissedPaymentRecord extends CaseRef {
  missed: MissedPayment;
}

/** The cases row: what finance and supervisors read without asking the workflow. */
export interface CaseProjection extends CaseRef {
  projectionNo: number;
  stage: CaseStage;
  collectorId?: string;
  daysOverdue: number;
  balance: Balance;
  paidMinor: number;
  brokenPromises: number;
  treatment: TreatmentKind;
  inDispute: boolean;
  nextAction?: string;
  nextActionAt?: string;
  /** Start of the local day the oldest unpaid instalment became overdue (cases since 'lean-case'). */
  overdueSince?: string;
  /** Credit grade, segment and funds, once known (cases since 'treatments'). */
  situation?: { creditGrade?: string; segment?: string; funds?: string };
  /** Contact is paused (hold, dispute, promise, plan, settlement in kind): cases since 'teams'. */
  paused?: boolean;
}

export interface PromiseLedgerRecord extends CaseRef {
  promiseNo: number;
  date: string;
  amountMinor: number;
  status: 'pending' | 'kept' | 'broken';
  madeAt: string;
}

export interface VisitApproval extends CaseRef {
  visitReference: string;
  by: string;
  role: string;
}

export interface VisitCancellation extends CaseRef {
  visitReference: string;
  reason: string;
}

export interface VisitReport extends CaseRef {
  visitReference: string;
  outcome: string;
  signedStatement: boolean;
  writtenPromise?: string;
  note: string;
  officerId?: string;
}

export interface ContactOutcomeRecord extends CaseRef {
  day: number;
  outcome: ContactOutcome;
  /** Who reported it (collector or field officer id), for the contact log. */
  actor: string;
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
  /** The message's text (default: the legal referral's approval reminder). */
  body?: string;
  reminder: number;
  /** Rows written once the reminder is sent (its timeline entry, since 'step-one-write'). */
  afterDone?: LedgerWrite[];
}

/**
 * A step that failed for good (a business refusal, or its retries ran out): its letters still
 * `pending` are marked failed, the audit log says why, and supervisors are told once.
 */
export interface StepFailure extends CaseRef {
  /** The failed step's own idempotency key (its rows are keyed on it). */
  stepKey: string;
  stepId: string;
  action: ActionKind;
  day: number;
  reason: string;
}

export interface ContactDetailsRecord extends CaseRef {
  debtor?: { phones?: string[]; email?: string; address?: string };
  guarantors?: Array<{ id: string; phones?: string[]; address?: string }>;
  by: string;
}

export interface BlacklistRequest extends CaseRef {
  debtorName: string;
  daysOverdue: number;
}

/**
 * A restructuring plan as it stands after an event (proposed, an approval, started, an instalment
 * paid, kept, broken, refused): the ledger keeps the plan, its instalments and its approvals. Rows
 * never go back: a revision older than the one written is ignored.
 */
export interface PlanLedgerRecord extends CaseRef {
  plan: PlanRecord;
  /** Plan paid so far (since it started), for the instalments' paid amounts. */
  paidMinor: number;
  revision: number;
  event: string;
  /** Who caused the event (a person, or 'case-workflow'). */
  actor: string;
}

/** The settlement in kind after a step (offered, appraised, preserved, shortfall decided, transferred, abandoned). */
export interface InKindLedgerRecord extends CaseRef {
  inKind: InKindRecord;
  revision: number;
  event: string;
  actor: string;
}

/** Reasons 4 and 5 are payment problems, not delinquency: finance looks for the money. */
export interface PaymentInvestigationRequest extends CaseRef {
  reasonCategory: 4 | 5;
  reportedBy: string;
  note: string;
}

/** Timeline entries of a case, numbered from 1 across continue-as-new. */
export interface TimelineRecord extends CaseRef {
  entries: Array<TimelineEntry & { seq: number }>;
}

/**
 * The activities whose rows a case writes together, in order, in one ledger transaction
 * (`writeLedger`, a local activity): the rows of one workflow step reach the ledger in one round trip.
 */
export const BATCHED_WRITES = [
  'recordCaseOpened',
  'recordMissedPayment',
  'recordPayment',
  'projectCase',
  'recordPromise',
  'recordCaseClosed',
  'placeOnBlacklist',
  'recordContactOutcome',
  'recordVisitReport',
  'recordContactDetails',
  'recordLegalEvent',
  'recordVisitApproval',
  'cancelVisit',
  'recordTimeline',
  'recordPlan',
  'recordInKind',
  'openPaymentInvestigation',
  'recordWriteOff',
] as const satisfies ReadonlyArray<keyof CaseActivities>;
type BatchedWrite = (typeof BATCHED_WRITES)[number];
export type LedgerWrite = { [K in BatchedWrite]: { fn: K; arg: Parameters<CaseActivities[K]>[0] } }[BatchedWrite];

export interface CaseActivities {
  /** The ledger's row id of the case (`cases.id`), not the case key. */
  recordCaseOpened(opening: CaseOpening): Promise<{ caseRowId: number }>;
  recordMissedPayment(record: MissedPaymentRecord): Promise<void>;
  projectCase(projection: CaseProjection): Promise<void>;
  recordPromise(record: PromiseLedgerRecord): Promise<void>;
  recordVisitApproval(approval: VisitApproval): Promise<void>;
  cancelVisit(cancellation: VisitCancellation): Promise<void>;
  recordVisitReport(report: VisitReport): Promise<void>;
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
  recordStepFailure(alert: StepFailure): Promise<void>;
  recordContactDetails(record: ContactDetailsRecord): Promise<void>;
  recordTimeline(record: TimelineRecord): Promise<void>;
  recordPlan(record: PlanLedgerRecord): Promise<void>;
  recordInKind(record: InKindLedgerRecord): Promise<void>;
  openPaymentInvestigation(request: PaymentInvestigationRequest): Promise<void>;
  assignCase(request: AssignmentRequest): Promise<Assignment>;
  escalateToLeader(request: EscalationRequest): Promise<void>;
  /** Several of the writes above, in order, in one transaction (BATCHED_WRITES). */
  /**
   * With `assign` (a new case's routing at intake, cases since 'open-and-assign-in-one-write'): the
   * case is assigned in the same transaction, after the writes, and the assignment is the answer.
   * With `assignedNote` too (cases since 'open-in-one-write'): the timeline entry that says whom the
   * case went to, written after the assignment, in its words (assignedOutcome) at the seq given.
   */
  writeLedger(batch: {
    caseKey: string;
    writes: LedgerWrite[];
    assign?: AssignmentRequest;
    assignedNote?: AssignedNote;
  }): Promise<void | { assignment: Assignment }>;
}

/** The 'assigned' timeline entry of an assignment made in a ledger batch: all but its words. */
export interface AssignedNote {
  seq: number;
  at: string;
  day: number;
  /** Who had the case before ('no team/nobody' is not said). */
  from: string;
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

/**
 * Route a case (issue 13): at intake, when a playbook's reassessment day comes, or to the person a
 * supervisor names. The rules choose a team; within it, the working collector with the least open
 * load. The case row, its open call tasks and the assignment history follow, in one transaction.
 */
export interface AssignmentRequest extends CaseRef {
  reason: string;
  /** Who asked: 'case-workflow', or the supervisor reassigning. */
  by: string;
  /** A supervisor's choice: this collector (and their team, unless teamId says otherwise). */
  collectorId?: string;
  teamId?: string;
  region?: string;
  segment?: string;
  language: string;
  outstandingMinor: number;
  daysOverdue: number;
  /** The debtor's local date: who is working that day. */
  localDate: string;
  /**
   * A reassessment (a playbook day): the case moves only when the rules choose another team; no rule,
   * or the same team, keeps its owner.
   */
  moveOnlyToAnotherTeam?: boolean;
}

export interface Assignment {
  teamId?: string;
  collectorId?: string;
  leaderId?: string;
  ruleId?: number;
}

/** The words of a case's 'assigned' timeline entry: the case's and the ledger's are the same words. */
export function assignedOutcome(reason: string, a: Assignment, from: string): string {
  return (
    `${reason}: team ${a.teamId ?? 'none'}, collector ${a.collectorId ?? "none (the team's queue)"}` +
    `${from !== 'no team/nobody' ? ` (was ${from})` : ''}`
  );
}

/** The 'assigned' entry of an assignment made in a ledger batch (`assignedNote`), as the batch writes it. */
export function assignedTimeline(assign: AssignmentRequest, a: Assignment, note: AssignedNote): TimelineRecord {
  return {
    idempotencyKey: `${assign.caseKey}:timeline:${note.seq}`,
    caseKey: assign.caseKey,
    accountId: assign.accountId,
    at: note.at,
    entries: [{ seq: note.seq, at: note.at, day: note.day, what: 'assigned', outcome: assignedOutcome(assign.reason, a, note.from) }],
  };
}

/** A large or old case: the team leader joins it as a second owner and is told once. */
export interface EscalationRequest extends CaseRef {
  leaderId: string;
  teamId: string;
  reason: string;
}
