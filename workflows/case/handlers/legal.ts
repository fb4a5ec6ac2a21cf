import { setHandler } from '@temporalio/workflow';
import type { LegalEvent } from '../../../shared/case';
import { approveLegalReferralUpdate, recordLegalEventUpdate } from '../../../shared/messages';
import { mayApprove, outstandingMinor } from '../../core/case-core';
import type { CaseContext } from '../context';

/** The legal referral's approval, and what legal records once it has the case. */
export function registerLegalHandlers(ctx: CaseContext): void {
  const { state } = ctx;

  setHandler(
    approveLegalReferralUpdate,
    ({ by, role }) => {
      state.legal = { ...state.legal!, status: 'approved', approvedBy: by };
      ctx.note('legal referral approved', `by ${by} (${role})`);
      ctx.touch();
      return ctx.ack('legal referral approved');
    },
    {
      validator: ({ role }) => {
        ctx.mustBeActive();
        if (state.legal?.status !== 'awaiting-approval') throw new Error('no legal referral is awaiting approval');
        if (!mayApprove(role, 'supervisor')) throw new Error(`a ${role} cannot approve a legal referral`);
      },
    },
  );

  setHandler(
    recordLegalEventUpdate,
    (e) => {
      const at = new Date(ctx.now()).toISOString();
      state.legal!.events.push({ ...e, at });
      if (e.kind === 'mediated-settlement') state.legal!.settlementMinor = e.amountMinor;
      ctx.note(`legal: ${e.kind}`, 'amountMinor' in e ? `${ctx.money(e.amountMinor)}` : JSON.stringify(e));
      const n = state.legal!.events.length;
      ctx.queue('recordLegalEvent', `Record legal event: ${e.kind}`, { ...ctx.ref(`legal-event:${n}`), event: e });
      ctx.touch();
      return ctx.ack(`${e.kind} recorded`);
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
}
