import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { CaseActivities, CaseRef, StepRequest, StepResult } from '../shared/activities';
import { STEP_ACTIVITY } from '../shared/activities';
import { addDays, instantOf, localDate, localTime } from '../shared/calendar';
import type { CaseInput, CaseResult, CaseStage as Stage, CaseState, ContactDetails, LegalEvent, MissedPayment, PaymentReceived, PromiseToPay, VisitReportInput } from '../shared/case';
import { ErrorTypes } from '../shared/errors';
import {
  approveLegalReferralUpdate,
  approveUpdate,
  caseStateQuery,
  contactOutcomeSignal,
  disputeUpdate,
  guarantorResponseSignal,
  holdUpdate,
  missedPaymentSignal,
  paymentReceivedSignal,
  approveVisitUpdate,
  visitReportSignal,
  receivePaymentUpdate,
  registerMissedPaymentUpdate,
  recordLegalEventUpdate,
  recordPromiseUpdate,
  resolveDisputeUpdate,
  resumeUpdate,
  recordVisitReportUpdate,
  setTreatmentUpdate,
  updateContactDetailsUpdate,
  writeOffUpdate,
  type UpdateAck,
} from '../shared/messages';
import { formatAmount } from '../shared/money';
import type { PlaybookStep } from '../shared/playbook';
import {
  BrokenPromises,
  CaseStage,
  CollectorId,
  DaysOverdue,
  HasGuarantor,
  OutstandingMinor,
  Treatment,
} from '../shared/search-attributes';
import {
  accrue,
  addMissedPayment,
  addPromise,
  applyPayment,
  commitPayment,
  dayIndex,
  daysOverdue,
  endStage,
  isClosed,
  legalReferralTriggered,
  newCaseState,
  nextAction,
  nextReminderAt,
  outstandingMinor,
  planPayment,
  promiseRefusal,
  settleGuarantorDemand,
  settlePromises,
  startGuarantorDemand,
  view,
  type Plan,
} from './core/case-core';

/** Ledger writes and outbound steps are short; a database or gateway outage is retried with a capped interval. */
const ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: [
      ErrorTypes.CurrencyMismatch, ErrorTypes.InvalidInput, ErrorTypes.ReconciliationMismatch, ErrorTypes.CaseNotFound,
      ErrorTypes.InvalidRecipient, ErrorTypes.ChannelRejected, ErrorTypes.InconsistentAmounts, ErrorTypes.PaymentIdConflict,
      ErrorTypes.LetterNotPossible,
    ],
  },
};
const acts = proxyActivities<CaseActivities>(ACTIVITY_OPTIONS);

/** Calls an activity with a summary, the line the Temporal UI shows for it. */
function act<K extends keyof CaseActivities>(fn: K, summary: string, ...args: Parameters<CaseActivities[K]>): ReturnType<CaseActivities[K]> {
  const proxied = acts[fn] as unknown as { executeWithOptions(o: ActivityOptions, a: unknown[]): Promise<unknown> };
  return proxied.executeWithOptions({ ...ACTIVITY_OPTIONS, summary }, args) as ReturnType<CaseActivities[K]>;
}

/**
 * A payment's ledger row is written before the case applies the payment; the processor waits on
 * that answer, so a ledger that stays unreachable refuses the payment (the processor retries) rather
 * than leaving it half applied.
 */
const LEDGER_NOW_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '30 seconds',
  retry: ACTIVITY_OPTIONS.retry,
};
/**
 * The payment's ledger write runs as a local activity: the processor waits for it, and a local
 * activity answers in the worker without a round trip through the server (idempotent on its key,
 * so a worker that dies mid-write and replays writes it once).
 */
const ledgerNow = proxyLocalActivities<Pick<CaseActivities, 'recordPayment'>>(LEDGER_NOW_OPTIONS);
/** Steps of playbooks from before `stepAttempts` existed. */
const DEFAULT_STEP_ATTEMPTS = 12;

/** Runs per run before continuing-as-new even if the server has not suggested it (the limit is 51,200). */
const DEFAULT_MAX_HISTORY_EVENTS = 8_000;

const upcoming = (plan?: Plan): CaseState['nextAction'] =>
  plan?.next ? { stepId: plan.next.stepId, action: plan.next.action, day: plan.next.day, dueAt: plan.next.dueAt } : undefined;

/**
 * One overdue account's collection case, driven by its playbook. The workflow only sleeps until the
 * next thing is due, asks the pure decision core what that is, runs the activity and records the
 * outcome. Every message bumps `state.version`, which wakes the loop to decide again.
 */
export async function collectionCase(input: CaseInput): Promise<CaseResult> {
  const info = workflowInfo();
  const pb = input.playbook;
  const now = () => Date.now(); // the workflow clock: deterministic on replay
  const fresh = !input.carried;
  /** The case and its first instalment are in the ledger (a payment's row refers to them). */
  let ledgerOpened = !fresh;
  // Cases opened since this patch count days overdue from the oldest unpaid instalment and accrue
  // penalty per instalment (workflows/core/case-core.ts); older cases keep the rule they began with.
  const state: CaseState =
    input.carried ?? newCaseState(input, now(), `${info.workflowId}/${info.runId}`, { perInstalment: patched('per-instalment-accrual') });
  const ledgerQueue: Array<() => Promise<unknown>> = [];
  const touch = () => {
    state.version += 1;
  };
  const note = (what: string, outcome: string) => {
    state.timeline.push({ at: new Date(now()).toISOString(), day: dayIndex(state, now()), what, outcome });
  };
  const ref = (suffix: string): CaseRef => ({
    idempotencyKey: `${state.caseKey}:${suffix}`,
    caseKey: state.caseKey,
    accountId: state.accountId,
    at: new Date(now()).toISOString(),
  });
  const ack = (detail: string): UpdateAck => ({ accepted: true, stage: state.stage, detail });
  /** An amount as a person reads it: '1,004.50 CNY'. */
  const money = (minor: number, currency = state.currency) => formatAmount(minor, currency);
  /** An instant as a person reads it: the debtor's local date and time, with the zone. */
  const local = (at: number | string) => {
    const ms = typeof at === 'string' ? Date.parse(at) : at;
    return `${localDate(ms, state.timeZone)} ${localTime(ms, state.timeZone)} ${state.timeZone}`;
  };
  const mustBeActive = () => {
    if (isClosed(state)) throw ApplicationFailure.nonRetryable(`the case is ${state.stage}`, 'CaseClosed');
    // Accepted, not yet closed: the write-off is the case's last word.
    if (state.writeOff) throw ApplicationFailure.nonRetryable('the case is being written off', 'CaseClosed');
  };

  // ---- handlers, registered before the first await ----
  // A message changes the picture before the loop has planned again (it may first have ledger rows to
  // write): until then the query answers with the plan as of now, so a caller never reads the step a
  // promise or a hold has just paused.
  let plannedVersion = -1;
  setHandler(caseStateQuery, () => {
    const t = now();
    const v = view(state, t);
    if (state.version !== plannedVersion && !isClosed(state) && state.stage !== 'legal') v.nextAction = upcoming(nextAction(state, pb, t));
    return v;
  });

  const takeMissedPayment = (m: MissedPayment): void => {
    accrue(state, pb, now()); // days so far accrue on the principal before this instalment joins it
    if (addMissedPayment(state, m)) {
      accrue(state, pb, now()); // an instalment reported late accrues its own past days (per-instalment rule)
      note('missed payment', `${money(m.amountMinor, m.currency)} due ${m.dueDate}`);
      ledgerQueue.push(() => act('recordMissedPayment', `Record missed instalment due ${m.dueDate}`, { ...ref(`missed:${m.dueDate}`), missed: m }));
      touch();
    }
  };
  setHandler(missedPaymentSignal, takeMissedPayment);
  setHandler(
    registerMissedPaymentUpdate,
    (m) => {
      takeMissedPayment(m);
      // The instalment that opened the case answers "created" every time it is asked: idempotent.
      return { created: m.dueDate === input.firstMissed.dueDate, caseKey: state.caseKey, outstandingMinor: outstandingMinor(state) };
    },
    {
      validator: (m: MissedPayment) => {
        mustBeActive();
        if (m.currency !== state.currency) throw new Error(`the case is in ${state.currency}, the instalment in ${m.currency}`);
        const today = localDate(now(), state.timeZone);
        if (m.dueDate >= today) throw new Error(`an instalment due ${m.dueDate} is not overdue yet (today is ${today} in ${state.timeZone})`);
      },
    },
  );

  /** Applies a payment once (by paymentId); true when it was applied now. (Cases from before 'payment-ledger-first'.) */
  const takePaymentThenRecord = (p: PaymentReceived): boolean => {
    if (!applyPayment(state, pb, p, now())) return false;
    const applied = state.payments[state.payments.length - 1]!;
    notePayment(p, applied.outstandingAfterMinor);
    ledgerQueue.push(() =>
      act('recordPayment', `Record payment ${p.paymentId}: ${money(p.amountMinor, p.currency)}`, { ...ref(`payment:${p.paymentId}`), payment: p, allocation: applied.allocation, outstandingAfterMinor: applied.outstandingAfterMinor }),
    );
    touch();
    return true;
  };
  const notePayment = (p: PaymentReceived, outstandingAfter: number) =>
    note('payment received', `${money(p.amountMinor, p.currency)} (${p.paymentId}); outstanding ${money(outstandingAfter)}`);

  /**
   * A payment reaches the ledger and the case, or neither: its ledger row is written first, and only
   * then is it applied to the case. A ledger refusal (the payment id is another account's) fails the
   * update with the ledger's error type. One payment at a time, so each split is computed on the
   * balance the previous one left.
   */
  let paymentQueue: Promise<unknown> = Promise.resolve();
  let paymentsInFlight = 0;
  const recordThenTakePayment = (p: PaymentReceived): Promise<boolean> => {
    paymentsInFlight += 1;
    const run = paymentQueue.then(async () => {
      // A payment that arrives with the case (or just after it opened) waits for the case's ledger row.
      if (!ledgerOpened) await condition(() => ledgerOpened);
      const allocation = planPayment(state, pb, p, now());
      if (!allocation) return false; // a duplicate delivery, or the case closed meanwhile
      const b = state.balance;
      const outstandingAfter = b.principalMinor + b.penaltyMinor + b.feesMinor - (allocation.feesMinor + allocation.penaltyMinor + allocation.principalMinor);
      try {
        await ledgerNow.recordPayment.executeWithOptions(
          { ...LEDGER_NOW_OPTIONS, summary: `Record payment ${p.paymentId}: ${money(p.amountMinor, p.currency)}` },
          [{ ...ref(`payment:${p.paymentId}`), payment: p, allocation, outstandingAfterMinor: outstandingAfter }],
        );
      } catch (e) {
        // The ledger's own refusal, wherever the SDK put it in the chain; anything else (a timeout) is the ledger unavailable.
        let refusal: unknown = e;
        while (refusal instanceof Error && !(refusal instanceof ApplicationFailure && refusal.type)) refusal = refusal.cause;
        const why = refusal instanceof ApplicationFailure ? refusal : undefined;
        const message = why?.message ?? (e instanceof ActivityFailure ? e.cause?.message : undefined) ?? (e as Error).message;
        note('payment refused', `${money(p.amountMinor, p.currency)} (${p.paymentId}): ${message}`);
        throw ApplicationFailure.create({ type: why?.type ?? 'LedgerUnavailable', message, nonRetryable: true });
      }
      const applied = commitPayment(state, p, allocation);
      notePayment(p, applied.outstandingAfterMinor);
      touch();
      return true;
    });
    paymentQueue = run.catch(() => undefined);
    return run.finally(() => {
      paymentsInFlight -= 1;
    });
  };
  const takePayment = (p: PaymentReceived): boolean | Promise<boolean> =>
    patched('payment-ledger-first') ? recordThenTakePayment(p) : takePaymentThenRecord(p);
  setHandler(paymentReceivedSignal, async (p) => {
    try {
      await takePayment(p);
    } catch {
      // A signal cannot answer: the refusal is in the timeline (note above) and the ledger has nothing of it.
    }
  });
  setHandler(
    receivePaymentUpdate,
    async (p) => ({ applied: await takePayment(p), outstandingMinor: outstandingMinor(state), stage: state.stage }),
    {
      validator: (p: PaymentReceived) => {
        mustBeActive();
        if (p.currency !== state.currency) throw new Error(`the case is in ${state.currency}, the payment in ${p.currency}`);
      },
    },
  );

  setHandler(contactOutcomeSignal, (o) => {
    if (isClosed(state)) return;
    const day = dayIndex(state, now());
    if (o.reasonCategory !== undefined) state.reasonCategory = o.reasonCategory;
    if (o.reasonCategory === 6 && !state.legalReviewRequested) state.legalReviewRequested = true;
    const n = state.timeline.length;
    note(`contact outcome (${o.channel})`, `${o.outcome}${o.reasonCategory ? `, reason ${o.reasonCategory}` : ''}${o.note ? `: ${o.note}` : ''}`);
    ledgerQueue.push(() => act('recordContactOutcome', `Record ${o.channel} outcome: ${o.outcome}`, { ...ref(`outcome:${n}`), day, outcome: o, actor: o.actor }));
    touch();
  });

  const takeVisitReport = (v: VisitReportInput, promise?: PromiseToPay): number | undefined => {
    const n = state.timeline.length;
    const written = promise ? `, written promise: ${money(promise.amountMinor)} by ${promise.date}` : typeof v.writtenPromise === 'string' ? `, written promise: ${v.writtenPromise}` : '';
    note('visit report', `${v.outcome}${v.signedStatement ? ', signed statement' : ''}${written}`);
    ledgerQueue.push(() =>
      act('recordVisitReport', `Record visit report: ${v.outcome}`, {
        ...ref(`visit-report:${n}`),
        visitReference: state.lastVisitReference!,
        outcome: v.outcome,
        signedStatement: v.signedStatement,
        ...(written ? { writtenPromise: written.replace(', written promise: ', '') } : {}),
        note: v.note,
        ...(v.officerId ? { officerId: v.officerId } : {}),
      }),
    );
    touch();
    return promise ? makePromise(promise, 'written promise at the visit') : undefined;
  };
  setHandler(visitReportSignal, (v) => {
    if (!state.lastVisitReference || isClosed(state)) return;
    // A signal cannot refuse: a written promise that recordPromise would refuse is reported, not made.
    const p = typeof v.writtenPromise === 'object' ? v.writtenPromise : undefined;
    const why = p && promiseRefusal(state, pb, p, now());
    takeVisitReport(v, why ? undefined : p);
    if (why) note('written promise not taken', why);
  });
  setHandler(
    recordVisitReportUpdate,
    (v) => {
      const id = takeVisitReport(v, v.writtenPromise);
      return { ...ack(id ? `visit report recorded; promise ${id}: escalation paused until ${v.writtenPromise!.date} plus ${pb.promise.graceDays} days' grace` : 'visit report recorded'), ...(id ? { promiseId: id } : {}) };
    },
    {
      validator: (v: VisitReportInput) => {
        mustBeActive();
        if (!state.lastVisitReference) throw new Error('no field visit to report on yet');
        const why = v.writtenPromise && promiseRefusal(state, pb, v.writtenPromise, now());
        if (why) throw new Error(`the written promise is refused: ${why}`);
      },
    },
  );

  setHandler(
    approveVisitUpdate,
    ({ by, role }) => {
      state.pendingVisit!.approvedBy = by;
      note('visit approved', `by ${by} (${role})`);
      touch();
      return ack('visit approved');
    },
    {
      validator: ({ role }) => {
        mustBeActive();
        const v = state.pendingVisit;
        if (!v || v.approvedBy) throw new Error('no field visit is awaiting approval');
        if (role !== v.role && !(v.role === 'supervisor' && role === 'manager')) throw new Error(`this visit needs a ${v.role}'s approval`);
      },
    },
  );

  setHandler(guarantorResponseSignal, (r) => {
    const g = state.guarantors.find((x) => x.id === r.guarantorId);
    if (!g || isClosed(state)) return;
    g.status = r.response === 'refuses' ? 'refused' : r.response;
    if (state.guarantorDemand && !state.guarantorDemand.outcome) state.guarantorDemand.outcome = r.response;
    note('guarantor response', `${g.name}: ${r.response}`);
    touch();
  });

  const makePromise = (p: PromiseToPay, how = 'promise to pay'): number => {
    const id = addPromise(state, p, now());
    note(how, `${money(p.amountMinor)} by ${p.date}`);
    const made = state.promises[id - 1]!;
    ledgerQueue.push(() =>
      act('recordPromise', `Record promise ${id}: ${money(p.amountMinor)} by ${p.date}`, {
        ...ref(`promise:${id}:pending`), promiseNo: id, date: p.date, amountMinor: p.amountMinor, status: 'pending', madeAt: made.madeAt,
      }),
    );
    touch();
    return id;
  };
  setHandler(
    recordPromiseUpdate,
    (p) => ({ ...ack(`escalation paused until ${p.date} plus ${pb.promise.graceDays} days' grace`), promiseId: makePromise(p) }),
    {
      validator: (p) => {
        const why = promiseRefusal(state, pb, p, now());
        if (why) throw new Error(why);
      },
    },
  );

  setHandler(
    updateContactDetailsUpdate,
    (c) => {
      const d = c.debtor ?? {};
      if (Object.keys(d).length > 0) state.debtorContact = { ...state.debtorContact, ...d };
      for (const g of c.guarantors ?? []) {
        const mine = state.guarantors.find((x) => x.id === g.id)!;
        if (g.phones) mine.phones = g.phones;
        if (g.address) mine.address = g.address;
      }
      const fields = [...Object.keys(d).map((k) => `debtor ${k}`), ...(c.guarantors ?? []).flatMap((g) => Object.keys(g).filter((k) => k !== 'id').map((k) => `guarantor ${g.id} ${k}`))];
      note('contact details updated', `${fields.join(', ')} (by ${c.by})`);
      const n = state.timeline.length;
      ledgerQueue.push(() => act('recordContactDetails', `Record new contact details: ${fields.join(', ')}`, { ...ref(`contact-details:${n}`), ...c }));
      // A letter that failed for want of an address catches up now that one arrived.
      const gotAddress = !!d.address || (c.guarantors ?? []).some((g) => g.address);
      const waiting = gotAddress ? (state.awaitingAddress ?? []) : [];
      for (const key of waiting) {
        delete state.done[key];
        note('letter to catch up', `${key}: an address arrived`);
      }
      if (waiting.length > 0) state.awaitingAddress = [];
      touch();
      return ack(`contact details updated${waiting.length > 0 ? `; ${waiting.length} letter(s) will catch up` : ''}`);
    },
    {
      validator: (c: ContactDetails) => {
        mustBeActive();
        const unknown = (c.guarantors ?? []).filter((g) => !state.guarantors.some((x) => x.id === g.id)).map((g) => g.id);
        if (unknown.length > 0) throw new Error(`no guarantor ${unknown.join(', ')} on this case`);
      },
    },
  );

  setHandler(
    setTreatmentUpdate,
    ({ treatment }) => {
      const needsApproval = treatment === 'restructure' || treatment === 'settle-in-kind';
      state.treatment = { kind: treatment, approved: !needsApproval };
      note('treatment set', needsApproval ? `${treatment}, awaiting approval` : treatment);
      touch();
      return ack(needsApproval ? `${treatment} needs an approval (update approve)` : `treatment is ${treatment}`);
    },
    { validator: (_t: { treatment: string }) => mustBeActive() },
  );

  setHandler(
    approveUpdate,
    ({ by, role }) => {
      state.treatment = { ...state.treatment, approved: true, approvedBy: by };
      note('treatment approved', `${state.treatment.kind} by ${by} (${role})`);
      touch();
      return ack(`${state.treatment.kind} approved`);
    },
    {
      validator: ({ role }) => {
        mustBeActive();
        if (state.treatment.approved) throw new Error('no treatment is awaiting approval');
        if (role !== 'manager' && role !== 'supervisor') throw new Error(`a ${role} cannot approve a ${state.treatment.kind}`);
      },
    },
  );

  setHandler(
    holdUpdate,
    (h) => {
      state.hold = { ...h, since: new Date(now()).toISOString() };
      note('hold', `${h.reason}${h.until ? ` until ${local(h.until)}` : ''}`);
      touch();
      return ack('contact on hold');
    },
    {
      validator: (h) => {
        mustBeActive();
        if (h.until && !(Date.parse(h.until) > now())) throw new Error('a hold must end in the future');
      },
    },
  );
  setHandler(
    resumeUpdate,
    () => {
      delete state.hold;
      note('resumed', 'hold lifted');
      touch();
      return ack('resumed');
    },
    { validator: () => { if (!state.hold) throw new Error('the case is not on hold'); } },
  );

  setHandler(
    disputeUpdate,
    (d) => {
      state.dispute = { ...d, since: new Date(now()).toISOString() };
      note('dispute', d.reason);
      touch();
      return ack('no contact until the dispute is resolved');
    },
    { validator: (_d: { reason: string }) => { mustBeActive(); if (state.dispute) throw new Error('the case is already in dispute'); } },
  );
  setHandler(
    resolveDisputeUpdate,
    () => {
      delete state.dispute;
      note('dispute resolved', 'contact may resume');
      touch();
      return ack('dispute resolved');
    },
    { validator: () => { if (!state.dispute) throw new Error('the case is not in dispute'); } },
  );

  setHandler(
    writeOffUpdate,
    (w) => {
      state.writeOff = w;
      note('write-off requested', `${w.reason} (by ${w.by})`);
      touch();
      return ack('the case will be written off');
    },
    { validator: (_w: { reason: string; by: string }) => mustBeActive() },
  );

  setHandler(
    approveLegalReferralUpdate,
    ({ by, role }) => {
      state.legal = { ...state.legal!, status: 'approved', approvedBy: by };
      note('legal referral approved', `by ${by} (${role})`);
      touch();
      return ack('legal referral approved');
    },
    {
      validator: ({ role }) => {
        mustBeActive();
        if (state.legal?.status !== 'awaiting-approval') throw new Error('no legal referral is awaiting approval');
        if (role !== 'supervisor' && role !== 'manager') throw new Error(`a ${role} cannot approve a legal referral`);
      },
    },
  );

  setHandler(
    recordLegalEventUpdate,
    (e) => {
      const at = new Date(now()).toISOString();
      state.legal!.events.push({ ...e, at });
      if (e.kind === 'mediated-settlement') state.legal!.settlementMinor = e.amountMinor;
      note(`legal: ${e.kind}`, 'amountMinor' in e ? `${money(e.amountMinor)}` : JSON.stringify(e));
      const n = state.legal!.events.length;
      ledgerQueue.push(() => act('recordLegalEvent', `Record legal event: ${e.kind}`, { ...ref(`legal-event:${n}`), event: e }));
      touch();
      return ack(`${e.kind} recorded`);
    },
    {
      validator: (e: LegalEvent) => {
        if (state.stage !== 'legal') throw new Error(`legal events are taken in stage legal, not ${state.stage}`);
        if (e.kind === 'mediated-settlement' && e.amountMinor > outstandingMinor(state) + state.paidMinor) {
          throw new Error('a settlement cannot exceed the debt');
        }
      },
    },
  );

  // ---- the case ----
  const stepRequest = (
    step: Pick<PlaybookStep, 'id' | 'action' | 'description'> & Partial<Pick<PlaybookStep, 'window' | 'approval' | 'materials'>>,
    day: number,
    key: string,
    reason?: string,
  ): StepRequest => {
    const window = step.window ?? { from: '09:00', to: '18:00' };
    const date = addDays(state.day0, day);
    const letter = step.action === 'overdue-notice' || step.action === 'guarantor-demand' || step.action === 'statement-of-account' || step.action === 'legal-referral';
    return {
    ...ref(key),
    windowFrom: window.from,
    windowTo: window.to,
    windowEnd: new Date(instantOf(date, window.to, state.timeZone)).toISOString(),
    ...(step.approval ? { approvalRole: step.approval.role } : {}),
    ...(step.materials ? { materials: step.materials } : {}),
    inDispute: !!state.dispute,
    costMinor: step.action === 'field-visit' ? pb.costs.fieldVisitMinor : letter ? pb.costs.letterMinor : 0,
    letterLanguage: pb.letterLanguage,
    creditor: pb.creditor,
    daysOverdue: daysOverdue(state, now()),
    dueDate: state.missedPayments[0]?.dueDate ?? input.firstMissed.dueDate,
    stepId: step.id,
    action: step.action,
    day,
    description: step.description,
    debtorName: input.debtor.name,
    timeZone: state.timeZone,
    currency: state.currency,
    balance: { ...state.balance },
    ...(state.collectorId ? { collectorId: state.collectorId } : {}),
    guarantorIds: state.guarantors.map((g) => g.id),
    ...(reason ? { reason } : {}),
    };
  };

  type StepOutcome = StepResult | { status: 'failed'; reference: string; type?: string } | { status: 'cancelled' };
  /** The case has reached an end state (paid, settled, written off) that a step in flight must not hold up. */
  const endReached = () => endStage(state) !== undefined || !!state.writeOff;
  /**
   * Runs a step's activity with the playbook's bounded retry. A business refusal, or retries run out,
   * is the step's outcome ('failed', with the failure's type) and the case goes on. Since
   * 'end-cancels-step', a case that reaches an end state while the step runs cancels it ('cancelled').
   */
  const runStep = async (fn: keyof CaseActivities, req: StepRequest & { approvedBy?: string }, summary: string): Promise<StepOutcome> => {
    const options: ActivityOptions = { ...ACTIVITY_OPTIONS, summary, retry: { ...ACTIVITY_OPTIONS.retry, maximumAttempts: pb.stepAttempts ?? DEFAULT_STEP_ATTEMPTS } };
    const call = () => (acts[fn] as unknown as { executeWithOptions(o: ActivityOptions, a: unknown[]): Promise<StepResult> }).executeWithOptions(options, [req]);
    try {
      return patched('end-cancels-step') ? await untilCaseEnds(call) : await call();
    } catch (e) {
      if (e instanceof ActivityFailure) {
        const type = e.cause instanceof ApplicationFailure ? e.cause.type ?? undefined : undefined;
        return { status: 'failed', reference: `failed: ${e.cause?.message ?? e.message}`, ...(type ? { type } : {}) };
      }
      throw e;
    }
  };
  /** Runs `work` in its own scope, cancelled if the case reaches an end state first. */
  const untilCaseEnds = async (work: () => Promise<StepResult>): Promise<StepResult | { status: 'cancelled' }> => {
    const stepScope = new CancellationScope();
    const watchScope = new CancellationScope();
    let ended = false;
    void watchScope.run(() => condition(endReached)).then(
      () => {
        ended = true;
        stepScope.cancel();
      },
      () => undefined, // the step finished first and the watch was cancelled
    );
    try {
      return await stepScope.run(work);
    } catch (e) {
      if (ended && isCancellation(e)) return { status: 'cancelled' };
      throw e;
    } finally {
      watchScope.cancel();
    }
  };

  const published: Record<string, unknown> = {};
  let lastEvent = fresh ? 'case opened' : 'continued';
  const publish = (plan?: Plan) => {
    const t = now();
    const values = {
      CaseStage: state.stage,
      DaysOverdue: daysOverdue(state, t),
      OutstandingMinor: outstandingMinor(state),
      HasGuarantor: state.guarantors.length > 0,
      BrokenPromises: state.brokenPromises,
      Treatment: state.treatment.kind,
      CollectorId: state.collectorId ?? '',
    };
    const changed = Object.entries(values).filter(([k, v]) => published[k] !== v);
    if (changed.length > 0) {
      const keys = { CaseStage, DaysOverdue, OutstandingMinor, HasGuarantor, BrokenPromises, Treatment, CollectorId } as const;
      upsertSearchAttributes(
        changed
          .filter(([k, v]) => !(k === 'CollectorId' && v === ''))
          .map(([k, v]) => ({ key: keys[k as keyof typeof keys], value: v }) as never),
      );
      Object.assign(published, values);
    }
    const day = dayIndex(state, t);
    let next = 'nothing scheduled';
    if (isClosed(state)) next = 'closed';
    else if (plan?.pause) next = `paused (${plan.pause.reason})`;
    else if (state.legal?.status === 'awaiting-approval') next = 'legal referral awaiting a supervisor\'s approval';
    else if (state.stage === 'legal') next = 'in legal proceedings';
    else if (plan?.next) {
      const at = Date.parse(plan.next.dueAt);
      const step = pb.steps.find((s) => s.id === plan.next!.stepId)!;
      next = `${step.repeat ? 'daily ' : ''}${step.action.replace(/-/g, ' ')} on day ${plan.next.day}, ${localTime(at, state.timeZone)} ${state.timeZone}`;
    }
    state.nextAction = upcoming(plan);
    plannedVersion = state.version;
    setCurrentDetails(`Day ${day}: ${lastEvent}. Outstanding ${money(outstandingMinor(state))}. Next: ${next}.`);
    projectIfChanged(next);
  };

  // The ledger's cases row follows the workflow: written whenever what it shows changes.
  let projected = '';
  const projectIfChanged = (next: string) => {
    const t = now();
    const row = {
      stage: state.stage,
      ...(state.collectorId ? { collectorId: state.collectorId } : {}),
      daysOverdue: daysOverdue(state, t),
      balance: { ...state.balance },
      paidMinor: state.paidMinor,
      brokenPromises: state.brokenPromises,
      treatment: state.treatment.kind,
      inDispute: !!state.dispute,
      nextAction: next,
      ...(state.nextAction ? { nextActionAt: state.nextAction.dueAt } : {}),
    };
    const signature = JSON.stringify(row);
    if (signature === projected) return;
    projected = signature;
    const n = ++state.projectionNo;
    ledgerQueue.push(() => act('projectCase', `Update the ledger's case row (${n})`, { ...ref(`projection:${n}`), projectionNo: n, ...row }));
  };

  const drainLedger = async () => {
    while (ledgerQueue.length > 0) await ledgerQueue.shift()!();
  };

  const close = async (stage: Stage, why: string) => {
    state.stage = stage;
    state.closedAt = new Date(now()).toISOString();
    note('case closed', `${stage}: ${why}`);
    await drainLedger();
    await act('recordCaseClosed', `Close the case: ${stage}`, { ...ref('close'), stage, closedAt: state.closedAt, paidMinor: state.paidMinor, outstandingMinor: outstandingMinor(state) });
    const dpd = daysOverdue(state, now());
    if (stage === 'paid' && dpd >= pb.blacklistAtDaysOverdue) {
      await act('placeOnBlacklist', `Blacklist: paid after ${dpd} days overdue`, { ...ref('blacklist'), debtorName: input.debtor.name, daysOverdue: dpd });
      state.blacklisted = true;
      note('blacklisted', `paid after ${dpd} days overdue`);
    }
    lastEvent = `closed ${stage}`;
    publish();
    // The closed case's final row must reach the ledger before the workflow ends. Added after histories
    // were recorded, so cases that closed without it replay without it (docs/versioning.md).
    if (patched('final-projection-on-close')) await drainLedger();
  };

  if (fresh) {
    if (input.firstMissed.currency !== input.currency) {
      throw ApplicationFailure.nonRetryable(
        `first missed payment is in ${input.firstMissed.currency}, the account in ${input.currency}`,
        ErrorTypes.CurrencyMismatch,
      );
    }
    note('case opened', `day ${state.openedOnDay}, ${money(outstandingMinor(state))} overdue, playbook ${pb.id} v${pb.version}`);
    publish();
    await act('recordCaseOpened', `Open the case in the ledger (day ${state.openedOnDay})`, {
      ...ref('open'),
      workflowId: info.workflowId,
      debtorName: input.debtor.name,
      debtor: input.debtor,
      guarantors: input.guarantors,
      ...(input.collectorId ? { collectorId: input.collectorId } : {}),
      currency: input.currency,
      firstMissed: input.firstMissed,
      playbookId: pb.id,
      playbookVersion: pb.version,
      openedAt: state.openedAt,
    });
    await act('recordMissedPayment', `Record missed instalment due ${input.firstMissed.dueDate}`, { ...ref(`missed:${input.firstMissed.dueDate}`), missed: input.firstMissed });
    ledgerOpened = true;
  }

  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  for (;;) {
    await drainLedger();
    const t = now();
    accrue(state, pb, t);
    for (const c of settlePromises(state, pb, t)) {
      note(`promise ${c.id}`, c.status);
      const p = state.promises[c.id - 1]!;
      ledgerQueue.push(() =>
        act('recordPromise', `Promise ${c.id} ${c.status}`, { ...ref(`promise:${c.id}:${c.status}`), promiseNo: c.id, date: p.date, amountMinor: p.amountMinor, status: c.status, madeAt: p.madeAt }),
      );
    }
    // A visit that needs an approval: go ahead once approved, cancel when its window closes without one.
    const pv = state.pendingVisit;
    if (pv?.approvedBy) {
      await act('recordVisitApproval', `Visit approved by ${pv.approvedBy}`, { ...ref(`visit-approval:${pv.reference}`), visitReference: pv.reference, by: pv.approvedBy, role: pv.role });
      delete state.pendingVisit;
      continue;
    }
    if (pv && t >= Date.parse(pv.deadline)) {
      await act('cancelVisit', 'Cancel the visit: not approved in time', { ...ref(`visit-cancel:${pv.reference}`), visitReference: pv.reference, reason: `no ${pv.role} approval before the window closed` });
      note('visit cancelled', `no ${pv.role} approval before ${local(pv.deadline)}`);
      delete state.pendingVisit;
      continue;
    }
    if (settleGuarantorDemand(state, t)) note('guarantor demand', `no answer within ${pb.guarantor.responseDays} days: counts toward legal referral`);
    if (state.hold?.until && Date.parse(state.hold.until) <= t) {
      note('resumed', 'hold expired');
      delete state.hold;
    }

    // End states first: money, then decisions people made. A payment being written to the ledger
    // right now decides whether the case is paid: wait for it (it answers within seconds).
    if (paymentsInFlight > 0) await condition(() => paymentsInFlight === 0);
    const ended = endStage(state);
    if (ended) {
      await close(ended, ended === 'paid' ? 'balance covered' : 'mediated settlement paid');
      break;
    }
    if (state.writeOff) {
      await act('recordWriteOff', `Write off: ${state.writeOff.reason}`, { ...ref('write-off'), reason: state.writeOff.reason, by: state.writeOff.by, balance: { ...state.balance } });
      await close('written-off', state.writeOff.reason);
      break;
    }
    if (state.treatment.approved && (state.treatment.kind === 'restructure' || state.treatment.kind === 'settle-in-kind')) {
      await act('recordTreatment', `Record approved ${state.treatment.kind}`, { ...ref(`treatment:${state.treatment.kind}`), treatment: state.treatment.kind, approvedBy: state.treatment.approvedBy ?? 'unknown', balance: { ...state.balance } });
      await close('settled', `${state.treatment.kind} approved by ${state.treatment.approvedBy}`);
      break;
    }
    const lastLegal = state.legal?.events[state.legal.events.length - 1];
    if (lastLegal?.kind === 'closed') {
      await close('legal-closed', lastLegal.outcome);
      break;
    }
    if (state.stage === 'open' && state.legal?.status === 'approved') {
      const day = dayIndex(state, t);
      const r = await runStep('referToLegal', { ...stepRequest({ id: 'legal-handoff', action: 'legal-referral', description: 'Hand the case and its dossier to legal' }, day, 'legal-handoff'), approvedBy: state.legal.approvedBy! }, `Day ${day}: hand the case to legal`);
      if (r.status === 'cancelled') continue; // paid or written off meanwhile: the top of the loop closes it
      state.stage = 'legal';
      note('handed to legal', 'reference' in r ? r.reference : r.status);
      lastEvent = 'handed to legal';
      publish();
      continue;
    }
    const reminderAt = nextReminderAt(state, pb);
    if (reminderAt !== undefined && t >= reminderAt) {
      const n = state.legal!.remindersSent + 1;
      await act('remindSupervisor', `Remind supervisors: legal referral awaits approval (${n})`, { ...ref(`legal-approval-reminder:${n}`), subject: `Legal referral of ${state.accountId} awaits approval`, reminder: n });
      state.legal!.remindersSent = n;
      note('reminder', `legal referral approval, reminder ${n}`);
      continue;
    }

    // The ladder.
    const plan = nextAction(state, pb, t);
    for (const s of plan.skipped) {
      state.done[s.key] = 'skipped';
      note(pb.steps.find((x) => x.id === s.stepId)!.action, `skipped: day ${s.day} passed before it could run`);
    }
    if (plan.next && Date.parse(plan.next.dueAt) <= t) {
      const step = pb.steps.find((s) => s.id === plan.next!.stepId)!;
      const { day, key } = plan.next;
      const reason = step.action === 'legal-referral' ? legalReferralTriggered(state, pb) : undefined;
      const req = stepRequest(step, day, key, reason);
      const result = await runStep(STEP_ACTIVITY[step.action], req, `Day ${day}: ${step.description}`);
      if (result.status === 'cancelled') {
        // The case reached an end state while the step ran: the top of the loop closes it.
        note(step.action, 'cancelled: the case ended while it ran');
        continue;
      }
      if (result.status === 'refused') {
        // The compliance guard said not now: wait for the next allowed moment if it still serves this
        // occurrence, else this occurrence does not happen.
        const nextAllowed = result.nextAllowedAt ? Date.parse(result.nextAllowedAt) : undefined;
        const stillUseful = nextAllowed !== undefined && nextAllowed > now() && (nextAllowed < Date.parse(req.windowEnd) || step.catchUp || step.action === 'legal-referral');
        if (stillUseful) {
          state.notBefore[key] = result.nextAllowedAt!;
          note(step.action, `deferred by ${result.rule} until ${local(result.nextAllowedAt!)}: ${result.reason}`);
        } else {
          state.done[key] = 'refused';
          note(step.action, `refused by ${result.rule}: ${result.reason}`);
        }
        lastEvent = `${step.action.replace(/-/g, ' ')} refused (${result.rule})`;
        continue;
      }
      if (result.status === 'failed') {
        // A business failure (e.g. the ledger and the case disagree on the amounts): the step did not
        // happen, nothing that depends on it starts, and a person has to look (the timeline says why).
        state.done[key] = 'failed';
        note(step.action, result.reference);
        lastEvent = `${step.action.replace(/-/g, ' ')} ${result.reference}`;
        // A letter that failed for want of an address runs once the address arrives, if the step catches up.
        if (result.type === ErrorTypes.LetterNotPossible && step.catchUp) state.awaitingAddress = [...(state.awaitingAddress ?? []), key];
        if (patched('record-step-failure')) {
          await act('recordStepFailure', `Tell supervisors: day ${day} ${step.action.replace(/-/g, ' ')} failed`, {
            ...ref(`step-failed:${key}:${state.timeline.length}`), stepKey: req.idempotencyKey, stepId: step.id, action: step.action, day, reason: result.reference,
          });
        }
        continue;
      }
      const reference = result.reference;
      state.done[key] = 'ran';
      delete state.notBefore[key];
      note(step.action, reference);
      if (step.action === 'field-visit') {
        state.lastVisitReference = reference;
        if (step.approval) state.pendingVisit = { reference, stepId: step.id, role: step.approval.role, deadline: req.windowEnd };
      }
      if (step.action === 'guarantor-contact') for (const g of state.guarantors) if (g.status === 'not-contacted') g.status = 'contacted';
      if (step.action === 'guarantor-demand') startGuarantorDemand(state, pb, now());
      if (step.action === 'legal-referral') {
        state.legal = { status: 'awaiting-approval', requestedAt: new Date(now()).toISOString(), remindersSent: 0, events: [] };
      }
      lastEvent = `${DONE_WORDS[step.action]} (${reference})`;
      continue;
    }
    publish(plan);

    // A long life: hand the state to a fresh run before the history grows large.
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents) {
      await condition(allHandlersFinished);
      await drainLedger();
      return continueAsNew<typeof collectionCase>({ ...input, carried: { ...state, runs: state.runs + 1 } });
    }

    // Sleep until the next thing is due, or until a message changes the picture.
    const wakeCandidates = [
      plan.next ? Date.parse(plan.next.dueAt) : undefined,
      plan.pause?.until,
      state.guarantorDemand && !state.guarantorDemand.outcome ? Date.parse(state.guarantorDemand.deadline) : undefined,
      reminderAt,
      state.pendingVisit ? Date.parse(state.pendingVisit.deadline) : undefined,
      nextLocalMidnight(state, t),
    ].filter((x): x is number => x !== undefined && x > t);
    const wakeAt = Math.min(...wakeCandidates);
    const version = state.version;
    const what = plan.next && Date.parse(plan.next.dueAt) === wakeAt ? `until day ${plan.next.day} ${local(wakeAt)}: ${plan.next.stepId}` : `until ${local(wakeAt)}`;
    await condition(() => state.version !== version || ledgerQueue.length > 0, wakeAt - t, { summary: what });
  }

  await condition(allHandlersFinished);
  return { accountId: state.accountId, stage: state.stage, paidMinor: state.paidMinor, closedAt: state.closedAt! };
}

/** What a supervisor reads once a step has run. */
const DONE_WORDS: Record<PlaybookStep['action'], string> = {
  'field-visit': 'field visit planned',
  'phone-call': 'call placed',
  'guarantor-contact': 'guarantor contacted',
  'overdue-notice': 'overdue notice served',
  'guarantor-demand': 'guarantor demand served',
  'statement-of-account': 'statement of account sent',
  'legal-referral': 'legal referral requested',
};

/** The next local midnight: the day changes, and with it DaysOverdue and the penalty interest. */
function nextLocalMidnight(state: CaseState, t: number): number {
  return instantOf(addDays(state.day0, dayIndex(state, t) + 1), '00:00', state.timeZone);
}
