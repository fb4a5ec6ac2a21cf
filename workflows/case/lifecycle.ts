import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { TimelineRecord } from '../../shared/activities';
import type { CaseStage, CaseState } from '../../shared/case';
import { ErrorTypes } from '../../shared/errors';
import { END_STAGES } from '../../shared/stages';
import { accrue, daysOverdue, nextAction, outstandingMinor, type Plan } from '../core/case-core';
import { act } from './activities';
import { drainLedger, drainLedgerAndAssign, type CaseContext } from './context';
import { applyAssignment, assignedFrom, assignmentRequest, markPassedReassessments, route } from './routing';
import { recordSkipped } from './steps';

type Publish = (plan?: Plan) => void;

/** A fresh case: its opening timeline entry and search attributes, then the case and its first instalment in the ledger. */
export async function openCase(ctx: CaseContext, publish: Publish): Promise<void> {
  const { state, pb, input } = ctx;
  if (input.firstMissed.currency !== input.currency) {
    throw ApplicationFailure.nonRetryable(
      `first missed payment is in ${input.firstMissed.currency}, the account in ${input.currency}`,
      ErrorTypes.CurrencyMismatch,
    );
  }
  ctx.note('case opened', `day ${state.openedOnDay}, ${ctx.money(outstandingMinor(state))} overdue, playbook ${pb.id} v${pb.version}`);
  // A debtor already on the blacklist (found at intake): the case says so from its first line.
  for (const b of input.blacklistedBefore ?? [])
    ctx.note('blacklisted before', `account ${b.accountId} on the blacklist since ${b.listedAt.slice(0, 10)}: ${b.reason}`);
  publish();
  const opening = {
    ...ctx.ref('open'),
    workflowId: workflowInfo().workflowId,
    debtorName: input.debtor.name,
    debtor: input.debtor,
    guarantors: input.guarantors,
    ...(input.collectorId ? { collectorId: input.collectorId } : {}),
    currency: input.currency,
    firstMissed: input.firstMissed,
    playbookId: pb.id,
    playbookVersion: pb.version,
    openedAt: state.openedAt,
    ...(ctx.treatments && state.situation ? { situation: { ...state.situation } } : {}),
  };
  const first = input.firstMissed;
  const openSummary = `Open the case in the ledger (day ${state.openedOnDay})`;
  const missedSummary = `Record missed instalment due ${first.dueDate}`;
  const missed = { ...ctx.ref(`missed:${first.dueDate}`), missed: first };
  if (ctx.lean) {
    // The case, its first instalment, its timeline entry and its cases row: one transaction, in the first workflow task.
    ctx.ledgerQueue.unshift(
      { fn: 'recordCaseOpened', summary: openSummary, arg: opening },
      { fn: 'recordMissedPayment', summary: missedSummary, arg: missed },
    );
    // And the rows the loop's first pass would send next (cases since 'open-in-one-write'): the cases row
    // with the first plan's next action and, when routed, the 'assigned' entry, written after the
    // assignment in the words the case uses. The case's first task is then one local activity.
    if (ctx.teams && ctx.patched('open-in-one-write')) return openInOneWrite(ctx);
    // Routed in that transaction too, unless the lender named the collector: one local activity where there were two.
    if (ctx.teams && !input.collectorId && ctx.patched('open-and-assign-in-one-write')) {
      markPassedReassessments(ctx);
      const a = await drainLedgerAndAssign(ctx, assignmentRequest(ctx, 'assign:intake', 'intake', 'case-workflow'));
      if (!a) throw ApplicationFailure.nonRetryable('the ledger did not answer the intake assignment', ErrorTypes.InvalidInput);
      ctx.ledgerOpened = true;
      applyAssignment(ctx, 'intake', a);
      return;
    }
    await drainLedger(ctx);
  } else {
    await act('recordCaseOpened', openSummary, opening);
    await act('recordMissedPayment', missedSummary, missed);
  }
  ctx.ledgerOpened = true;
  // Routed by the rules unless the lender named the collector (cases since 'teams').
  if (ctx.teams) {
    markPassedReassessments(ctx);
    if (!input.collectorId) await route(ctx, 'assign:intake', 'intake', 'case-workflow');
  }
}

/**
 * The opening batch (recordCaseOpened, recordMissedPayment, the timeline so far) with the rest of the
 * case's first rows: for a late report, the penalty of the days passed and the one-off steps whose day
 * passed before it opened, recorded as skipped; the cases row as the loop's first pass will show it (the
 * first plan's next action; the row queued before it, without a plan, is superseded and not sent); and,
 * unless the lender named the collector, the routing and its timeline entry. What the loop then computes
 * is what the ledger has.
 */
async function openInOneWrite(ctx: CaseContext): Promise<void> {
  const { state, input } = ctx;
  markPassedReassessments(ctx);
  // A late report (a portfolio loaded): the penalty of the days already overdue, and the one-off steps whose day
  // passed before the case opened, skipped, as the loop's first pass would have them: in this batch.
  const t = ctx.now();
  accrue(state, ctx.pb, t);
  recordSkipped(ctx, nextAction(state, ctx.pb, t));
  for (let i = ctx.ledgerQueue.length - 1; i >= 0; i--) if (ctx.ledgerQueue[i]!.fn === 'projectCase') ctx.ledgerQueue.splice(i, 1);
  const routed = !input.collectorId;
  const row = ctx.draftProjection(JSON.parse(JSON.stringify(state)) as CaseState, routed ? () => state.collectorId : undefined);
  ctx.ledgerQueue.push({ ...row.write, summary: "Update the ledger's case row" });
  if (routed) {
    const note = ctx.draftNote('assigned', '');
    const { seq, at, day } = (note.write.arg as TimelineRecord).entries[0]!;
    const request = assignmentRequest(ctx, 'assign:intake', 'intake', 'case-workflow');
    const a = await drainLedgerAndAssign(ctx, request, { seq, at, day, from: assignedFrom(ctx) });
    if (!a) throw ApplicationFailure.nonRetryable('the ledger did not answer the intake assignment', ErrorTypes.InvalidInput);
    applyAssignment(ctx, 'intake', a, note);
  } else {
    await drainLedger(ctx);
  }
  ctx.ledgerOpened = true;
  row.commit();
}

/** Closes the case in an end stage: the ledger's last rows, the blacklist when paid after a long delinquency. */
export async function closeCase(ctx: CaseContext, publish: Publish, stage: CaseStage, why: string): Promise<void> {
  const { state, pb, input } = ctx;
  state.stage = stage;
  state.closedAt = new Date(ctx.now()).toISOString();
  ctx.note('case closed', `${stage}: ${why}`);
  // Made when called: in runs before 'lean-case' after the writes before them, as they always were.
  const closing = () => ({
    ...ctx.ref('close'),
    stage,
    closedAt: state.closedAt!,
    paidMinor: state.paidMinor,
    outstandingMinor: outstandingMinor(state),
    // The credit hold is lifted when nothing is owed: paid, or settled with nothing forgiven (cases since 'treatments').
    ...(ctx.treatments ? { liftHold: (stage === 'paid' || stage === 'settled') && outstandingMinor(state) <= 0 && !state.holdKept } : {}),
  });
  const listing = (dpd: number) => ({ ...ctx.ref('blacklist'), debtorName: input.debtor.name, daysOverdue: dpd });
  const listed = (dpd: number) => {
    state.blacklisted = true;
    ctx.note('blacklisted', `${stage} after ${dpd} days overdue`);
  };
  if (ctx.lean) {
    // The closing rows, the blacklist entry, the timeline and the final cases row: one transaction. Every
    // end after a long delinquency lists the debtor (paid late, settled, written off, legal-closed): the
    // entry is a row of the closing batch, no command of its own.
    ctx.queue('recordCaseClosed', `Close the case: ${stage}`, closing());
    const dpd = daysOverdue(state, ctx.now());
    if (END_STAGES.has(stage) && dpd >= pb.blacklistAtDaysOverdue) {
      ctx.queue('placeOnBlacklist', `Blacklist: ${stage} after ${dpd} days overdue`, listing(dpd));
      listed(dpd);
    }
  } else {
    await drainLedger(ctx);
    await act('recordCaseClosed', `Close the case: ${stage}`, closing());
    const dpd = daysOverdue(state, ctx.now());
    if (stage === 'paid' && dpd >= pb.blacklistAtDaysOverdue) {
      await act('placeOnBlacklist', `Blacklist: paid after ${dpd} days overdue`, listing(dpd));
      listed(dpd);
    }
  }
  ctx.lastEvent = `closed ${stage}`;
  publish();
  if (ctx.lean) return drainLedger(ctx);
  // The closed case's final row must reach the ledger before the workflow ends. Added after histories
  // were recorded, so cases that closed without it replay without it (docs/versioning.md).
  if (ctx.patched('final-projection-on-close')) await drainLedger(ctx);
}
