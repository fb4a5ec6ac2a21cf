// /metrics after a payment: the API's own metrics, the business figures from the ledger, the worker's
// state and the Temporal SDK's metrics, in one Prometheus exposition. And the SDK's logs in pino.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../api/logging';
import { PinoSdkLogger } from '../app/sdk-logger';
import { getJson, openCaseByApi, payByWebhook, type Stack, startStack, uniqueAccountId } from './helpers';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

/** The value of one sample of the exposition (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('counts the payment, the case and the requests, with the worker state and the SDK metrics', async () => {
    const before = await (await fetch(`${stack.apiUrl}/metrics`)).text();
    const paidBefore = sample(before, 'recoup_payments_applied_total', { currency: 'CNY' }) ?? 0;
    const openedBefore = sample(before, 'recoup_cases_opened_total') ?? 0;

    const accountId = uniqueAccountId('MET');
    await openCaseByApi(stack, accountId, { amountMinor: 50_000 });
    await expect.poll(async () => (await stack.sql`select 1 from cases where account_id = ${accountId}`).length).toBe(1);
    expect((await payByWebhook(stack.apiUrl, accountId, `${accountId}-p`, 10_000)).body).toEqual({ applied: true });

    const res = await fetch(`${stack.apiUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(sample(text, 'recoup_payments_applied_total', { currency: 'CNY' })).toBe(paidBefore + 1);
    expect(sample(text, 'recoup_cases_opened_total')).toBe(openedBefore + 1);
    expect(sample(text, 'recoup_cases', { stage: 'open', state: 'open' })).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'recoup_http_requests_total', { method: 'POST', route: '/v1/webhooks/payments', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text, 'recoup_http_requests_total', { method: 'POST', route: '/v1/missed-payments', status: '202' }),
    ).toBeGreaterThanOrEqual(1);
    // Route templates only: no account id (personal, unbounded) in a label.
    expect(text).not.toContain(accountId);
    expect(sample(text, 'recoup_worker_state', { state: 'RUNNING' })).toBe(1);
    for (const name of [
      'recoup_letters_served_total',
      'recoup_compliance_refusals_total',
      'recoup_step_failures_total',
      'recoup_reconciliation_mismatches_total',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} gauge`);
    }
    // The SDK's (Rust core's) Prometheus metrics of the worker in this process.
    expect(text).toMatch(/^temporal_workflow_task_execution_latency\w*\{/m);
    expect(text).toMatch(/^temporal_request\w*\{/m);
    expect(sample(text, 'recoup_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('says in /readyz whether the worker in this process runs', async () => {
    const r = await getJson(`${stack.apiUrl}/readyz`);
    expect(r.status).toBe(200);
    expect(r.body.checks).toEqual({ temporal: 'ok', postgres: 'ok', worker: 'ok' });
  });
});

describe('the SDK logs in pino', () => {
  it('writes one JSON line per SDK log, masked like the API', () => {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const sdk = new PinoSdkLogger(createLogger('info', out, 'recoup-worker').child({ component: 'temporal' }));
    sdk.info('Workflow started', { workflowId: 'Case:A-1', phone: '+86 138 1234 5678', timestampNanos: 1n });
    sdk.debug('not at info');
    sdk.error('Activity failed: call +86 139 8765 4321', { sdkComponent: 'activity' });
    expect(lines).toHaveLength(2);
    const [a, b] = lines.map((l) => JSON.parse(l));
    expect(a).toMatchObject({
      level: 30,
      service: 'recoup-worker',
      component: 'temporal',
      msg: 'Workflow started',
      workflowId: 'Case:A-1',
    });
    expect(a.phone).not.toContain('1234 5678');
    expect(a.timestampNanos).toBeUndefined();
    expect(b).toMatchObject({ level: 50, sdkComponent: 'activity' });
    expect(b.msg).not.toContain('8765');
  });
});
