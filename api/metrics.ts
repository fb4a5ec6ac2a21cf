// GET /metrics: the API's own metrics, the business figures from the ledger, and (when the worker runs in
// this process and serves the SDK's Prometheus metrics) the Temporal SDK's, in one exposition.
// Business figures are read from PostgreSQL at scrape time, so every API process reports the same
// truth whatever process recorded it, and a restart loses nothing.
import type { RequestHandler } from 'express';
import client from 'prom-client';
import type { Sql } from '../db/index';

export interface MetricsDeps {
  sql: Sql;
  /** The SDK's Prometheus endpoint of a worker in this process (RECOUP_METRICS_ADDRESS), appended to /metrics. */
  sdkMetricsUrl?: string;
  /** The state of a worker in this process (RUNNING, DRAINING, …). */
  workerState?: () => string;
}

export interface ApiMetrics {
  registry: client.Registry;
  /** Counts and times each request by its route template. */
  observe: RequestHandler;
  handler: RequestHandler;
}

const WORKER_STATES = ['INITIALIZED', 'RUNNING', 'STOPPED', 'STOPPING', 'DRAINING', 'DRAINED', 'FAILED'];

export function createMetrics(d: MetricsDeps): ApiMetrics {
  const registry = new client.Registry();
  // The process's: recoup_process_cpu_seconds_total, recoup_process_resident_memory_bytes, recoup_nodejs_*.
  client.collectDefaultMetrics({ register: registry, prefix: 'recoup_' });
  const requests = new client.Counter({
    name: 'recoup_http_requests_total',
    help: 'HTTP requests answered, by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'recoup_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  // Ledger figures: each gauge is set from one query when Prometheus scrapes.
  const ledgerGauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (g: client.Gauge<L>) => Promise<void>,
  ) =>
    new client.Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        await read(this);
      },
    });
  const { sql } = d;
  ledgerGauge('recoup_cases_opened_total', 'Cases opened, ever (the ledger)', [], async (g) => {
    const [r] = await sql<{ n: number }[]>`select count(*)::int as n from cases`;
    g.set(r!.n);
  });
  ledgerGauge('recoup_cases', 'Cases by stage, open or closed (the ledger)', ['stage', 'state'], async (g) => {
    for (const r of await sql<{ stage: string; closed: boolean; n: number }[]>`
      select stage, closed_at is not null as closed, count(*)::int as n from cases group by 1, 2`)
      g.set({ stage: r.stage, state: r.closed ? 'closed' : 'open' }, r.n);
  });
  ledgerGauge('recoup_payments_applied_total', 'Payments applied to cases (the ledger)', ['currency'], async (g) => {
    for (const r of await sql<{ currency: string; n: number }[]>`select currency, count(*)::int as n from payments group by 1`)
      g.set({ currency: r.currency }, r.n);
  });
  ledgerGauge('recoup_payments_applied_minor_total', 'Amount of the payments applied, in minor units', ['currency'], async (g) => {
    for (const r of await sql<{ currency: string; s: string }[]>`select currency, sum(amount_minor)::text as s from payments group by 1`)
      g.set({ currency: r.currency }, Number(r.s));
  });
  ledgerGauge('recoup_letters_served_total', 'Letters issued, by kind and delivery status', ['kind', 'delivery'], async (g) => {
    for (const r of await sql<{ kind: string; delivery_status: string; n: number }[]>`
      select kind, delivery_status, count(*)::int as n from notices group by 1, 2`)
      g.set({ kind: r.kind, delivery: r.delivery_status }, r.n);
  });
  ledgerGauge('recoup_compliance_refusals_total', 'Contacts the compliance guard refused, by rule', ['rule'], async (g) => {
    for (const r of await sql<{ rule: string; n: number }[]>`
      select coalesce(refused_rule, 'unknown') as rule, count(*)::int as n from contact_attempts where status = 'refused' group by 1`)
      g.set({ rule: r.rule }, r.n);
  });
  ledgerGauge(
    'recoup_step_failures_total',
    'Ladder steps that failed after their retries (supervisors told), by action',
    ['action'],
    async (g) => {
      for (const r of await sql<{ action: string; n: number }[]>`
      select coalesce(detail->>'action', 'unknown') as action, count(*)::int as n from audit_log where action = 'step-failed' group by 1`)
        g.set({ action: r.action }, r.n);
    },
  );
  ledgerGauge(
    'recoup_reconciliation_mismatches_total',
    'Letters held because the ledger and the case disagreed on the amounts (step failures of that kind)',
    [],
    async (g) => {
      const [r] = await sql<{ n: number }[]>`
        select count(*)::int as n from audit_log where action = 'step-failed' and detail->>'reason' like '%ledger and case disagree%'`;
      g.set(r!.n);
    },
  );
  if (d.workerState) {
    const state = d.workerState;
    new client.Gauge({
      name: 'recoup_worker_state',
      help: 'The state of the worker in this process (1 for the current one)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const now = state();
        for (const s of new Set([...WORKER_STATES, now])) this.set({ state: s }, s === now ? 1 : 0);
      },
    });
  }

  return {
    registry,
    observe: (req, res, next) => {
      const end = duration.startTimer();
      res.on('finish', () => {
        // The route template (/v1/cases/:accountId), never the path: ids are unbounded and may be personal.
        const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
        const labels = { method: req.method, route: String(route) };
        end(labels);
        requests.inc({ ...labels, status: String(res.statusCode) });
      });
      next();
    },
    handler: async (_req, res, next) => {
      try {
        let text = await registry.metrics();
        if (d.sdkMetricsUrl) {
          const sdk = await fetch(d.sdkMetricsUrl, { signal: AbortSignal.timeout(2000) })
            .then((r) => (r.ok ? r.text() : ''))
            .catch(() => '');
          text += sdk ? `\n# Temporal SDK (worker in this process)\n${sdk}` : '';
        }
        res.set('Content-Type', registry.contentType).send(text);
      } catch (e) {
        next(e);
      }
    },
  };
}
