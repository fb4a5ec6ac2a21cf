import type { Playbook } from './playbook';

// The built-in playbooks as plain data, every default spelled out. The workflow bundle imports this
// module and not the zod schema: each case's sandbox evaluates its modules afresh, and zod with the
// schemas and two parses cost every new or replayed case milliseconds of worker CPU. A unit test
// checks that the schema takes each of them unchanged.

/**
 * The micro-loan plan's ladder (seed, part 1), row for row. Penalty 5 bps = 0.05 % a day. Version 1:
 * cases started with it keep it (the letter fee is the lender's cost only).
 */
export const DEFAULT_PLAYBOOK_V1: Playbook = {
  id: 'micro-loan-default',
  version: 1,
  name: 'Micro-loan escalation ladder',
  penaltyBpsPerDay: 5,
  allocationOrder: ['fees', 'penalty', 'principal'],
  blacklistAtDaysOverdue: 30,
  promise: {
    graceDays: 2,
    maxDaysAhead: 30,
  },
  guarantor: {
    responseDays: 7,
  },
  legal: {
    brokenPromisesForReferral: 2,
    approvalReminderHours: 24,
  },
  costs: {
    fieldVisitMinor: 5000,
    letterMinor: 2000,
    recoverable: [],
  },
  restructure: {
    graceDays: 5,
    onBroken: 'resume-ladder',
    penaltyOnBreak: 'whole-plan',
  },
  inKind: {
    stepReminderDays: 7,
  },
  routing: {
    reassessOnDays: [30],
    escalateAt: {
      balanceAtLeastMinor: 5_000_000,
      daysOverdueAtLeast: 61,
    },
  },
  treatmentTable: [
    { funds: 'good', treatment: 'collect' },
    { funds: 'short-prospects', treatment: 'restructure' },
    { funds: 'short-poorly-run', treatment: 'settle-in-kind' },
    { funds: 'evasive', treatment: 'litigate' },
  ],
  stepAttempts: 12,
  letterLanguage: 'zh-CN',
  creditor: {
    name: '示范小额贷款有限公司 (Demo Micro-Lending Co.)',
  },
  steps: [
    {
      id: 'first-visit',
      day: 0,
      action: 'field-visit',
      description:
        'Visit the business site: is it operating; explain credit-bureau reporting and the lost interest-free benefit; ' +
        'learn the reason; ask for a firm repayment date',
      conditions: {},
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: false,
      materials: ['statement of account', 'loan contract', 'visit receipt'],
    },
    {
      id: 'early-call',
      day: 1,
      action: 'phone-call',
      description: 'Daily call in the first three days: explain how serious the consequences are',
      conditions: {},
      repeat: {
        everyDays: 1,
        untilDay: 3,
      },
      window: {
        from: '09:00',
        to: '20:00',
      },
      catchUp: false,
    },
    {
      id: 'second-visit',
      day: 4,
      action: 'field-visit',
      description: 'Second visit: how is the business doing, is money coming in',
      conditions: {},
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: false,
      materials: ['statement of account', 'loan contract', 'visit receipt'],
    },
    {
      id: 'guarantor-contact',
      day: 4,
      action: 'guarantor-contact',
      description: 'Contact the guarantor to collect jointly',
      conditions: {
        hasGuarantor: true,
      },
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: false,
    },
    {
      id: 'overdue-notice',
      day: 7,
      action: 'overdue-notice',
      description: 'Serve the formal overdue notice (催收函): the longer it runs, the greater the liability and the penalty interest',
      conditions: {},
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: true,
    },
    {
      id: 'daily-call',
      day: 8,
      action: 'phone-call',
      description: 'Daily call after the notice, until paid',
      conditions: {},
      repeat: {
        everyDays: 1,
      },
      window: {
        from: '09:00',
        to: '20:00',
      },
      catchUp: false,
    },
    {
      id: 'guarantor-demand',
      day: 8,
      action: 'guarantor-demand',
      description: "Demand that the guarantor pay in the debtor's place",
      conditions: {
        hasGuarantor: true,
      },
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: true,
    },
    {
      id: 'legal-referral',
      day: 30,
      action: 'legal-referral',
      description: 'Long unpaid: hand the case to legal proceedings without delay',
      conditions: {},
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: true,
    },
  ],
};

/**
 * Version 2 of the micro-loan ladder: the letter fee (20.00) is recoverable, charged to the debt's
 * fees part when a letter is issued (the sales plan's "costs charged to the case").
 */
export const DEFAULT_PLAYBOOK: Playbook = {
  ...DEFAULT_PLAYBOOK_V1,
  version: 2,
  costs: {
    fieldVisitMinor: 5000,
    letterMinor: 2000,
    recoverable: ['letter'],
  },
};

/**
 * The sales company's receivables plan (seed, part 4): reconcile and send the statement of account
 * first, then phone and letter, visits approved by an executive with the full set of papers, and
 * legal for those who stall. Penalty is the contract's liquidated damages (违约金) rate.
 */
export const RECEIVABLES_PLAYBOOK: Playbook = {
  id: 'receivables-sales',
  version: 1,
  name: 'Dealer receivables: statement, calls, approved visit, legal',
  penaltyBpsPerDay: 3,
  allocationOrder: ['fees', 'penalty', 'principal'],
  blacklistAtDaysOverdue: 60,
  promise: {
    graceDays: 3,
    maxDaysAhead: 45,
  },
  guarantor: {
    responseDays: 10,
  },
  legal: {
    brokenPromisesForReferral: 2,
    approvalReminderHours: 48,
  },
  costs: {
    fieldVisitMinor: 20000,
    letterMinor: 2000,
    recoverable: [],
  },
  restructure: {
    graceDays: 5,
    onBroken: 'resume-ladder',
    penaltyOnBreak: 'whole-plan',
  },
  inKind: {
    stepReminderDays: 7,
  },
  routing: {
    reassessOnDays: [30],
    escalateAt: {
      balanceAtLeastMinor: 5_000_000,
      daysOverdueAtLeast: 61,
    },
  },
  treatmentTable: [
    { funds: 'good', treatment: 'collect' },
    { funds: 'short-prospects', treatment: 'restructure' },
    { funds: 'short-poorly-run', treatment: 'settle-in-kind' },
    { funds: 'evasive', treatment: 'litigate' },
  ],
  stepAttempts: 12,
  letterLanguage: 'zh-CN',
  creditor: {
    name: '示范机械销售有限公司 (Demo Machinery Sales Co.)',
  },
  steps: [
    {
      id: 'statement',
      day: 0,
      action: 'statement-of-account',
      description: 'Send the statement of account (对账单), reconciled with finance, and ask for a written reply',
      conditions: {},
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: true,
    },
    {
      id: 'weekly-call',
      day: 3,
      action: 'phone-call',
      description: 'Weekly call: confirm the statement, ask when payment comes',
      conditions: {},
      repeat: {
        everyDays: 7,
      },
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: false,
    },
    {
      id: 'overdue-notice',
      day: 14,
      action: 'overdue-notice',
      description: 'Serve the demand letter (催收函)',
      conditions: {},
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: true,
    },
    {
      id: 'approved-visit',
      day: 21,
      action: 'field-visit',
      description: 'Visit, approved by an executive: come back with a signed statement or a written promise',
      conditions: {},
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: false,
      approval: {
        role: 'manager',
      },
      materials: ['statement of account', 'contract', 'demand letter', "lawyer's letter", 'visit receipt'],
    },
    {
      id: 'guarantor-demand',
      day: 28,
      action: 'guarantor-demand',
      description: 'Demand that the guarantor pay',
      conditions: {
        hasGuarantor: true,
      },
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: true,
    },
    {
      id: 'legal-referral',
      day: 45,
      action: 'legal-referral',
      description: 'Stalling or in bad faith: refer to legal for suit, asset freeze or mediation',
      conditions: {
        balanceAtLeastMinor: 100000,
      },
      window: {
        from: '09:00',
        to: '18:00',
      },
      catchUp: true,
    },
  ],
};
