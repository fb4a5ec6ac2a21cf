import { setHandler } from '@temporalio/workflow';
import {
  approveUpdate,
  disputeUpdate,
  holdUpdate,
  resolveDisputeUpdate,
  resumeUpdate,
  setTreatmentUpdate,
  writeOffUpdate,
} from '../../../shared/messages';
import { mayApprove } from '../../core/case-core';
import { recommendation } from '../../core/treatments';
import type { CaseContext } from '../context';

/** What supervisors decide: the treatment and its approval, holds, disputes, the write-off. */
export function registerDecisionHandlers(ctx: CaseContext): void {
  const { state } = ctx;
  /** Changes the state, notes it, wakes the loop and answers. */
  const decide = (what: string, outcome: string, detail: string) => {
    ctx.note(what, outcome);
    ctx.touch();
    return ctx.ack(detail);
  };

  setHandler(
    setTreatmentUpdate,
    ({ treatment, by }) => {
      if (ctx.treatments) {
        // A person accepts the case's recommendation or overrides it; the processes (a plan, the
        // settlement in kind) carry their own approvals.
        const rec = recommendation(state, ctx.pb);
        state.treatment = { kind: treatment, approved: true, ...(by ? { decidedBy: by } : {}) };
        const stance = !rec
          ? ''
          : rec.treatment === treatment
            ? ' (accepts the recommendation)'
            : ` (overrides the recommendation: ${rec.treatment})`;
        return decide('treatment set', `${treatment}${stance}${by ? ` by ${by}` : ''}`, `treatment is ${treatment}${stance}`);
      }
      const needsApproval = treatment === 'restructure' || treatment === 'settle-in-kind';
      state.treatment = { kind: treatment, approved: !needsApproval };
      return decide(
        'treatment set',
        needsApproval ? `${treatment}, awaiting approval` : treatment,
        needsApproval ? `${treatment} needs an approval (update approve)` : `treatment is ${treatment}`,
      );
    },
    { validator: (_t: { treatment: string }) => ctx.mustBeActive() },
  );

  setHandler(
    approveUpdate,
    ({ by, role }) => {
      state.treatment = { ...state.treatment, approved: true, approvedBy: by };
      return decide('treatment approved', `${state.treatment.kind} by ${by} (${role})`, `${state.treatment.kind} approved`);
    },
    {
      validator: ({ role }) => {
        ctx.mustBeActive();
        if (ctx.treatments)
          throw new Error(
            'a treatment needs no approval: a restructuring plan is reviewed through its plan, a settlement in kind step by step',
          );
        if (state.treatment.approved) throw new Error('no treatment is awaiting approval');
        if (!mayApprove(role, 'supervisor')) throw new Error(`a ${role} cannot approve a ${state.treatment.kind}`);
      },
    },
  );

  setHandler(
    holdUpdate,
    (h) => {
      state.hold = { ...h, since: new Date(ctx.now()).toISOString() };
      return decide('hold', `${h.reason}${h.until ? ` until ${ctx.local(h.until)}` : ''}`, 'contact on hold');
    },
    {
      validator: (h) => {
        ctx.mustBeActive();
        if (h.until && !(Date.parse(h.until) > ctx.now())) throw new Error('a hold must end in the future');
      },
    },
  );
  setHandler(
    resumeUpdate,
    () => {
      delete state.hold;
      return decide('resumed', 'hold lifted', 'resumed');
    },
    {
      validator: () => {
        if (!state.hold) throw new Error('the case is not on hold');
      },
    },
  );

  setHandler(
    disputeUpdate,
    (d) => {
      state.dispute = { ...d, since: new Date(ctx.now()).toISOString() };
      return decide('dispute', d.reason, 'no contact until the dispute is resolved');
    },
    {
      validator: (_d: { reason: string }) => {
        ctx.mustBeActive();
        if (state.dispute) throw new Error('the case is already in dispute');
      },
    },
  );
  setHandler(
    resolveDisputeUpdate,
    () => {
      delete state.dispute;
      return decide('dispute resolved', 'contact may resume', 'dispute resolved');
    },
    {
      validator: () => {
        if (!state.dispute) throw new Error('the case is not in dispute');
      },
    },
  );

  setHandler(
    writeOffUpdate,
    (w) => {
      state.writeOff = w;
      return decide('write-off requested', `${w.reason} (by ${w.by})`, 'the case will be written off');
    },
    { validator: (_w: { reason: string; by: string }) => ctx.mustBeActive() },
  );
}
