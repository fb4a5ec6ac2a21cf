import type { PayloadCodec } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { readFile } from 'node:fs/promises';
import v8 from 'node:v8';
import { createActivities, type ActivityDeps } from '../activities/index';
import { dataConverterFor } from '../shared/codec';
import { bundleWorkflows, cachedWorkflowBundle } from './bundle';

export { WORKFLOWS_PATH } from './bundle';

/** Workflow threads by default: cases spread over two V8 isolates (a 2-core machine runs both). */
const DEFAULT_WORKFLOW_THREADS = 2;

/** Sizing and cost of the workflow side (shared/config.ts; docs/operations.md "Sizing"). */
export interface WorkflowRuntimeOptions {
  /** Threads (each a V8 isolate) that run workflow code. Default DEFAULT_WORKFLOW_THREADS. */
  workflowThreads?: number;
  /**
   * Stack traces of workflow code: the Temporal UI's "Stack Trace" tab and the stacks in workflow
   * failures. Off by default: the SDK captures a stack for every promise a workflow creates, which
   * measured at a third of a case's CPU (`npm run bench`, section 5). Failures keep their messages.
   */
  stackTraces?: boolean;
  /**
   * Old-generation heap of each workflow thread, in MiB (default DEFAULT_WORKFLOW_HEAP_MB). V8 sizes a
   * heap from the machine's memory and collects lazily: without a limit, a worker that opened 3,000
   * cases held 1.5 GiB. The cached cases of a thread take a few MiB.
   */
  workflowHeapMb?: number;
}

const DEFAULT_WORKFLOW_HEAP_MB = 96;
/** Young generation of each workflow thread (MiB per semi-space): workflow objects are short-lived and small. */
const WORKFLOW_SEMI_SPACE_MB = 4;

export interface CaseWorkerOptions extends ActivityDeps, WorkflowRuntimeOptions {
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
  /** Every payload encrypted (shared/codec.ts); the engine passes the configured one. */
  codec?: PayloadCodec;
}

/**
 * Stack traces off: the sandbox's Error keeps no frames, so the SDK's per-promise capture costs
 * next to nothing. Set on the sandbox's own Error (each workflow thread has its own), ahead of the
 * bundle on its first line, so the source map of every other line is unchanged.
 */
const NO_STACK_TRACES = 'Error.stackTraceLimit = 0;';

/** The bundle and thread options every case worker runs with (the bench's ladder worker too). */
export async function workflowRuntime(
  bundle: WorkflowBundleOption | undefined,
  opts: WorkflowRuntimeOptions & { cachedBundle?: boolean } = {},
): Promise<{ workflowBundle: { code: string }; workflowThreadPoolSize: number }> {
  const cached = opts.cachedBundle ?? process.env.NODE_ENV === 'production';
  const chosen =
    bundle ?? (cached ? await cachedWorkflowBundle(Runtime.instance().logger) : await bundleWorkflows(Runtime.instance().logger));
  const code = 'code' in chosen ? chosen.code : await readFile(chosen.codePath, 'utf8');
  // V8 flags are the process's; set now, they size the isolates created from here on: the workflow threads.
  v8.setFlagsFromString(`--max-old-space-size=${opts.workflowHeapMb ?? DEFAULT_WORKFLOW_HEAP_MB}`);
  v8.setFlagsFromString(`--max-semi-space-size=${WORKFLOW_SEMI_SPACE_MB}`);
  return {
    workflowBundle: { code: opts.stackTraces ? code : NO_STACK_TRACES + code },
    workflowThreadPoolSize: opts.workflowThreads ?? DEFAULT_WORKFLOW_THREADS,
  };
}

export async function createCaseWorker(opts: CaseWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    dataConverter: dataConverterFor(opts.codec),
    ...(await workflowRuntime(opts.workflowBundle, opts)),
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    ...(opts.maxConcurrentWorkflowTasks ? { maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTasks } : {}),
    ...(opts.maxConcurrentActivities ? { maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities } : {}),
    activities: createActivities({
      sql: opts.sql,
      ...(opts.channels ? { channels: opts.channels } : {}),
      ...(opts.intake ? { intake: opts.intake } : {}),
      ...(opts.relayGateway ? { relayGateway: opts.relayGateway } : {}),
    }),
  });
}
