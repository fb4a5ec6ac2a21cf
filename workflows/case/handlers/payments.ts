import { ActivityFailure, ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { localDate } from '../../../shared/calendar';
import type { CaseState, MissedPayment, PaymentReceived } from '../../../shared/case';
import { missedPaymentSignal, paymentReceivedSignal, receivePaymentUpdate, registerMissedPaymentUpdate } from '../../../shared/messages';
import { accrue, addMissedPayment, applyPayment, commitPayment, outstandingMinor, planPayment } from '../../core/case-core';
import { activePlan } from '../../core/treatments';
import { recordPaymentNow, writePaymentNow } from '../activities';
import type { CaseContext, Drafted } from '../context';

/** Instalments missed (signal, or the API's update-with-start) and payments received. */
export function registerPaymentHandlers(ctx: CaseContext): void {
  const { state, pb, input } = ctx;

  const takeMissedPayment = (m: MissedPayment): void => {
    accrue(state, pb, ctx.now()); // days so far accrue on the principal before this instalment joins it
    if (addMissedPayment(state, m)) {
      // Reported while a restructuring plan holds: owed besides the plan, never forgiven by it.
      const held = activePlan(state);
      if (held) held.addedMinor = (held.addedMinor ?? 0) + m.amountMinor;
      accrue(state, pb, ctx.now()); // an instalment reported late accrues its own past days (per-instalment rule)
      ctx.note('missed payment', `${ctx.money(m.amountMinor, m.currency)} due ${m.dueDate}`);
      ctx.queue('recordMissedPayment', `Record missed instalment due ${m.dueDate}`, { ...ctx.ref(`missed:${m.dueDate}`), missed: m });
      ctx.touch();
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
        ctx.mustBeActive();
        if (m.currency !== state.currency) throw new Error(`the case is in ${state.currency}, the instalment in ${m.currency}`);
        const today = localDate(ctx.now(), state.timeZone);
        if (m.dueDate >= today)
          throw new Error(`an instalment due ${m.dueDate} is not overdue yet (today is ${today} in ${state.timeZone})`);
      },
    },
  );

  const paymentWords = (p: PaymentReceived, outstandingAfter: number) =>
    `${ctx.money(p.amountMinor, p.currency)} (${p.paymentId}); outstanding ${ctx.money(outstandingAfter)}`;
  const notePayment = (p: PaymentReceived, outstandingAfter: number) => ctx.note('payment received', paymentWords(p, outstandingAfter));
  const noteDraft = (p: PaymentReceived, outstandingAfter: number) => ctx.draftNote('payment received', paymentWords(p, outstandingAfter));

  /** Applies a payment once (by paymentId); true when it was applied now. (Cases from before 'payment-ledger-first'.) */
  const takePaymentThenRecord = (p: PaymentReceived): boolean => {
    if (!applyPayment(state, pb, p, ctx.now())) return false;
    const applied = state.payments[state.payments.length - 1]!;
    notePayment(p, applied.outstandingAfterMinor);
    ctx.queue('recordPayment', `Record payment ${p.paymentId}: ${ctx.money(p.amountMinor, p.currency)}`, {
      ...ctx.ref(`payment:${p.paymentId}`),
      payment: p,
      allocation: applied.allocation,
      outstandingAfterMinor: applied.outstandingAfterMinor,
    });
    ctx.touch();
    return true;
  };

  /**
   * A payment reaches the ledger and the case, or neither: its ledger row is written first, and only
   * then is it applied to the case. A ledger refusal (the payment id is another account's) fails the
   * update with the ledger's error type. One payment at a time, so each split is computed on the
   * balance the previous one left.
   */
  let paymentQueue: Promise<unknown> = Promise.resolve();
  const recordThenTakePayment = (p: PaymentReceived): Promise<boolean> => {
    ctx.paymentsInFlight += 1;
    const run = paymentQueue.then(async () => {
      // A payment that arrives with the case (or just after it opened) waits for the case's ledger row.
      if (!ctx.ledgerOpened) await condition(() => ctx.ledgerOpened);
      const allocation = planPayment(state, pb, p, ctx.now());
      if (!allocation) return false; // a duplicate delivery, or the case closed meanwhile
      const b = state.balance;
      const outstandingAfter =
        b.principalMinor + b.penaltyMinor + b.feesMinor - (allocation.feesMinor + allocation.penaltyMinor + allocation.principalMinor);
      const record = { ...ctx.ref(`payment:${p.paymentId}`), payment: p, allocation, outstandingAfterMinor: outstandingAfter };
      const summary = `Record payment ${p.paymentId}: ${ctx.money(p.amountMinor, p.currency)}`;
      // A lean run writes the payment with its timeline entry and the cases row it leaves, in one
      // transaction: the update answers after this one write (patch 'payment-one-write').
      let drafts: Drafted[] = [];
      try {
        if (ctx.lean && ctx.patched('payment-one-write')) {
          const after = JSON.parse(JSON.stringify(state)) as CaseState;
          const appliedAfter = commitPayment(after, p, allocation);
          drafts = [noteDraft(p, appliedAfter.outstandingAfterMinor), ctx.draftProjection(after)];
          await writePaymentNow(`Ledger: ${summary}`, {
            caseKey: state.caseKey,
            writes: [{ fn: 'recordPayment', arg: record }, ...drafts.map((d) => d.write)],
          });
        } else {
          await recordPaymentNow(summary, record);
        }
      } catch (e) {
        for (const d of drafts) d.abandon();
        // The ledger's own refusal, wherever the SDK put it in the chain; anything else (a timeout) is the ledger unavailable.
        let refusal: unknown = e;
        while (refusal instanceof Error && !(refusal instanceof ApplicationFailure && refusal.type)) refusal = refusal.cause;
        const why = refusal instanceof ApplicationFailure ? refusal : undefined;
        const message = why?.message ?? (e instanceof ActivityFailure ? e.cause?.message : undefined) ?? (e as Error).message;
        ctx.note('payment refused', `${ctx.money(p.amountMinor, p.currency)} (${p.paymentId}): ${message}`);
        throw ApplicationFailure.create({ type: why?.type ?? 'LedgerUnavailable', message, nonRetryable: true });
      }
      const applied = commitPayment(state, p, allocation);
      if (drafts.length > 0) for (const d of drafts) d.commit();
      else notePayment(p, applied.outstandingAfterMinor);
      ctx.touch();
      return true;
    });
    paymentQueue = run.catch(() => undefined);
    return run.finally(() => {
      if (!ctx.paymentSettlesFirst) {
        ctx.paymentsInFlight -= 1;
        return;
      }
      // The update answers in a continuation after this one. Live, the payment's local activity and one
      // of the loop's often resolve in two activations; on replay core resolves both in one, and the loop
      // (closeIfEnded) would see the count at 0 before the answer and close the case first: a different
      // command order (TMPRL1100). A condition made false resolves only after every continuation of this
      // activation has run, live and on replay alike: then the payment counts as settled.
      let settled = false;
      const afterThisActivation = condition(() => settled);
      settled = true;
      void afterThisActivation.then(() => {
        ctx.paymentsInFlight -= 1;
      });
    });
  };
  ctx.applyPayment = recordThenTakePayment;
  const takePayment = (p: PaymentReceived): boolean | Promise<boolean> =>
    ctx.patched('payment-ledger-first') ? recordThenTakePayment(p) : takePaymentThenRecord(p);

  setHandler(paymentReceivedSignal, async (p) => {
    try {
      await takePayment(p);
    } catch {
      // A signal cannot answer: the refusal is in the timeline (note above) and the ledger has nothing of it.
    }
  });
  setHandler(
    receivePaymentUpdate,
    async (p) => {
      const ledgerFirst = ctx.patched('payment-ledger-first');
      const applied = await takePayment(p);
      return { applied, outstandingMinor: outstandingMinor(state), stage: state.stage, ...(ledgerFirst ? { inLedger: true } : {}) };
    },
    {
      validator: (p: PaymentReceived) => {
        ctx.mustBeActive();
        if (p.currency !== state.currency) throw new Error(`the case is in ${state.currency}, the payment in ${p.currency}`);
      },
    },
  );
}
