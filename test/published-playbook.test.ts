import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDate } from '../shared/calendar';
import { caseWorkflowId } from '../shared/ids';
import { Experiment, Playbook } from '../shared/search-attributes';
import { getJson, middayZone, postJson, startStack, uniqueAccountId, type Stack } from './helpers';
import { recording, saveHistories } from './record-histories';

/**
 * A published playbook runs (issue 16, parts 1–2) on the real stack, worker included: a case started with
 * it runs its steps, the ledger names its version, a newer version does not reach the running case but
 * does reach the next one, and an experiment's challenger arm runs a published version.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

const zone = middayZone();
/** A one-step ladder: a call on day 0, between 09:00 and 18:00 where the debtor lives. */
const ladder = (id: string, version: number, description: string) =>
  [
    `id: ${id}`,
    `version: ${version}`,
    'name: Call first',
    'penaltyBpsPerDay: 3',
    'allocationOrder: [fees, penalty, principal]',
    'blacklistAtDaysOverdue: 30',
    'promise: { graceDays: 2, maxDaysAhead: 30 }',
    'guarantor: { responseDays: 7 }',
    'legal: { brokenPromisesForReferral: 2, approvalReminderHours: 24 }',
    'steps:',
    '  - id: first-call',
    '    day: 0',
    '    action: phone-call',
    `    description: ${description}`,
    "    window: { from: '09:00', to: '18:00' }",
  ].join('\n');

async function publish(text: string): Promise<void> {
  const res = await fetch(`${s.apiUrl}/v1/playbooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.keys.admin}`, 'content-type': 'application/yaml' },
    body: text,
  });
  expect(res.status, await res.text()).toBe(201);
}

const open = async (accountId: string, extra: Record<string, unknown> = {}) => {
  const r = await postJson(
    `${s.apiUrl}/v1/missed-payments`,
    {
      accountId,
      dueDate: addDays(localDate(Date.now(), zone), -1),
      debtor: { name: '郑十', timeZone: zone, phones: ['+86 139 0000 0010'] },
      amountDue: { amountMinor: 30_000, currency: 'CNY' },
      ...extra,
    },
    s.keys.admin,
  );
  expect(r.status, JSON.stringify(r.body)).toBe(202);
};
const callsOf = async (accountId: string) => (await s.sql`select 1 from call_tasks where account_id = ${accountId}`).length;

describe('a published playbook', () => {
  it('runs its steps; a newer version reaches the next case, not the running one', async () => {
    const id = `call-first-${randomBytes(4).toString('hex')}`;
    await publish(ladder(id, 1, 'Call the debtor'));
    const first = uniqueAccountId('PUB1');
    await open(first, { playbookId: id });
    await expect.poll(() => callsOf(first), { timeout: 30_000 }).toBe(1);
    const [row] = await s.sql`select playbook_id, playbook_version, case_key from cases where account_id = ${first}`;
    expect(row).toMatchObject({ playbook_id: id, playbook_version: 1 });
    const view = await getJson(`${s.apiUrl}/v1/cases/${first}`, s.keys.supervisor);
    expect(view.body).toMatchObject({ playbookId: id, playbookVersion: 1 });

    await publish(ladder(id, 2, 'Call the debtor, softly'));
    const second = uniqueAccountId('PUB2');
    await open(second, { playbookId: id });
    await expect.poll(() => callsOf(second), { timeout: 30_000 }).toBe(1);
    expect((await getJson(`${s.apiUrl}/v1/cases/${second}`, s.keys.supervisor)).body).toMatchObject({ playbookVersion: 2 });
    // The running case keeps v1, whatever it is asked after v2 exists.
    expect((await getJson(`${s.apiUrl}/v1/cases/${first}`, s.keys.supervisor)).body).toMatchObject({ playbookVersion: 1 });
    const d = await s.client.workflow.getHandle(caseWorkflowId(second)).describe();
    expect(d.typedSearchAttributes.get(Playbook)).toBe(`${id}@2`);

    if (recording) {
      await saveHistories(
        s.client,
        [
          {
            name: 'a case started with a published playbook',
            workflowId: caseWorkflowId(first),
            firstExecutionRunId: (row!.case_key as string).split('/')[1]!,
          },
        ],
        '',
        s.codec,
      );
    }
  });

  it("is an experiment's challenger: the challenger's cases run it", async () => {
    const id = `challenger-${randomBytes(4).toString('hex')}`;
    await publish(ladder(id, 1, 'Call before any visit'));
    const product = `pub-test-${randomBytes(4).toString('hex')}`;
    const experimentId = `pub-${randomBytes(4).toString('hex')}`;
    const made = await postJson(
      `${s.apiUrl}/v1/experiments`,
      {
        experimentId,
        name: 'Call first',
        championPlaybookId: 'micro-loan-default',
        challengerPlaybookId: id,
        challengerPercent: 50,
        match: { productIn: [product] },
      },
      s.keys.admin,
    );
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    try {
      // Accounts until one lands in each arm (50 %: a handful).
      const seen = new Map<string, string>();
      for (let i = 0; seen.size < 2 && i < 40; i++) {
        const accountId = uniqueAccountId('PUBX');
        await open(accountId, { product });
        const d = await s.client.workflow.getHandle(caseWorkflowId(accountId)).describe();
        const arm = d.typedSearchAttributes.get(Experiment)!.split(':')[1]!;
        if (!seen.has(arm)) seen.set(arm, accountId);
      }
      const challenger = seen.get('challenger')!;
      await expect.poll(() => callsOf(challenger), { timeout: 30_000 }).toBe(1);
      expect((await getJson(`${s.apiUrl}/v1/cases/${challenger}`, s.keys.supervisor)).body).toMatchObject({ playbookId: id });
      expect((await getJson(`${s.apiUrl}/v1/cases/${seen.get('champion')!}`, s.keys.supervisor)).body).toMatchObject({
        playbookId: 'micro-loan-default',
        playbookVersion: 2,
      });
    } finally {
      await postJson(`${s.apiUrl}/v1/experiments/${experimentId}/end`, {}, s.keys.admin);
    }
  });
});
