// The worker killed (SIGKILL) at random moments while 100 cases run their ladder's steps, on the dev
// server with the real activities on PostgreSQL. The cases open 40 days late, so each runs at once what
// its playbook catches up (the overdue notice, the guarantor demand, the legal referral), the
// letters rendered and queued. Then: no case lost, no side effect twice, and every case ends where the
// same case ends on a worker nobody kills.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { addDays, localDate } from '../../shared/calendar';
import { CASE_GENERATION, type CaseInput } from '../../shared/case';
import { EncryptionCodec } from '../../shared/codec';
import { caseWorkflowId } from '../../shared/ids';
import { caseStateQuery } from '../../shared/messages';
import { DEFAULT_PLAYBOOK } from '../../shared/playbook';
import { middayZone, startStack, type Stack } from '../helpers';
import { spawnPart, type Part } from './processes';

// A zone where it is around midday now, so every step's window is open whenever the suite runs.
const TZ = middayZone();
const CASES = 100;
const KILLS = 4;
const key = randomBytes(32);

let stack: Stack;
let part: Part | undefined;

beforeAll(async () => {
  // The reference worker (never killed) and the client, in this process.
  stack = await startStack({ codec: new EncryptionCodec({ active: 'w1', keys: new Map([['w1', key]]) }) });
});
afterAll(async () => {
  await part?.kill();
  await stack?.stop();
});

const input = (accountId: string): CaseInput => ({
  generation: CASE_GENERATION,
  accountId,
  debtor: { name: '张伟', timeZone: TZ, phones: ['+86 138 0000 0005'], jurisdiction: 'CN', address: '北京市朝阳区建国路1号' },
  guarantors: [{ id: 'G1', name: '刘洋', phones: ['+86 139 0000 0006'] }],
  currency: 'CNY',
  firstMissed: { dueDate: addDays(localDate(Date.now(), TZ), -41), amountMinor: 1_000_000, currency: 'CNY' },
  playbookRef: { id: DEFAULT_PLAYBOOK.id, version: DEFAULT_PLAYBOOK.version },
});

const startWorker = async (taskQueue: string) => {
  const p = spawnPart('worker/main.ts', {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: inject('temporalNamespace'),
    DATABASE_URL: inject('databaseUrl'),
    RECOUP_TASK_QUEUE: taskQueue,
    RECOUP_CODEC_KEYS: `w1=${key.toString('base64')}`,
    LOG_LEVEL: 'info',
  });
  part = p;
  await p.waitForLine(/worker polling task queue/, 120_000);
  return p;
};

/** What a case is, without what differs between two cases by construction (ids, instants, references). */
const stateOf = async (workflowId: string) => {
  const v = await stack.client.workflow.getHandle(workflowId).query(caseStateQuery, Date.now());
  return {
    stage: v.stage,
    balance: v.balance,
    done: v.done,
    guarantors: v.guarantors.map((g) => g.status),
    legal: v.legal ? { status: v.legal.status } : undefined,
    notes: v.notes,
    nextAction: v.nextAction?.stepId,
    timeline: v.timeline.map((t) => t.what),
  };
};

/** Rows per case in every table a step writes to. */
async function sideEffects(caseKeys: string[]): Promise<Map<string, Record<string, number>>> {
  const { sql } = stack;
  const out = new Map<string, Record<string, number>>(caseKeys.map((k) => [k, {}]));
  const tables = [
    'contact_attempts',
    'visits',
    'call_tasks',
    'notices',
    'channel_outbox',
    'legal_referrals',
    'case_costs',
    'case_timeline',
  ];
  for (const table of [...tables, 'audit_log']) {
    for (const r of await sql<{ case_key: string; n: number }[]>`
      select case_key, count(*)::int as n from ${sql(table)} where case_key in ${sql(caseKeys)} group by case_key`)
      out.get(r.case_key)![table] = r.n;
  }
  return out;
}

it('loses no case and doubles no side effect when the worker is killed at random while 100 cases run their steps', async () => {
  const run = randomUUID().slice(0, 8);
  const taskQueue = `faults-kill-${run}`;
  await startWorker(taskQueue);
  const ids = Array.from({ length: CASES }, (_, i) => caseWorkflowId(`KILLW-${run}-${i}`));
  const refId = caseWorkflowId(`KILLW-${run}-ref`);
  await stack.client.workflow.start('collectionCase', { taskQueue: stack.taskQueue, workflowId: refId, args: [input(`KILLW-${run}-ref`)] });
  const started = Date.now();
  await Promise.all(
    ids.map((workflowId, i) =>
      stack.client.workflow.start('collectionCase', { taskQueue, workflowId, args: [input(`KILLW-${run}-${i}`)] }),
    ),
  );

  // SIGKILL at random moments while the cases run their steps; each time a new worker takes over.
  const moments: number[] = [];
  const lettersAtKill: number[] = [];
  const letters = async () =>
    (await stack.sql<{ n: number }[]>`select count(*)::int as n from notices where account_id like ${`KILLW-${run}-%`}`)[0]!.n;
  for (let k = 0; k < KILLS; k++) {
    await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 4_000));
    moments.push(Math.round((Date.now() - started) / 100) / 10);
    lettersAtKill.push(await letters());
    await part!.kill();
    await startWorker(taskQueue);
  }

  // The first kill landed in the middle of the work: not every case had its letter yet.
  expect(lettersAtKill[0]).toBeLessThan(CASES);

  // Settled: every case has done what the clean run has done (an activity the killed worker held is
  // retried after its start-to-close timeout, a minute).
  const expected = await (async () => {
    await expect.poll(async () => (await stateOf(refId)).legal?.status, { timeout: 60_000, interval: 1000 }).toBe('awaiting-approval');
    return stateOf(refId);
  })();
  const same = async () => {
    let n = 0;
    for (const id of ids) if (JSON.stringify(await stateOf(id)) === JSON.stringify(expected)) n++;
    return n;
  };
  await expect.poll(same, { timeout: 240_000, interval: 5_000 }).toBe(CASES);
  for (const id of ids) expect(await stateOf(id), id).toEqual(expected);

  const caseKeyOf = async (id: string) => (await stack.client.workflow.getHandle(id).query(caseStateQuery, Date.now())).caseKey;
  const keys = await Promise.all(ids.map(caseKeyOf));
  const refKey = await caseKeyOf(refId);
  const effects = await sideEffects([...keys, refKey]);
  const want = effects.get(refKey)!;
  expect(want.notices, 'the clean run issued its overdue notice').toBeGreaterThanOrEqual(1);
  const differing = keys.filter((k) => JSON.stringify(effects.get(k)) !== JSON.stringify(want));
  expect(
    differing.map((k) => ({ k, got: effects.get(k) })),
    JSON.stringify(want),
  ).toEqual([]);
  console.log(
    `[faults] worker SIGKILLed ${KILLS} times (at ${moments.join(', ')} s; letters issued by then ${lettersAtKill.join(', ')}): ` +
      `${CASES} cases, ${CASES} end as the clean run ` +
      `(stage ${expected.stage}, legal ${expected.legal?.status}, zone ${TZ}); rows per case in every table as the clean run's: ` +
      `${Object.entries(want)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}; cases that differ 0; lost 0`,
  );
});
