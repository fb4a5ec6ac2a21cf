import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startStack, type Stack } from './helpers';
import { startLedgerStories } from './ledger-stories';

/**
 * Contact preferences (issue 15, part 4) on the real stack: cease-communication set through the API in
 * the middle of a ladder (a case on the time-skipping server, with the real activities and ledger) →
 * the next call is refused by the compliance guard with that rule; audited; bad input named.
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
});
