import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDate } from '../shared/calendar';
import {
  approveLegalReferralUpdate,
  approveUpdate,
  caseStateQuery,
  disputeUpdate,
  holdUpdate,
  recordLegalEventUpdate,
  recordPromiseUpdate,
  resolveDisputeUpdate,
  resumeUpdate,
  setTreatmentUpdate,
  writeOffUpdate,
} from '../shared/messages';
import { postJson, startStack, uniqueAccountId, type Stack } from './helpers';

/**
 * Updates on the dev server (the time-skipping server does not advance time while a client waits
 * on an update), with the real activities and PostgreSQL behind the worker.
 */
const TZ = 'Asia/Shanghai';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function openCase() {
  const accountId = uniqueAccountId('UPD');
  const res = await postJson(
    `${stack.apiUrl}/v1/missed-payments`,
    {
      accountId,
      debtor: { name: '赵六', timeZone: TZ },
      dueDate: addDays(localDate(Date.now(), TZ), -1),
      amountDue: { amountMinor: 200_000, currency: 'CNY' },
    },
    stack.keys.admin,
  );
  expect(res.status).toBe(202);
  const handle = stack.client.workflow.getHandle(res.body.workflowId);
  await expect.poll(async () => (await stack.sql`select 1 from cases where account_id = ${accountId}`).length).toBe(1);
  return { accountId, handle };
}

const rejected = async (p: Promise<unknown>, message: RegExp) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(String((err as WorkflowUpdateFailedError).cause?.message)).toMatch(message);
};

describe('case updates on the dev server', () => {
  it('recordPromise: refuses past, too distant and non-positive promises; accepts one, then no second', async () => {
    const { handle } = await openCase();
    const today = localDate(Date.now(), TZ);
    await rejected(handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(today, -1), amountMinor: 1000 }] }), /in the past/);
    await rejected(
      handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(today, 31), amountMinor: 1000 }] }),
      /more than 30 days ahead/,
    );
    await rejected(handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(today, 3), amountMinor: 0 }] }), /positive/);
    await rejected(handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(today, 3), amountMinor: -5 }] }), /positive/);
    expect((await handle.query(caseStateQuery)).promises).toEqual([]); // a rejected update leaves no trace in the state

    const ok = await handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(today, 3), amountMinor: 50_000 }] });
    expect(ok).toMatchObject({ accepted: true, promiseId: 1, stage: 'open' });
    await rejected(
      handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(today, 4), amountMinor: 50_000 }] }),
      /already pending/,
    );
    const state = await handle.query(caseStateQuery);
    expect(state.promises).toMatchObject([{ id: 1, status: 'pending', amountMinor: 50_000 }]);
    expect(state.nextAction).toBeUndefined(); // paused by the promise
    await handle.terminate('test done');
  });

  it('the query shows the pause a promise brings at once, while its ledger row is still being written', async () => {
    const { accountId, handle } = await openCase();
    await expect.poll(async () => (await handle.query(caseStateQuery)).nextAction).toBeDefined();
    const today = localDate(Date.now(), TZ);
    // Hold the promises table: the workflow's recordPromise activity waits on the lock, so its loop
    // cannot plan again until we let go.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = stack.sql.begin(async (sql) => {
      await sql`lock table promises in access exclusive mode`;
      await held;
    });
    try {
      await handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(today, 3), amountMinor: 50_000 }] });
      await expect
        .poll(
          async () => (await stack.sql`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%promises%'`).length,
        )
        .toBe(1);
      const state = await handle.query(caseStateQuery);
      expect(state.promises).toMatchObject([{ id: 1, status: 'pending' }]);
      expect(state.nextAction).toBeUndefined();
    } finally {
      release();
      await tx;
    }
    await expect
      .poll(
        async () =>
          (await stack.sql`select p.status from promises p join cases c using (case_key) where c.account_id = ${accountId}`).length,
      )
      .toBe(1);
    await handle.terminate('test done');
  });

  it('hold / resume and dispute / resolveDispute refuse what does not apply', async () => {
    const { handle } = await openCase();
    await rejected(handle.executeUpdate(resumeUpdate, { args: [] }), /not on hold/);
    await rejected(handle.executeUpdate(holdUpdate, { args: [{ reason: 'x', until: '2020-01-01T00:00:00Z' }] }), /future/);
    expect(await handle.executeUpdate(holdUpdate, { args: [{ reason: 'debtor in hospital' }] })).toMatchObject({ accepted: true });
    expect((await handle.query(caseStateQuery)).hold?.reason).toBe('debtor in hospital');
    await handle.executeUpdate(resumeUpdate, { args: [] });
    expect((await handle.query(caseStateQuery)).hold).toBeUndefined();

    await rejected(handle.executeUpdate(resolveDisputeUpdate, { args: [] }), /not in dispute/);
    await handle.executeUpdate(disputeUpdate, { args: [{ reason: 'amount contested' }] });
    await rejected(handle.executeUpdate(disputeUpdate, { args: [{ reason: 'again' }] }), /already in dispute/);
    await handle.executeUpdate(resolveDisputeUpdate, { args: [] });
    await handle.terminate('test done');
  });

  it('legal approvals and events are refused before a referral exists', async () => {
    const { handle } = await openCase();
    await rejected(handle.executeUpdate(approveLegalReferralUpdate, { args: [{ by: 's1', role: 'supervisor' }] }), /no legal referral/);
    await rejected(handle.executeUpdate(recordLegalEventUpdate, { args: [{ kind: 'filed', court: 'c', caseNumber: 'n' }] }), /stage legal/);
    await rejected(handle.executeUpdate(approveUpdate, { args: [{ by: 'm1', role: 'manager' }] }), /a treatment needs no approval/);
    await handle.terminate('test done');
  });

  it('a treatment is set without an approval and closes nothing; restructuring goes through a plan (treatments.test.ts)', async () => {
    const { accountId, handle } = await openCase();
    const set = await handle.executeUpdate(setTreatmentUpdate, { args: [{ treatment: 'restructure', by: 's1' }] });
    expect(set.detail).toBe('treatment is restructure');
    await rejected(handle.executeUpdate(approveUpdate, { args: [{ by: 'm1', role: 'manager' }] }), /a treatment needs no approval/);
    await expect
      .poll(async () => (await stack.sql`select treatment from cases where account_id = ${accountId}`)[0]?.treatment)
      .toBe('restructure');
    expect((await handle.query(caseStateQuery)).stage).toBe('open');
    await handle.executeUpdate(writeOffUpdate, { args: [{ reason: 'uncollectable', by: 's1' }] });
    expect(await handle.result()).toMatchObject({ stage: 'written-off' });
    // Written off: the credit hold stays until a supervisor releases it.
    expect((await stack.sql`select lifted_at, lift_reason from credit_holds where account_id = ${accountId}`)[0]).toEqual({
      lifted_at: null,
      lift_reason: null,
    });
    // A closed case takes no more updates.
    await expect(handle.executeUpdate(writeOffUpdate, { args: [{ reason: 'late', by: 'x' }] })).rejects.toThrow(/completed/i);
  });

  it('writeOff closes the case written off and records it once', async () => {
    const { accountId, handle } = await openCase();
    expect(await handle.executeUpdate(writeOffUpdate, { args: [{ reason: 'debtor deceased, no estate', by: 'fin-1' }] })).toMatchObject({
      accepted: true,
    });
    expect(await handle.result()).toMatchObject({ stage: 'written-off' });
    const [row] = await stack.sql`select stage from cases where account_id = ${accountId}`;
    expect(row).toMatchObject({ stage: 'written-off' });
    expect(
      await stack.sql`select actor, detail->>'reason' as reason from audit_log where account_id = ${accountId} and action = 'write-off'`,
    ).toEqual([{ actor: 'fin-1', reason: 'debtor deceased, no estate' }]);
  });
});
