import { setHandler } from '@temporalio/workflow';
import type { PromiseToPay } from '../../../shared/case';
import { recordPromiseUpdate } from '../../../shared/messages';
import { addPromise, promiseRefusal } from '../../core/case-core';
import type { CaseContext } from '../context';

/** Makes a promise to pay (the caller has checked it with promiseRefusal): it pauses the ladder and reaches the ledger. */
export function makePromise(ctx: CaseContext, p: PromiseToPay, how = 'promise to pay'): number {
  const { state } = ctx;
  const id = addPromise(state, p, ctx.now());
  ctx.note(how, `${ctx.money(p.amountMinor)} by ${p.date}`);
  const made = state.promises[id - 1]!;
  ctx.queue('recordPromise', `Record promise ${id}: ${ctx.money(p.amountMinor)} by ${p.date}`, {
    ...ctx.ref(`promise:${id}:pending`),
    promiseNo: id,
    date: p.date,
    amountMinor: p.amountMinor,
    status: 'pending',
    madeAt: made.madeAt,
  });
  ctx.touch();
  return id;
}

export function registerPromiseHandlers(ctx: CaseContext): void {
  setHandler(
    recordPromiseUpdate,
    (p) => ({
      ...ctx.ack(`escalation paused until ${p.date} plus ${ctx.pb.promise.graceDays} days' grace`),
      promiseId: makePromise(ctx, p),
    }),
    {
      validator: (p) => {
        const why = promiseRefusal(ctx.state, ctx.pb, p, ctx.now());
        if (why) throw new Error(why);
      },
    },
  );
}
