import { z } from 'zod';

/**
 * A collection playbook as data: what happens on which day of the delinquency, under which
 * conditions, and in which local time window. Day 0 is the first day the account is overdue
 * (the day after the due date, in the debtor's time zone).
 */
export const ActionKind = z.enum([
  'field-visit',
  'phone-call',
  'guarantor-contact',
  'overdue-notice',
  'guarantor-demand',
  'statement-of-account',
  'legal-referral',
]);
export type ActionKind = z.infer<typeof ActionKind>;

export const TreatmentKind = z.enum(['collect', 'restructure', 'settle-in-kind', 'litigate']);
export type TreatmentKind = z.infer<typeof TreatmentKind>;

/** The six causes of delinquency of the micro-loan plan; 6 is fraud or misuse. */
export const ReasonCategory = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5), z.literal(6)]);
export type ReasonCategory = z.infer<typeof ReasonCategory>;

const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour');

const StepConditions = z
  .object({
    hasGuarantor: z.boolean().optional(),
    balanceAtLeastMinor: z.number().int().nonnegative().optional(),
    reasonCategoryIn: z.array(ReasonCategory).min(1).optional(),
    brokenPromisesAtLeast: z.number().int().nonnegative().optional(),
    treatmentIn: z.array(TreatmentKind).min(1).optional(),
  })
  .strict();
type StepConditions = z.infer<typeof StepConditions>;

export const PlaybookStep = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/),
    day: z.number().int().nonnegative(),
    action: ActionKind,
    description: z.string().min(1),
    conditions: StepConditions.default({}),
    /** Repeat every N days from `day` until paid, or until `untilDay` inclusive. */
    repeat: z.object({ everyDays: z.number().int().positive(), untilDay: z.number().int().nonnegative().optional() }).strict().optional(),
    /** Local time window in the debtor's time zone in which the step may happen. */
    window: z
      .object({ from: LocalTime, to: LocalTime })
      .strict()
      .refine((w) => w.from < w.to, 'window.from must be before window.to'),
    /** A one-off step whose day passed before it could run (late opening, hold, dispute, promise) runs once anyway. */
    catchUp: z.boolean().default(false),
    /** A field visit that needs an approval before it goes ahead; the case waits for it until the window ends. */
    approval: z
      .object({ role: z.enum(['supervisor', 'manager']) })
      .strict()
      .optional(),
    /** What the field officer brings (visits). */
    materials: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type PlaybookStep = z.infer<typeof PlaybookStep>;

export const Playbook = z
  .object({
    id: z.string().min(1),
    version: z.number().int().positive(),
    name: z.string().min(1),
    /** Penalty interest (罚息) per day, in basis points of the overdue principal, from day 1. */
    penaltyBpsPerDay: z.number().int().min(0).max(10_000),
    /** Order in which a payment pays off the balance's parts. */
    allocationOrder: z
      .array(z.enum(['fees', 'penalty', 'principal']))
      .length(3)
      .refine((o) => new Set(o).size === 3, 'each of fees, penalty, principal once'),
    /** A case paid at or after this many days overdue puts the debtor on the blacklist. */
    blacklistAtDaysOverdue: z.number().int().positive(),
    promise: z.object({ graceDays: z.number().int().nonnegative(), maxDaysAhead: z.number().int().positive() }).strict(),
    guarantor: z.object({ responseDays: z.number().int().positive() }).strict(),
    legal: z
      .object({
        /** Broken promises that bring the legal referral forward. */
        brokenPromisesForReferral: z.number().int().positive(),
        approvalReminderHours: z.number().int().positive(),
      })
      .strict(),
    /** What each kind of step costs the lender, charged to the case (cost control). */
    costs: z
      .object({ fieldVisitMinor: z.number().int().nonnegative(), letterMinor: z.number().int().nonnegative() })
      .strict()
      .default({ fieldVisitMinor: 0, letterMinor: 0 }),
    /**
     * Attempts a step's activity gets (retried with backoff capped at 5 minutes, so 12 is about 35
     * minutes) before the step is recorded failed and supervisors are told: a gateway that stays down
     * must not hold the case. Business refusals are not retried at all.
     */
    stepAttempts: z.number().int().min(1).max(1000).default(12),
    /** Language of the letters the case issues. */
    letterLanguage: z.enum(['zh-CN', 'en']).default('zh-CN'),
    /** The creditor named on letters. */
    creditor: z
      .object({ name: z.string().min(1), address: z.string().optional(), phone: z.string().optional() })
      .strict()
      .default({ name: 'Recoup Lending Co.' }),
    steps: z.array(PlaybookStep).min(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    const ids = new Set<string>();
    p.steps.forEach((s, i) => {
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id ${s.id}` });
      ids.add(s.id);
      if (s.repeat?.untilDay !== undefined && s.repeat.untilDay < s.day) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'repeat', 'untilDay'], message: 'untilDay before day' });
      }
    });
  });
export type Playbook = z.infer<typeof Playbook>;
export type PlaybookInput = z.input<typeof Playbook>;

const OFFICE = { from: '09:00', to: '18:00' };
const CALLS = { from: '09:00', to: '20:00' };
const VISIT_MATERIALS = ['statement of account', 'loan contract', 'visit receipt'];

/** The micro-loan plan's ladder (seed, part 1), row for row. */
export const DEFAULT_PLAYBOOK: Playbook = Playbook.parse({
  id: 'micro-loan-default',
  version: 1,
  name: 'Micro-loan escalation ladder',
  penaltyBpsPerDay: 5, // 0.05 % a day
  allocationOrder: ['fees', 'penalty', 'principal'],
  blacklistAtDaysOverdue: 30,
  promise: { graceDays: 2, maxDaysAhead: 30 },
  guarantor: { responseDays: 7 },
  legal: { brokenPromisesForReferral: 2, approvalReminderHours: 24 },
  costs: { fieldVisitMinor: 5_000, letterMinor: 2_000 },
  letterLanguage: 'zh-CN',
  creditor: { name: '示范小额贷款有限公司 (Demo Micro-Lending Co.)' },
  steps: [
    {
      id: 'first-visit',
      day: 0,
      action: 'field-visit',
      window: OFFICE,
      materials: VISIT_MATERIALS,
      description:
        'Visit the business site: is it operating; explain credit-bureau reporting and the lost interest-free benefit; ' +
        'learn the reason; ask for a firm repayment date',
    },
    {
      id: 'early-call',
      day: 1,
      action: 'phone-call',
      window: CALLS,
      repeat: { everyDays: 1, untilDay: 3 },
      description: 'Daily call in the first three days: explain how serious the consequences are',
    },
    {
      id: 'second-visit',
      day: 4,
      action: 'field-visit',
      window: OFFICE,
      materials: VISIT_MATERIALS,
      description: 'Second visit: how is the business doing, is money coming in',
    },
    {
      id: 'guarantor-contact',
      day: 4,
      action: 'guarantor-contact',
      window: OFFICE,
      conditions: { hasGuarantor: true },
      description: 'Contact the guarantor to collect jointly',
    },
    {
      id: 'overdue-notice',
      day: 7,
      action: 'overdue-notice',
      window: OFFICE,
      catchUp: true,
      description: 'Serve the formal overdue notice (催收函): the longer it runs, the greater the liability and the penalty interest',
    },
    {
      id: 'daily-call',
      day: 8,
      action: 'phone-call',
      window: CALLS,
      repeat: { everyDays: 1 },
      description: 'Daily call after the notice, until paid',
    },
    {
      id: 'guarantor-demand',
      day: 8,
      action: 'guarantor-demand',
      window: OFFICE,
      conditions: { hasGuarantor: true },
      catchUp: true,
      description: "Demand that the guarantor pay in the debtor's place",
    },
    {
      id: 'legal-referral',
      day: 30,
      action: 'legal-referral',
      window: OFFICE,
      catchUp: true,
      description: 'Long unpaid: hand the case to legal proceedings without delay',
    },
  ],
});

/**
 * The sales company's receivables plan (seed, part 4): reconcile and send the statement of account
 * first, then phone and letter, visits approved by an executive with the full set of papers, and
 * legal for those who stall. Penalty is the contract's liquidated damages (违约金) rate.
 */
export const RECEIVABLES_PLAYBOOK: Playbook = Playbook.parse({
  id: 'receivables-sales',
  version: 1,
  name: 'Dealer receivables: statement, calls, approved visit, legal',
  penaltyBpsPerDay: 3,
  allocationOrder: ['fees', 'penalty', 'principal'],
  blacklistAtDaysOverdue: 60,
  promise: { graceDays: 3, maxDaysAhead: 45 },
  guarantor: { responseDays: 10 },
  legal: { brokenPromisesForReferral: 2, approvalReminderHours: 48 },
  costs: { fieldVisitMinor: 20_000, letterMinor: 2_000 },
  letterLanguage: 'zh-CN',
  creditor: { name: '示范机械销售有限公司 (Demo Machinery Sales Co.)' },
  steps: [
    {
      id: 'statement',
      day: 0,
      action: 'statement-of-account',
      window: OFFICE,
      catchUp: true,
      description: 'Send the statement of account (对账单), reconciled with finance, and ask for a written reply',
    },
    {
      id: 'weekly-call',
      day: 3,
      action: 'phone-call',
      window: OFFICE,
      repeat: { everyDays: 7 },
      description: 'Weekly call: confirm the statement, ask when payment comes',
    },
    {
      id: 'overdue-notice',
      day: 14,
      action: 'overdue-notice',
      window: OFFICE,
      catchUp: true,
      description: 'Serve the demand letter (催收函)',
    },
    {
      id: 'approved-visit',
      day: 21,
      action: 'field-visit',
      window: OFFICE,
      approval: { role: 'manager' },
      materials: ['statement of account', 'contract', 'demand letter', "lawyer's letter", 'visit receipt'],
      description: 'Visit, approved by an executive: come back with a signed statement or a written promise',
    },
    {
      id: 'guarantor-demand',
      day: 28,
      action: 'guarantor-demand',
      window: OFFICE,
      conditions: { hasGuarantor: true },
      catchUp: true,
      description: 'Demand that the guarantor pay',
    },
    {
      id: 'legal-referral',
      day: 45,
      action: 'legal-referral',
      window: OFFICE,
      catchUp: true,
      conditions: { balanceAtLeastMinor: 100_000 },
      description: 'Stalling or in bad faith: refer to legal for suit, asset freeze or mediation',
    },
  ],
});
