import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import type {
  CaseState,
  InKindRecord,
  InKindStepInput,
  PlanDecision,
  PlanProposal,
  PlanRecord,
  ShortfallDecision,
  SituationChange,
} from '../../../shared/case';
import { ErrorTypes } from '../../../shared/errors';
import { decidePlanUpdate, decideShortfallUpdate, inKindStepUpdate, proposePlanUpdate, setSituationUpdate } from '../../../shared/messages';
import { accrue, outstandingMinor } from '../../core/case-core';
import {
  currentPlan,
  decidePlan,
  inKindRefusal,
  planDecisionRefusal,
  planPaid,
  planRefusal,
  planTotal,
  proposePlan,
  shortfallRefusal,
  takeInKindStep,
} from '../../core/treatments';
import type { CaseContext } from '../context';

/** The ledger's rows of the plan as it stands now (plan, instalments, approvals); revision: the timeline's count, which only grows. */
export function queuePlanRow(ctx: CaseContext, plan: PlanRecord, event: string, actor: string): void {
  const revision = ctx.notes();
  ctx.queue('recordPlan', `Plan ${plan.no}: ${event}`, {
    ...ctx.ref(`plan:${plan.no}:${event}:${revision}`),
    plan: JSON.parse(JSON.stringify(plan)) as PlanRecord,
    paidMinor: planPaid(ctx.state, plan),
    revision,
    event,
    actor,
  });
}

export function queueInKindRow(ctx: CaseContext, k: InKindRecord, event: string, actor: string): void {
  const revision = ctx.notes();
  ctx.queue('recordInKind', `Settlement in kind: ${event}`, {
    ...ctx.ref(`in-kind:${event}:${revision}`),
    inKind: JSON.parse(JSON.stringify(k)) as InKindRecord,
    revision,
    event,
    actor,
  });
}

/** The payment id of the appraised value applied when title passes (one per case). */
export const inKindPaymentId = (state: CaseState): string => `in-kind:${state.caseKey}`;

/** Restructuring plans, the settlement in kind and the debtor's situation (cases since 'treatments'). */
export function registerTreatmentHandlers(ctx: CaseContext): void {
  const { state, pb } = ctx;
  /** A validator's refusal, with the reason the API answers 422 with. */
  const refuse = (why: string | undefined) => {
    if (why) throw ApplicationFailure.nonRetryable(why, ErrorTypes.InvalidInput);
  };
  const mustTakeTreatments = () => {
    if (!ctx.treatments)
      throw new Error('this case began before restructuring plans and settlement in kind; it takes them after its next continue-as-new');
    ctx.mustBeActive();
  };
  /** The state as of now (penalty accrued), for a validator: validators must not change the state. */
  const accruedNow = (): CaseState => {
    const probe = JSON.parse(JSON.stringify(state)) as CaseState;
    accrue(probe, pb, ctx.now());
    return probe;
  };
  const money = (m: number) => ctx.money(m);

  setHandler(
    proposePlanUpdate,
    (p: PlanProposal) => {
      accrue(state, pb, ctx.now());
      const plan = proposePlan(state, pb, p, ctx.now());
      const reduced = plan.reducedToMinor !== undefined ? `, reduced to ${money(plan.reducedToMinor)}` : '';
      const penalty = plan.penalty.mode === 'frozen' ? 'penalty frozen' : `penalty ${plan.penalty.bpsPerDay} bps a day`;
      ctx.note(
        `plan ${plan.no} proposed`,
        `${plan.instalments.length} instalments, ${money(planTotal(plan))}${reduced}, ${penalty}, ` +
          `grace ${plan.graceDays} days (by ${p.by})`,
      );
      queuePlanRow(ctx, plan, 'proposed', p.by);
      ctx.lastEvent = `plan ${plan.no} proposed`;
      ctx.touch();
      return { ...ctx.ack(`plan ${plan.no} proposed: finance and legal review it, then a manager approves`), planNo: plan.no };
    },
    {
      validator: (p: PlanProposal) => {
        mustTakeTreatments();
        refuse(planRefusal(accruedNow(), p, ctx.now(), money));
      },
    },
  );

  setHandler(
    decidePlanUpdate,
    (d: PlanDecision) => {
      accrue(state, pb, ctx.now());
      const outcome = decidePlan(state, d, ctx.now());
      const plan = currentPlan(state)!;
      const words = d.decision === 'approve' ? 'approved' : 'refused';
      ctx.note(`plan ${plan.no} ${d.role} review`, `${words} by ${d.by}${d.note ? `: ${d.note}` : ''}`);
      if (outcome === 'started') {
        ctx.note(
          `plan ${plan.no} started`,
          `${plan.instalments.length} instalments of the balance ${money(planTotal(plan))}, ` +
            `first due ${plan.instalments[0]!.dueDate}; ladder paused`,
        );
      }
      const event = outcome === 'started' ? 'started' : outcome === 'refused' ? 'refused' : `${d.role}-approved`;
      queuePlanRow(ctx, plan, event, d.by);
      ctx.lastEvent = outcome === 'started' ? `plan ${plan.no} started` : `plan ${plan.no} ${words} by ${d.role}`;
      ctx.touch();
      const detail =
        outcome === 'started'
          ? `plan ${plan.no} holds: the case is restructured`
          : outcome === 'refused'
            ? `plan ${plan.no} refused: the ladder goes on`
            : `plan ${plan.no}: ${d.role} approved`;
      return { ...ctx.ack(detail), planNo: plan.no, planStatus: plan.status };
    },
    {
      validator: (d: PlanDecision) => {
        mustTakeTreatments();
        refuse(planDecisionRefusal(state, d));
      },
    },
  );

  setHandler(
    inKindStepUpdate,
    async (s: InKindStepInput) => {
      accrue(state, pb, ctx.now());
      const before = state.inKind ? { ...state.inKind } : undefined;
      const k = takeInKindStep(state, s, ctx.now());
      const what: Record<InKindStepInput['step'], string> = {
        offered: `asset offered: ${s.step === 'offered' ? s.asset : ''}`,
        appraised: s.step === 'appraised' ? `appraised at ${money(s.valueMinor)} by ${s.appraiser} (${s.document})` : '',
        preserved: s.step === 'preserved' ? `legal preservation ${s.reference}` : '',
        transferred: s.step === 'transferred' ? `title transferred (${s.document})` : '',
        abandoned: s.step === 'abandoned' ? `abandoned: ${s.reason}` : '',
      };
      if (s.step === 'transferred') {
        // The appraised value is a payment: through the ledger first, like any other (a refusal undoes the step).
        try {
          await ctx.applyPayment({
            paymentId: inKindPaymentId(state),
            amountMinor: k.appraisal!.valueMinor,
            currency: state.currency,
            paidAt: new Date(ctx.now()).toISOString(),
          });
        } catch (e) {
          state.inKind = before;
          throw e;
        }
      }
      ctx.note('settlement in kind', `${what[s.step]} (by ${s.by})`);
      queueInKindRow(ctx, k, s.step, s.by);
      ctx.lastEvent = `settlement in kind ${s.step}`;
      ctx.touch();
      return ctx.ack(
        s.step === 'transferred'
          ? `title transferred: ${money(k.appraisal!.valueMinor)} applied; outstanding ${money(outstandingMinor(state))}`
          : `settlement in kind ${s.step}`,
      );
    },
    {
      validator: (s: InKindStepInput) => {
        mustTakeTreatments();
        refuse(inKindRefusal(accruedNow(), s, money));
      },
    },
  );

  setHandler(
    decideShortfallUpdate,
    (d: ShortfallDecision) => {
      const k = state.inKind!;
      k.shortfall = {
        decision: d.decision,
        by: d.by,
        role: d.role,
        at: new Date(ctx.now()).toISOString(),
        ...(d.note ? { note: d.note } : {}),
      };
      const words = d.decision === 'write-off' ? 'written off when title passes' : 'still collected after title passes';
      ctx.note('settlement in kind', `shortfall ${words} (by ${d.by})`);
      queueInKindRow(ctx, k, 'shortfall-decided', d.by);
      ctx.touch();
      return ctx.ack(`the shortfall will be ${words}`);
    },
    {
      validator: (d: ShortfallDecision) => {
        mustTakeTreatments();
        refuse(shortfallRefusal(state, d));
      },
    },
  );

  setHandler(
    setSituationUpdate,
    (c: SituationChange) => {
      const { by, ...change } = c;
      state.situation = { ...state.situation, ...change };
      const words = Object.entries(change)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(', ');
      ctx.note('situation', `${words} (by ${by})`);
      ctx.touch();
      return ctx.ack(`situation: ${words}`);
    },
    {
      validator: (c: SituationChange) => {
        mustTakeTreatments();
        if (c.creditGrade === undefined && c.segment === undefined && c.funds === undefined) refuse('give creditGrade, segment or funds');
      },
    },
  );
}
