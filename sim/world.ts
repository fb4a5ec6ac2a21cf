import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import {
  checkContact,
  RULE_SETS,
  type ContactChannel,
  type ContactLogEntry,
  type ContactParty,
  type Verdict,
} from '../activities/compliance/rules';
import type { CaseActivities, StepRequest, StepResult } from '../shared/activities';
import { addDays, localDate } from '../shared/calendar';
import { ErrorTypes } from '../shared/errors';
import {
  approveLegalReferralUpdate,
  approveVisitUpdate,
  contactOutcomeSignal,
  guarantorResponseSignal,
  receivePaymentUpdate,
  recordPromiseUpdate,
  recordVisitReportUpdate,
  registerMissedPaymentUpdate,
} from '../shared/messages';
import { totalOf } from '../shared/money';
import type { Playbook } from '../shared/playbook';
import type { Behaviour } from './behaviour';
import {
  reactToContact,
  reactToDemand,
  reactToLawyersLetter,
  inOrder,
  referralApproval,
  visitApproval,
  type Delivery,
  type GuarantorAnswer,
  type Subject,
} from './decisions';
import type { SimAccount } from './portfolio';

/** What the simulation keeps of one case (one account under one playbook): the in-memory ledger the report reads. */
export interface CaseBook {
  variant: number;
  account: SimAccount;
  playbook: Playbook;
  caseWorkflowId: string;
  subject: Subject;
  /** What the debtor, the guarantor and the operations team will do to the case, in order; ended: the case has. */
  queue: Delivery[];
  ended: boolean;
  /** The simulation's day 0 (a local date) and the end of its last day in this debtor's zone (epoch ms). */
  start: string;
  horizon: number;
  /** The instalments' principal when the case opened; how far the file's dates were moved (docs/simulation.md). */
  openingMinor: number;
  shiftDays: number;
  openedAt?: number;
  payments: Array<{
    at: number;
    payer: 'debtor' | 'guarantor';
    principalMinor: number;
    penaltyMinor: number;
    feesMinor: number;
    excessMinor: number;
  }>;
  closed?: { at: number; stage: string };
  blacklistedAt?: number;
  /** Steps that happened: the playbook's actions, each guarantor call and letter, the lawyer's letter. */
  actions: Array<{ at: number; action: string }>;
  reached: Array<{ at: number; channel: 'phone' | 'visit' }>;
  costs: Array<{ at: number; kind: 'letter' | 'field-visit'; minor: number }>;
  /** Contacts the compliance guard refused (each attempt, deferred ones included). */
  refusals: Array<{ at: number; rule: string }>;
  /** The contact log the compliance rules read: placed calls, visits, their outcomes. */
  contactLog: ContactLogEntry[];
  promises: Map<number, { madeAt: number; status: 'pending' | 'kept' | 'broken'; statusAt: number }>;
  /** What the case refused of what the simulation sent it (a promise it would not take, ...). */
  rejected: Array<{ at: number; kind: string; message: string }>;
  referralAt?: number;
  legalAt?: number;
  reminders: number[];
  failures: Array<{ at: number; action: string }>;
  guarantorAnswers: Array<{ at: number; answer: GuarantorAnswer }>;
  /** Idempotency: ledger rows taken, deliveries queued, steps done (a retried activity answers the same), contacts' draw keys. */
  seen: Set<string>;
  done: Map<string, StepResult>;
  drawKeys: Map<string, string>;
  contactsOn: Map<string, number>;
}

/**
 * The world of a simulation: every case's book, the case activities that record instead of acting
 * (no PostgreSQL, no gateway; the compliance rules run over each case's contact log in memory), and
 * the deliveries through which debtors, guarantors and the operations team reach the cases: queued as
 * the activities decide them, sent by the driver (sim/run.ts) when the simulated clock reaches them.
 */
export class SimWorld {
  readonly books = new Map<string, CaseBook>();

  constructor(
    private readonly client: Client,
    private readonly behaviour: Behaviour,
  ) {}

  add(book: CaseBook): void {
    this.books.set(book.caseWorkflowId, book);
  }

  private bookOf(caseKey: string): CaseBook {
    const b = this.books.get(caseKey.slice(0, caseKey.indexOf('/')));
    if (!b) throw ApplicationFailure.nonRetryable(`no simulated case ${caseKey}`, ErrorTypes.CaseNotFound);
    return b;
  }

  /** Queues deliveries for the driver to send when their moment comes (each once, by its key: a retried step queues them again). */
  send(b: CaseBook, items: Delivery[]): void {
    const fresh = items.filter((d) => !b.seen.has(`delivery:${d.key}`));
    if (fresh.length === 0) return;
    for (const d of fresh) b.seen.add(`delivery:${d.key}`);
    b.queue.push(...fresh);
    b.queue.sort(inOrder);
  }

  /** The earliest moment something waits to be sent, if anything does. */
  nextDelivery(): number | undefined {
    let next: number | undefined;
    for (const b of this.books.values()) if (!b.ended && b.queue[0] && (next === undefined || b.queue[0].at < next)) next = b.queue[0].at;
    return next;
  }

  /**
   * Sends, case by case in order (cases side by side, `concurrency` at once), everything due by `upTo`, as
   * the API would send it: updates and signals to the case workflow.
   */
  async deliverDue(upTo: number, concurrency: number): Promise<number> {
    const due = [...this.books.values()].filter((b) => !b.ended && b.queue[0] && b.queue[0].at <= upTo);
    let next = 0;
    let sent = 0;
    const lane = async () => {
      while (next < due.length) {
        const b = due[next++]!;
        const handle = this.client.workflow.getHandle(b.caseWorkflowId);
        while (!b.ended && b.queue[0] && b.queue[0].at <= upTo) {
          const d = b.queue.shift()!;
          sent += 1;
          try {
            await this.deliverOne(b, handle, d);
          } catch (e) {
            const message = messageOf(e);
            if (e instanceof WorkflowNotFoundError || /already completed|^the case is |being written off/.test(message)) b.ended = true;
            else if (e instanceof WorkflowUpdateFailedError) b.rejected.push({ at: d.at, kind: d.kind, message });
            else throw e;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, lane));
    return sent;
  }

  /** The compliance guard of activities/contact.ts, over the case's contact log in memory. */
  private guard(b: CaseBook, req: StepRequest, channel: ContactChannel, party: ContactParty): Verdict {
    const d = b.account.debtor;
    return checkContact(RULE_SETS[d.jurisdiction], { at: Date.parse(req.at), channel, party, timeZone: d.timeZone }, b.contactLog, {
      doNotContact: false,
      ceaseCommunication: false,
      inDispute: req.inDispute,
      debtorUnreachable: false,
    });
  }

  private refuse(b: CaseBook, req: StepRequest, key: string, why: { rule: string; reason: string; nextAllowedAt?: number }): StepResult {
    const at = Date.parse(req.at);
    if (!b.seen.has(`${key}:refused@${req.at}`)) {
      b.seen.add(`${key}:refused@${req.at}`);
      b.refusals.push({ at, rule: why.rule });
    }
    return {
      status: 'refused',
      rule: why.rule,
      reason: why.reason,
      ...(why.nextAllowedAt !== undefined ? { nextAllowedAt: new Date(why.nextAllowedAt).toISOString() } : {}),
    };
  }

  /** The n-th contact of a channel on a ladder day names the contact's draws: the same in every playbook that makes it. */
  private drawKey(b: CaseBook, req: StepRequest, channel: string): string {
    const known = b.drawKeys.get(req.idempotencyKey);
    if (known) return known;
    const n = b.contactsOn.get(`${channel}:${req.day}`) ?? 0;
    b.contactsOn.set(`${channel}:${req.day}`, n + 1);
    const key = `${channel}:${req.day}:${n}`;
    b.drawKeys.set(req.idempotencyKey, key);
    return key;
  }

  /** A call or a visit to the debtor: the guard, then the debtor's reaction, sent to arrive later. */
  private async contact(req: StepRequest, channel: 'phone' | 'visit'): Promise<StepResult> {
    const b = this.bookOf(req.caseKey);
    const done = b.done.get(req.idempotencyKey);
    if (done) return done;
    const key = req.idempotencyKey;
    if (channel === 'phone' && b.account.debtor.phones.length === 0)
      return this.refuse(b, req, key, { rule: 'no-phone-number', reason: 'no phone number on file for the debtor' });
    const verdict = this.guard(b, req, channel, 'debtor');
    if (!verdict.allowed) return this.refuse(b, req, key, verdict);
    const at = Date.parse(req.at);
    const drawKey = this.drawKey(b, req, channel);
    const approval =
      channel === 'visit' && req.approvalRole
        ? visitApproval(b.subject, {
            date: localDate(Date.parse(req.windowEnd), b.subject.timeZone),
            windowFrom: req.windowFrom,
            windowEnd: Date.parse(req.windowEnd),
            afterMinutes: this.behaviour.operations.approveVisitsAfterMinutes,
            role: req.approvalRole,
            key: drawKey,
          })
        : undefined;
    const r = reactToContact(b.subject, {
      channel,
      drawKey,
      at,
      balanceMinor: totalOf(req.balance),
      maxDaysAhead: b.playbook.promise.maxDaysAhead,
      cancelled: !!req.approvalRole && !approval,
      reasonKnown: b.reached.length > 0,
    });
    this.send(b, [...(approval ? [approval] : []), ...r.deliveries]);
    b.contactLog.push({
      at,
      channel,
      party: 'debtor',
      status: r.reached ? 'completed' : 'placed',
      ...(r.reached ? { outcome: r.promise ? 'promise' : 'reached' } : channel === 'phone' ? { outcome: 'no-answer' } : {}),
      conversation: r.reached,
    });
    b.actions.push({ at, action: req.action });
    if (r.reached) b.reached.push({ at, channel });
    if (channel === 'visit' && req.costMinor > 0) b.costs.push({ at, kind: 'field-visit', minor: req.costMinor });
    const result: StepResult = { status: 'done', reference: `sim-${channel === 'visit' ? 'visit' : 'call'}#${b.actions.length}` };
    b.done.set(req.idempotencyKey, result);
    return result;
  }

  /** A call to each guarantor (the guard per guarantor); done when one was placed. */
  private guarantorCalls(req: StepRequest): StepResult {
    const b = this.bookOf(req.caseKey);
    const results: StepResult[] = [];
    for (const g of b.account.guarantors.filter((x) => req.guarantorIds.includes(x.id))) {
      const key = `${req.idempotencyKey}:${g.id}`;
      const done = b.done.get(key);
      if (done) {
        results.push(done);
        continue;
      }
      if (g.phones.length === 0) {
        results.push(this.refuse(b, req, key, { rule: 'no-phone-number', reason: `no phone number on file for guarantor ${g.id}` }));
        continue;
      }
      const verdict = this.guard(b, req, 'phone', 'guarantor');
      if (!verdict.allowed) {
        results.push(this.refuse(b, req, key, verdict));
        continue;
      }
      const at = Date.parse(req.at);
      b.contactLog.push({ at, channel: 'phone', party: 'guarantor', status: 'placed', conversation: false });
      b.actions.push({ at, action: 'guarantor-call' });
      const result: StepResult = { status: 'done', reference: `sim-call#${b.actions.length}` };
      b.done.set(key, result);
      results.push(result);
    }
    const placed = results.filter((r): r is Extract<StepResult, { status: 'done' }> => r.status === 'done');
    if (placed.length > 0) return { status: 'done', reference: placed.map((r) => r.reference).join(',') };
    return results[0] ?? { status: 'refused', rule: 'no-guarantor', reason: 'no guarantor on file' };
  }

  /** Letters to their recipients, each costing the step's letter cost; refused as the real letters are without an address. */
  private letters(b: CaseBook, req: StepRequest, kind: string, to: Array<{ who: string; address?: string | undefined }>): void {
    const missing = to.find((r) => !r.address?.trim());
    if (missing) {
      throw ApplicationFailure.create({
        message: `a ${kind} needs the postal address of ${missing.who}`,
        type: ErrorTypes.LetterNotPossible,
        nonRetryable: true,
      });
    }
    const at = Date.parse(req.at);
    for (const _ of to) {
      b.actions.push({ at, action: kind });
      if (req.costMinor > 0) b.costs.push({ at, kind: 'letter', minor: req.costMinor });
    }
  }

  private async step(req: StepRequest, run: (b: CaseBook, at: number) => Promise<Delivery[]> | Delivery[]): Promise<StepResult> {
    const b = this.bookOf(req.caseKey);
    const done = b.done.get(req.idempotencyKey);
    if (done) return done;
    this.send(b, await run(b, Date.parse(req.at)));
    const result: StepResult = { status: 'done', reference: `sim-${req.action}#${b.actions.length}` };
    b.done.set(req.idempotencyKey, result);
    return result;
  }

  private debtorLetter(req: StepRequest, kind: string): Promise<StepResult> {
    return this.step(req, (b) => {
      this.letters(b, req, kind, [{ who: 'the debtor', address: b.account.debtor.address }]);
      return [];
    });
  }

  caseActivities(): CaseActivities {
    const nothing = async () => undefined;
    const once = (key: string, caseKey: string, then: (b: CaseBook) => void) => {
      const b = this.bookOf(caseKey);
      if (b.seen.has(key)) return;
      b.seen.add(key);
      then(b);
    };
    const acts: CaseActivities = {
      recordCaseOpened: async (o) => {
        once(o.idempotencyKey, o.caseKey, (b) => (b.openedAt = Date.parse(o.at)));
        return { caseRowId: 1 };
      },
      recordPayment: async (p) => {
        once(p.idempotencyKey, p.caseKey, (b) =>
          b.payments.push({
            at: Date.parse(p.at),
            payer: p.payment.paymentId.includes(':guarantor-pays') ? 'guarantor' : 'debtor',
            principalMinor: p.allocation.principalMinor,
            penaltyMinor: p.allocation.penaltyMinor,
            feesMinor: p.allocation.feesMinor,
            excessMinor: p.allocation.excessMinor,
          }),
        );
        return { recorded: true };
      },
      recordCaseClosed: async (c) => once(c.idempotencyKey, c.caseKey, (b) => (b.closed = { at: Date.parse(c.at), stage: c.stage })),
      placeOnBlacklist: async (r) => once(r.idempotencyKey, r.caseKey, (b) => (b.blacklistedAt = Date.parse(r.at))),
      recordPromise: async (r) =>
        once(r.idempotencyKey, r.caseKey, (b) => {
          b.promises.set(r.promiseNo, { madeAt: Date.parse(r.madeAt), status: r.status, statusAt: Date.parse(r.at) });
        }),
      remindSupervisor: async (r) => once(r.idempotencyKey, r.caseKey, (b) => b.reminders.push(Date.parse(r.at))),
      recordStepFailure: async (f) => once(f.idempotencyKey, f.caseKey, (b) => b.failures.push({ at: Date.parse(f.at), action: f.action })),
      placeCollectionCall: (req) => this.contact(req, 'phone'),
      scheduleFieldVisit: (req) => this.contact(req, 'visit'),
      contactGuarantor: async (req) => this.guarantorCalls(req),
      serveOverdueNotice: (req) => this.debtorLetter(req, 'overdue-notice'),
      sendStatementOfAccount: (req) => this.debtorLetter(req, 'statement-of-account'),
      demandGuarantorPayment: (req) =>
        this.step(req, (b, at) => {
          const to = b.account.guarantors.filter((g) => req.guarantorIds.includes(g.id));
          this.letters(
            b,
            req,
            'guarantor-demand',
            to.map((g) => ({ who: `guarantor ${g.id}`, address: g.address })),
          );
          if (to.length === 0) return [];
          const r = reactToDemand(b.subject, {
            at,
            drawKey: `guarantor-demand:${req.day}`,
            guarantorId: to[0]!.id,
            responseDays: b.playbook.guarantor.responseDays,
          });
          b.guarantorAnswers.push({ at, answer: r.answer });
          return r.deliveries;
        }),
      requestLegalReferral: (req) =>
        this.step(req, (b, at) => {
          b.referralAt ??= at;
          b.actions.push({ at, action: 'legal-referral' });
          const ops = this.behaviour.operations;
          return referralApproval(b.subject, {
            at,
            afterDays: ops.approveLegalReferralAfterDays,
            approveAt: ops.approveAt,
            key: 'legal-referral',
          });
        }),
      referToLegal: (req) =>
        this.step(req, (b, at) => {
          // Legal takes the case whatever becomes of the letter (docs/case-workflow.md).
          b.legalAt ??= at;
          this.letters(b, req, 'lawyers-letter', [{ who: 'the debtor', address: b.account.debtor.address }]);
          return reactToLawyersLetter(b.subject, { at, drawKey: 'lawyers-letter' });
        }),
      assignCase: async () => ({}),
      recordMissedPayment: nothing,
      projectCase: nothing,
      recordVisitApproval: nothing,
      cancelVisit: nothing,
      recordVisitReport: nothing,
      recordContactOutcome: nothing,
      recordLegalEvent: nothing,
      recordTreatment: nothing,
      recordWriteOff: nothing,
      recordContactDetails: nothing,
      recordTimeline: nothing,
      recordPlan: nothing,
      recordInKind: nothing,
      openPaymentInvestigation: nothing,
      escalateToLeader: nothing,
      writeLedger: async ({ writes, assign }) => {
        for (const w of writes) await (acts[w.fn] as (arg: unknown) => Promise<unknown>)(w.arg);
        // A new case's routing at intake, in its opening batch (workflows/case/lifecycle.ts).
        if (assign) return { assignment: await acts.assignCase(assign) };
      },
    };
    return acts;
  }

  private async deliverOne(b: CaseBook, handle: ReturnType<Client['workflow']['getHandle']>, d: Delivery): Promise<void> {
    switch (d.kind) {
      case 'approve-visit':
        await handle.executeUpdate(approveVisitUpdate, { args: [{ by: `sim-${d.role}`, role: d.role }] });
        return;
      case 'approve-legal':
        await handle.executeUpdate(approveLegalReferralUpdate, { args: [{ by: 'sim-supervisor', role: 'supervisor' }] });
        return;
      case 'outcome':
        await handle.signal(contactOutcomeSignal, {
          channel: d.channel,
          outcome: d.outcome,
          reasonCategory: d.reasonCategory,
          note: 'simulated',
          actor: d.channel === 'visit' ? 'sim-officer' : 'sim-collector',
        });
        return;
      case 'visit-report':
        await handle.executeUpdate(recordVisitReportUpdate, {
          args: [
            {
              outcome: 'met',
              signedStatement: !!d.promise,
              ...(d.promise ? { writtenPromise: d.promise } : {}),
              note: 'simulated',
              officerId: 'sim-officer',
            },
          ],
        });
        return;
      case 'promise':
        await handle.executeUpdate(recordPromiseUpdate, { args: [{ date: d.date, amountMinor: d.amountMinor }] });
        return;
      case 'guarantor':
        await handle.signal(guarantorResponseSignal, { guarantorId: d.guarantorId, response: d.response });
        return;
      case 'pay': {
        let amountMinor = d.amountMinor;
        if (amountMinor === undefined) {
          // The whole balance of the moment, as the case works it out (penalty accrued to now), asked with the update
          // that registers an instalment, given the one the case opened with: the case has it, so it adds nothing and
          // answers the outstanding balance. (Not the caseState query: on the time-skipping test server a query once
          // failed with a nondeterminism error, docs/simulation.md "Timing".)
          const first = { ...b.account.instalments[0]!, dueDate: addDays(b.account.instalments[0]!.dueDate, b.shiftDays) };
          amountMinor = (await handle.executeUpdate(registerMissedPaymentUpdate, { args: [first] })).outstandingMinor;
        }
        if (amountMinor <= 0) return;
        await handle.executeUpdate(receivePaymentUpdate, {
          args: [{ paymentId: `sim:${d.key}`, amountMinor, currency: b.account.currency, paidAt: new Date(d.at).toISOString() }],
        });
        return;
      }
    }
  }
}

function messageOf(e: unknown): string {
  let x: unknown = e;
  // The refusal's own words: an update's validator error is the cause of the client's error.
  while (x instanceof WorkflowUpdateFailedError && x.cause) x = x.cause;
  return x instanceof Error ? x.message : String(x);
}
