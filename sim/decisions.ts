import { addDays, instantOf, localDate } from '../shared/calendar';
import type { ReasonCategory } from '../shared/playbook';
import type { Traits } from './behaviour';
import { draw, within, wholeWithin } from './random';

/**
 * Something a debtor, a guarantor, a collector or a supervisor does to the case at a moment of simulated
 * time (epoch ms: reactAt, approveAt, or a whole minute after a window opens, on a local date). `key`
 * names it uniquely within the case (a payment's id is made from it).
 */
export type Delivery = { at: number; key: string } & (
  | { kind: 'approve-visit'; role: 'supervisor' | 'manager' }
  | { kind: 'approve-legal' }
  | { kind: 'outcome'; channel: 'phone' | 'visit'; outcome: 'reached' | 'promise'; reasonCategory: ReasonCategory }
  | { kind: 'visit-report'; promise?: { date: string; amountMinor: number } }
  | { kind: 'promise'; date: string; amountMinor: number }
  | { kind: 'guarantor'; guarantorId: string; response: 'will-pay' | 'refuses' }
  /** A payment: `amountMinor`, or the whole balance of that moment when absent. */
  | { kind: 'pay'; payer: 'debtor' | 'guarantor'; amountMinor?: number }
);

/** What happens first when two things are due at the same moment: approvals, reports, promises, answers, payments. */
const RANK: Record<Delivery['kind'], number> = {
  'approve-visit': 0,
  'approve-legal': 1,
  outcome: 2,
  'visit-report': 3,
  promise: 4,
  guarantor: 5,
  pay: 6,
};
export const inOrder = (a: Delivery, b: Delivery): number =>
  a.at - b.at || RANK[a.kind] - RANK[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * What the people around a case do, decided when the case reaches them: pure functions of the seed,
 * the account, what is decided and its key (a contact's channel, ladder day and number that day),
 * never of arrival order or of the clock's jitter.
 *
 * When it reaches the case. The time-skipping server's clock runs in real time while any task is in
 * flight, so a step due at 09:00 runs at 09:00 plus a few milliseconds to seconds of wall time, more
 * under load. Nothing here is timed from such an instant: every delivery happens at `reactAt` on a
 * local date (the contact's, or a number of days after it), or at a whole minute after a window
 * opens. The local date of a step's instant does not move with the jitter (steps run inside their
 * windows, far from midnight), so the deliveries, and the order of everything in the case, are the same
 * in every run.
 */

/** Who is being decided for, and how they behave. */
export interface Subject {
  seed: number;
  accountId: string;
  traits: Traits;
  reason: ReasonCategory;
  timeZone: string;
  /** Local 'HH:MM' at which reports, answers and payments reach the case. */
  reactAt: string;
}

/** The delivery moment on the contact's local date, or the next day's when the contact came after it. */
function reportDate(s: Subject, at: number): string {
  const date = localDate(at, s.timeZone);
  return instantOf(date, s.reactAt, s.timeZone) > at ? date : addDays(date, 1);
}
const reactOn = (s: Subject, date: string) => instantOf(date, s.reactAt, s.timeZone);
const u = (s: Subject, what: string, key: string | number) => draw(s.seed, s.accountId, what, key);
const share = (amount: number, part: number) => Math.max(1, Math.round(amount * part));

export interface ContactReaction {
  reached: boolean;
  promise?: { date: string; amountMinor: number; kept: boolean; paidMinor?: number };
  deliveries: Delivery[];
}

/**
 * A call or a visit that happened at `at` (the draw key names it: channel, ladder day, number that day).
 * Reached: the first time, the outcome is reported with the debtor's reason (later outcomes would change
 * nothing in the case but its timeline, and cost a workflow task each: they are left out); the debtor may
 * promise (by phone a promise, at a visit a written promise in the visit report) and then keep it, pay
 * part of it, or not. Not reached: nothing reaches the case (an unanswered call changes nothing in it).
 */
export function reactToContact(
  s: Subject,
  c: {
    channel: 'phone' | 'visit';
    drawKey: string;
    at: number;
    balanceMinor: number;
    /** The playbook's promise.maxDaysAhead: a later date would be refused. */
    maxDaysAhead: number;
    /** A visit that needs an approval the operations team does not give: it never happens. */
    cancelled?: boolean;
    /** The case knows the debtor's reason already (an earlier contact reached them). */
    reasonKnown: boolean;
  },
): ContactReaction {
  const t = s.traits;
  const k = c.drawKey;
  const reached = !c.cancelled && u(s, 'answer', k) < t.answer[c.channel];
  if (!reached) return { reached, deliveries: [] };
  const day = reportDate(s, c.at);
  const at = reactOn(s, day);
  const promises = u(s, 'promise', k) < t.promise && c.balanceMinor > 0;
  const deliveries: Delivery[] = c.reasonKnown
    ? []
    : [
        {
          at,
          key: `${k}:outcome`,
          kind: 'outcome',
          channel: c.channel,
          outcome: promises ? 'promise' : 'reached',
          reasonCategory: s.reason,
        },
      ];
  if (!promises) {
    if (c.channel === 'visit') deliveries.push({ at, key: `${k}:report`, kind: 'visit-report' });
    return { reached, deliveries };
  }
  const full = u(s, 'promise-full', k) < t.promiseFull;
  const amountMinor = full ? c.balanceMinor : share(c.balanceMinor, within(t.promiseShare, u(s, 'promise-share', k)));
  const date = addDays(day, Math.min(c.maxDaysAhead, wholeWithin(t.promiseDays, u(s, 'promise-days', k))));
  const promise = { date, amountMinor };
  deliveries.push(
    c.channel === 'visit'
      ? { at, key: `${k}:report`, kind: 'visit-report', promise }
      : { at, key: `${k}:promise`, kind: 'promise', ...promise },
  );
  const payAt = reactOn(s, date);
  const kept = u(s, 'keep', k) < t.keep;
  if (kept) {
    // A promise of the whole balance is kept by paying the balance of that day (penalty has accrued since).
    deliveries.push({ at: payAt, key: `${k}:kept`, kind: 'pay', payer: 'debtor', ...(full ? {} : { amountMinor }) });
    return { reached, promise: { ...promise, kept }, deliveries };
  }
  if (u(s, 'pay-in-part', k) < t.payInPart) {
    const paidMinor = share(amountMinor, within(t.partShare, u(s, 'part-share', k)));
    deliveries.push({ at: payAt, key: `${k}:part`, kind: 'pay', payer: 'debtor', amountMinor: paidMinor });
    return { reached, promise: { ...promise, kept, paidMinor }, deliveries };
  }
  return { reached, promise: { ...promise, kept }, deliveries };
}

/** The approval of a visit that needs one, a whole number of minutes after its window opens (before it closes). */
export function visitApproval(
  s: Subject,
  v: { date: string; windowFrom: string; windowEnd: number; afterMinutes: number | null; role: 'supervisor' | 'manager'; key: string },
): Delivery | undefined {
  if (v.afterMinutes === null) return undefined;
  const at = instantOf(v.date, v.windowFrom, s.timeZone) + v.afterMinutes * 60_000;
  return at < v.windowEnd ? { at, key: `${v.key}:approval`, kind: 'approve-visit', role: v.role } : undefined;
}

export type GuarantorAnswer = 'pays' | 'refuses' | 'silent';

/**
 * The guarantor's answer to the demand served at `at`: will pay (then pays the whole balance), refuses,
 * or silent; within the playbook's response days (the answer comes before the case's deadline).
 */
export function reactToDemand(
  s: Subject,
  d: { at: number; drawKey: string; guarantorId: string; responseDays: number },
): { answer: GuarantorAnswer; deliveries: Delivery[] } {
  const g = s.traits.guarantor;
  const x = u(s, 'guarantor', d.drawKey);
  const answer: GuarantorAnswer = x < g.pays ? 'pays' : x < g.pays + g.refuses ? 'refuses' : 'silent';
  if (answer === 'silent') return { answer, deliveries: [] };
  const after = Math.min(Math.max(0, d.responseDays - 1), wholeWithin(g.days, u(s, 'guarantor-days', d.drawKey)));
  const at = reactOn(s, addDays(reportDate(s, d.at), after));
  const base = { at, guarantorId: d.guarantorId };
  if (answer === 'refuses')
    return { answer, deliveries: [{ ...base, key: `${d.drawKey}:refuses`, kind: 'guarantor', response: 'refuses' }] };
  return {
    answer,
    deliveries: [
      { ...base, key: `${d.drawKey}:will-pay`, kind: 'guarantor', response: 'will-pay' },
      { at, key: `${d.drawKey}:guarantor-pays`, kind: 'pay', payer: 'guarantor' },
    ],
  };
}

/** The lawyer's letter sent at `at` (legal took the case): the debtor may pay the whole balance some days later. */
export function reactToLawyersLetter(s: Subject, l: { at: number; drawKey: string }): Delivery[] {
  const t = s.traits.lawyersLetter;
  if (u(s, 'lawyers-letter', l.drawKey) >= t.pays) return [];
  const at = reactOn(s, addDays(reportDate(s, l.at), wholeWithin(t.days, u(s, 'lawyers-letter-days', l.drawKey))));
  return [{ at, key: `${l.drawKey}:after-letter`, kind: 'pay', payer: 'debtor' }];
}

/**
 * A supervisor approves the legal referral asked for at `at`, `afterDays` days later at `approveAt` (the
 * next day's when that moment has passed); null: never. Approvals come at another time of day than
 * payments: the hand-off's letter (an activity) is done long before a payment can end the case (see
 * docs/simulation.md, "Timing").
 */
export function referralApproval(s: Subject, r: { at: number; afterDays: number | null; approveAt: string; key: string }): Delivery[] {
  if (r.afterDays === null) return [];
  const date = addDays(localDate(r.at, s.timeZone), r.afterDays);
  const on = instantOf(date, r.approveAt, s.timeZone) > r.at ? date : addDays(date, 1);
  return [{ at: instantOf(on, r.approveAt, s.timeZone), key: `${r.key}:approval`, kind: 'approve-legal' }];
}

/**
 * The day (0 = the simulation's first) on which the debtor pays the whole balance unprompted, if any
 * within `days`: the first day whose draw falls under selfCurePerDay. The same for every playbook.
 */
export function selfCureDay(s: Subject, days: number): number | undefined {
  const p = s.traits.selfCurePerDay;
  if (p <= 0) return undefined;
  for (let d = 0; d <= days; d++) if (u(s, 'self-cure', d) < p) return d;
  return undefined;
}

/** The unprompted payment on day `d` of the simulation, whose day 0 is `start`. */
export function selfCure(s: Subject, start: string, d: number): Delivery {
  return { at: reactOn(s, addDays(start, d)), key: `self-cure:${d}`, kind: 'pay', payer: 'debtor' };
}
