import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { History } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolPaths } from '../dev/tools';
import { addDays, instantOf } from '../shared/calendar';
import {
  approveLegalReferralUpdate,
  caseStateQuery,
  contactOutcomeSignal,
  disputeUpdate,
  guarantorResponseSignal,
  holdUpdate,
  recordLegalEventUpdate,
  recordPromiseUpdate,
  resolveDisputeUpdate,
  resumeUpdate,
} from '../shared/messages';
import { dailyPenaltyMinor } from '../shared/money';
import type { TimelineRecord } from '../shared/activities';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { bundleWorkflows } from '../worker/bundle';
import { recordingActivities, stepsOf } from './recording-activities';
import { recording, saveHistories } from './record-histories';
import { range, storyKit, STORY_PRINCIPAL as PRINCIPAL, STORY_TZ as TZ } from './story-kit';

/**
 * The default playbook's stories on the time-skipping server: each asserts the exact activities
 * the case ran, by ladder day. Activities are test implementations that record each call.
 */
const TASK_QUEUE = 'stories';
const { calls, activities } = recordingActivities();

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let bundle: WorkflowBundle;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: toolPaths().testServer } },
  });
  await ensureSearchAttributes(env.connection, 'default');
  bundle = await bundleWorkflows(); // as the engine's worker bundles it (shared modules preloaded)
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle: bundle, activities });
  kit = storyKit(env, TASK_QUEUE);
  running = worker.run();
});
afterAll(async () => {
  if (recording) await recordHistories();
  worker?.shutdown();
  await running;
  await env?.teardown();
});

/** Each story's first run, for the replay test (the 365-day story's runs are too large to keep). */
async function recordHistories(): Promise<void> {
  const stories = kit.started.filter(({ name }) => !name.includes('365-day'));
  await saveHistories(
    env.client,
    stories.map(({ name, handle }) => ({ name, workflowId: handle.workflowId, firstExecutionRunId: handle.firstExecutionRunId })),
  );
}

let kit: ReturnType<typeof storyKit>;
async function openCase(opts: { guarantor?: boolean; maxHistoryEvents?: number } = {}) {
  const s = await kit.openCase(opts);
  return { ...s, steps: () => stepsOf(calls, s.accountId) };
}

const LADDER_TO_DAY_7 = ['0:scheduleFieldVisit', ...range(1, 3, 'placeCollectionCall'), '4:scheduleFieldVisit', '7:serveOverdueNotice'];
const count = (accountId: string, fn: string) => calls.filter((c) => c.accountId === accountId && c.fn === fn).length;

describe('default playbook stories', () => {
  it('never pays: the full ladder, legal referral on day 30, reminders, approval, legal, closed', async () => {
    const s = await openCase();
    await s.at(7, '12:00');
    const day7 = await s.handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(day7.currentDetails).toMatch(
      new RegExp(
        /^Day 7: overdue notice served \(serveOverdueNotice#\d+\)\. Outstanding 10,055\.00 CNY\. /.source +
          /Next: daily phone call on day 8, 09:00 Asia\/Shanghai\.$/.source,
      ),
    );
    await s.at(31, '12:00');
    expect(s.steps()).toEqual([
      ...LADDER_TO_DAY_7,
      ...range(8, 30, 'placeCollectionCall'),
      '30:requestLegalReferral',
      '31:placeCollectionCall',
    ]);
    expect(count(s.accountId, 'remindSupervisor')).toBe(1); // 24 h after the request
    let state = await s.handle.query(caseStateQuery);
    expect(state.legal?.status).toBe('awaiting-approval');
    // The line a supervisor reads in the UI.
    const meta = await s.handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toMatch(
      new RegExp(
        /^Day 31: call placed \(placeCollectionCall#\d+\)\. Outstanding \d{1,3}(,\d{3})*\.\d{2} CNY\. /.source +
          /Next: legal referral awaiting a supervisor's approval\.$/.source,
      ),
    );
    expect(state.balance.penaltyMinor).toBe(31 * dailyPenaltyMinor(PRINCIPAL, DEFAULT_PLAYBOOK.penaltyBpsPerDay));

    await s.handle.executeUpdate(approveLegalReferralUpdate, { args: [{ by: 'sup-1', role: 'supervisor' }] });
    await s.at(33, '12:00');
    state = await s.handle.query(caseStateQuery);
    expect(state.stage).toBe('legal');
    // In legal, the ladder stops: the hand-off, and no call after it.
    expect(s.steps().slice(-2)).toEqual(['31:placeCollectionCall', '31:referToLegal']);

    await s.handle.executeUpdate(recordLegalEventUpdate, {
      args: [{ kind: 'filed', court: 'Haidian District Court', caseNumber: '(2026)京0108民初1号' }],
    });
    await s.handle.executeUpdate(recordLegalEventUpdate, { args: [{ kind: 'closed', outcome: 'judgment enforced' }] });
    const result = await s.handle.result();
    expect(result.stage).toBe('legal-closed');
    expect(count(s.accountId, 'recordLegalEvent')).toBe(2);
  });

  it('pays on day 2: nothing after, closed paid, not blacklisted', async () => {
    const s = await openCase();
    await s.at(2, '10:00');
    const owed = await s.outstanding();
    expect(owed).toBe(PRINCIPAL + 2 * dailyPenaltyMinor(PRINCIPAL, DEFAULT_PLAYBOOK.penaltyBpsPerDay));
    await s.pay(owed);
    expect((await s.handle.result()).stage).toBe('paid');
    await env.sleep('10 days');
    expect(s.steps()).toEqual(['0:scheduleFieldVisit', '1:placeCollectionCall', '2:placeCollectionCall']);
    expect(count(s.accountId, 'placeOnBlacklist')).toBe(0);
    expect(count(s.accountId, 'recordPayment')).toBe(1);
  });

  it('partial payments, then full: each lowers the balance, penalty first', async () => {
    const s = await openCase();
    await s.at(1, '12:00');
    await s.pay(300_000);
    await s.at(1, '12:01');
    const state = await s.handle.query(caseStateQuery);
    const p1 = dailyPenaltyMinor(PRINCIPAL, DEFAULT_PLAYBOOK.penaltyBpsPerDay);
    expect(state.payments[0]!.allocation).toEqual({ feesMinor: 0, penaltyMinor: p1, principalMinor: 300_000 - p1, excessMinor: 0 });
    expect(state.balance).toEqual({ feesMinor: 0, penaltyMinor: 0, principalMinor: PRINCIPAL - 300_000 + p1 });
    await s.at(3, '12:00');
    await s.pay(await s.outstanding());
    expect((await s.handle.result()).stage).toBe('paid');
    expect(s.steps()).toEqual(['0:scheduleFieldVisit', ...range(1, 3, 'placeCollectionCall')]);
    expect(count(s.accountId, 'recordPayment')).toBe(2);
  });

  it('promise kept: escalation pauses until the date, the payment closes the case', async () => {
    const s = await openCase();
    await s.at(1, '12:00');
    const owed = await s.outstanding();
    const r = await s.handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(s.day0, 4), amountMinor: owed + 10_000 }] });
    expect(r.promiseId).toBe(1);
    await s.at(4, '12:00');
    expect(s.steps()).toEqual(['0:scheduleFieldVisit', '1:placeCollectionCall']); // paused on days 2–4
    await s.pay(await s.outstanding());
    await s.at(4, '12:01');
    expect((await s.handle.result()).stage).toBe('paid');
  });

  it('promise broken: broken count + 1 and the ladder resumes after date plus grace', async () => {
    const s = await openCase();
    await s.at(1, '12:00');
    await s.handle.executeUpdate(recordPromiseUpdate, { args: [{ date: addDays(s.day0, 3), amountMinor: 500_000 }] });
    await s.at(9, '12:00');
    const state = await s.handle.query(caseStateQuery);
    expect(state.brokenPromises).toBe(1);
    expect(state.promises[0]!.status).toBe('broken');
    // Paused days 2–5 (promise day 3 + 2 days' grace); the day-4 visit passed during the pause and is skipped.
    expect(s.steps()).toEqual([
      '0:scheduleFieldVisit',
      '1:placeCollectionCall',
      '7:serveOverdueNotice',
      '8:placeCollectionCall',
      '9:placeCollectionCall',
    ]);
    expect(state.done['second-visit@4']).toBe('skipped');
    await s.handle.terminate('story done');
  });

  it('guarantor pays after the demand', async () => {
    const s = await openCase({ guarantor: true });
    await s.at(9, '12:00');
    expect(s.steps()).toEqual([
      '0:scheduleFieldVisit',
      ...range(1, 3, 'placeCollectionCall'),
      '4:scheduleFieldVisit',
      '4:contactGuarantor',
      '7:serveOverdueNotice',
      '8:placeCollectionCall',
      '8:demandGuarantorPayment',
      '9:placeCollectionCall',
    ]);
    await s.handle.signal(guarantorResponseSignal, { guarantorId: 'G1', response: 'paid' });
    await s.pay(await s.outstanding());
    expect((await s.handle.result()).stage).toBe('paid');
    const state = await s.handle.query(caseStateQuery);
    expect(state.guarantors[0]!.status).toBe('paid');
    expect(state.guarantorDemand?.outcome).toBe('paid');
    expect(count(s.accountId, 'requestLegalReferral')).toBe(0);
  });

  it('guarantor silent: the demand times out after 7 days and legal referral comes forward', async () => {
    const s = await openCase({ guarantor: true });
    await s.at(15, '12:00');
    const state = await s.handle.query(caseStateQuery);
    expect(state.guarantorDemand?.outcome).toBe('silent');
    expect(state.guarantors[0]!.status).toBe('silent');
    expect(s.steps().slice(-3)).toEqual(['14:placeCollectionCall', '15:placeCollectionCall', '15:requestLegalReferral']);
    const referral = calls.find((c) => c.accountId === s.accountId && c.fn === 'requestLegalReferral')!;
    expect((referral.request as { reason: string }).reason).toBe('the guarantor did not answer the demand');
    await s.handle.terminate('story done');
  });

  it('a dispute pauses contact until resolved', async () => {
    const s = await openCase();
    await s.at(1, '12:00');
    await s.handle.executeUpdate(disputeUpdate, { args: [{ reason: 'debtor says the instalment was paid in cash' }] });
    await s.at(6, '12:00');
    expect(s.steps()).toEqual(['0:scheduleFieldVisit', '1:placeCollectionCall']);
    await s.handle.executeUpdate(resolveDisputeUpdate, { args: [] });
    await s.at(8, '12:00');
    expect(s.steps()).toEqual(['0:scheduleFieldVisit', '1:placeCollectionCall', '7:serveOverdueNotice', '8:placeCollectionCall']);
    expect((await s.handle.query(caseStateQuery)).done['second-visit@4']).toBe('skipped');
    await s.handle.terminate('story done');
  });

  it('hold and resume', async () => {
    const s = await openCase();
    await s.at(1, '12:00');
    await s.handle.executeUpdate(holdUpdate, { args: [{ reason: 'hospitalised' }] });
    await s.at(3, '08:00');
    await s.handle.executeUpdate(resumeUpdate, { args: [] });
    await s.at(3, '12:00');
    expect(s.steps()).toEqual(['0:scheduleFieldVisit', '1:placeCollectionCall', '3:placeCollectionCall']);
    await s.handle.terminate('story done');
  });

  it('a hold with an end date resumes by itself', async () => {
    const s = await openCase();
    await s.at(1, '12:00');
    const until = new Date(instantOf(addDays(s.day0, 2), '20:30', TZ)).toISOString();
    await s.handle.executeUpdate(holdUpdate, { args: [{ reason: 'public holiday', until }] });
    await s.at(3, '12:00');
    expect(s.steps()).toEqual(['0:scheduleFieldVisit', '1:placeCollectionCall', '3:placeCollectionCall']);
    await s.handle.terminate('story done');
  });

  it('fraud (reason 6) asks for legal review at once', async () => {
    const s = await openCase();
    await s.at(1, '12:00');
    await s.handle.signal(contactOutcomeSignal, {
      channel: 'phone',
      outcome: 'reached',
      reasonCategory: 6,
      note: 'loan used for gambling',
      actor: 'collector-7',
    });
    await s.at(1, '12:05');
    expect(s.steps()).toEqual(['0:scheduleFieldVisit', '1:placeCollectionCall', '1:requestLegalReferral']);
    const state = await s.handle.query(caseStateQuery);
    expect(state.legalReviewRequested).toBe(true);
    expect(state.legal?.status).toBe('awaiting-approval');
    expect(count(s.accountId, 'recordContactOutcome')).toBe(1);
    await s.handle.terminate('story done');
  });

  it('paid on day 45: closed paid and blacklisted', async () => {
    const s = await openCase();
    await s.at(45, '12:00');
    await s.pay(await s.outstanding());
    const result = await s.handle.result();
    expect(result.stage).toBe('paid');
    const listed = calls.filter((c) => c.accountId === s.accountId && c.fn === 'placeOnBlacklist');
    expect(listed).toHaveLength(1);
    expect((listed[0]!.request as { daysOverdue: number }).daysOverdue).toBe(46);
  });

  it('a 365-day case continues-as-new with its state intact, every run under its event limit', async () => {
    // A year of the ladder is about 3,000 events now: a run limit of 1,000 makes it continue-as-new.
    const s = await openCase({ maxHistoryEvents: 1_000 });
    await s.at(365, '12:00');
    const state = await s.handle.query(caseStateQuery);
    expect(state.runs).toBeGreaterThanOrEqual(2);
    // Every daily call happened exactly once, across the run boundaries.
    expect(s.steps().filter((x) => x.endsWith('placeCollectionCall'))).toEqual([
      ...range(1, 3, 'placeCollectionCall'),
      ...range(8, 365, 'placeCollectionCall'),
    ]);
    expect(state.balance.penaltyMinor).toBe(365 * dailyPenaltyMinor(PRINCIPAL, DEFAULT_PLAYBOOK.penaltyBpsPerDay));
    // The workflow keeps the last 50 timeline entries; the ledger gets every one, numbered without a gap.
    expect(state.timeline).toHaveLength(50);
    const ledgered = calls
      .filter((c) => c.accountId === s.accountId && c.fn === 'recordTimeline')
      .flatMap((c) => (c.request as TimelineRecord).entries);
    expect(ledgered[0]!.what).toBe('case opened');
    expect(new Set(ledgered.map((e) => e.seq)).size).toBe(state.notes);
    expect(Math.max(...ledgered.map((e) => e.seq))).toBe(state.notes);
    expect(ledgered.find((e) => e.seq === state.notes)).toEqual(expect.objectContaining(state.timeline.at(-1)));
    expect(state.done['overdue-notice@7']).toBe('ran');

    // Walk the chain of runs from the first: each one's history stays small.
    let runId: string | undefined = s.handle.firstExecutionRunId;
    const lengths: number[] = [];
    while (runId) {
      const history: History = await env.client.workflow.getHandle(s.handle.workflowId, runId).fetchHistory();
      const events = history.events ?? [];
      lengths.push(events.length);
      runId = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    expect(lengths.length).toBe(state.runs);
    for (const n of lengths) expect(n).toBeLessThan(1_100); // the limit, and the few events of the pass that notices it
    console.log(`365-day case: ${lengths.length} runs of ${lengths.join(', ')} events`);
    await s.handle.terminate('story done');
  });
});
