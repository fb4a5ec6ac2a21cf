import { setHandler } from '@temporalio/workflow';
import type { ContactDetails, PromiseToPay, VisitReportInput } from '../../../shared/case';
import {
  approveVisitUpdate,
  contactOutcomeSignal,
  guarantorResponseSignal,
  recordVisitReportUpdate,
  updateContactDetailsUpdate,
  visitReportSignal,
} from '../../../shared/messages';
import { dayIndex, isClosed, mayApprove, promiseRefusal } from '../../core/case-core';
import type { CaseContext } from '../context';
import { makePromise } from './promises';

/** What collectors and field officers report: contacts, visits (with written promises), guarantors' answers, new contact details. */
export function registerContactHandlers(ctx: CaseContext): void {
  const { state, pb } = ctx;

  setHandler(contactOutcomeSignal, (o) => {
    if (isClosed(state)) return;
    const day = dayIndex(state, ctx.now());
    if (o.reasonCategory !== undefined) state.reasonCategory = o.reasonCategory;
    if (o.reasonCategory === 6 && !state.legalReviewRequested) state.legalReviewRequested = true;
    if (ctx.treatments && o.funds) state.situation = { ...state.situation, funds: o.funds };
    const n = ctx.notes();
    ctx.note(
      `contact outcome (${o.channel})`,
      `${o.outcome}${o.reasonCategory ? `, reason ${o.reasonCategory}` : ''}` +
        `${ctx.treatments && o.funds ? `, funds ${o.funds}` : ''}${o.note ? `: ${o.note}` : ''}`,
    );
    ctx.queue('recordContactOutcome', `Record ${o.channel} outcome: ${o.outcome}`, {
      ...ctx.ref(`outcome:${n}`),
      day,
      outcome: o,
      actor: o.actor,
    });
    // Reasons 4 and 5 are payment problems, not delinquency: finance looks for the money (once per reason).
    const r = o.reasonCategory;
    if (ctx.treatments && (r === 4 || r === 5) && !state.investigations?.includes(r)) {
      state.investigations = [...(state.investigations ?? []), r];
      const why = r === 4 ? 'deposited less than the instalment' : 'paid into the wrong account or card';
      ctx.note('payment investigation', `opened for finance: reason ${r}, ${why}`);
      ctx.queue('openPaymentInvestigation', `Payment investigation for finance: reason ${r}`, {
        ...ctx.ref(`investigation:${r}`),
        reasonCategory: r,
        reportedBy: o.actor,
        note: o.note,
      });
    }
    ctx.touch();
  });

  const takeVisitReport = (v: VisitReportInput, promise?: PromiseToPay): number | undefined => {
    if (ctx.treatments && v.funds) state.situation = { ...state.situation, funds: v.funds };
    const n = ctx.notes();
    const written = promise
      ? `, written promise: ${ctx.money(promise.amountMinor)} by ${promise.date}`
      : typeof v.writtenPromise === 'string'
        ? `, written promise: ${v.writtenPromise}`
        : '';
    const funds = ctx.treatments && v.funds ? `, funds ${v.funds}` : '';
    ctx.note('visit report', `${v.outcome}${v.signedStatement ? ', signed statement' : ''}${written}${funds}`);
    ctx.queue('recordVisitReport', `Record visit report: ${v.outcome}`, {
      ...ctx.ref(`visit-report:${n}`),
      visitReference: state.lastVisitReference!,
      outcome: v.outcome,
      signedStatement: v.signedStatement,
      ...(written ? { writtenPromise: written.replace(', written promise: ', '') } : {}),
      note: v.note,
      ...(v.officerId ? { officerId: v.officerId } : {}),
    });
    ctx.touch();
    return promise ? makePromise(ctx, promise, 'written promise at the visit') : undefined;
  };
  setHandler(visitReportSignal, (v) => {
    if (!state.lastVisitReference || isClosed(state)) return;
    // A signal cannot refuse: a written promise that recordPromise would refuse is reported, not made.
    const p = typeof v.writtenPromise === 'object' ? v.writtenPromise : undefined;
    const why = p && promiseRefusal(state, pb, p, ctx.now());
    takeVisitReport(v, why ? undefined : p);
    if (why) ctx.note('written promise not taken', why);
  });
  setHandler(
    recordVisitReportUpdate,
    (v) => {
      const id = takeVisitReport(v, v.writtenPromise);
      const paused =
        `visit report recorded; promise ${id}: escalation paused until ${v.writtenPromise?.date} ` +
        `plus ${pb.promise.graceDays} days' grace`;
      return { ...ctx.ack(id ? paused : 'visit report recorded'), ...(id ? { promiseId: id } : {}) };
    },
    {
      validator: (v: VisitReportInput) => {
        ctx.mustBeActive();
        if (!state.lastVisitReference) throw new Error('no field visit to report on yet');
        const why = v.writtenPromise && promiseRefusal(state, pb, v.writtenPromise, ctx.now());
        if (why) throw new Error(`the written promise is refused: ${why}`);
      },
    },
  );

  setHandler(
    approveVisitUpdate,
    ({ by, role }) => {
      state.pendingVisit!.approvedBy = by;
      ctx.note('visit approved', `by ${by} (${role})`);
      ctx.touch();
      return ctx.ack('visit approved');
    },
    {
      validator: ({ role }) => {
        ctx.mustBeActive();
        const v = state.pendingVisit;
        if (!v || v.approvedBy) throw new Error('no field visit is awaiting approval');
        if (!mayApprove(role, v.role)) throw new Error(`this visit needs a ${v.role}'s approval`);
      },
    },
  );

  setHandler(guarantorResponseSignal, (r) => {
    const g = state.guarantors.find((x) => x.id === r.guarantorId);
    if (!g || isClosed(state)) return;
    g.status = r.response === 'refuses' ? 'refused' : r.response;
    if (state.guarantorDemand && !state.guarantorDemand.outcome) state.guarantorDemand.outcome = r.response;
    ctx.note('guarantor response', `${g.name}: ${r.response}`);
    ctx.touch();
  });

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
      const guarantorFields = (c.guarantors ?? []).flatMap((g) =>
        Object.keys(g)
          .filter((k) => k !== 'id')
          .map((k) => `guarantor ${g.id} ${k}`),
      );
      const fields = [...Object.keys(d).map((k) => `debtor ${k}`), ...guarantorFields];
      ctx.note('contact details updated', `${fields.join(', ')} (by ${c.by})`);
      const n = ctx.notes();
      ctx.queue('recordContactDetails', `Record new contact details: ${fields.join(', ')}`, { ...ctx.ref(`contact-details:${n}`), ...c });
      // A letter that failed for want of an address catches up now that one arrived.
      const gotAddress = !!d.address || (c.guarantors ?? []).some((g) => g.address);
      const waiting = gotAddress ? (state.awaitingAddress ?? []) : [];
      for (const key of waiting) {
        delete state.done[key];
        ctx.note('letter to catch up', `${key}: an address arrived`);
      }
      if (waiting.length > 0) state.awaitingAddress = [];
      ctx.touch();
      return ctx.ack(`contact details updated${waiting.length > 0 ? `; ${waiting.length} letter(s) will catch up` : ''}`);
    },
    {
      validator: (c: ContactDetails) => {
        ctx.mustBeActive();
        const unknown = (c.guarantors ?? []).filter((g) => !state.guarantors.some((x) => x.id === g.id)).map((g) => g.id);
        if (unknown.length > 0) throw new Error(`no guarantor ${unknown.join(', ')} on this case`);
      },
    },
  );
}
