import { NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index';
import { cachedWorkflowBundle, WORKFLOWS_PATH } from './bundle';

export { WORKFLOWS_PATH } from './bundle';

export interface CaseWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A prebuilt bundle (tests build it once; `{ codePath }` for one on disk). */
  workflowBundle?: WorkflowBundleOption;
  /**
   * Without `workflowBundle`: load the bundle cached in `.build/` for the current sources (see
   * ./bundle.ts), building and caching it when there is none. Default: in production
   * (NODE_ENV=production); otherwise the worker bundles workflows/ itself at every start.
   */
  cachedBundle?: boolean;
  /** Sizing (shared/config.ts): cases kept in memory, tasks and activities at once. */
  maxCachedWorkflows?: number;
  maxConcurrentWorkflowTasks?: number;
  maxConcurrentActivities?: number;
}

export async function createCaseWorker(opts: CaseWorkerOptions): Promise<Worker> {
  const cached = opts.cachedBundle ?? process.env.NODE_ENV === 'production';
  const workflowBundle = opts.workflowBundle ?? (cached ? await cachedWorkflowBundle(Runtime.instance().logger) : undefined);
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    ...(opts.maxConcurrentWorkflowTasks ? { maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTasks } : {}),
    ...(opts.maxConcurrentActivities ? { maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities } : {}),
    activities: createActivities({ sql: opts.sql, ...(opts.channels ? { channels: opts.channels } : {}) }),
  });
}
