import { z } from 'zod';
import type { ApiDeps } from '../deps';
import { route } from '../registry';

const Health = z.object({ ok: z.boolean(), checks: z.record(z.string(), z.string()).optional() });

export function opsRoutes(d: ApiDeps) {
  return [
    route({
      method: 'get',
      path: '/healthz',
      tag: 'operations',
      summary: 'Liveness: the process answers',
      access: 'public',
      responses: { 200: { description: 'Alive', schema: Health } },
      handler: async () => ({ status: 200, body: { ok: true } }),
    }),
    route({
      method: 'get',
      path: '/readyz',
      tag: 'operations',
      summary: 'Readiness: Temporal and PostgreSQL answer (and the worker in this process, if any, is running)',
      access: 'public',
      responses: { 200: { description: 'Ready', schema: Health }, 503: { description: 'Not ready', schema: Health } },
      async handler() {
        const within = <T>(p: Promise<T>) =>
          Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000))]);
        const [temporal, postgres] = await Promise.allSettled([
          within(d.client.workflowService.getSystemInfo({})),
          within(d.sql`select 1`),
        ]);
        const checks: Record<string, string> = {
          temporal: temporal.status === 'fulfilled' ? 'ok' : 'unreachable',
          postgres: postgres.status === 'fulfilled' ? 'ok' : 'unreachable',
        };
        // A worker in this process (npm start) must be polling too.
        const worker = d.metrics?.workerState?.();
        if (worker !== undefined) checks.worker = worker === 'RUNNING' ? 'ok' : worker.toLowerCase();
        const ok = Object.values(checks).every((c) => c === 'ok');
        return { status: ok ? 200 : 503, body: { ok, checks } };
      },
    }),
  ];
}
