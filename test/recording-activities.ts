import { assignedTimeline, type CaseActivities, type CaseRef, type StepRequest } from '../shared/activities';

export interface RecordedCall {
  fn: keyof CaseActivities;
  accountId: string;
  idempotencyKey: string;
  day?: number;
  stepId?: string;
  request: unknown;
}

/**
 * Test implementations of the case activities for workflow tests on the time-skipping server:
 * each records its call (and answers like the ledger would). The real ones, on PostgreSQL, are
 * tested in their own suites.
 */
export function recordingActivities(): { calls: RecordedCall[]; activities: CaseActivities } {
  const calls: RecordedCall[] = [];
  const rec = (fn: keyof CaseActivities) => async (req: CaseRef & Partial<StepRequest>) => {
    calls.push({ fn, accountId: req.accountId, idempotencyKey: req.idempotencyKey, day: req.day, stepId: req.stepId, request: req });
    return { status: 'done' as const, reference: `${fn}#${calls.length}` };
  };
  /** A step that writes its rows once done (req.afterDone, as the real contact steps do): the timeline's outcome is its reference. */
  const step = (fn: keyof CaseActivities) => async (req: StepRequest) => {
    const result = await rec(fn)(req);
    for (const w of req.afterDone ?? []) {
      const arg =
        w.fn === 'recordTimeline' ? { ...w.arg, entries: w.arg.entries.map((e) => ({ ...e, outcome: result.reference })) } : w.arg;
      await (activities[w.fn] as (arg: unknown) => Promise<unknown>)(arg);
    }
    return result;
  };
  const activities: CaseActivities = {
    recordCaseOpened: async (o) => (await rec('recordCaseOpened')(o), { caseRowId: calls.length }),
    recordPayment: async (p) => (await rec('recordPayment')(p), { recorded: true }),
    recordCaseClosed: async (c) => void (await rec('recordCaseClosed')(c)),
    recordMissedPayment: async (r) => void (await rec('recordMissedPayment')(r)),
    projectCase: async (r) => void (await rec('projectCase')(r)),
    recordPromise: async (r) => void (await rec('recordPromise')(r)),
    recordVisitApproval: async (r) => void (await rec('recordVisitApproval')(r)),
    cancelVisit: async (r) => void (await rec('cancelVisit')(r)),
    recordVisitReport: async (r) => void (await rec('recordVisitReport')(r)),
    scheduleFieldVisit: step('scheduleFieldVisit'),
    placeCollectionCall: step('placeCollectionCall'),
    contactGuarantor: step('contactGuarantor'),
    serveOverdueNotice: rec('serveOverdueNotice'),
    demandGuarantorPayment: rec('demandGuarantorPayment'),
    sendStatementOfAccount: rec('sendStatementOfAccount'),
    requestLegalReferral: rec('requestLegalReferral'),
    referToLegal: rec('referToLegal'),
    remindSupervisor: async (r) => {
      await rec('remindSupervisor')(r);
      for (const w of r.afterDone ?? []) await (activities[w.fn] as (arg: unknown) => Promise<unknown>)(w.arg);
    },
    recordContactOutcome: async (r) => void (await rec('recordContactOutcome')(r)),
    recordLegalEvent: async (r) => void (await rec('recordLegalEvent')(r)),
    recordTreatment: async (r) => void (await rec('recordTreatment')(r)),
    recordWriteOff: async (r) => void (await rec('recordWriteOff')(r)),
    placeOnBlacklist: async (r) => void (await rec('placeOnBlacklist')(r)),
    recordStepFailure: async (r) => void (await rec('recordStepFailure')(r)),
    recordContactDetails: async (r) => void (await rec('recordContactDetails')(r)),
    recordTimeline: async (r) => void (await rec('recordTimeline')(r)),
    recordPlan: async (r) => void (await rec('recordPlan')(r)),
    recordInKind: async (r) => void (await rec('recordInKind')(r)),
    openPaymentInvestigation: async (r) => void (await rec('openPaymentInvestigation')(r)),
    assignCase: async (r) => (await rec('assignCase')(r), {}),
    escalateToLeader: async (r) => void (await rec('escalateToLeader')(r)),
    // The ledger batch records each of its writes, as if it were its own activity.
    writeLedger: async ({ writes, assign, assignedNote: note }) => {
      for (const w of writes) await (activities[w.fn] as (arg: unknown) => Promise<unknown>)(w.arg);
      // A new case's routing at intake goes in its opening batch: recorded as the call it is.
      if (!assign) return;
      const assignment = await activities.assignCase(assign);
      // Then its timeline entry, as the real batch writes it (cases since 'open-in-one-write').
      if (note) await activities.recordTimeline(assignedTimeline(assign, assignment, note));
      return { assignment };
    },
  };
  return { calls, activities };
}

/** The playbook steps a case took, as 'day:activity' strings in the order they ran. */
export function stepsOf(calls: RecordedCall[], accountId: string): string[] {
  const steps = new Set<keyof CaseActivities>([
    'scheduleFieldVisit',
    'placeCollectionCall',
    'contactGuarantor',
    'serveOverdueNotice',
    'demandGuarantorPayment',
    'sendStatementOfAccount',
    'requestLegalReferral',
    'referToLegal',
  ]);
  return calls.filter((c) => c.accountId === accountId && steps.has(c.fn)).map((c) => `${c.day}:${c.fn}`);
}
