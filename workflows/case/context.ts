import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import type { CaseRef } from '../../shared/activities';
import { localDate, localTime } from '../../shared/calendar';
import type { CaseInput, CaseState } from '../../shared/case';
import type { UpdateAck } from '../../shared/messages';
import { formatAmount } from '../../shared/money';
import type { Playbook } from '../../shared/playbook';
import { dayIndex, isClosed, newCaseState } from '../core/case-core';

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
  /** The case and its first instalment are in the ledger (a payment's row refers to them). */
  ledgerOpened: boolean;
  /** Payments being written to the ledger right now (they decide whether the case is paid). */
  paymentsInFlight: number;
  /** Ledger writes queued by messages and the loop, sent in order at the top of each loop pass. */
  readonly ledgerQueue: Array<() => Promise<unknown>>;
  /** What the current-details line says happened last. */
  lastEvent: string;
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
  // Cases opened since this patch count days overdue from the oldest unpaid instalment and accrue
  // penalty per instalment (workflows/core/case-core.ts); older cases keep the rule they began with.
  const state: CaseState =
    input.carried ?? newCaseState(input, now(), `${info.workflowId}/${info.runId}`, { perInstalment: patched('per-instalment-accrual') });
  return {
    input,
    pb: input.playbook,
    state,
    fresh,
    ledgerOpened: !fresh,
    paymentsInFlight: 0,
    ledgerQueue: [],
    lastEvent: fresh ? 'case opened' : 'continued',
    plannedVersion: -1,
    now,
    touch: () => {
      state.version += 1;
    },
    note: (what, outcome) => {
      state.timeline.push({ at: new Date(now()).toISOString(), day: dayIndex(state, now()), what, outcome });
    },
    ref: (suffix) => ({
      idempotencyKey: `${state.caseKey}:${suffix}`,
      caseKey: state.caseKey,
      accountId: state.accountId,
      at: new Date(now()).toISOString(),
    }),
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
}

/** Sends the queued ledger writes, in order. */
export async function drainLedger(ctx: CaseContext): Promise<void> {
  while (ctx.ledgerQueue.length > 0) await ctx.ledgerQueue.shift()!();
}
