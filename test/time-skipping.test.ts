import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { toolPaths } from '../dev/tools';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: toolPaths().testServer } },
  });
});
afterAll(async () => {
  await env?.teardown();
});

it('sleeps 30 days of workflow time on the time-skipping server', async () => {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'time-skipping',
    workflowsPath: fileURLToPath(new URL('./fixtures/sleepy-workflow.ts', import.meta.url)),
  });
  const wallStart = Date.now();
  const { startedAt, wokeAt } = await worker.runUntil(
    env.client.workflow.execute('sleepForDays', { args: [30], workflowId: 'sleep-30-days', taskQueue: 'time-skipping' }),
  );
  const wallMs = Date.now() - wallStart;
  expect(wokeAt - startedAt).toBeGreaterThanOrEqual(30 * 24 * 3600 * 1000);
  // Wall time is reported, not asserted: speed belongs to the benchmark.
  console.log(`30 days of workflow time took ${wallMs} ms of wall time`);
});
