/**
 * Contact compliance rules: may this contact with a debtor, guarantor or third party happen now, and
 * if not, which rule refuses it and when is the next allowed moment.
 *
 * PURE: no database, no Temporal import, no clock. Every instant (epoch ms) is passed in, and local
 * dates and times come from shared/calendar.ts (Intl only), so the workflow sandbox and plain Node
 * decide the same way.
 *
 * ── Rule sets (values are data, in RULE_SETS) ─────────────────────────────────────────────────────
 * CN 'CN-collection-conduct'
 *   - contact-window 08:00–22:00 debtor-local (no contact 22:00–08:00);
 *   - answered-calls-per-day: at most 3 ANSWERED calls (a conversation: outcome reached / promise /
 *     refused, or conversation=true) per local calendar day;
 *   - third parties only when the debtor is unreachable.
 * US 'US-Regulation-F' (12 CFR part 1006)
 *   - contact-window 08:00–21:00 consumer-local: §1006.6(b)(1)(i), "a time before 8:00 a.m. and
 *     after 9:00 p.m. local time at the consumer's location is inconvenient";
 *   - call-attempts-7-in-7: §1006.14(b)(2)(i)(A), no more than seven telephone calls "within seven
 *     consecutive days";
 *   - after-conversation-7-days: §1006.14(b)(2)(i)(B), no call "within a period of seven consecutive
 *     days after having had a telephone conversation with the person";
 *   - third parties only when the debtor is unreachable (location information only; simplified).
 * Every jurisdiction: doNotContact → 'do-not-contact', ceaseCommunication → 'cease-communication'
 * (§1006.6(c), simplified to "refuse all contact"), inDispute → 'dispute'. The debtor's flags refuse
 * every party's contact; a guarantor's own flags (flags.recipient) refuse that guarantor's, with the
 * same rule ids. None of these carries a nextAllowedAt: people lift them, time does not.
 * Third parties (every jurisdiction): a contact to ask where the debtor is (purpose 'location', the
 * default: §1006.10) needs the debtor unreachable, or the debtor's consent; a contact about the debt
 * (purpose 'debt') needs the debtor's consent given to the collector (§1006.6(d)(1)):
 * 'third-party-without-consent'. Nothing in the engine contacts a third party yet: the rules are here
 * for the contact that will.
 *
 * ── Day counting for the Regulation F 7-day periods: CALENDAR DAYS in the consumer's time zone ────
 * Not a rolling 7×24h window. The regulation and its Official Interpretations (Supplement I to part
 * 1006) count dates, not hours:
 *   - §1006.14(b)(2)(i)(B): "The date of the telephone conversation is the first day of the
 *     seven-consecutive-day period." (same wording for prior consent in §1006.14(b)(3)(i)).
 *   - Comment 14(b)(2)(i)-1.i: one call on Wednesday, April 1, six more between Thursday, April 2 and
 *     Tuesday, April 7 = "seven telephone calls ... within the period of seven consecutive days that
 *     started on Wednesday, April 1"; no further call "until Wednesday, April 8" → presumed to comply.
 *   - Comment 14(b)(2)(ii)-1.i: an eighth call on Tuesday, April 7 in "the seven-day period starting
 *     Wednesday, April 1" → presumed to violate.
 *   - Comment 14(b)(2)(ii)-1.ii: conversation on Friday, August 14 → a call "prior to Friday,
 *     August 21" is presumed to violate; comment 14(b)(2)(i)-1.ii: consumer-initiated conversation on
 *     Thursday, August 13, no call "prior to Thursday, August 20" → presumed to comply.
 * So a period is `days` consecutive local dates, the time of day is irrelevant, and a period frees up
 * at local midnight (instantOf(date, '00:00', tz), which also handles a zone whose midnight falls in
 * a DST gap) — after which the contact window still applies (e.g. 08:00).
 *   call-attempts: a call on local date D is allowed iff every window of `days` consecutive dates
 *     that contains D holds at most `max` calls, the proposed one included.
 *   after-conversation: a conversation on date C blocks calls on dates C … C+days−1; C+days is free.
 * The CN per-day limit uses the same local calendar day.
 *
 * ── What counts (entries with status 'refused' are ignored by every rule) ──────────────────────────
 *   - A call is a log entry with channel 'phone'. The call-frequency rules apply to a proposed phone
 *     contact and count the calls to the SAME party as the proposed one. For the debtor that is
 *     exactly the rule; for third parties Reg F counts per person too (comment 14(b)(2)(i)-1.iii:
 *     up to seven calls to a third party for location information, October 6–12), and since
 *     ContactParty names no individual, all third parties share one bucket (conservative).
 *   - Every placed/completed call is an attempt, conversations included, except an outcome
 *     'wrong-number': calls to a number that turns out not to be the person's are not calls to that
 *     person (comment 14(b)(2)(i)-3, misdirected telephone calls).
 *   - A conversation is conversation=true or an answered outcome (reached / promise / refused).
 *   - Not modelled: the §1006.14(b)(3) exclusions (prior consent, unconnected calls) and per-debt
 *     counting (§1006.14(b)(4)); the log is taken to be about one debt.
 *
 * ── nextAllowedAt ─────────────────────────────────────────────────────────────────────────────────
 * The earliest instant ≥ proposed.at at which the same contact passes every time-based rule given the
 * same log. Each time-based rule knows its own next boundary (start of the window, start of a local
 * day); we jump from boundary to boundary until all rules pass at once — no fixed step. When several
 * rules refuse, the verdict names the one whose own next allowed instant is latest (a rule without one
 * counts as latest), and carries the combined nextAllowedAt, so the workflow waits once.
 */
import { addDays, daysBetween, instantOf, isValidTimeZone, localDate, localTime } from '../../shared/calendar';

export type Jurisdiction = 'CN' | 'US';
export type ContactChannel = 'phone' | 'visit' | 'sms' | 'email' | 'letter';
export type ContactParty = 'debtor' | 'guarantor' | 'third-party';

/** One row of the contact log (placed or completed attempts; refused ones are ignored by the rules). */
export interface ContactLogEntry {
  at: number;
  channel: ContactChannel;
  party: ContactParty;
  status: 'placed' | 'completed' | 'refused';
  outcome?: 'reached' | 'no-answer' | 'refused' | 'wrong-number' | 'promise';
  conversation: boolean;
}

export interface ContactFlags {
  doNotContact: boolean;
  ceaseCommunication: boolean;
  inDispute: boolean;
  /** debtor could not be reached (wrong number, no answer for days): third parties may then be asked */
  debtorUnreachable: boolean;
  /** The debtor consented to the collector contacting third parties about the debt (12 CFR 1006.6(d)(1)). Absent: no consent. */
  thirdPartyConsent?: boolean;
  /** The contacted person's own flags when that is not the debtor (a guarantor's contact preferences). */
  recipient?: { doNotContact: boolean; ceaseCommunication: boolean };
}

export interface ProposedContact {
  at: number;
  channel: ContactChannel;
  party: ContactParty;
  timeZone: string;
  /**
   * What a third-party contact is for: 'location' (ask where the debtor is, 12 CFR 1006.10; the
   * default) or 'debt' (talk about the debt: only with the debtor's consent, 12 CFR 1006.6(d)).
   */
  purpose?: 'location' | 'debt';
}

export interface RuleSet {
  id: string;
  jurisdiction: Jurisdiction;
  /** Local wall-clock window [from, to) in which contact is allowed ('HH:MM'). */
  contactWindow: { from: string; to: string };
  /** At most this many answered calls (conversations) per local calendar day. */
  maxAnsweredCallsPerDay?: number;
  /** At most `max` call attempts in any `days` consecutive local calendar days. */
  callAttempts?: { max: number; days: number };
  /** No call on the date of a conversation nor on the following days−1 dates. */
  daysAfterConversation?: number;
  thirdPartyOnlyWhenDebtorUnreachable: boolean;
}

export type Verdict = { allowed: true } | { allowed: false; rule: string; reason: string; nextAllowedAt?: number };

export const RULE_SETS: Record<Jurisdiction, RuleSet> = {
  CN: {
    id: 'CN-collection-conduct',
    jurisdiction: 'CN',
    contactWindow: { from: '08:00', to: '22:00' },
    maxAnsweredCallsPerDay: 3,
    thirdPartyOnlyWhenDebtorUnreachable: true,
  },
  US: {
    id: 'US-Regulation-F',
    jurisdiction: 'US',
    contactWindow: { from: '08:00', to: '21:00' }, // 12 CFR 1006.6(b)(1)(i)
    callAttempts: { max: 7, days: 7 }, // 12 CFR 1006.14(b)(2)(i)(A)
    daysAfterConversation: 7, // 12 CFR 1006.14(b)(2)(i)(B)
    thirdPartyOnlyWhenDebtorUnreachable: true,
  },
};

const RULE_IDS = {
  contactWindow: 'contact-window',
  answeredCallsPerDay: 'answered-calls-per-day',
  callAttempts: 'call-attempts-7-in-7',
  afterConversation: 'after-conversation-7-days',
  thirdParty: 'third-party-only-when-unreachable',
  thirdPartyWithoutConsent: 'third-party-without-consent',
  doNotContact: 'do-not-contact',
  ceaseCommunication: 'cease-communication',
  dispute: 'dispute',
} as const;

/** A rule that time alone can satisfy: `nextOk(t)` is the earliest instant ≥ t at which it passes. */
interface TimeRule {
  id: string;
  reason: string;
  nextOk(t: number): number;
}

interface Refusal {
  rule: string;
  reason: string;
  /** This rule's own next allowed instant; undefined = time will not lift it. */
  ownNext?: number;
}

const ANSWERED_OUTCOMES = new Set<ContactLogEntry['outcome']>(['reached', 'promise', 'refused']);

function isConversation(e: ContactLogEntry): boolean {
  return e.conversation || ANSWERED_OUTCOMES.has(e.outcome);
}

/** Placed or completed phone calls to `party` (refused rows are not contacts). */
function callsTo(log: readonly ContactLogEntry[], party: ContactParty): ContactLogEntry[] {
  return log.filter((e) => e.status !== 'refused' && e.channel === 'phone' && e.party === party);
}

function startOfLocalDay(date: string, timeZone: string): number {
  return instantOf(date, '00:00', timeZone);
}

/** How many entries fall on each local date. */
function countByDate(entries: readonly ContactLogEntry[], timeZone: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of entries) {
    const d = localDate(e.at, timeZone);
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  return counts;
}

/**
 * The earliest instant ≥ t whose local date satisfies `dateOk`, checking t's own date first and then
 * the start of each following local day, up to `horizonDays` days ahead (past which the rule is known
 * to pass: the log has no entry that far out).
 */
function nextOkDate(t: number, timeZone: string, horizonDays: number, dateOk: (date: string) => boolean): number {
  const today = localDate(t, timeZone);
  if (dateOk(today)) return t;
  for (let i = 1; i <= horizonDays; i++) {
    const d = addDays(today, i);
    if (dateOk(d)) return startOfLocalDay(d, timeZone);
  }
  throw new Error(`compliance: no allowed date within ${horizonDays} days of ${today}`);
}

/** Days from `today` to the furthest log date, plus `extra`: a safe search horizon. */
function horizon(today: string, dates: Iterable<string>, extra: number): number {
  let h = 0;
  for (const d of dates) h = Math.max(h, daysBetween(today, d));
  return h + extra + 1;
}

function inWindow(time: string, from: string, to: string): boolean {
  return from <= to ? time >= from && time < to : time >= from || time < to;
}

function contactWindowRule(rules: RuleSet, timeZone: string): TimeRule {
  const { from, to } = rules.contactWindow;
  return {
    id: RULE_IDS.contactWindow,
    reason: `outside the contact window ${from}–${to} local time (${timeZone})`,
    nextOk(t) {
      if (inWindow(localTime(t, timeZone), from, to)) return t;
      const today = localDate(t, timeZone);
      for (let i = 0; i <= 2; i++) {
        const c = instantOf(addDays(today, i), from, timeZone);
        if (c >= t && inWindow(localTime(c, timeZone), from, to)) return c;
      }
      throw new Error(`compliance: contact window ${from}–${to} never opens in ${timeZone}`);
    },
  };
}

function answeredCallsPerDayRule(max: number, calls: readonly ContactLogEntry[], timeZone: string): TimeRule {
  const perDay = countByDate(calls.filter(isConversation), timeZone);
  return {
    id: RULE_IDS.answeredCallsPerDay,
    reason: `already ${max} answered calls on this local day (limit ${max} per day)`,
    nextOk(t) {
      const today = localDate(t, timeZone);
      return nextOkDate(t, timeZone, horizon(today, perDay.keys(), 1), (d) => (perDay.get(d) ?? 0) < max);
    },
  };
}

function callAttemptsRule(limit: { max: number; days: number }, calls: readonly ContactLogEntry[], timeZone: string): TimeRule {
  const perDay = countByDate(
    calls.filter((e) => e.outcome !== 'wrong-number'),
    timeZone,
  );
  const { max, days } = limit;
  /** Every window of `days` consecutive dates containing `date` holds ≤ max calls with one more on `date`. */
  const dateOk = (date: string): boolean => {
    for (let start = -(days - 1); start <= 0; start++) {
      let n = 1;
      for (let k = 0; k < days; k++) n += perDay.get(addDays(date, start + k)) ?? 0;
      if (n > max) return false;
    }
    return true;
  };
  return {
    id: RULE_IDS.callAttempts,
    reason: `${max} call attempts already within ${days} consecutive local calendar days (12 CFR 1006.14(b)(2)(i)(A))`,
    nextOk(t) {
      const today = localDate(t, timeZone);
      return nextOkDate(t, timeZone, horizon(today, perDay.keys(), days), dateOk);
    },
  };
}

function afterConversationRule(days: number, calls: readonly ContactLogEntry[], timeZone: string): TimeRule {
  const conversationDates = [...new Set(calls.filter(isConversation).map((e) => localDate(e.at, timeZone)))];
  /** Blocked if some conversation date C has C ≤ date ≤ C + days − 1. */
  const dateOk = (date: string): boolean =>
    conversationDates.every((c) => {
      const since = daysBetween(c, date);
      return since < 0 || since >= days;
    });
  return {
    id: RULE_IDS.afterConversation,
    reason:
      `a telephone conversation took place within the last ${days} local calendar days, ` +
      'its date counting as the first (12 CFR 1006.14(b)(2)(i)(B))',
    nextOk(t) {
      const today = localDate(t, timeZone);
      return nextOkDate(t, timeZone, horizon(today, conversationDates, days), dateOk);
    },
  };
}

function timeRules(rules: RuleSet, proposed: ProposedContact, log: readonly ContactLogEntry[]): TimeRule[] {
  const tz = proposed.timeZone;
  const out: TimeRule[] = [contactWindowRule(rules, tz)];
  if (proposed.channel === 'phone') {
    const calls = callsTo(log, proposed.party);
    if (rules.maxAnsweredCallsPerDay !== undefined) out.push(answeredCallsPerDayRule(rules.maxAnsweredCallsPerDay, calls, tz));
    if (rules.callAttempts !== undefined) out.push(callAttemptsRule(rules.callAttempts, calls, tz));
    if (rules.daysAfterConversation !== undefined) out.push(afterConversationRule(rules.daysAfterConversation, calls, tz));
  }
  return out;
}

/** Jump from rule boundary to rule boundary until every time rule passes at the same instant. */
function combinedNext(rules: readonly TimeRule[], from: number): number {
  let t = from;
  for (let i = 0; i < 1000; i++) {
    const next = Math.max(...rules.map((r) => r.nextOk(t)));
    if (next === t) return t;
    t = next;
  }
  throw new Error('compliance: time rules did not settle on an allowed instant');
}

/** Refusals that time will not lift, in the order reported when several apply. */
function standingRefusals(rules: RuleSet, proposed: ProposedContact, flags: ContactFlags): Refusal[] {
  const out: Refusal[] = [];
  if (flags.doNotContact) out.push({ rule: RULE_IDS.doNotContact, reason: 'the case is marked do-not-contact' });
  if (flags.ceaseCommunication) {
    out.push({ rule: RULE_IDS.ceaseCommunication, reason: 'the consumer asked to cease communication (12 CFR 1006.6(c))' });
  }
  if (proposed.party !== 'debtor' && flags.recipient) {
    const who = proposed.party === 'guarantor' ? 'the guarantor' : 'the person contacted';
    if (flags.recipient.doNotContact) out.push({ rule: RULE_IDS.doNotContact, reason: `${who} is marked do-not-contact` });
    if (flags.recipient.ceaseCommunication) {
      out.push({ rule: RULE_IDS.ceaseCommunication, reason: `${who} asked to cease communication (12 CFR 1006.6(c))` });
    }
  }
  if (flags.inDispute) out.push({ rule: RULE_IDS.dispute, reason: 'the debt is in dispute; a person must resolve it first' });
  if (proposed.party === 'third-party') {
    const consent = flags.thirdPartyConsent === true;
    if (proposed.purpose === 'debt') {
      if (!consent) {
        out.push({
          rule: RULE_IDS.thirdPartyWithoutConsent,
          reason: 'the debtor has not consented to third parties being contacted about the debt (12 CFR 1006.6(d))',
        });
      }
    } else if (rules.thirdPartyOnlyWhenDebtorUnreachable && !flags.debtorUnreachable && !consent) {
      out.push({ rule: RULE_IDS.thirdParty, reason: 'third parties may be contacted only when the debtor is unreachable' });
    }
  }
  return out;
}

export function checkContact(rules: RuleSet, proposed: ProposedContact, log: readonly ContactLogEntry[], flags: ContactFlags): Verdict {
  if (!Number.isFinite(proposed.at)) throw new RangeError(`compliance: proposed.at is not an instant: ${proposed.at}`);
  if (!isValidTimeZone(proposed.timeZone)) throw new RangeError(`compliance: unknown time zone ${proposed.timeZone}`);

  const standing = standingRefusals(rules, proposed, flags);
  const time = timeRules(rules, proposed, log);
  const timed: Refusal[] = [];
  for (const r of time) {
    const own = r.nextOk(proposed.at);
    if (own !== proposed.at) timed.push({ rule: r.id, reason: r.reason, ownNext: own });
  }

  // A refusal without a next instant outranks any timed one; among timed ones the latest wins, ties
  // going to the rule listed first.
  const first = standing[0];
  if (first) return { allowed: false, rule: first.rule, reason: first.reason };
  if (timed.length === 0) return { allowed: true };
  const latest = timed.reduce((a, b) => ((b.ownNext ?? Infinity) > (a.ownNext ?? Infinity) ? b : a));
  return { allowed: false, rule: latest.rule, reason: latest.reason, nextAllowedAt: combinedNext(time, proposed.at) };
}
