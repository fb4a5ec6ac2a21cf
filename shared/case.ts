import { z } from 'zod';
import { AmountMinor, CurrencyCode } from './money-schema';
import { Playbook, ReasonCategory, TreatmentKind } from './playbook';
import type { ActionKind } from './playbook';
import type { Allocation, Balance } from './money';
import type { CaseStage } from './stages';

/**
 * Contracts of the case workflow: its input, message payloads (zod, for the API's edges) and its
 * state (types). The workflow itself imports only types from here.
 */
export const IsoDate = z.iso.date();
const IsoInstant = z.iso.datetime({ offset: true });

/** Printed on letters and read by people: one line, no control characters (a letter refuses them). */
const OneLine = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/, 'one line without control characters');

const Phone = z.string().regex(/^\+?[0-9][0-9 -]{5,19}$/, 'a phone number: digits, spaces, dashes, optional leading +');

export const Debtor = z.object({
  name: OneLine(200),
  timeZone: z.string().min(1).default('Asia/Shanghai'),
  idNumber: z.string().min(1).max(40).optional(),
  phones: z.array(Phone).max(5).default([]),
  email: z.email().optional(),
  address: OneLine(500).optional(),
  /** Field region, for assigning visits to officers. */
  region: z.string().min(1).max(100).optional(),
  /** Which contact rules apply (compliance guard). */
  jurisdiction: z.enum(['CN', 'US']).default('CN'),
});
export type Debtor = z.infer<typeof Debtor>;

export const Guarantor = z.object({
  id: z.string().min(1).max(100),
  name: OneLine(200),
  phones: z.array(Phone).max(5).default([]),
  address: OneLine(500).optional(),
});
export type Guarantor = z.infer<typeof Guarantor>;

// ---- the debtor's situation (issue 12): grade and segment from the lender, funds observed by people ----
export const CreditGrade = z.enum(['A', 'B', 'C', 'D', 'E']);
export type CreditGrade = z.infer<typeof CreditGrade>;
/** A portfolio segment the lender names (lower case, digits, dashes): 'micro-loan', 'sme', 'consumer'. */
export const Segment = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and dashes, at most 40');
/** The debtor's funds as seen on a visit or a call: the rows of the receivables policy's article 16. */
const Funds = z.enum(['good', 'short-prospects', 'short-poorly-run', 'evasive']);
type Funds = z.infer<typeof Funds>;
export const Situation = z.object({ creditGrade: CreditGrade.optional(), segment: Segment.optional() });
export type Situation = z.infer<typeof Situation>;

export const MissedPayment = z.object({ dueDate: IsoDate, amountMinor: AmountMinor, currency: CurrencyCode });
export type MissedPayment = z.infer<typeof MissedPayment>;

export const CaseInput = z.object({
  accountId: z.string().min(1).max(100),
  debtor: Debtor,
  guarantors: z.array(Guarantor).max(10).default([]),
  currency: CurrencyCode,
  firstMissed: MissedPayment,
  collectorId: z.string().min(1).max(100).optional(),
  /** Credit grade and segment, as the lender's system knows them (updatable later: setSituation). */
  situation: Situation.optional(),
  /** The playbook itself (tests, custom ladders), or ... */
  playbook: Playbook.optional(),
  /** ... a built-in one by id and version (shared/playbooks.ts): the case's input stays small. */
  playbookRef: z.object({ id: z.string().min(1), version: z.number().int().positive() }).optional(),
  /** The debtor's standing blacklist entries at intake (this account or another of their identity number): flagged in the case. */
  blacklistedBefore: z
    .array(z.object({ accountId: z.string().min(1).max(100), listedAt: IsoInstant, reason: z.string().max(200) }))
    .max(20)
    .optional(),
});
/**
 * The patch generation a case started now runs under (workflows/case/patches.ts: GENERATIONS, its newest):
 * named in its input, the run takes the generation's patches without a marker.
 */
export const CASE_GENERATION = 'generation-2';

export type CaseInput = z.infer<typeof CaseInput> & {
  /** The patch generation its starter vouches for (CASE_GENERATION): its patches are taken without a marker. */
  generation?: string;
  /** Set only by continue-as-new: the state the previous run ended with. */
  carried?: CaseState;
  /** Events per run before the workflow continues-as-new even if the server has not suggested it. */
  maxHistoryEvents?: number;
};

// ---- signals ----
export const PaymentReceived = z.object({
  paymentId: z.string().min(1).max(100),
  amountMinor: AmountMinor,
  currency: CurrencyCode,
  paidAt: IsoInstant,
});
export type PaymentReceived = z.infer<typeof PaymentReceived>;

const ContactChannel = z.enum(['phone', 'visit', 'sms', 'email', 'letter']);
export const ContactOutcome = z.object({
  channel: ContactChannel,
  outcome: z.enum(['reached', 'no-answer', 'refused', 'wrong-number', 'promise']),
  reasonCategory: ReasonCategory.optional(),
  /** The debtor's funds as the contact showed them. */
  funds: Funds.optional(),
  note: z.string().max(2000).default(''),
  /** The collector or field officer reporting it. */
  actor: z.string().min(1).max(100).default('unknown'),
});
export type ContactOutcome = z.infer<typeof ContactOutcome>;

export const GuarantorResponse = z.object({
  guarantorId: z.string().min(1).max(100),
  response: z.enum(['will-pay', 'refuses', 'paid']),
});
export type GuarantorResponse = z.infer<typeof GuarantorResponse>;

// ---- updates ----
export const PromiseToPay = z.object({ date: IsoDate, amountMinor: AmountMinor });

export const VisitReportInput = z.object({
  outcome: z.enum(['met', 'not-met', 'site-closed', 'refused']),
  signedStatement: z.boolean(),
  /** A written promise brought back from the visit: a promise to pay, like recordPromise's. */
  writtenPromise: PromiseToPay.strict().optional(),
  /** The debtor's funds as the visit showed them. */
  funds: Funds.optional(),
  note: z.string().max(2000).default(''),
  officerId: z.string().min(1).max(100).optional(),
});
export type VisitReportInput = z.infer<typeof VisitReportInput>;
export type PromiseToPay = z.infer<typeof PromiseToPay>;

/**
 * New or corrected contact details of the debtor or a guarantor (the lender's or a collector's
 * correction). What is given replaces what the case had; what is left out stays.
 */
const ContactFields = { phones: z.array(Phone).max(5).optional(), address: OneLine(500).optional() };
const someDetail = (c: { debtor?: object; guarantors?: unknown[] }) =>
  (c.debtor && Object.keys(c.debtor).length > 0) || (c.guarantors?.length ?? 0) > 0;
/** The API's body: what changes (the caller is who changes it). */
export const ContactDetailsBody = z
  .object({
    debtor: z
      .object({ ...ContactFields, email: z.email().optional() })
      .strict()
      .optional(),
    guarantors: z
      .array(z.object({ id: z.string().min(1).max(100), ...ContactFields }).strict())
      .min(1)
      .max(10)
      .optional(),
  })
  .strict()
  .refine(someDetail, "give the debtor's or a guarantor's new details");
export const ContactDetails = z
  .object({ ...ContactDetailsBody.shape, by: z.string().min(1).max(100) })
  .refine(someDetail, "give the debtor's or a guarantor's new details");
export type ContactDetails = z.infer<typeof ContactDetails>;

/** `by`: who decided (the API sets it); the case notes whether it follows its recommendation. */
export const SetTreatment = z.object({ treatment: TreatmentKind, by: z.string().min(1).max(100).optional() });
export type SetTreatment = z.infer<typeof SetTreatment>;

export const ApproverRole = z.enum(['supervisor', 'manager', 'legal', 'finance']);
export const Approver = z.object({ by: z.string().min(1).max(100), role: ApproverRole });
export type Approver = z.infer<typeof Approver>;

export const Hold = z.object({ reason: z.string().min(1).max(500), until: IsoInstant.optional() });
export type Hold = z.infer<typeof Hold>;

export const Dispute = z.object({ reason: z.string().min(1).max(2000) });
export type Dispute = z.infer<typeof Dispute>;

export const WriteOff = z.object({ reason: z.string().min(1).max(500), by: z.string().min(1).max(100) });
export type WriteOff = z.infer<typeof WriteOff>;

export const LegalEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('filed'),
    court: z.string().min(1),
    caseNumber: z.string().min(1),
    costMinor: z.number().int().nonnegative().optional(),
  }),
  z.object({ kind: z.literal('assets-frozen'), description: z.string().min(1), costMinor: z.number().int().nonnegative().optional() }),
  z.object({ kind: z.literal('mediated-settlement'), amountMinor: AmountMinor }),
  z.object({ kind: z.literal('judgment'), amountMinor: AmountMinor }),
  z.object({ kind: z.literal('closed'), outcome: z.string().min(1) }),
]);
export type LegalEvent = z.infer<typeof LegalEvent>;

/** Grade and segment (the lender's), funds (observed): what is given replaces what the case had. */
export const SituationBody = z
  .object({ creditGrade: CreditGrade.optional(), segment: Segment.optional(), funds: Funds.optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'give creditGrade, segment or funds');
export const SituationChange = z.object({
  creditGrade: CreditGrade.optional(),
  segment: Segment.optional(),
  funds: Funds.optional(),
  by: z.string().min(1).max(100),
});
export type SituationChange = z.infer<typeof SituationChange>;

// ---- restructuring plans (issue 12) ----
const PlanInstalment = z.object({ dueDate: IsoDate, amountMinor: AmountMinor }).strict();
type PlanInstalment = z.infer<typeof PlanInstalment>;
const PlanPenalty = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('frozen') }).strict(),
  z.object({ mode: z.literal('reduced'), bpsPerDay: z.number().int().min(0).max(10_000) }).strict(),
]);
type PlanPenalty = z.infer<typeof PlanPenalty>;
/** A restructuring plan as proposed (the API's body; `by` is the caller). */
export const PlanProposalBody = z
  .object({
    /** Dated instalments in minor units, due dates ascending; they add up to the balance to cover. */
    instalments: z.array(PlanInstalment).min(1).max(60),
    /** Days an instalment may stay unpaid after its due date before the plan breaks (default: the playbook's). */
    graceDays: z.number().int().min(0).max(60).optional(),
    /** Penalty while the plan holds: frozen, or reduced to bpsPerDay (default frozen). */
    penalty: PlanPenalty.default({ mode: 'frozen' }),
    /** A reduced amount to settle for, when the approvers agree to one (instead of the whole balance). */
    reducedToMinor: AmountMinor.optional(),
    /** Collateral or a guarantee the plan is made against. */
    security: z
      .object({ kind: z.enum(['collateral', 'guarantee']), description: OneLine(500), valueMinor: AmountMinor.optional() })
      .strict()
      .optional(),
    note: z.string().max(2000).optional(),
  })
  .strict();
export const PlanProposal = PlanProposalBody.extend({ by: z.string().min(1).max(100) });
export type PlanProposal = z.infer<typeof PlanProposal>;
/** A review of the proposed plan: finance and legal, then a manager. A refusal ends the proposal. */
export const PlanDecisionBody = z.object({ decision: z.enum(['approve', 'refuse']), note: z.string().max(2000).optional() }).strict();
export const PlanDecision = PlanDecisionBody.extend({ by: z.string().min(1).max(100), role: ApproverRole });
export type PlanDecision = z.infer<typeof PlanDecision>;

// ---- settlement in kind (issue 12) ----
export const InKindStepBody = z.discriminatedUnion('step', [
  z.object({ step: z.literal('offered'), asset: OneLine(500), estimatedValueMinor: AmountMinor.optional() }).strict(),
  z.object({ step: z.literal('appraised'), valueMinor: AmountMinor, appraiser: OneLine(200), document: OneLine(500) }).strict(),
  z.object({ step: z.literal('preserved'), reference: OneLine(200), note: z.string().max(2000).optional() }).strict(),
  z.object({ step: z.literal('transferred'), document: OneLine(500) }).strict(),
  z.object({ step: z.literal('abandoned'), reason: OneLine(500) }).strict(),
]);
export type InKindStepBody = z.infer<typeof InKindStepBody>;
export type InKindStepInput = InKindStepBody & { by: string; role: string };
export const ShortfallDecisionBody = z
  .object({ decision: z.enum(['write-off', 'collect']), note: z.string().max(2000).optional() })
  .strict();
export const ShortfallDecision = ShortfallDecisionBody.extend({ by: z.string().min(1).max(100), role: ApproverRole });
export type ShortfallDecision = z.infer<typeof ShortfallDecision>;

/** A supervisor moves the case (and its open tasks) to a collector, audited. */
export const ReassignBody = z
  .object({
    collectorId: z.string().regex(/^[\w.-]{1,100}$/),
    teamId: z
      .string()
      .regex(/^[\w.-]{1,100}$/)
      .optional(),
    reason: OneLine(500),
  })
  .strict();
export const Reassign = ReassignBody.extend({ by: z.string().min(1).max(100) });
export type Reassign = z.infer<typeof Reassign>;

// ---- state ----
export type { CaseStage } from './stages';

interface PlanApproval {
  role: 'finance' | 'legal' | 'manager';
  by: string;
  at: string;
  decision: 'approve' | 'refuse';
  note?: string;
}

/** A restructuring plan the case keeps (state.plans, the last one current). */
export interface PlanRecord {
  no: number;
  status: 'proposed' | 'active' | 'kept' | 'broken' | 'refused';
  proposedBy: string;
  proposedAt: string;
  /** As proposed, then as rebased at approval (the balance of that day) and grown by a reduced penalty. */
  instalments: PlanInstalment[];
  graceDays: number;
  penalty: PlanPenalty;
  reducedToMinor?: number;
  security?: PlanProposal['security'];
  note?: string;
  approvals: PlanApproval[];
  startedAt?: string;
  /** state.paidMinor when the plan started: the plan is paid by what was paid since. */
  paidAtStartMinor?: number;
  /** Penalty charged at the plan's reduced rate (added to the last instalment). */
  penaltyChargedMinor?: number;
  /** Local date through which the plan's penalty was charged. */
  accruedThrough?: string;
  /** Instalments paid so far, and instalments whose due date was noted. */
  paidInstalments?: number;
  dueNoted?: number;
  endedAt?: string;
  /** The instalment (1-based) whose grace ran out. */
  brokenInstalment?: number;
  /** What the plan forgave when it was kept (a reduced amount). */
  waivedMinor?: number;
  /** Principal of instalments reported missed while the plan held: not the plan's, never forgiven by it. */
  addedMinor?: number;
  /** The forgiven rest was written down (recordWriteOff) and taken off the balance. */
  waiverRecorded?: boolean;
}

export interface InKindRecord {
  status: 'offered' | 'appraised' | 'preserved' | 'transferred' | 'abandoned';
  asset: string;
  estimatedValueMinor?: number;
  appraisal?: { valueMinor: number; appraiser: string; document: string; by: string; at: string };
  preservation?: { reference: string; note?: string; by: string; at: string };
  transfer?: { document: string; by: string; at: string };
  shortfall?: { decision: 'write-off' | 'collect'; by: string; role: string; at: string; note?: string };
  abandoned?: { reason: string; by: string; at: string };
  offeredBy: string;
  /** When the process last moved: a reminder goes when the next step waits too long. */
  since: string;
  remindersSent: number;
  /** The appraised value was applied as a payment (its payment id). */
  appliedPaymentId?: string;
  /** Title transferred and nothing left to collect (paid, or the shortfall written off): the case closes settled. */
  closesCase?: boolean;
  /** What was left after the appraised value was applied, when title passed. */
  shortfallMinor?: number;
}

export interface AppliedPayment extends PaymentReceived {
  allocation: Allocation;
  outstandingAfterMinor: number;
}

interface PromiseRecord extends PromiseToPay {
  id: number;
  madeAt: string;
  /** Total paid when the promise was made: the promise is kept when payments since reach its amount. */
  paidBeforeMinor: number;
  status: 'pending' | 'kept' | 'broken';
}

type GuarantorStatus = 'not-contacted' | 'contacted' | 'demanded' | 'will-pay' | 'refused' | 'silent' | 'paid';

export interface TimelineEntry {
  at: string;
  day: number;
  what: string;
  outcome: string;
}

export interface NextAction {
  stepId: string;
  action: ActionKind;
  day: number;
  dueAt: string;
}

export interface CaseState {
  accountId: string;
  /** `<workflowId>/<first run ID>`: names this case in every idempotency key, across continue-as-new. */
  caseKey: string;
  playbookId: string;
  playbookVersion: number;
  stage: CaseStage;
  currency: string;
  timeZone: string;
  /** Day 0 of the ladder: the first local date the account is overdue. */
  day0: string;
  openedAt: string;
  openedOnDay: number;
  collectorId?: string;
  balance: Balance;
  /** Penalty accrued for ladder days 1..accruedThroughDay. */
  accruedThroughDay: number;
  /**
   * Per instalment (by due date), in cases opened with the per-instalment rule (patch
   * 'per-instalment-accrual'; absent in older cases): principal paid and penalty days accrued.
   */
  instalments?: Record<string, { principalPaidMinor: number; accruedDays: number }>;
  missedPayments: MissedPayment[];
  payments: AppliedPayment[];
  paidMinor: number;
  excessMinor: number;
  guarantors: Array<Guarantor & { status: GuarantorStatus }>;
  guarantorDemand?: { demandedAt: string; deadline: string; outcome?: 'will-pay' | 'refuses' | 'paid' | 'silent' };
  reasonCategory?: number;
  /** Credit grade and segment (the lender's) and funds (observed); cases since 'treatments'. */
  situation?: { creditGrade?: CreditGrade; segment?: string; funds?: Funds };
  legalReviewRequested: boolean;
  treatment: { kind: z.infer<typeof TreatmentKind>; approved: boolean; approvedBy?: string; decidedBy?: string };
  /** Restructuring plans proposed, the last one current (cases since 'treatments'). */
  plans?: PlanRecord[];
  /** Settlement in kind in progress or done (cases since 'treatments'). */
  inKind?: InKindRecord;
  /** Payment investigations opened for reasons 4 and 5, by reason. */
  investigations?: number[];
  /** Recoverable costs charged to the fees part, by step occurrence (cases since 'treatments'). */
  feesCharged?: Record<string, number>;
  /** Something was written off on the way to the close (an in-kind shortfall): the credit hold stays on. */
  holdKept?: boolean;
  /** The case's team and its leader, as routed (cases since 'teams'). */
  teamId?: string;
  leaderId?: string;
  /** Playbook reassessment days (ladder days) already routed. */
  reassessed?: number[];
  /** The leader joined the case as a second owner. */
  escalated?: { leaderId: string; at: string; reason: string };
  promises: PromiseRecord[];
  brokenPromises: number;
  hold?: Hold & { since: string };
  dispute?: Dispute & { since: string };
  legal?: {
    status: 'awaiting-approval' | 'approved';
    requestedAt: string;
    remindersSent: number;
    approvedBy?: string;
    settlementMinor?: number;
    events: Array<LegalEvent & { at: string }>;
  };
  writeOff?: WriteOff;
  /** Occurrences of playbook steps already run, skipped, refused by the compliance guard or failed, by `${stepId}@${day}`. */
  done: Record<string, 'ran' | 'skipped' | 'refused' | 'failed'>;
  /** Occurrences the compliance guard deferred: not before this instant. */
  notBefore: Record<string, string>;
  /** A planned field visit waiting for the approval its playbook step asks for. */
  pendingVisit?: { reference: string; stepId: string; role: 'supervisor' | 'manager'; deadline: string; approvedBy?: string };
  lastVisitReference?: string;
  /** The debtor's contact details as corrected since the case opened (the ledger's debtors row holds the same). */
  debtorContact?: { phones?: string[]; email?: string; address?: string };
  /** Letter steps that failed for a missing address and catch up once an address arrives, by occurrence key. */
  awaitingAddress?: string[];
  /** Count of projections written to the ledger's cases row. */
  projectionNo: number;
  /** The last entries (all of them in runs before 'lean-case'; the ledger's case_timeline has every one). */
  timeline: TimelineEntry[];
  /** Timeline entries ever noted (absent before 'lean-case': then the timeline's length). */
  notes?: number;
  nextAction?: NextAction;
  blacklisted: boolean;
  closedAt?: string;
  /** Bumped by every message, so the main loop re-decides. */
  version: number;
  runs: number;
}

export interface CaseView extends CaseState {
  daysOverdue: number;
  outstandingMinor: number;
  /** The treatment the situation calls for (the playbook's table), and why; absent until there is one. */
  recommendation?: { treatment: z.infer<typeof TreatmentKind>; why: string };
}

export interface CaseResult {
  accountId: string;
  stage: CaseStage;
  paidMinor: number;
  closedAt: string;
}
