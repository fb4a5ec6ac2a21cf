import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDate } from '../shared/calendar';
import { caseWorkflowId } from '../shared/ids';
import { getJson, payByWebhook, postJson, startStack, uniqueAccountId, type Stack } from './helpers';
import { recording, saveHistories } from './record-histories';

/**
 * Credit status for the systems that lend (issue 15, part 3) on the real stack: a debtor with an open
 * case (held), one who paid after a long delinquency (blacklisted, hold lifted), the same after a
 * supervisor de-lists them (audited), by account and by identity number.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const status = (q: string, key = s.keys.lending) => getJson(`${s.apiUrl}/v1/credit-status?${q}`, key);
async function open(accountId: string, idNumber: string, daysAgo: number) {
  const r = await postJson(
    `${s.apiUrl}/v1/missed-payments`,
    {
      accountId,
      dueDate: addDays(localDate(Date.now(), 'Asia/Shanghai'), -daysAgo),
      debtor: { name: '周八', idNumber, timeZone: 'Asia/Shanghai', phones: ['+86 139 0000 0088'] },
      amountDue: { amountMinor: 50_000, currency: 'CNY' },
    },
    s.keys.admin,
  );
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  await expect.poll(async () => (await s.sql`select 1 from credit_holds where account_id = ${accountId}`).length).toBe(1);
}

describe('credit status', () => {
  it('an open case: held, may not lend; a bad question is a 400; a collector may not ask', async () => {
    const accountId = uniqueAccountId('CS-OPEN');
    await open(accountId, `1101${accountId.slice(-8)}`, 3);
    const r = await status(`accountId=${accountId}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accountId, accounts: [accountId], mayLend: false, blacklisted: false, blacklist: [] });
    expect(r.body.holds).toHaveLength(1);
    expect(r.body.holds[0]).toMatchObject({ accountId });
    expect((await status('')).status).toBe(400);
    expect((await status(`accountId=${accountId}&idNumber=123456`)).status).toBe(400);
    expect((await status(`accountId=${accountId}`, s.keys.collector)).status).toBe(403);
    // An account no case was ever opened for: 404, so a typo never reads as "may lend".
    expect((await status('accountId=NO-SUCH-ACCOUNT-1')).status).toBe(404);
  });

  it('paid after a long delinquency: blacklisted with the reason, the hold lifted; de-listed by a supervisor: may lend', async () => {
    const accountId = uniqueAccountId('CS-LATE');
    const idNumber = `2201${accountId.slice(-8)}`;
    await open(accountId, idNumber, 40);
    const owed = (await getJson(`${s.apiUrl}/v1/cases/${accountId}`, s.keys.supervisor)).body.outstandingMinor as number;
    expect((await payByWebhook(s.apiUrl, accountId, `${accountId}-P`, owed)).body).toEqual({ applied: true });
    await expect.poll(async () => (await s.sql`select 1 from blacklist where account_id = ${accountId}`).length).toBe(1);
    if (recording) {
      // The payment closes a case whose catch-up letter is in flight: the case completes in a task of its own.
      const handle = s.client.workflow.getHandle(caseWorkflowId(accountId));
      await handle.result();
      const { runId } = await handle.describe();
      await saveHistories(
        s.client,
        [
          {
            name: 'a payment closes a case while its letter is in flight',
            workflowId: caseWorkflowId(accountId),
            firstExecutionRunId: runId,
          },
        ],
        '',
        s.codec,
      );
    }

    const listed = await status(`idNumber=${idNumber}`);
    expect(listed.body).toMatchObject({ idNumber, accounts: [accountId], mayLend: false, blacklisted: true, holds: [] });
    expect(listed.body.blacklist).toEqual([
      { accountId, caseKey: expect.any(String), listedAt: expect.any(String), reason: 'paid after 40 days overdue', delisted: null },
    ]);

    // The same debtor's next account: the case is told from its first line.
    const next = uniqueAccountId('CS-NEXT');
    await open(next, idNumber, 2);
    const timeline = (await getJson(`${s.apiUrl}/v1/cases/${next}`, s.keys.supervisor)).body.timeline as Array<{
      what: string;
      outcome: string;
    }>;
    expect(timeline.find((t) => t.what === 'blacklisted before')?.outcome).toMatch(
      new RegExp(`^account ${accountId} on the blacklist since \\d{4}-\\d{2}-\\d{2}: paid after 40 days overdue$`),
    );

    // Asked by the new account: the person's listing shows (their identity number's accounts are asked too).
    const byNext = await status(`accountId=${next}`);
    expect(byNext.body).toMatchObject({ accountId: next, accounts: [next, accountId], mayLend: false, blacklisted: true });

    const delist = (key: string) => postJson(`${s.apiUrl}/v1/credit-status/delist`, { accountId, reason: 'paid in full; reviewed' }, key);
    expect((await delist(s.keys.lending)).status).toBe(403);
    expect((await delist(s.keys.supervisor)).body).toEqual({ delisted: 1 });
    expect((await delist(s.keys.supervisor)).status).toBe(404);
    const after = await status(`accountId=${accountId}`);
    // De-listed; still no lending while the same person's next account is overdue (its hold).
    expect(after.body).toMatchObject({ mayLend: false, blacklisted: false, holds: [{ accountId: next }] });
    expect(after.body.blacklist[0].delisted).toEqual({ at: expect.any(String), by: 'supervisor-1', reason: 'paid in full; reviewed' });
    expect(
      await s.sql`select actor, detail->>'reason' as reason from audit_log where account_id = ${accountId} and action = 'delisted'`,
    ).toEqual([{ actor: 'supervisor-1', reason: 'paid in full; reviewed' }]);
  });

  it('written off after a long delinquency: blacklisted too, with that reason; the hold stays', async () => {
    const accountId = uniqueAccountId('CS-WO');
    await open(accountId, `3301${accountId.slice(-8)}`, 35);
    const off = await postJson(`${s.apiUrl}/v1/cases/${accountId}/write-off`, { reason: 'debtor gone abroad' }, s.keys.supervisor);
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    await expect.poll(async () => (await s.sql`select 1 from blacklist where account_id = ${accountId}`).length).toBe(1);
    const r = await status(`accountId=${accountId}`);
    expect(r.body).toMatchObject({ mayLend: false, blacklisted: true });
    expect(r.body.blacklist[0].reason).toBe('written-off after 35 days overdue');
    expect(r.body.holds).toHaveLength(1);
  });
});
