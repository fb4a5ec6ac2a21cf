import { ApplicationFailure, workflowInfo, type CancellationScope } from '@temporalio/workflow';
import type {
  AssignedNote,
  Assignment,
  AssignmentRequest,
  CaseActivities,
  CaseRef,
  LedgerWrite,
  PaymentRecord,
} from '../../shared/activities';
import { localDate, localTime } from '../../shared/calendar';
import type { CaseInput, CaseState, PaymentReceived } from '../../shared/case';
import type { UpdateAck } from '../../shared/messages';
import { formatAmount } from '../../shared/money';
import type { Playbook } from '../../shared/playbook';
import { resolvePlaybook } from '../../shared/playbooks';
import { dayIndex, endStage, isClosed, newCaseState } from '../core/case-core';
import { act, actLocal, writeLedgerNow } from './activities';
import { patchesOf, type PatchId } from './patches';

/** Timeline entries the workflow keeps (the ledger's case_timeline keeps them all): what the UI and the query show. */
const TIMELINE_KEPT = 50;

/** A row for a batch the caller sends itself, and what to do once the batch is written. */
export interface Drafted {
  write: LedgerWrite;
  /** The batch was written (a timeline entry's outcome may be known only now: the step's reference). */
  commit(outcome?: string): void;
  /** The batch was not written: give back the number it took, unless a later one was taken meanwhile. */
  abandon(): void;
}

/** A ledger write waiting to be sent: the activity and its summary (the line the Temporal UI shows). */
type QueuedWrite = (LedgerWrite | { fn: 'recordPayment'; arg: PaymentRecord }) & { summary: string };

/**
 * Everything one run of a case shares: its state (the only thing carried across continue-as-new),
 * its playbook and input, the ledger writes waiting to be sent, and the small helpers every part
 * uses. Built once per run; the handlers, the steps and the loop take it as their first argument.
 */
export interface CaseContext {
  readonly input: CaseInput;
  readonly pb: Playbook;
  readonly state: CaseState;
  /** A fresh case (not a continued run): it opens itself in the ledger. */
  readonly fresh: boolean;
  /** `patched(id)` for this run: true without a marker of its own for a patch of the run's generation (patches.ts). */
  readonly patched: (id: PatchId) => boolean;
  /**
   * A run since patch 'lean-case' (docs/versioning.md): ledger rows go in one local-activity batch per
   * step, steps and notifications run as local activities, no wake-up at local midnight, the
   * timeline's older entries live only in the ledger. Decided once per run; older runs keep the old shape.
   */
  readonly lean: boolean;
  /**
   * A run since patch 'treatments' (issue 12): restructuring plans, settlement in kind, the debtor's
   * situation and the recommendation, recoverable costs, payment investigations, and the credit hold
   * kept on cases that close owing something. Older runs keep the treatment-approval close they began with.
   */
  readonly treatments: boolean;
  /** A run since patch 'teams' (issue 13): routed at intake and on the playbook's reassessment days, reassignable, escalated. */
  readonly teams: boolean;
  /** Applies a payment through the ledger (set by the payment handlers): the in-kind transfer's appraised value. */
  applyPayment(p: PaymentReceived): Promise<boolean>;
  /** The case and its first instalment are in the ledger (a payment's row refers to them). */
  ledgerOpened: boolean;
  /** Payments being written to the ledger right now (they decide whether the case is paid). */
  paymentsInFlight: number;
  /**
   * A run since patch 'payment-settles-first': a payment leaves `paymentsInFlight` only after the
   * activation that applied it has run all its continuations (the update's answer among them), so the
   * loop waiting for it sees the same count live and on replay.
   */
  readonly paymentSettlesFirst: boolean;
  /**
   * A run since patch 'close-in-a-task-of-its-own': a closed case completes one timer later, in a task
   * of its own. Completed in the task that took the payment closing it, the server refuses that whole
   * task when an event came meanwhile (an activity's end: UnhandledCommand), and the payment's update
   * is lost with it although its ledger write stands.
   */
  readonly closeApart: boolean;
  /** Ledger writes queued by messages and the loop, sent in order at the top of each loop pass. */
  readonly ledgerQueue: QueuedWrite[];
  /** Queues a ledger write (sent with the others of this step by drainLedger). */
  queue<K extends QueuedWrite['fn']>(fn: K, summary: string, arg: Parameters<CaseActivities[K]>[0]): void;
  /** Runs a ledger or notification activity now: a local activity in a lean run, else an activity. */
  call<K extends keyof CaseActivities>(fn: K, summary: string, arg: Parameters<CaseActivities[K]>[0]): ReturnType<CaseActivities[K]>;
  /** Timeline entries so far, the ones only the ledger keeps included: numbers keys that must not repeat. */
  notes(): number;
  /** What the current-details line says happened last. */
  lastEvent: string;
  /** Queues the ledger's cases row if what it shows changed (set by the publication). */
  project(): void;
  /**
   * The cases row as `after` (a copy of the state with a change applied) will show it, for a write
   * that carries its own row; `commit()` once the change is applied, so the row is not sent again.
   * `assigned`: the batch also assigns the case (the row goes without a collector, and the assignment
   * writes one); asked at commit, it says whom to. Set by the publication.
   */
  draftProjection(after: CaseState, assigned?: () => string | undefined): Drafted;
  /** A timeline entry written by the caller's own batch (not queued); `commit()` adds it to the state. */
  draftNote(what: string, outcome: string): Drafted;
  /** A lean run's step activity in flight, cancelled by touch() when a message ends the case. */
  stepInFlight?: CancellationScope;
  stepCancelled?: boolean;
  /** `state.version` when the loop last planned: until then the query plans afresh. */
  plannedVersion: number;
  /** The workflow clock: deterministic on replay. */
  now(): number;
  /** Bumps the state's version: the loop wakes and decides again. */
  touch(): void;
  /** A timeline entry, dated by the workflow clock. */
  note(what: string, outcome: string): void;
  /** An activity's idempotency key and references: `<caseKey>:<suffix>`. */
  ref(suffix: string): CaseRef;
  ack(detail: string): UpdateAck;
  /** An amount as a person reads it: '1,004.50 CNY'. */
  money(minor: number, currency?: string): string;
  /** An instant as a person reads it: the debtor's local date and time, with the zone. */
  local(at: number | string): string;
  /** Refuses an update on a closed case, or one being written off. */
  mustBeActive(): void;
}

export function createContext(input: CaseInput): CaseContext {
  const info = workflowInfo();
  const now = () => Date.now();
  const fresh = !input.carried;
  // First of all: a run begun under a patch generation (named in its input, or by its marker) has every patch it lists (patches.ts).
  const patched = patchesOf(input.generation);
  // Cases opened since this patch count days overdue from the oldest unpaid instalment and accrue
  // penalty per instalment (workflows/core/case-core.ts); older cases keep the rule they began with.
  const lean = patched('lean-case');
  const treatments = lean && patched('treatments');
  const teams = treatments && patched('teams');
  // A payment counts as settled only after its update has answered (handlers/payments.ts).
  const paymentSettlesFirst = teams && patched('payment-settles-first');
  // A closed case completes in a workflow task of its own (workflow.ts).
  const closeApart = paymentSettlesFirst && patched('close-in-a-task-of-its-own');
  const pb = resolvePlaybook(input);
  if (!pb) {
    const ref = input.playbookRef;
    throw ApplicationFailure.nonRetryable(`no playbook ${ref?.id} v${ref?.version} in this worker`, 'UnknownPlaybook');
  }
  const state: CaseState =
    input.carried ??
    newCaseState(input, now(), `${info.workflowId}/${info.runId}`, { perInstalment: patched('per-instalment-accrual'), treatments });
  const ledgerQueue: QueuedWrite[] = [];
  const notes = () => state.notes ?? state.timeline.length;
  const ref = (suffix: string): CaseRef => ({
    idempotencyKey: `${state.caseKey}:${suffix}`,
    caseKey: state.caseKey,
    accountId: state.accountId,
    at: new Date(now()).toISOString(),
  });
  const ctx: CaseContext = {
    input,
    pb,
    state,
    fresh,
    patched,
    lean,
    treatments,
    teams,
    applyPayment: () => Promise.reject(new Error('applyPayment before the payment handlers were registered')),
    ledgerOpened: !fresh,
    paymentsInFlight: 0,
    paymentSettlesFirst,
    closeApart,
    ledgerQueue,
    queue: (fn, summary, arg) => {
      ledgerQueue.push({ fn, summary, arg } as QueuedWrite);
    },
    call: (fn, summary, arg) => (lean ? actLocal(fn, summary, arg) : act(fn, summary, ...([arg] as Parameters<CaseActivities[typeof fn]>))),
    notes,
    project: () => undefined,
    draftProjection: () => {
      throw new Error('draftProjection before the publication was created');
    },
    draftNote: (what, outcome) => {
      const entry = { at: new Date(now()).toISOString(), day: dayIndex(state, now()), what, outcome };
      const seq = notes() + 1;
      state.notes = seq; // taken now: a note made while the batch is written comes after this one
      return {
        write: { fn: 'recordTimeline', arg: { ...ref(`timeline:${seq}`), entries: [{ ...entry, seq }] } },
        commit: (known) => {
          if (known !== undefined) entry.outcome = known;
          state.timeline.push(entry);
          if (state.timeline.length > TIMELINE_KEPT) state.timeline.splice(0, state.timeline.length - TIMELINE_KEPT);
        },
        abandon: () => {
          if (state.notes === seq) state.notes = seq - 1;
        },
      };
    },
    lastEvent: fresh ? 'case opened' : 'continued',
    plannedVersion: -1,
    now,
    touch: () => {
      state.version += 1;
      // A lean run's step in flight is cancelled as soon as a message ends the case (paid, written off...).
      if (ctx.stepInFlight && (endStage(state) !== undefined || !!state.writeOff)) {
        ctx.stepCancelled = true;
        ctx.stepInFlight.cancel();
      }
    },
    note: (what, outcome) => {
      const entry = { at: new Date(now()).toISOString(), day: dayIndex(state, now()), what, outcome };
      const seq = notes() + 1;
      state.notes = seq;
      state.timeline.push(entry);
      if (!lean) return;
      ledgerQueue.push({
        fn: 'recordTimeline',
        summary: `Timeline: ${what}`,
        arg: { ...ref(`timeline:${seq}`), entries: [{ ...entry, seq }] },
      });
      if (state.timeline.length > TIMELINE_KEPT) state.timeline.splice(0, state.timeline.length - TIMELINE_KEPT);
    },
    ref,
    ack: (detail) => ({ accepted: true, stage: state.stage, detail }),
    money: (minor, currency = state.currency) => formatAmount(minor, currency),
    local: (at) => {
      const ms = typeof at === 'string' ? Date.parse(at) : at;
      return `${localDate(ms, state.timeZone)} ${localTime(ms, state.timeZone)} ${state.timeZone}`;
    },
    mustBeActive: () => {
      if (isClosed(state)) throw ApplicationFailure.nonRetryable(`the case is ${state.stage}`, 'CaseClosed');
      // Accepted, not yet closed: the write-off is the case's last word.
      if (state.writeOff) throw ApplicationFailure.nonRetryable('the case is being written off', 'CaseClosed');
    },
  };
  return ctx;
}

/**
 * Sends the queued ledger writes, in order: in a lean run all of them in one transaction (one local
 * activity), else each as its own activity.
 */
export async function drainLedger(ctx: CaseContext): Promise<void> {
  await drainLedgerAndAssign(ctx);
}

/**
 * Sends the queued ledger writes; with `assign`, the first batch assigns the case in its transaction
 * and the assignment is the answer (a lean run only: an older run sends its writes one by one).
 */
export async function drainLedgerAndAssign(
  ctx: CaseContext,
  assign?: AssignmentRequest,
  assignedNote?: AssignedNote,
): Promise<Assignment | undefined> {
  const q = ctx.ledgerQueue;
  let assignment: Assignment | undefined;
  while (q.length > 0) {
    if (!ctx.lean) {
      const w = q.shift()!;
      await act(w.fn, w.summary, ...([w.arg] as Parameters<CaseActivities[typeof w.fn]>));
      continue;
    }
    const batch = q.splice(0);
    const shown = batch.filter((w) => w.fn !== 'recordTimeline' && w.fn !== 'projectCase').map((w) => w.summary);
    if (assign) shown.push(`Assign the case: ${assign.reason}`);
    const summary = shown.length > 0 ? `Ledger: ${shown.join('; ')}` : 'Ledger: case row and timeline';
    const writes = batch.map(({ fn, arg }) => ({ fn, arg }) as LedgerWrite);
    const answer = await writeLedgerNow(summary, {
      caseKey: ctx.state.caseKey,
      writes,
      ...(assign ? { assign, ...(assignedNote ? { assignedNote } : {}) } : {}),
    });
    if (assign) assignment = answer ? answer.assignment : undefined;
    assign = undefined;
  }
  return assignment;
}
