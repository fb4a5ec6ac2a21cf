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
    /** The debtor's situation (cases since 'treatments'): credit grade, segment, funds observed. */
    creditGradeIn: z
      .array(z.enum(['A', 'B', 'C', 'D', 'E']))
      .min(1)
      .optional(),
    segmentIn: z.array(z.string().min(1)).min(1).optional(),
    fundsIn: z
      .array(z.enum(['good', 'short-prospects', 'short-poorly-run', 'evasive']))
      .min(1)
      .optional(),
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
    /**
     * What each kind of step costs the lender, recorded against the case (cost control). `recoverable`:
     * the costs also charged to the debt's fees part when incurred (shown on letters, paid by allocationOrder).
     */
    costs: z
      .object({
        fieldVisitMinor: z.number().int().nonnegative(),
        letterMinor: z.number().int().nonnegative(),
        recoverable: z.array(z.enum(['letter', 'field-visit'])).default([]),
      })
      .strict()
      .default({ fieldVisitMinor: 0, letterMinor: 0, recoverable: [] }),
    /**
     * Restructuring plans: days an instalment may stay unpaid after its due date (unless the plan says),
     * what a broken plan leads to, and the penalty it brings back: 'whole-plan' charges the plan's days at
     * the playbook's rate (less what the plan charged), 'from-break' only the days after the break.
     */
    restructure: z
      .object({
        graceDays: z.number().int().min(0).max(60),
        onBroken: z.enum(['resume-ladder', 'legal-referral']),
        penaltyOnBreak: z.enum(['whole-plan', 'from-break']),
      })
      .strict()
      .default({ graceDays: 5, onBroken: 'resume-ladder', penaltyOnBreak: 'whole-plan' }),
    /** Settlement in kind: days a step (appraisal, preservation, transfer) may wait before supervisors are reminded. */
    inKind: z.object({ stepReminderDays: z.number().int().positive() }).strict().default({ stepReminderDays: 7 }),
    /**
     * Routing (cases since 'teams'): ladder days on which the assignment rules choose the case's team
     * again (e.g. 30: the senior team), and the balance or days overdue at which the team leader joins
     * the case as a second owner (escalation; either is enough).
     */
    routing: z
      .object({
        reassessOnDays: z.array(z.number().int().positive()).max(10),
        escalateAt: z
          .object({
            balanceAtLeastMinor: z.number().int().positive().optional(),
            daysOverdueAtLeast: z.number().int().positive().optional(),
          })
          .strict(),
      })
      .strict()
      .default({ reassessOnDays: [30], escalateAt: { balanceAtLeastMinor: 5_000_000, daysOverdueAtLeast: 61 } }),
    /** The treatment each funds situation calls for (the receivables policy's article 16); reason 6 always calls for litigate. */
    treatmentTable: z
      .array(z.object({ funds: z.enum(['good', 'short-prospects', 'short-poorly-run', 'evasive']), treatment: TreatmentKind }).strict())
      .default([
        { funds: 'good', treatment: 'collect' },
        { funds: 'short-prospects', treatment: 'restructure' },
        { funds: 'short-poorly-run', treatment: 'settle-in-kind' },
        { funds: 'evasive', treatment: 'litigate' },
      ]),
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

// The built-in playbooks are plain data (no zod in the workflow bundle): ./builtin-playbooks.ts.
export { DEFAULT_PLAYBOOK, DEFAULT_PLAYBOOK_V1, RECEIVABLES_PLAYBOOK } from './builtin-playbooks';
