import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, openCaseByApi, startStack, uniqueAccountId, type Stack } from './helpers';

/**
 * What a new case costs Temporal in its first workflow task (issue 10), through the API on the real
 * stack: no patch marker (its input names its patch generation) and so no TemporalChangeVersion upsert,
 * no other upsert (intake gave the search attributes the case would publish), and two local activities
 * (the opening batch with the routing in it, then the routing's timeline entry and cases row). Each
 * upsert is a visibility write on the server and each local activity a round trip through the workflow.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

/** A zone where it is 02:00 now: no step of the default ladder (09:00 onwards) is due in the first task. */
function nightZone(): string {
  const off = ((2 - new Date().getUTCHours() + 36) % 24) - 12;
  return off >= 0 ? `Etc/GMT-${off}` : `Etc/GMT+${-off}`;
}

const EventType = proto.temporal.api.enums.v1.EventType;

describe("a new case's first workflow task", () => {
  it('no patch marker, no upsert, two local activities, then it sleeps', async () => {
    const accountId = uniqueAccountId('FIRST');
    const { workflowId } = await openCaseByApi(s, accountId, { amountMinor: 50_000, debtor: { timeZone: nightZone() } });
    // The API answers at the start; GET waits for the first task.
    const view = await getJson(`${s.apiUrl}/v1/cases/${accountId}`, s.keys.supervisor);
    expect(view.status).toBe(200);
    const events = (await s.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const firstTimer = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED);
    expect(firstTimer).toBeGreaterThan(0);
    const first = events.slice(0, firstTimer);
    const markers = first.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED);
    const names = markers.map((e) => e.markerRecordedEventAttributes?.markerName);
    expect(names.filter((n) => n === 'core_patch')).toHaveLength(0);
    expect(names.filter((n) => n === 'core_local_activity')).toHaveLength(2);
    const upserts = first.filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    expect(upserts.map((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}))).toEqual(
      [],
    );
    expect(first.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)).toHaveLength(1);
  });
});
