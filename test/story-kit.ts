import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { expect } from 'vitest';
import { addDays, instantOf, localDate } from '../shared/calendar';
import { CASE_GENERATION, type CaseInput } from '../shared/case';
import { caseWorkflowId } from '../shared/ids';
import { caseStateQuery, paymentReceivedSignal } from '../shared/messages';
import { DEFAULT_PLAYBOOK, type Playbook } from '../shared/playbook';

/** A case on the time-skipping server, driven by ladder day and local time. */
export interface Story {
  accountId: string;
  handle: WorkflowHandleWithFirstExecutionRunId;
  day0: string;
  /** Skips time to `time` (local) on ladder day `day`. */
  at(day: number, time: string): Promise<void>;
  outstanding(): Promise<number>;
  pay(amountMinor: number): Promise<void>;
}

export const STORY_TZ = 'Asia/Shanghai';
export const STORY_PRINCIPAL = 1_000_000;
export const STORY_REGION = 'Haidian';

export function storyKit(env: TestWorkflowEnvironment, taskQueue: string) {
  let seq = 0;
  const started: Array<{ name: string; handle: WorkflowHandleWithFirstExecutionRunId }> = [];

  async function openCase(
    opts: {
      guarantor?: boolean;
      prefix?: string;
      playbook?: Playbook;
      maxHistoryEvents?: number;
      situation?: CaseInput['situation'];
      collectorId?: string;
    } = {},
  ): Promise<Story> {
    const accountId = `${opts.prefix ?? 'STORY'}-${++seq}-${Date.now()}`;
    // Start at 00:30 local on a fresh day, so day 0 has every window ahead of it.
    const now = await env.currentTimeMs();
    const day0 = addDays(localDate(now, STORY_TZ), 1);
    await env.sleep(instantOf(day0, '00:30', STORY_TZ) - now);
    const input: CaseInput = {
      generation: CASE_GENERATION,
      accountId,
      debtor: {
        name: '王建国',
        timeZone: STORY_TZ,
        phones: ['+86 138 0000 0000'],
        jurisdiction: 'CN',
        region: STORY_REGION,
        address: '北京市海淀区中关村大街1号',
        idNumber: '110108199001011234',
      },
      guarantors: opts.guarantor ? [{ id: 'G1', name: '李保证', phones: ['+86 139 0000 0000'], address: '北京市朝阳区建国路2号' }] : [],
      currency: 'CNY',
      firstMissed: { dueDate: addDays(day0, -1), amountMinor: STORY_PRINCIPAL, currency: 'CNY' },
      playbook: opts.playbook ?? DEFAULT_PLAYBOOK,
      ...(opts.maxHistoryEvents ? { maxHistoryEvents: opts.maxHistoryEvents } : {}),
      ...(opts.situation ? { situation: opts.situation } : {}),
      ...(opts.collectorId ? { collectorId: opts.collectorId } : {}),
    };
    const handle = await env.client.workflow.start('collectionCase', { taskQueue, workflowId: caseWorkflowId(accountId), args: [input] });
    started.push({ name: expect.getState().currentTestName ?? accountId, handle });
    let payments = 0;
    return {
      accountId,
      handle,
      day0,
      async at(day, time) {
        const target = instantOf(addDays(day0, day), time, STORY_TZ);
        const t = await env.currentTimeMs();
        if (target > t) await env.sleep(target - t);
        await handle.query(caseStateQuery); // let the worker catch up with the new time
      },
      // As of the test server's clock: a sleeping case's own clock is the last time it woke.
      outstanding: async () => (await handle.query(caseStateQuery, await env.currentTimeMs())).outstandingMinor,
      async pay(amountMinor) {
        const t = await env.currentTimeMs();
        await handle.signal(paymentReceivedSignal, {
          paymentId: `${accountId}-pay-${++payments}`,
          amountMinor,
          currency: 'CNY',
          paidAt: new Date(t).toISOString(),
        });
      },
    };
  }
  return { openCase, started };
}

export const range = (from: number, to: number, fn: string) => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}:${fn}`);
