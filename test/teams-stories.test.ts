import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApiKey } from '../api/auth';
import { serveApi, type RunningApi } from '../app/parts';
import { connectDb } from '../db/index';
import { createLogger } from '../api/logging';
import { addDays } from '../shared/calendar';
import { caseStateQuery, reassignUpdate } from '../shared/messages';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';
import { getJson, postSignedWebhook, WEBHOOK_SECRET } from './helpers';
import { startLedgerStories } from './ledger-stories';
import { recording, saveHistories } from './record-histories';
import type { storyKit, Story } from './story-kit';

/**
 * Routing over a case's life, on the time-skipping server with the real activities and the real
 * PostgreSQL, and the API's queues on the same ledger: the day-30 move to the senior team (once), a
 * supervisor's reassignment mid-ladder, and a paid case's call leaving the queue at once.
 */
const TASK_QUEUE = 'teams-stories';
const sql = connectDb(inject('databaseUrl'));
const tag = randomUUID().slice(0, 6);
const SEGMENT = `t13-${tag}`;
const JUNIOR = `junior-${tag}`;
const SENIOR = `senior-${tag}`;
const person = (team: string, n: number) => `${team}-c${n}`;
let stories: Awaited<ReturnType<typeof startLedgerStories>> | undefined;
let kit: ReturnType<typeof storyKit>;
let api: RunningApi | undefined;
const keys: Record<string, string> = {};

beforeAll(async () => {
  stories = await startLedgerStories(TASK_QUEUE, sql);
  kit = stories.kit;
  for (const team of [JUNIOR, SENIOR]) {
    await sql`insert into teams (team_id, name, leader_id, segments) values (${team}, ${team}, ${person(team, 1)}, ${[SEGMENT]})`;
    for (const n of [1, 2])
      await sql`insert into people (person_id, name, role, team_id) values (${person(team, n)}, ${`Collector ${n}`}, 'collector', ${team})`;
  }
  // Day 30 of the ladder is 31 days overdue: from then on the senior team; before, the junior team.
  await sql`insert into assignment_rules (priority, team_id, segment, min_days_overdue) values (1, ${SENIOR}, ${SEGMENT}, 31)`;
  await sql`insert into assignment_rules (priority, team_id, segment) values (2, ${JUNIOR}, ${SEGMENT})`;
  api = await serveApi(
    { client: stories.env.client, sql, taskQueue: TASK_QUEUE, webhookSecret: WEBHOOK_SECRET },
    { port: 0, host: '127.0.0.1', logger: createLogger('warn') },
  );
  for (const n of [1, 2]) keys[person(JUNIOR, n)] = await createApiKey(sql, person(JUNIOR, n), 'collector');
});
afterAll(async () => {
  if (recording && stories) {
    await saveHistories(
      stories.env.client,
      kit.started.map(({ name, handle }) => ({ name, workflowId: handle.workflowId, firstExecutionRunId: handle.firstExecutionRunId })),
      'teams-',
    );
  }
  // Rules are global: switch this file's off, so later files' cases are not routed to its teams.
  await sql`update assignment_rules set active = false where team_id in (${JUNIOR}, ${SENIOR})`;
  await api?.stop();
  await stories?.stop();
  await sql.end();
});

const open = (prefix: string) => kit.openCase({ prefix, situation: { segment: SEGMENT } });
const assignments = (s: Story) =>
  sql<{ team_id: string; collector_id: string; reason: string }[]>`
    select team_id, collector_id, reason from case_assignments where account_id = ${s.accountId} order by id`;
const queue = async (collectorId: string, date: string) =>
  (await getJson(`${api!.url}/v1/work-queues/calls?collectorId=${collectorId}&date=${date}`, keys[collectorId])).body.calls as Array<{
    accountId: string;
  }>;

describe('routing over the life of a case', () => {
  it('crossing day 30 moves the case to the senior team that day, once', async () => {
    const s = await open('ROUTE-30');
    await s.at(1, '12:00');
    expect((await assignments(s)).map((a) => [a.team_id, a.reason])).toEqual([[JUNIOR, 'intake']]);
    expect((await s.handle.query(caseStateQuery)).teamId).toBe(JUNIOR);
    await s.at(29, '23:00');
    expect(await assignments(s)).toHaveLength(1);
    await s.at(30, '08:00');
    const moved = await assignments(s);
    expect(moved.map((a) => [a.team_id, a.reason])).toEqual([
      [JUNIOR, 'intake'],
      [SENIOR, 'day 30 reassessment'],
    ]);
    await s.at(33, '12:00');
    expect(await assignments(s)).toHaveLength(2);
    const v = await s.handle.query(caseStateQuery);
    expect(v.teamId).toBe(SENIOR);
    expect(v.collectorId).toBe(moved[1]!.collector_id);
    const sa = (await s.handle.describe()).typedSearchAttributes.getAll();
    expect(sa.find((p) => p.key.name === 'TeamId')?.value).toBe(SENIOR);
    expect(sa.find((p) => p.key.name === 'CollectorId')?.value).toBe(moved[1]!.collector_id);
    // The calls from day 30 on are the senior collector's.
    const [call] = await sql`select collector_id, team_id from call_tasks where account_id = ${s.accountId}
                             and due_at >= ${new Date(Date.parse(`${addDays(s.day0, 31)}T00:00:00+08:00`))} order by due_at limit 1`;
    expect(call).toEqual({ collector_id: moved[1]!.collector_id, team_id: SENIOR });
  });

  it('day 30 with no rule for the case: the collector the lender named keeps it', async () => {
    const s = await kit.openCase({ prefix: 'ROUTE-KEEP', collectorId: 'lender-7' });
    await s.at(30, '12:00');
    expect((await s.handle.query(caseStateQuery)).collectorId).toBe('lender-7');
    expect((await assignments(s)).map((a) => [a.collector_id, a.reason])).toEqual([['lender-7', 'day 30 reassessment (kept)']]);
    expect((await sql`select collector_id from cases where account_id = ${s.accountId}`)[0]!.collector_id).toBe('lender-7');
  });

  it("reassigned mid-ladder: the next call is in the new collector's queue, none in the old one's", async () => {
    const s = await open('ROUTE-RE');
    await s.at(1, '12:00');
    const from = (await s.handle.query(caseStateQuery)).collectorId!;
    const to = [person(JUNIOR, 1), person(JUNIOR, 2)].find((p) => p !== from)!;
    const day1 = addDays(s.day0, 1);
    expect((await queue(from, day1)).map((c) => c.accountId)).toContain(s.accountId);
    const r = await s.handle.executeUpdate(reassignUpdate, { args: [{ collectorId: to, reason: 'language', by: 'sup-1' }] });
    expect(r).toMatchObject({ collectorId: to, teamId: JUNIOR });
    // The open call moved at once; tomorrow's call is the new collector's.
    expect((await queue(from, day1)).map((c) => c.accountId)).not.toContain(s.accountId);
    expect((await queue(to, day1)).map((c) => c.accountId)).toContain(s.accountId);
    await s.at(2, '12:00');
    const day2 = addDays(s.day0, 2);
    expect((await queue(to, day2)).map((c) => c.accountId)).toContain(s.accountId);
    expect((await queue(from, day2)).map((c) => c.accountId)).not.toContain(s.accountId);
    const [audit] = await sql`select actor, detail->>'reason' as reason, detail->'from'->>'collectorId' as was
                              from audit_log where account_id = ${s.accountId} and action = 'case-assigned' order by id desc limit 1`;
    expect(audit).toEqual({ actor: 'sup-1', reason: 'reassigned by sup-1: language', was: from });
  });

  it("a large case: the team's leader joins it as a second owner and is told once", async () => {
    const playbook = { ...DEFAULT_PLAYBOOK, routing: { reassessOnDays: [], escalateAt: { balanceAtLeastMinor: 500_000 } } };
    const s = await kit.openCase({ prefix: 'ROUTE-ESC', situation: { segment: SEGMENT }, playbook });
    await s.at(3, '12:00');
    const [c] = await sql`select second_owner_id, escalated_at is not null as escalated from cases where account_id = ${s.accountId}`;
    expect(c).toEqual({ second_owner_id: person(JUNIOR, 1), escalated: true });
    const sent =
      await sql`select recipient->>'email' as email, payload->>'subject' as subject from channel_outbox where account_id = ${s.accountId}
                           and payload->>'subject' like 'Case % needs you:%'`;
    expect(sent).toEqual([
      { email: `${person(JUNIOR, 1)}@recoup.local`, subject: expect.stringMatching(/^Case ROUTE-ESC-\d+-\d+ needs you: balance /) },
    ]);
    expect((await s.handle.query(caseStateQuery)).escalated?.leaderId).toBe(person(JUNIOR, 1));
    // In the leader's list (the leader's own key; another leader's key is refused).
    const leaderKey = await createApiKey(sql, person(JUNIOR, 1), 'supervisor');
    const list = await getJson(`${api!.url}/v1/work-queues/escalated?leaderId=${person(JUNIOR, 1)}`, leaderKey);
    expect(list.status).toBe(200);
    expect(list.body.cases.map((c: { accountId: string }) => c.accountId)).toContain(s.accountId);
    const otherKey = await createApiKey(sql, person(SENIOR, 1), 'supervisor');
    expect((await getJson(`${api!.url}/v1/work-queues/escalated?leaderId=${person(JUNIOR, 1)}`, otherKey)).status).toBe(403);
  });

  it("paid at 10:00: the day's call is gone from the queue at once", async () => {
    const s = await open('ROUTE-PAID');
    await s.at(1, '10:00');
    const collectorId = (await s.handle.query(caseStateQuery)).collectorId!;
    const day1 = addDays(s.day0, 1);
    expect((await queue(collectorId, day1)).map((c) => c.accountId)).toContain(s.accountId);
    const now = await stories!.env.currentTimeMs();
    const paid = await postSignedWebhook(`${api!.url}/v1/webhooks/payments`, {
      paymentId: `${s.accountId}-full`,
      accountId: s.accountId,
      amountMinor: await s.outstanding(),
      currency: 'CNY',
      paidAt: new Date(now).toISOString(),
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect((await queue(collectorId, day1)).map((c) => c.accountId)).not.toContain(s.accountId);
  });
});
