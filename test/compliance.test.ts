import { describe, expect, it } from 'vitest';
import {
  checkContact,
  RULE_SETS,
  type ContactChannel,
  type ContactFlags,
  type ContactLogEntry,
  type ContactParty,
  type ProposedContact,
  type RuleSet,
  type Verdict,
} from '../activities/compliance/rules';

const NY = 'America/New_York';
const SH = 'Asia/Shanghai';
const LA = 'America/Los_Angeles';
const US = RULE_SETS.US;
const CN = RULE_SETS.CN;

/** Fixed instants, written with their UTC offset so no test depends on the code under test. */
const t = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad instant ${iso}`);
  return ms;
};
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

const NO_FLAGS: ContactFlags = { doNotContact: false, ceaseCommunication: false, inDispute: false, debtorUnreachable: false };
const CHANNELS: ContactChannel[] = ['phone', 'visit', 'sms', 'email', 'letter'];

/** An unanswered phone call to the debtor unless told otherwise. */
function call(at: string, extra: Partial<ContactLogEntry> = {}): ContactLogEntry {
  return { at: t(at), channel: 'phone', party: 'debtor', status: 'placed', outcome: 'no-answer', conversation: false, ...extra };
}
function conversation(at: string, extra: Partial<ContactLogEntry> = {}): ContactLogEntry {
  return call(at, { status: 'completed', outcome: 'reached', conversation: true, ...extra });
}
function propose(at: string, timeZone: string, channel: ContactChannel = 'phone', party: ContactParty = 'debtor'): ProposedContact {
  return { at: t(at), timeZone, channel, party };
}
function check(
  rules: RuleSet,
  at: string,
  timeZone: string,
  log: readonly ContactLogEntry[] = [],
  flags: Partial<ContactFlags> = {},
  channel: ContactChannel = 'phone',
  party: ContactParty = 'debtor',
): Verdict {
  return checkContact(rules, propose(at, timeZone, channel, party), log, { ...NO_FLAGS, ...flags });
}
/** Refused by `rule`, next allowed at `next` (ISO, UTC) — and allowed at that very instant. */
function expectRefused(v: Verdict, rule: string, next: string, recheck: (at: number) => Verdict) {
  expect(v.allowed).toBe(false);
  if (v.allowed) return;
  expect(v.rule).toBe(rule);
  expect(v.reason).toEqual(expect.any(String));
  expect(iso(v.nextAllowedAt)).toBe(next);
  expect(recheck(v.nextAllowedAt!)).toEqual({ allowed: true });
}
/**
 * Places the calls one after another, checking each against the log of the calls before it: every
 * one must be allowed. Returns the full log.
 */
function placeAllowed(rules: RuleSet, entries: ContactLogEntry[], timeZone: string, flags: Partial<ContactFlags> = {}) {
  const log: ContactLogEntry[] = [];
  for (const e of entries) {
    const v = checkContact(rules, { at: e.at, channel: e.channel, party: e.party, timeZone }, log, { ...NO_FLAGS, ...flags });
    expect(v, `call at ${iso(e.at)}`).toEqual({ allowed: true });
    log.push(e);
  }
  return log;
}

describe('Regulation F Official Interpretations to §1006.14(b)(2), transcribed (2020 dates, America/New_York)', () => {
  it('comment 14(b)(2)(i)-1.i: one call Wed April 1, six more Thu April 2 – Tue April 7, none until Wed April 8 → compliant', () => {
    const calls = [
      call('2020-04-01T10:00:00-04:00'), // first attempt, limited-content message left
      call('2020-04-02T10:00:00-04:00'),
      call('2020-04-03T10:00:00-04:00'),
      call('2020-04-04T10:00:00-04:00'),
      call('2020-04-05T10:00:00-04:00'),
      call('2020-04-06T10:00:00-04:00'),
      call('2020-04-07T10:00:00-04:00'), // the 7th in the period that started April 1: allowed
    ];
    const log = placeAllowed(US, calls, NY);
    // "does not place any additional telephone calls about the debt until Wednesday, April 8"
    expect(check(US, '2020-04-08T08:00:00-04:00', NY, log)).toEqual({ allowed: true });
    // Boundary: an 8th call still on Tuesday, April 7 is refused until April 8 (08:00 local, the window).
    expectRefused(check(US, '2020-04-07T15:00:00-04:00', NY, log), 'call-attempts-7-in-7', '2020-04-08T12:00:00.000Z', (at) =>
      checkContact(US, { at, channel: 'phone', party: 'debtor', timeZone: NY }, log, NO_FLAGS),
    );
  });

  it('comment 14(b)(2)(ii)-1.i: one call Wed April 1, two on each of April 2, 3 and 6, one more Tue April 7 = eight → violation', () => {
    const seven = [
      call('2020-04-01T10:00:00-04:00'),
      call('2020-04-02T10:00:00-04:00'),
      call('2020-04-02T15:00:00-04:00'),
      call('2020-04-03T10:00:00-04:00'),
      call('2020-04-03T15:00:00-04:00'),
      call('2020-04-06T10:00:00-04:00'),
      call('2020-04-06T15:00:00-04:00'),
    ];
    const log = placeAllowed(US, seven, NY);
    const eighth = check(US, '2020-04-07T10:00:00-04:00', NY, log);
    // The period starting April 1 frees up on Wednesday, April 8 (April 2–8 then holds six calls + this one).
    expectRefused(eighth, 'call-attempts-7-in-7', '2020-04-08T12:00:00.000Z', (at) =>
      checkContact(US, { at, channel: 'phone', party: 'debtor', timeZone: NY }, log, NO_FLAGS),
    );
  });

  it(
    'comment 14(b)(2)(ii)-1.ii: unanswered call Tue August 11, conversation Fri August 14 → ' +
      'a call before Fri August 21 is a violation',
    () => {
      const log = [call('2020-08-11T10:00:00-04:00'), conversation('2020-08-14T10:00:00-04:00')];
      const recheck = (at: number) => checkContact(US, { at, channel: 'phone', party: 'debtor', timeZone: NY }, log, NO_FLAGS);
      expectRefused(check(US, '2020-08-14T16:00:00-04:00', NY, log), 'after-conversation-7-days', '2020-08-21T12:00:00.000Z', recheck);
      expectRefused(check(US, '2020-08-20T20:59:00-04:00', NY, log), 'after-conversation-7-days', '2020-08-21T12:00:00.000Z', recheck);
      expect(check(US, '2020-08-21T08:00:00-04:00', NY, log)).toEqual({ allowed: true });
    },
  );

  it('comment 14(b)(2)(i)-1.ii: the consumer calls and converses Thu August 13; no call before Thu August 20 → compliant', () => {
    // The log has no direction; the consumer's inbound call is a completed phone row with a conversation.
    const log = [conversation('2020-08-13T11:00:00-04:00')];
    expect(check(US, '2020-08-20T09:00:00-04:00', NY, log)).toEqual({ allowed: true });
    expectRefused(check(US, '2020-08-19T20:00:00-04:00', NY, log), 'after-conversation-7-days', '2020-08-20T12:00:00.000Z', (at) =>
      checkContact(US, { at, channel: 'phone', party: 'debtor', timeZone: NY }, log, NO_FLAGS),
    );
  });

  it(
    'comment 14(b)(2)(i)-1.iii: up to seven unanswered calls to a third party for location information, ' +
      'Tue October 6 – Mon October 12',
    () => {
      const thirdParty = (at: string) => call(at, { party: 'third-party' });
      const flags = { debtorUnreachable: true };
      const calls = ['06', '07', '08', '09', '10', '11', '12'].map((d) => thirdParty(`2020-10-${d}T12:00:00-04:00`));
      const log = placeAllowed(US, calls, NY, flags);
      const eighth = check(US, '2020-10-12T17:00:00-04:00', NY, log, flags, 'phone', 'third-party');
      expectRefused(eighth, 'call-attempts-7-in-7', '2020-10-13T12:00:00.000Z', (at) =>
        checkContact(US, { at, channel: 'phone', party: 'third-party', timeZone: NY }, log, { ...NO_FLAGS, ...flags }),
      );
      // Calls to third parties are a different person's count: the debtor may still be called.
      expect(check(US, '2020-10-12T17:00:00-04:00', NY, log, flags)).toEqual({ allowed: true });
    },
  );
});

describe("Regulation F boundaries: seven consecutive calendar days in the consumer's zone", () => {
  const sevenOnJune1 = Array.from({ length: 7 }, (_, i) => call(`2026-06-01T${String(9 + i).padStart(2, '0')}:00:00-04:00`));
  const recheckNY = (log: readonly ContactLogEntry[]) => (at: number) =>
    checkContact(US, { at, channel: 'phone', party: 'debtor', timeZone: NY }, log, NO_FLAGS);

  it('the 7th attempt is allowed, the 8th refused until the day the first one leaves the period', () => {
    expect(check(US, '2026-06-01T15:30:00-04:00', NY, sevenOnJune1.slice(0, 6))).toEqual({ allowed: true });
    expectRefused(
      check(US, '2026-06-03T10:00:00-04:00', NY, sevenOnJune1),
      'call-attempts-7-in-7',
      '2026-06-08T12:00:00.000Z',
      recheckNY(sevenOnJune1),
    );
    // Sunday June 7 is still the 7th day of the period that started Monday June 1.
    expect(check(US, '2026-06-07T20:59:00-04:00', NY, sevenOnJune1)).toMatchObject({ allowed: false, rule: 'call-attempts-7-in-7' });
    expect(check(US, '2026-06-08T08:00:00-04:00', NY, sevenOnJune1)).toEqual({ allowed: true });
  });

  it('counts windows after the proposed date too (a call already logged later in the week)', () => {
    // Six calls Tue–Thu plus one on Saturday: a call on Monday June 1 makes 8 in June 1–7.
    const log = [
      call('2026-06-02T10:00:00-04:00'),
      call('2026-06-02T11:00:00-04:00'),
      call('2026-06-03T10:00:00-04:00'),
      call('2026-06-03T11:00:00-04:00'),
      call('2026-06-04T10:00:00-04:00'),
      call('2026-06-04T11:00:00-04:00'),
      call('2026-06-06T10:00:00-04:00'),
    ];
    expect(check(US, '2026-06-01T10:00:00-04:00', NY, log)).toMatchObject({ allowed: false, rule: 'call-attempts-7-in-7' });
  });

  it('a conversation then a call 6 days later is refused; 7 days later is allowed (the conversation date is day 1)', () => {
    // 20:30 EDT on Monday May 4 is already Tuesday May 5 in UTC: days are counted in New York.
    const log = [conversation('2026-05-04T20:30:00-04:00')];
    expectRefused(check(US, '2026-05-10T20:30:00-04:00', NY, log), 'after-conversation-7-days', '2026-05-11T12:00:00.000Z', recheckNY(log));
    // Monday May 11, 08:00: only 6 days 11.5 hours after the conversation, but the 8th calendar day.
    expect(check(US, '2026-05-11T08:00:00-04:00', NY, log)).toEqual({ allowed: true });
    expect(check(US, '2026-05-11T20:30:00-04:00', NY, log)).toEqual({ allowed: true });
  });

  it('a conversation is itself an attempt', () => {
    // Without the after-conversation rule, only the 7-in-7 count can refuse.
    const attemptsOnly: RuleSet = { ...US, id: 'attempts-only', daysAfterConversation: undefined };
    const sixCalls = sevenOnJune1.slice(0, 6);
    expect(check(attemptsOnly, '2026-06-05T10:00:00-04:00', NY, sixCalls)).toEqual({ allowed: true });
    const log = [...sixCalls, conversation('2026-06-01T16:00:00-04:00')];
    expectRefused(check(attemptsOnly, '2026-06-05T10:00:00-04:00', NY, log), 'call-attempts-7-in-7', '2026-06-08T12:00:00.000Z', (at) =>
      checkContact(attemptsOnly, { at, channel: 'phone', party: 'debtor', timeZone: NY }, log, NO_FLAGS),
    );
  });

  it('wrong-number calls (comment 14(b)(2)(i)-3), refused rows and other channels do not count', () => {
    const misdirected = sevenOnJune1.map((e) => ({ ...e, outcome: 'wrong-number' as const }));
    expect(check(US, '2026-06-02T10:00:00-04:00', NY, misdirected)).toEqual({ allowed: true });
    const refusedRows = sevenOnJune1.map((e) => ({ ...e, status: 'refused' as const }));
    expect(check(US, '2026-06-02T10:00:00-04:00', NY, refusedRows)).toEqual({ allowed: true });
    const smsAndEmail = sevenOnJune1.map((e, i) => ({ ...e, channel: (i % 2 ? 'sms' : 'email') as ContactChannel }));
    expect(check(US, '2026-06-02T10:00:00-04:00', NY, smsAndEmail)).toEqual({ allowed: true });
    // The frequency rules limit calls: an email after seven calls and a conversation is fine.
    expect(check(US, '2026-06-02T10:00:00-04:00', NY, [...sevenOnJune1, conversation('2026-06-01T17:00:00-04:00')], {}, 'email')).toEqual({
      allowed: true,
    });
  });
});

describe("inconvenient hours, in the debtor's time zone", () => {
  const recheck = (rules: RuleSet, tz: string) => (at: number) =>
    checkContact(rules, { at, channel: 'phone', party: 'debtor', timeZone: tz }, [], NO_FLAGS);

  it('US: 07:59 refused until 08:00; 08:00 allowed', () => {
    expectRefused(check(US, '2026-06-10T07:59:00-04:00', NY), 'contact-window', '2026-06-10T12:00:00.000Z', recheck(US, NY));
    expect(check(US, '2026-06-10T08:00:00-04:00', NY)).toEqual({ allowed: true });
  });

  it('US: 20:59 allowed; 21:00 refused until 08:00 the next local day', () => {
    expect(check(US, '2026-06-10T20:59:00-04:00', NY)).toEqual({ allowed: true });
    expectRefused(check(US, '2026-06-10T21:00:00-04:00', NY), 'contact-window', '2026-06-11T12:00:00.000Z', recheck(US, NY));
    expectRefused(check(US, '2026-06-10T23:59:00-04:00', NY), 'contact-window', '2026-06-11T12:00:00.000Z', recheck(US, NY));
  });

  it('CN: 21:30 allowed, 22:00 refused until 08:00 the next day (Asia/Shanghai)', () => {
    expect(check(CN, '2026-06-10T21:30:00+08:00', SH)).toEqual({ allowed: true });
    expect(check(CN, '2026-06-10T21:59:00+08:00', SH)).toEqual({ allowed: true });
    expectRefused(check(CN, '2026-06-10T22:00:00+08:00', SH), 'contact-window', '2026-06-11T00:00:00.000Z', recheck(CN, SH));
    expectRefused(check(CN, '2026-06-11T07:59:00+08:00', SH), 'contact-window', '2026-06-11T00:00:00.000Z', recheck(CN, SH));
  });

  it("the same instant is judged in the debtor's zone, for every channel", () => {
    // 13:30Z = 09:30 in New York, 06:30 in Los Angeles.
    expect(check(US, '2026-06-10T13:30:00Z', NY)).toEqual({ allowed: true });
    for (const channel of CHANNELS) {
      const v = check(US, '2026-06-10T13:30:00Z', LA, [], {}, channel);
      expect(v).toEqual({ allowed: false, rule: 'contact-window', reason: expect.any(String), nextAllowedAt: t('2026-06-10T15:00:00Z') });
    }
  });

  it('across the spring-forward change (America/New_York, 2026-03-08): next is 08:00 EDT = 12:00Z', () => {
    // Saturday 21:30 EST = 02:30Z Sunday; the night loses an hour.
    expectRefused(check(US, '2026-03-07T21:30:00-05:00', NY), 'contact-window', '2026-03-08T12:00:00.000Z', recheck(US, NY));
    expectRefused(check(US, '2026-03-08T07:30:00-04:00', NY), 'contact-window', '2026-03-08T12:00:00.000Z', recheck(US, NY));
    // 12:59Z on the Saturday was 07:59 EST; a day later 12:00Z is already 08:00 EDT.
    expectRefused(check(US, '2026-03-07T12:59:00Z', NY), 'contact-window', '2026-03-07T13:00:00.000Z', recheck(US, NY));
  });

  it('across the fall-back change (America/New_York, 2026-11-01): next is 08:00 EST = 13:00Z', () => {
    // Saturday 21:30 EDT = 01:30Z Sunday; the night gains an hour.
    expectRefused(check(US, '2026-10-31T21:30:00-04:00', NY), 'contact-window', '2026-11-01T13:00:00.000Z', recheck(US, NY));
    // 12:00Z on Sunday is 07:00 EST (it was 08:00 EDT the day before): refused.
    expectRefused(check(US, '2026-11-01T12:00:00Z', NY), 'contact-window', '2026-11-01T13:00:00.000Z', recheck(US, NY));
    expect(check(US, '2026-10-31T12:00:00Z', NY)).toEqual({ allowed: true });
  });
});

describe('CN collection conduct', () => {
  const answered = [
    conversation('2026-06-10T09:00:00+08:00', { outcome: 'reached' }),
    conversation('2026-06-10T11:00:00+08:00', { outcome: 'promise' }),
    conversation('2026-06-10T15:00:00+08:00', { outcome: 'refused' }),
  ];
  const recheck = (log: readonly ContactLogEntry[]) => (at: number) =>
    checkContact(CN, { at, channel: 'phone', party: 'debtor', timeZone: SH }, log, NO_FLAGS);

  it('3 answered calls today → the 4th refused until 08:00 the next local day', () => {
    expect(check(CN, '2026-06-10T14:00:00+08:00', SH, answered.slice(0, 2))).toEqual({ allowed: true });
    expectRefused(
      check(CN, '2026-06-10T16:00:00+08:00', SH, answered),
      'answered-calls-per-day',
      '2026-06-11T00:00:00.000Z',
      recheck(answered),
    );
  });

  it("the local day is Shanghai's, not UTC's", () => {
    // The debtor called in early on June 10 local time, which is still June 9 in UTC.
    const early = ['01:00', '02:00', '07:30'].map((hm) => conversation(`2026-06-10T${hm}:00+08:00`, { status: 'completed' }));
    expectRefused(check(CN, '2026-06-10T10:00:00+08:00', SH, early), 'answered-calls-per-day', '2026-06-11T00:00:00.000Z', recheck(early));
    // Three answered calls on June 9 (the last at 21:30 local) do not count on June 10.
    const yesterday = ['09:00', '12:00', '21:30'].map((hm) => conversation(`2026-06-09T${hm}:00+08:00`));
    expect(check(CN, '2026-06-10T08:00:00+08:00', SH, yesterday)).toEqual({ allowed: true });
  });

  it('unanswered calls and refused rows do not count', () => {
    const log = [
      ...answered.slice(0, 2),
      ...['08:10', '08:20', '10:00', '12:00', '13:00', '14:00', '14:30', '15:30'].map((hm) => call(`2026-06-10T${hm}:00+08:00`)),
      conversation('2026-06-10T15:45:00+08:00', { status: 'refused' }),
    ];
    expect(check(CN, '2026-06-10T16:00:00+08:00', SH, log)).toEqual({ allowed: true });
  });

  it('the answered-calls limit is about calls: a visit or SMS after 3 answered calls is allowed', () => {
    expect(check(CN, '2026-06-10T16:00:00+08:00', SH, answered, {}, 'sms')).toEqual({ allowed: true });
    expect(check(CN, '2026-06-10T16:00:00+08:00', SH, answered, {}, 'visit')).toEqual({ allowed: true });
  });

  it('third parties are refused unless the debtor is unreachable (no nextAllowedAt); guarantors are not third parties', () => {
    for (const rules of [CN, US]) {
      const tz = rules === CN ? SH : NY;
      const at = rules === CN ? '2026-06-10T10:00:00+08:00' : '2026-06-10T10:00:00-04:00';
      for (const channel of CHANNELS) {
        const v = check(rules, at, tz, [], {}, channel, 'third-party');
        expect(v).toEqual({ allowed: false, rule: 'third-party-only-when-unreachable', reason: expect.any(String) });
        expect(v).not.toHaveProperty('nextAllowedAt');
        expect(check(rules, at, tz, [], { debtorUnreachable: true }, channel, 'third-party')).toEqual({ allowed: true });
        expect(check(rules, at, tz, [], {}, channel, 'guarantor')).toEqual({ allowed: true });
      }
    }
  });
});

describe('do-not-contact, cease communication and dispute', () => {
  const cases = [
    { flag: 'doNotContact', rule: 'do-not-contact' },
    { flag: 'ceaseCommunication', rule: 'cease-communication' },
    { flag: 'inDispute', rule: 'dispute' },
  ] as const;

  for (const { flag, rule } of cases) {
    it(`${flag} refuses every channel and party in both jurisdictions with rule '${rule}' and no nextAllowedAt`, () => {
      for (const [rules, tz, at] of [
        [US, NY, '2026-06-10T10:00:00-04:00'],
        [CN, SH, '2026-06-10T10:00:00+08:00'],
      ] as const) {
        for (const channel of CHANNELS) {
          for (const party of ['debtor', 'guarantor', 'third-party'] as const) {
            const v = check(rules, at, tz, [], { [flag]: true, debtorUnreachable: true }, channel, party);
            expect(v).toEqual({ allowed: false, rule, reason: expect.any(String) });
            expect(v).not.toHaveProperty('nextAllowedAt');
          }
        }
      }
    });
  }

  it('a refusal time cannot lift outranks any time-based one, and do-not-contact outranks the others', () => {
    const v = check(US, '2026-06-10T23:00:00-04:00', NY, [conversation('2026-06-10T10:00:00-04:00')], { inDispute: true });
    expect(v).toEqual({ allowed: false, rule: 'dispute', reason: expect.any(String) });
    const all = check(US, '2026-06-10T10:00:00-04:00', NY, [], { doNotContact: true, ceaseCommunication: true, inDispute: true });
    expect(all).toMatchObject({ allowed: false, rule: 'do-not-contact' });
    const thirdPartyAtNight = check(CN, '2026-06-10T23:00:00+08:00', SH, [], {}, 'phone', 'third-party');
    expect(thirdPartyAtNight).toEqual({ allowed: false, rule: 'third-party-only-when-unreachable', reason: expect.any(String) });
  });
});

describe('when several rules refuse, the verdict names the one whose nextAllowedAt is latest', () => {
  const sevenOnJune1 = Array.from({ length: 7 }, (_, i) => call(`2026-06-01T${String(9 + i).padStart(2, '0')}:00:00-04:00`));
  const recheck = (log: readonly ContactLogEntry[]) => (at: number) =>
    checkContact(US, { at, channel: 'phone', party: 'debtor', timeZone: NY }, log, NO_FLAGS);

  it('contact window (next morning) vs 7-in-7 (five days later): 7-in-7, waiting once to 08:00 on June 8', () => {
    expectRefused(
      check(US, '2026-06-03T21:30:00-04:00', NY, sevenOnJune1),
      'call-attempts-7-in-7',
      '2026-06-08T12:00:00.000Z',
      recheck(sevenOnJune1),
    );
  });

  it('7-in-7 (frees at midnight) vs contact window (08:00): contact window, 08:00 on June 8', () => {
    expectRefused(
      check(US, '2026-06-07T22:00:00-04:00', NY, sevenOnJune1),
      'contact-window',
      '2026-06-08T12:00:00.000Z',
      recheck(sevenOnJune1),
    );
  });

  it('7-in-7 (June 8) vs after-conversation (June 11): after-conversation', () => {
    const log = [...sevenOnJune1.slice(0, 6), conversation('2026-06-04T10:00:00-04:00')];
    // June 1–7 holds 7 calls (the conversation included): 7-in-7 frees June 8; the conversation blocks June 4–10.
    expectRefused(check(US, '2026-06-05T10:00:00-04:00', NY, log), 'after-conversation-7-days', '2026-06-11T12:00:00.000Z', recheck(log));
  });

  it('CN: 3 answered calls and 23:00 — both free the next day; the window opens later (08:00), so it is named', () => {
    const answered = ['09:00', '11:00', '15:00'].map((hm) => conversation(`2026-06-10T${hm}:00+08:00`));
    expectRefused(check(CN, '2026-06-10T23:00:00+08:00', SH, answered), 'contact-window', '2026-06-11T00:00:00.000Z', (at) =>
      checkContact(CN, { at, channel: 'phone', party: 'debtor', timeZone: SH }, answered, NO_FLAGS),
    );
    expectRefused(check(CN, '2026-06-10T20:00:00+08:00', SH, answered), 'answered-calls-per-day', '2026-06-11T00:00:00.000Z', (at) =>
      checkContact(CN, { at, channel: 'phone', party: 'debtor', timeZone: SH }, answered, NO_FLAGS),
    );
  });
});

describe('rule sets are data', () => {
  it('carries the values of each jurisdiction', () => {
    expect(US).toEqual({
      id: 'US-Regulation-F',
      jurisdiction: 'US',
      contactWindow: { from: '08:00', to: '21:00' },
      callAttempts: { max: 7, days: 7 },
      daysAfterConversation: 7,
      thirdPartyOnlyWhenDebtorUnreachable: true,
    });
    expect(CN).toEqual({
      id: 'CN-collection-conduct',
      jurisdiction: 'CN',
      contactWindow: { from: '08:00', to: '22:00' },
      maxAnsweredCallsPerDay: 3,
      thirdPartyOnlyWhenDebtorUnreachable: true,
    });
  });

  it('a custom rule set is honoured (a 3-in-5 limit)', () => {
    const strict: RuleSet = { ...US, id: 'strict', callAttempts: { max: 3, days: 5 } };
    const log = [call('2026-06-01T10:00:00-04:00'), call('2026-06-02T10:00:00-04:00'), call('2026-06-03T10:00:00-04:00')];
    expectRefused(check(strict, '2026-06-04T10:00:00-04:00', NY, log), 'call-attempts-7-in-7', '2026-06-06T12:00:00.000Z', (at) =>
      checkContact(strict, { at, channel: 'phone', party: 'debtor', timeZone: NY }, log, NO_FLAGS),
    );
  });

  it('rejects an unknown time zone', () => {
    expect(() => check(US, '2026-06-10T10:00:00-04:00', 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});
