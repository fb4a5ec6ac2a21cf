import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDate } from '../shared/calendar';
import { getJson, postJson, startStack, type Stack } from './helpers';

/**
 * Teams and routing through the API on the real stack (dev server, worker, PostgreSQL): 3 teams of 4
 * collectors, rules by segment and region, 200 cases from intake balanced within each team and
 * nobody assigned on a day off; people's keys see their own queue; a team's unassigned call is its
 * supervisor's to give out.
 */
const TZ = 'Asia/Shanghai';
const tag = randomUUID().slice(0, 6);
const SME = `sme-${tag}`;
const NORTH = `north-${tag}`;
const EAST = `east-${tag}`;
const SMETEAM = `smeteam-${tag}`;
const REGION_N = `Haidian-${tag}`;
const REGION_E = `Chaoyang-${tag}`;
const CASES = 200;
const person = (team: string, n: number) => `${team}-c${n}`;
const today = () => localDate(Date.now(), TZ);
let s: Stack;

beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  // Rules are global: switch this file's off, so later files' cases are not routed to its teams.
  if (s) await s.sql`update assignment_rules set active = false where team_id like ${`%-${tag}`}`;
  await s?.stop();
});

const admin = (path: string, body: unknown) => postJson(`${s.apiUrl}${path}`, body, s.keys.admin);

describe('teams, rules and routing at intake', () => {
  it('200 cases from intake: every one assigned by the rules, loads within one case inside a team, nobody on a day off', async () => {
    for (const [team, region] of [
      [NORTH, REGION_N],
      [EAST, REGION_E],
      [SMETEAM, undefined],
    ] as const) {
      expect(
        (await admin('/v1/teams', { teamId: team, name: team, leaderId: person(team, 1), ...(region ? { region } : {}) })).status,
      ).toBe(200);
      for (const n of [1, 2, 3, 4]) {
        const r = await admin('/v1/people', { personId: person(team, n), name: `${team} collector ${n}`, role: 'collector', teamId: team });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      }
    }
    // North's fourth collector is off today (the debtors' local date).
    expect((await admin(`/v1/people/${person(NORTH, 4)}/days-off`, { days: [today()] })).status).toBe(200);
    expect((await admin('/v1/assignment-rules', { priority: 10, teamId: SMETEAM, segment: SME })).status).toBe(201);
    expect((await admin('/v1/assignment-rules', { priority: 20, teamId: NORTH, region: REGION_N })).status).toBe(201);
    expect((await admin('/v1/assignment-rules', { priority: 30, teamId: EAST, region: REGION_E })).status).toBe(201);
    // A rule for a team that does not exist is a 404, an unknown field a 400.
    expect((await admin('/v1/assignment-rules', { priority: 1, teamId: `nope-${tag}` })).status).toBe(404);
    expect((await admin('/v1/assignment-rules', { priority: 1, teamId: NORTH, colour: 'red' })).status).toBe(400);
    const band = await admin('/v1/assignment-rules', { priority: 1, teamId: NORTH, minBalanceMinor: 500, maxBalanceMinor: 100 });
    expect(band.status).toBe(400);
    expect(band.body.issues[0]).toMatchObject({ path: 'body.maxBalanceMinor', message: 'minBalanceMinor is above maxBalanceMinor' });
    // A rule switched off routes nothing.
    const off = await admin('/v1/assignment-rules', { priority: 1, teamId: EAST, region: REGION_N });
    expect((await admin(`/v1/assignment-rules/${off.body.ruleId}/deactivate`, {})).status).toBe(200);
    expect(
      (await getJson(`${s.apiUrl}/v1/assignment-rules`, s.keys.admin)).body.rules.map((r: { ruleId: number }) => r.ruleId),
    ).not.toContain(off.body.ruleId);

    const expected = new Map<string, string>();
    const accounts = Array.from({ length: CASES }, (_, i) => `T13-${tag}-${String(i).padStart(3, '0')}`);
    const intake = async (accountId: string, i: number) => {
      const sme = i % 4 === 0;
      const region = i % 2 === 1 ? REGION_N : REGION_E;
      expected.set(accountId, sme ? SMETEAM : region === REGION_N ? NORTH : EAST);
      const r = await postJson(
        `${s.apiUrl}/v1/missed-payments`,
        {
          accountId,
          debtor: { name: `债务人${i}`, timeZone: TZ, phones: ['+86 139 0000 0013'], region },
          dueDate: addDays(today(), -1),
          amountDue: { amountMinor: 100_000 + i * 1_000, currency: 'CNY' },
          ...(sme ? { segment: SME } : {}),
        },
        s.keys.admin,
      );
      expect(r.status, JSON.stringify(r.body)).toBe(202);
    };
    for (let i = 0; i < CASES; i += 20) await Promise.all(accounts.slice(i, i + 20).map((a, j) => intake(a, i + j)));

    await expect
      .poll(async () => (await s.sql`select count(*)::int as n from case_assignments where account_id like ${`T13-${tag}-%`}`)[0]!.n, {
        timeout: 120_000,
        interval: 1_000,
      })
      .toBe(CASES);
    const rows = await s.sql<{ account_id: string; team_id: string; collector_id: string }[]>`
      select account_id, team_id, collector_id from cases where account_id like ${`T13-${tag}-%`}`;
    expect(rows).toHaveLength(CASES);
    for (const r of rows) expect(r.team_id, r.account_id).toBe(expected.get(r.account_id));
    const load = new Map<string, number>();
    for (const r of rows) load.set(r.collector_id, (load.get(r.collector_id) ?? 0) + 1);
    const distribution = Object.fromEntries([...load.entries()].sort());
    console.info(`[teams] ${CASES} cases by collector: ${JSON.stringify(distribution)}`);
    expect(load.get(person(NORTH, 4)) ?? 0).toBe(0); // off today
    for (const team of [NORTH, EAST, SMETEAM]) {
      const working = [1, 2, 3, 4].filter((n) => !(team === NORTH && n === 4)).map((n) => load.get(person(team, n)) ?? 0);
      expect(Math.max(...working) - Math.min(...working), `${team}: ${working.join(', ')}`).toBeLessThanOrEqual(1);
    }
    // Teams (and their members' open load) as a supervisor reads them.
    const teams = (await getJson(`${s.apiUrl}/v1/teams`, s.keys.supervisor)).body.teams as Array<{ teamId: string; members: unknown[] }>;
    expect(teams.find((t) => t.teamId === NORTH)?.members).toHaveLength(4);
    // The list of cases and the Temporal UI filter by team.
    // (Visibility follows the workflows' upserts a moment later.)
    const inTeam = async () => {
      let n = 0;
      for await (const _ of s.client.workflow.list({ query: `TeamId = '${SMETEAM}'` })) n += 1;
      return n;
    };
    await expect.poll(inTeam, { timeout: 30_000 }).toBe(CASES / 4);
  });

  it("a person's key sees their own queue, not another's; a team's unassigned call is its supervisor's to give out", async () => {
    const key = (await admin(`/v1/people/${person(EAST, 1)}/api-keys`, {})).body.key as string;
    expect((await getJson(`${s.apiUrl}/v1/work-queues/calls?collectorId=${person(EAST, 1)}&date=${today()}`, key)).status).toBe(200);
    const other = await getJson(`${s.apiUrl}/v1/work-queues/calls?collectorId=${person(EAST, 2)}&date=${today()}`, key);
    expect(other.status).toBe(403);

    // A case routed to a team nobody in it works today: its call waits in the team's queue.
    const lone = `lone-${tag}`;
    await admin('/v1/teams', { teamId: lone, name: lone });
    await admin('/v1/people', { personId: person(lone, 1), name: 'Lone collector', role: 'collector', teamId: lone });
    await admin(`/v1/people/${person(lone, 1)}/days-off`, { days: [today()] });
    const region = `Lone-${tag}`;
    await admin('/v1/assignment-rules', { priority: 5, teamId: lone, region });
    const accountId = `T13-${tag}-LONE`;
    const opened = await postJson(
      `${s.apiUrl}/v1/missed-payments`,
      {
        accountId,
        debtor: { name: '孤单', timeZone: TZ, phones: ['+86 139 0000 0014'], region },
        dueDate: addDays(today(), -1),
        amountDue: { amountMinor: 50_000, currency: 'CNY' },
      },
      s.keys.admin,
    );
    expect(opened.status).toBe(202);
    await expect
      .poll(async () => (await s.sql`select team_id, collector_id from cases where account_id = ${accountId}`)[0])
      .toEqual({
        team_id: lone,
        collector_id: null,
      });
    // A call task of the case, as the day's call step places it (the ladder's first call is tomorrow).
    const [c] = await s.sql<{ case_key: string }[]>`select case_key from cases where account_id = ${accountId}`;
    await s.sql`insert into call_tasks (idempotency_key, case_key, account_id, collector_id, team_id, party, phone, due_at, window_end)
                values (${`${c!.case_key}:test-call`}, ${c!.case_key}, ${accountId}, null, ${lone}, 'debtor', '+86 139 0000 0014', now(),
                        now() + interval '8 hours')`;
    const teamQueue = await getJson(`${s.apiUrl}/v1/work-queues/team?teamId=${lone}`, s.keys.supervisor);
    expect(teamQueue.status).toBe(200);
    const task = (teamQueue.body.calls as Array<{ taskId: number; accountId: string }>).find((t) => t.accountId === accountId)!;
    expect(task).toBeDefined();
    expect((await getJson(`${s.apiUrl}/v1/work-queues/team?teamId=${lone}`, s.keys.collector)).status).toBe(403);
    const given = await postJson(
      `${s.apiUrl}/v1/work-queues/calls/${task.taskId}/assign`,
      { collectorId: person(EAST, 1) },
      s.keys.supervisor,
    );
    expect(given.status, JSON.stringify(given.body)).toBe(200);
    const mine = (await getJson(`${s.apiUrl}/v1/work-queues/calls?collectorId=${person(EAST, 1)}&date=${today()}`, key)).body.calls;
    expect(mine.map((x: { accountId: string }) => x.accountId)).toContain(accountId);
    expect(((await getJson(`${s.apiUrl}/v1/work-queues/team?teamId=${lone}`, s.keys.supervisor)).body.calls as unknown[]).length).toBe(0);
    expect((await getJson(`${s.apiUrl}/v1/work-queues/team?teamId=nope-${tag}`, s.keys.supervisor)).status).toBe(404);

    // Reassigning: to a collector of another team than the one named is 422; to a collector, their team follows.
    const mismatch = await postJson(
      `${s.apiUrl}/v1/cases/${accountId}/reassign`,
      { collectorId: person(EAST, 2), teamId: NORTH, reason: 'x' },
      s.keys.supervisor,
    );
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.detail).toMatch(/^collector east-\w+-c2 is in team east-\w+, not north-\w+/);
    const moved = await postJson(
      `${s.apiUrl}/v1/cases/${accountId}/reassign`,
      { collectorId: person(EAST, 2), reason: 'speaks the dialect' },
      s.keys.supervisor,
    );
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body).toMatchObject({ collectorId: person(EAST, 2), teamId: EAST });
    expect(await s.sql`select team_id, collector_id from cases where account_id = ${accountId}`).toEqual([
      { team_id: EAST, collector_id: person(EAST, 2) },
    ]);
  });
});
