// A long ladder under time skipping: N never-paying cases (default playbook, with a guarantor) run
// `days` days of the real case workflow on the time-skipping test server, with activities that record
// instead of acting. Wall time per case, and the history of one case: its events by type.
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { toolPaths } from '../dev/tools';
import { addDays, instantOf, localDate } from '../shared/calendar';
import { CASE_GENERATION, type CaseInput } from '../shared/case';
import { loadConfig } from '../shared/config';
import { caseWorkflowId } from '../shared/ids';
import { DEFAULT_PLAYBOOK } from '../shared/playbook';
import { recordingActivities } from '../test/recording-activities';
import { ensureSearchAttributes } from '../worker/search-attributes';
import { bundleWorkflows } from '../worker/bundle';
import { workflowRuntime } from '../worker/worker';
import { cpuSeconds, processTree } from './lib';

const TZ = 'Asia/Shanghai';

export interface LadderResult {
  cases: number;
  days: number;
  wallMs: number;
  events: number;
  byType: Record<string, number>;
  workflowTasks: number;
  /** CPU seconds over the measured days: this process (the worker: main thread and workflow threads) and the test server. */
  cpu: { worker: number; server: number };
}

export async function measureLadder(opts: { cases: number; days: number }): Promise<LadderResult> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: toolPaths().testServer } },
  });
  try {
    await ensureSearchAttributes(env.connection, 'default');
    const { activities } = recordingActivities();
    const workflowBundle = await bundleWorkflows(new DefaultLogger('ERROR'));
    // The production worker's workflow side (threads, stack traces: their defaults, or RECOUP_* as for the engine).
    const config = loadConfig();
    const runtime = await workflowRuntime(workflowBundle, config.worker);
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'bench-ladder', ...runtime, activities });
    const running = worker.run();
    try {
      // Open every case at 00:30 local on a fresh day 0, then let the server skip `days` days.
      const now = await env.currentTimeMs();
      const day0 = addDays(localDate(now, TZ), 1);
      await env.sleep(instantOf(day0, '00:30', TZ) - now);
      const handles = [];
      for (let i = 0; i < opts.cases; i++) {
        const accountId = `LADDER-${process.pid}-${i}`;
        const input: CaseInput = {
          generation: CASE_GENERATION,
          accountId,
          debtor: { name: '王建国', timeZone: TZ, phones: ['+86 138 0000 0000'], jurisdiction: 'CN', address: '北京市海淀区中关村大街1号' },
          guarantors: [{ id: 'G1', name: '李保证', phones: ['+86 139 0000 0000'] }],
          currency: 'CNY',
          firstMissed: { dueDate: addDays(day0, -1), amountMinor: 1_000_000, currency: 'CNY' },
          playbookRef: { id: DEFAULT_PLAYBOOK.id, version: DEFAULT_PLAYBOOK.version },
        };
        handles.push(
          await env.client.workflow.start('collectionCase', {
            taskQueue: 'bench-ladder',
            workflowId: caseWorkflowId(accountId),
            args: [input],
          }),
        );
      }
      // The test server is this process's child (the SDK starts it); the worker runs in this process.
      const serverCpu = () =>
        processTree(process.pid)
          .filter((pid) => pid !== process.pid)
          .reduce((s, pid) => s + cpuSeconds(pid), 0);
      const ownCpu = () => (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
      const cpu0 = { worker: ownCpu(), server: serverCpu() };
      const t0 = Date.now();
      await env.sleep(opts.days * 86_400_000);
      const described = await Promise.all(handles.map((h) => h.describe())); // every case has caught up with the clock
      const wallMs = Date.now() - t0;
      // A ladder that broke is no figure: a case must still run (or have ended by itself), its tasks never failing.
      const broken = described.filter((d) => d.status.name !== 'RUNNING' && d.status.name !== 'COMPLETED');
      if (broken.length > 0) throw new Error(`the ladder broke: ${broken.map((d) => `${d.workflowId} ${d.status.name}`).join(', ')}`);
      const cpu = { worker: ownCpu() - cpu0.worker, server: serverCpu() - cpu0.server };
      const events = (await handles[0]!.fetchHistory()).events ?? [];
      if (process.env.DUMP) {
        const { defaultPayloadConverter } = await import('@temporalio/common');
        for (const e of events.slice(0, 400)) {
          const t = (proto.temporal.api.enums.v1.EventType as unknown as Record<number, string>)[Number(e.eventType)];
          const p = e.userMetadata?.summary;
          console.log(e.eventId, t, p ? defaultPayloadConverter.fromPayload(p as never) : '');
        }
      }
      const byType: Record<string, number> = {};
      for (const e of events) {
        const type =
          (proto.temporal.api.enums.v1.EventType as unknown as Record<number, string>)[Number(e.eventType)] ?? String(e.eventType);
        const name = type.replace(/^EVENT_TYPE_/, '').toLowerCase();
        byType[name] = (byType[name] ?? 0) + 1;
      }
      const workflowTasks = events.filter((e) => e.workflowTaskCompletedEventAttributes).length;
      if (byType.workflow_task_failed)
        throw new Error(`the ladder broke: ${byType.workflow_task_failed} failed workflow tasks in one case`);
      if ((byType.timer_fired ?? 0) < opts.days / 2)
        throw new Error(`the ladder broke: ${byType.timer_fired ?? 0} timers fired in ${opts.days} days`);
      return { cases: opts.cases, days: opts.days, wallMs, events: events.length, byType, workflowTasks, cpu };
    } finally {
      worker.shutdown();
      await running;
    }
  } finally {
    await env.teardown();
  }
}
