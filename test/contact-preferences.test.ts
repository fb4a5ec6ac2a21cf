import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkContact, RULE_SETS, type ContactFlags } from '../activities/compliance/rules';
import { getJson, postJson, startStack, type Stack } from './helpers';
import { startLedgerStories } from './ledger-stories';

/**
 * Contact preferences (issue 15, part 4) on the real stack: cease-communication set through the API in
 * the middle of a ladder (a case on the time-skipping server, with the real activities and ledger) →
 * the next call is refused by the compliance guard with that rule; audited; bad input named. Then the
 * rest: preferred channel and language, consent to contact third parties, and a guarantor's own
 * flags, each set, read back and audited, and obeyed by the case's next contact or letter.
 */
let s: Stack;
let stories: Awaited<ReturnType<typeof startLedgerStories>> | undefined;
beforeAll(async () => {
  s = await startStack();
  stories = await startLedgerStories('contact-preferences', s.sql);
});
afterAll(async () => {
  await stories?.stop();
  await s?.stop();
});

describe('contact preferences', () => {
  it('cease-communication set mid-ladder: the next call is refused with that rule', async () => {
    const c = await stories!.kit.openCase({ prefix: 'CEASE' });
    // Day 1, 10:00: the first early call went out.
    await c.at(1, '10:00');
    const attempts = () =>
      s.sql<{ status: string; refused_rule: string | null }[]>`
        select status, refused_rule from contact_attempts where account_id = ${c.accountId} and party = 'debtor' and channel = 'phone'
        order by attempted_at, id`;
    expect((await attempts()).map((a) => a.status)).not.toContain('refused');
    const calls = (await attempts()).length;
    expect(calls).toBeGreaterThan(0);

    const url = `${s.apiUrl}/v1/accounts/${c.accountId}/contact-preferences`;
    expect((await postJson(url, { ceaseCommunication: true }, s.keys.collector)).status).toBe(400); // no reason
    expect((await postJson(url, { reason: 'nothing set' }, s.keys.collector)).status).toBe(400);
    expect((await postJson(url, { ceaseCommunication: true, reason: 'asked in writing' }, s.keys.legal)).status).toBe(403);
    const set = await postJson(url, { ceaseCommunication: true, reason: 'letter of 2026-11-29 asking to stop' }, s.keys.collector);
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ accountId: c.accountId, doNotContact: false, ceaseCommunication: true });
    expect((await getJson(url, s.keys.supervisor)).body).toMatchObject({ ceaseCommunication: true });
    expect(
      await s.sql`select actor, detail->'after'->>'ceaseCommunication' as cease, detail->>'reason' as reason from audit_log
                  where account_id = ${c.accountId} and action = 'contact-preferences'`,
    ).toEqual([{ actor: 'collector-1', cease: 'true', reason: 'letter of 2026-11-29 asking to stop' }]);
    // Lifting it is a supervisor's decision, not a collector's.
    const lift = await postJson(url, { ceaseCommunication: false, reason: 'debtor called back' }, s.keys.collector);
    expect(lift.status).toBe(403);
    expect(lift.body.lifted).toEqual(['ceaseCommunication']);

    // Day 2's call: refused by the guard, with the rule.
    await c.at(2, '10:00');
    const after = (await attempts()).slice(calls);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((a) => a.status === 'refused' && a.refused_rule === 'cease-communication')).toBe(true);
    expect(
      (
        await postJson(
          `${s.apiUrl}/v1/accounts/NO-SUCH-ACCOUNT/contact-preferences`,
          { doNotContact: true, reason: 'x y z' },
          s.keys.supervisor,
        )
      ).status,
    ).toBe(404);
  });

  it("preferred channel and language, third-party consent, a guarantor's own flags: set, read back, audited, obeyed", async () => {
    const c = await stories!.kit.openCase({ guarantor: true, prefix: 'PREFS' });
    await c.at(0, '08:00'); // the case is open: the ledger has the debtor and guarantor G1; the day-0 visit is at 09:00
    const url = `${s.apiUrl}/v1/accounts/${c.accountId}/contact-preferences`;
    const gUrl = `${s.apiUrl}/v1/accounts/${c.accountId}/guarantors/G1/contact-preferences`;
    const defaults = { doNotContact: false, ceaseCommunication: false, preferredChannel: null, preferredLanguage: null };
    expect((await getJson(url, s.keys['field-officer'])).body).toEqual({
      accountId: c.accountId,
      ...defaults,
      thirdPartyConsent: false,
      updatedAt: expect.any(String),
    });
    expect((await getJson(gUrl, s.keys.legal)).body).toEqual({
      accountId: c.accountId,
      guarantorId: 'G1',
      name: '李保证',
      ...defaults,
      updatedAt: expect.any(String),
    });

    // Bad input: 400 with the zod issues, each naming its field.
    const issues = async (u: string, body: unknown) => {
      const r = await postJson(u, body, s.keys.collector);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      return (r.body as { issues: Array<{ path: string; message: string }> }).issues;
    };
    const reason = 'asked on the phone';
    expect(await issues(url, { preferredChannel: 'fax', reason })).toEqual([
      expect.objectContaining({ path: 'body.preferredChannel', message: expect.stringContaining('call, sms, email, letter, visit') }),
    ]);
    expect(await issues(url, { preferredLanguage: 'fr', reason })).toEqual([
      expect.objectContaining({ path: 'body.preferredLanguage', message: expect.stringContaining('zh-CN, en') }),
    ]);
    expect(await issues(url, { reason: 'nothing set' })).toEqual([expect.objectContaining({ path: 'body' })]);
    expect(await issues(url, { preferredChannel: 'sms' })).toEqual([expect.objectContaining({ path: 'body.reason' })]);
    expect(await issues(url, { thirdPartyConsent: 'yes', reason })).toEqual([expect.objectContaining({ path: 'body.thirdPartyConsent' })]);
    expect(await issues(gUrl, { preferredLanguage: 'de', reason })).toEqual([expect.objectContaining({ path: 'body.preferredLanguage' })]);
    // Consent to contact third parties is the debtor's, not a guarantor's.
    expect((await issues(gUrl, { thirdPartyConsent: true, reason })).map((i) => i.path)).toContain('body');
    // Roles that may read but not set, and unknown accounts and guarantors.
    for (const role of ['legal', 'field-officer', 'finance'] as const) {
      expect((await postJson(url, { preferredChannel: 'sms', reason }, s.keys[role])).status, role).toBe(403);
      expect((await postJson(gUrl, { doNotContact: true, reason }, s.keys[role])).status, role).toBe(403);
    }
    const missing = [
      `${s.apiUrl}/v1/accounts/${c.accountId}/guarantors/G9/contact-preferences`,
      `${s.apiUrl}/v1/accounts/NO-SUCH-ACCOUNT/guarantors/G1/contact-preferences`,
      `${s.apiUrl}/v1/accounts/NO-SUCH-ACCOUNT/contact-preferences`,
    ];
    for (const u of missing) {
      expect((await postJson(u, { doNotContact: true, reason }, s.keys.supervisor)).status, u).toBe(404);
      expect((await getJson(u, s.keys.supervisor)).status, u).toBe(404);
    }
    const audited = () =>
      s.sql<{ actor: string; detail: Record<string, unknown> }[]>`
        select actor, detail from audit_log where account_id = ${c.accountId} and action = 'contact-preferences' order by id`;
    expect(await audited()).toEqual([]);

    // The debtor's preferences, then G1's: read back as set, each audited with before, after and reason.
    const debtorSet = {
      accountId: c.accountId,
      doNotContact: false,
      ceaseCommunication: false,
      preferredChannel: 'sms',
      preferredLanguage: 'en',
      thirdPartyConsent: true,
    };
    const set = await postJson(
      url,
      { preferredChannel: 'sms', preferredLanguage: 'en', thirdPartyConsent: true, reason: 'the debtor asked for texts in English' },
      s.keys.collector,
    );
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual({ ...debtorSet, updatedAt: expect.any(String) });
    expect((await getJson(url, s.keys.supervisor)).body).toEqual(set.body);
    const gSet = await postJson(
      gUrl,
      { ceaseCommunication: true, preferredChannel: 'letter', reason: "the guarantor's letter asking us to stop" },
      s.keys.supervisor,
    );
    expect(gSet.status, JSON.stringify(gSet.body)).toBe(200);
    const guarantorSet = { ...defaults, ceaseCommunication: true, preferredChannel: 'letter' };
    expect(gSet.body).toEqual({
      accountId: c.accountId,
      guarantorId: 'G1',
      name: '李保证',
      ...guarantorSet,
      updatedAt: expect.any(String),
    });
    expect((await getJson(gUrl, s.keys.collector)).body).toEqual(gSet.body);
    expect(await audited()).toEqual([
      {
        actor: 'collector-1',
        detail: {
          party: 'debtor',
          before: { ...defaults, thirdPartyConsent: false },
          after: { ...defaults, preferredChannel: 'sms', preferredLanguage: 'en', thirdPartyConsent: true },
          reason: 'the debtor asked for texts in English',
        },
      },
      {
        actor: 'supervisor-1',
        detail: {
          party: 'guarantor',
          guarantorId: 'G1',
          before: defaults,
          after: guarantorSet,
          reason: "the guarantor's letter asking us to stop",
        },
      },
    ]);

    // Day 0's visit and day 1's call go out (a preferred channel is not a prohibition); their log rows say what was preferred.
    await c.at(1, '12:00');
    const placed = await s.sql<{ channel: string; note: string }[]>`
      select channel, note from contact_attempts where account_id = ${c.accountId} and party = 'debtor' order by attempted_at, id`;
    expect(placed.map((p) => p.channel)).toEqual(['visit', 'phone']);
    for (const p of placed) expect(p.note).toMatch(/ \(the debtor prefers sms\)$/);
    expect(
      await s.sql`select detail->>'preferredChannel' as preferred from audit_log
                  where account_id = ${c.accountId} and action in ('visit-planned', 'call-task-placed') order by id`,
    ).toEqual([{ preferred: 'sms' }, { preferred: 'sms' }]);

    // Day 4: the guarantor's call is refused by the guard with the guarantor's own cease-communication (the debtor's calls go on).
    await c.at(4, '12:00');
    expect(
      await s.sql`select status, refused_rule, note from contact_attempts where account_id = ${c.accountId} and party = 'guarantor'`,
    ).toEqual([
      { status: 'refused', refused_rule: 'cease-communication', note: expect.stringMatching(/^guarantor G1: the guarantor asked/) },
    ]);
    expect(await s.sql`select count(*)::int as n from call_tasks where account_id = ${c.accountId} and party = 'guarantor'`).toEqual([
      { n: 0 },
    ]);
    expect(await s.sql`select count(*)::int as n from call_tasks where account_id = ${c.accountId} and party = 'debtor'`).toEqual([
      { n: 3 },
    ]); // days 1, 2 and 3
    await expect
      .poll(async () =>
        (
          await s.sql<{ outcome: string }[]>`
            select t.outcome from case_timeline t join cases c on c.case_key = t.case_key where c.account_id = ${c.accountId}`
        ).map((t) => t.outcome),
      )
      .toContainEqual(expect.stringMatching(/^refused by cease-communication: the guarantor asked/));
    expect(
      await s.sql`select detail->>'partyRef' as ref, detail->>'rule' as rule from audit_log
                  where account_id = ${c.accountId} and action = 'contact-refused'`,
    ).toEqual([{ ref: 'G1', rule: 'cease-communication' }]);

    // Day 7: the overdue notice is in the debtor's preferred language (English; the playbook's is zh-CN).
    await c.at(7, '12:00');
    const notices = await s.sql<{ kind: string; language: string; reference: string }[]>`
      select kind, language, reference from notices where account_id = ${c.accountId} order by issued_at`;
    expect(notices.map((n) => [n.kind, n.language])).toEqual([['overdue-notice', 'en']]);
    const [letter] = await s.sql<{ payload: { body: string; document: { language: string } } }[]>`
      select payload from channel_outbox where account_id = ${c.accountId} and channel = 'letter'`;
    expect(letter!.payload.document.language).toBe('en');
    expect(letter!.payload.body).toContain('Dear 王建国,');
    expect(letter!.payload.body).not.toContain('催收函');
    expect(
      await s.sql`select note from contact_attempts where account_id = ${c.accountId} and channel = 'letter' and party = 'debtor'`,
    ).toEqual([{ note: `${notices[0]!.reference} (the debtor prefers sms)` }]);

    // Day 8: the guarantor demand is refused as well (G1 asked to cease): no letter to G1, the refusal audited.
    await c.at(8, '12:00');
    expect(await s.sql`select kind from notices where account_id = ${c.accountId} and kind = 'guarantor-demand'`).toEqual([]);
    expect(
      await s.sql`select detail->>'kind' as kind, detail->>'rule' as rule, detail->>'guarantorRef' as ref from audit_log
                  where account_id = ${c.accountId} and action = 'letter-refused'`,
    ).toEqual([{ kind: 'guarantor-demand', rule: 'cease-communication', ref: 'G1' }]);

    // A preference is cleared with null; what is not given stays.
    const cleared = await postJson(url, { preferredChannel: null, reason: 'the debtor takes calls again' }, s.keys.supervisor);
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ ...debtorSet, preferredChannel: null });
    expect((await audited()).at(-1)!.detail).toMatchObject({
      before: { preferredChannel: 'sms', preferredLanguage: 'en', thirdPartyConsent: true },
      after: { preferredChannel: null, preferredLanguage: 'en', thirdPartyConsent: true },
    });
    await c.handle.terminate('test done');
  });

  it('third-party consent: a third party hears of the debt only with it; is asked where the debtor is with it or when unreachable', () => {
    const rules = RULE_SETS.CN;
    const at = Date.parse('2026-06-10T10:00:00+08:00');
    const flags: ContactFlags = { doNotContact: false, ceaseCommunication: false, inDispute: false, debtorUnreachable: false };
    const verdict = (purpose: 'location' | 'debt' | undefined, more: Partial<ContactFlags>) =>
      checkContact(rules, { at, channel: 'phone', party: 'third-party', timeZone: 'Asia/Shanghai', ...(purpose ? { purpose } : {}) }, [], {
        ...flags,
        ...more,
      });
    expect(verdict('debt', {})).toMatchObject({ allowed: false, rule: 'third-party-without-consent' });
    expect(verdict('debt', { debtorUnreachable: true })).toMatchObject({ allowed: false, rule: 'third-party-without-consent' });
    expect(verdict('debt', { thirdPartyConsent: false })).toMatchObject({ allowed: false, rule: 'third-party-without-consent' });
    expect(verdict('debt', { thirdPartyConsent: true })).toEqual({ allowed: true });
    expect(verdict(undefined, {})).toMatchObject({ allowed: false, rule: 'third-party-only-when-unreachable' });
    expect(verdict('location', { debtorUnreachable: true })).toEqual({ allowed: true });
    expect(verdict('location', { thirdPartyConsent: true })).toEqual({ allowed: true });
    // Consent lifts neither the debtor's flags nor a dispute.
    expect(verdict('debt', { thirdPartyConsent: true, ceaseCommunication: true })).toMatchObject({ rule: 'cease-communication' });
    expect(verdict('debt', { thirdPartyConsent: true, inDispute: true })).toMatchObject({ rule: 'dispute' });
  });
});
