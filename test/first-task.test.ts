import { randomUUID } from 'node:crypto';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zoneAtLocalHour } from '../bench/lib';
import { addDays, localDate } from '../shared/calendar';
import { getJson, openCaseByApi, postJson, startStack, uniqueAccountId, type Stack } from './helpers';

/**
 * What a new case costs Temporal in its first workflow task (issue 10), through the API on the real
 * stack: no patch marker (its input names its patch generation) and so no TemporalChangeVersion upsert,
 * no other upsert (intake gave the search attributes the case would publish), and one local activity
 * (the opening batch with the routing, its timeline entry, the steps skipped for a late report and the
 * cases row with the first plan in it).
 * Each upsert is a visibility write on the server and each local activity a round trip through the
 * workflow. What that one write left in the ledger is what the case shows.
 */
const tag = randomUUID().slice(0, 6);
const TEAM = `first-${tag}`;
const REGION = `First-${tag}`;

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  // Rules are global: this file's goes off, so later files' cases are not routed to its team.
  if (s) await s.sql`update assignment_rules set active = false where team_id = ${TEAM}`;
  await s?.stop();
});

/** A zone where it is 02:00 now: no step of the default ladder (09:00 onwards) is due in the first task. */
const nightZone = () => zoneAtLocalHour(2);

const EventType = proto.temporal.api.enums.v1.EventType;
type Event = proto.temporal.api.history.v1.IHistoryEvent;

/** The events of the first workflow task, up to the first timer (the case asleep). */
async function firstTask(workflowId: string): Promise<Event[]> {
  const events = (await s.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const firstTimer = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED);
  expect(firstTimer).toBeGreaterThan(0);
  return events.slice(0, firstTimer);
}
const markerNames = (first: Event[]) =>
  first.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED).map((e) => e.markerRecordedEventAttributes?.markerName);

describe("a new case's first workflow task", () => {
  it('no patch marker, no upsert, one local activity, then it sleeps', async () => {
    const accountId = uniqueAccountId('FIRST');
    const { workflowId } = await openCaseByApi(s, accountId, { amountMinor: 50_000, debtor: { timeZone: nightZone() } });
    // The API answers at the start; GET waits for the first task.
    const view = await getJson(`${s.apiUrl}/v1/cases/${accountId}`, s.keys.supervisor);
    expect(view.status).toBe(200);
    const first = await firstTask(workflowId);
    const names = markerNames(first);
    expect(names.filter((n) => n === 'core_patch')).toHaveLength(0);
    expect(names.filter((n) => n === 'core_local_activity')).toHaveLength(1);
    const upserts = first.filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    expect(upserts.map((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}))).toEqual(
      [],
    );
    expect(first.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)).toHaveLength(1);
  });

  it("a late report routed to a collector in that one write: the ledger's timeline and cases row are what the case shows", async () => {
    const admin = (path: string, body: unknown) => postJson(`${s.apiUrl}${path}`, body, s.keys.admin);
    expect((await admin('/v1/teams', { teamId: TEAM, name: TEAM, leaderId: `${TEAM}-lead`, region: REGION })).status).toBe(200);
    for (const personId of [`${TEAM}-c1`, `${TEAM}-c2`])
      expect((await admin('/v1/people', { personId, name: personId, role: 'collector', teamId: TEAM })).status).toBe(200);
    expect((await admin('/v1/assignment-rules', { priority: 1, teamId: TEAM, region: REGION })).status).toBe(201);

    // Reported on its second day overdue: the ladder's day-0 visit passed before the case opened, and is skipped.
    const accountId = uniqueAccountId('FIRST-R');
    const timeZone = nightZone();
    const opened = await postJson(
      `${s.apiUrl}/v1/missed-payments`,
      {
        accountId,
        debtor: { name: '测试债务人', phones: ['+86 139 0000 0000'], timeZone, region: REGION },
        dueDate: addDays(localDate(Date.now(), timeZone), -2),
        amountDue: { amountMinor: 70_000, currency: 'CNY' },
      },
      s.keys.admin,
    );
    expect(opened.status).toBe(202);
    const workflowId = opened.body.workflowId as string;
    // The API answers once Temporal has the case; the routing is in its first task (a query before it
    // ends sees the case unrouted), so read the case once that task has run.
    await expect.poll(async () => (await getJson(`${s.apiUrl}/v1/cases/${accountId}`, s.keys.supervisor)).body.teamId).toBe(TEAM);
    const view = await getJson(`${s.apiUrl}/v1/cases/${accountId}`, s.keys.supervisor);
    expect(view.status).toBe(200);
    expect(view.body.teamId).toBe(TEAM);
    expect([`${TEAM}-c1`, `${TEAM}-c2`]).toContain(view.body.collectorId);

    const first = await firstTask(workflowId);
    expect(markerNames(first).filter((n) => n === 'core_local_activity')).toHaveLength(1);
    const upserts = first.filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    // One upsert: the owner (with DaysOverdue and OutstandingMinor as they are now, brought up to date with any change).
    expect(upserts).toHaveLength(1);
    expect(Object.keys(upserts[0]!.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {})).toEqual(
      expect.arrayContaining(['CollectorId', 'TeamId']),
    );

    // The timeline: every entry the case shows is in the ledger, in its words and order; the routing's last.
    const caseKey = view.body.caseKey as string;
    const rows = await s.sql<{ seq: number; what: string; outcome: string; at: Date }[]>`
      select seq, what, outcome, at from case_timeline where case_key = ${caseKey} order by seq`;
    const shown = view.body.timeline as { what: string; outcome: string; at: string }[];
    expect(rows.map((r) => ({ what: r.what, outcome: r.outcome, at: r.at.toISOString() }))).toEqual(
      shown.map((e) => ({ what: e.what, outcome: e.outcome, at: e.at })),
    );
    expect(rows.map((r) => r.seq)).toEqual(shown.map((_, i) => i + 1));
    expect(shown.map((e) => e.what)).toEqual(['case opened', 'field-visit', 'assigned']);
    expect(shown[1]!.outcome).toBe('skipped: day 0 passed before it could run');
    expect(shown.at(-1)).toMatchObject({ what: 'assigned', outcome: `intake: team ${TEAM}, collector ${view.body.collectorId}` });

    // The cases row: the collector the routing chose, and the first plan's next action.
    // (Its balance too: the day already overdue accrued its penalty in that write.)
    const [row] = await s.sql<
      { collector_id: string; team_id: string; next_action: string; next_action_at: Date | null; penalty_minor: number }[]
    >`select collector_id, team_id, next_action, next_action_at, penalty_minor from cases where case_key = ${caseKey}`;
    expect(row).toMatchObject({ collector_id: view.body.collectorId, team_id: TEAM, penalty_minor: view.body.balance.penaltyMinor });
    expect(row!.penalty_minor).toBeGreaterThan(0);
    expect(row!.next_action_at?.toISOString()).toBe(view.body.nextAction.dueAt);
    expect(row!.next_action).toMatch(/day \d+/);
  });
});
