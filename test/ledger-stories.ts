import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index';
import type { Sql } from '../db/index';
import { toolPaths } from '../dev/tools';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { bundleWorkflows } from '../worker/bundle';
import { storyKit, STORY_REGION } from './story-kit';

/**
 * Stories on the time-skipping server with the real activities on the real PostgreSQL: a worker on
 * its own task queue, a field officer for the story region, and the story kit. `stop()` before the
 * suite ends its database connection.
 */
export async function startLedgerStories(taskQueue: string, sql: Sql) {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: toolPaths().testServer } },
  });
  await ensureSearchAttributes(env.connection, 'default');
  await sql`insert into field_officers (officer_id, name, region, vehicle) values ('HD-01', '赵外勤', ${STORY_REGION}, '京A-12345')
            on conflict (officer_id) do nothing`;
  const workflowBundle = await bundleWorkflows();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: createActivities({ sql }),
  });
  const running = worker.run();
  return {
    env,
    kit: storyKit(env, taskQueue),
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
