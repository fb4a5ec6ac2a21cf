import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes, createApp } from '../api/app';
import { createLogger } from '../api/logging';
import { connectDb } from '../db/index';
import { addDays, instantOf, localDate } from '../shared/calendar';
import { caseWorkflowId } from '../shared/ids';
import { signBody } from '../shared/signature';
import { getJson, postJson, postSignedWebhook, startStack, uniqueAccountId, WEBHOOK_SECRET, type Reply, type Stack } from './helpers';

/** Every endpoint of the API, its happy path and its refusals, on the real stack (Temporal dev server, worker, PostgreSQL). */
const TZ = 'Asia/Shanghai';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

// ---- requests, each one remembered so the last test can hold the answers against the OpenAPI document ----
const seen: Array<{ method: 'get' | 'post'; path: string; status: number }> = [];
const remember = (method: 'get' | 'post', path: string, r: Reply) => {
  seen.push({ method, path: path.split('?')[0]!, status: r.status });
  return r;
};
const post = async (path: string, body: unknown, key?: string) =>
  remember('post', path, await postJson(`${stack.apiUrl}${path}`, body, key));
const get = async (path: string, key?: string) => remember('get', path, await getJson(`${stack.apiUrl}${path}`, key));
const hook = async (body: unknown, opts: Parameters<typeof postSignedWebhook>[2] = {}) =>
  remember('post', '/v1/webhooks/payments', await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, body, opts));

/** An RFC 9457 problem with this status. */
function expectProblem(r: Reply, status: number): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ status, title: expect.any(String) });
}

// ---- cases ----
const today = () => localDate(Date.now(), TZ);
/** Due yesterday: the case is on day 0 (one day overdue), before any penalty interest accrues. */
const yesterday = () => addDays(today(), -1);

interface MissedOpts {
  dueDate?: string;
  amountMinor?: number;
  currency?: string;
  collectorId?: string;
  guarantors?: unknown[];
  debtor?: Record<string, unknown>;
}
const missed = (accountId: string, o: MissedOpts = {}) => ({
  accountId,
  debtor: { name: '张三', timeZone: TZ, phones: ['+86 139 0000 0001'], ...o.debtor },
  dueDate: o.dueDate ?? yesterday(),
  amountDue: { amountMinor: o.amountMinor ?? 100_000, currency: o.currency ?? 'CNY' },
  ...(o.guarantors ? { guarantors: o.guarantors } : {}),
  ...(o.collectorId ? { collectorId: o.collectorId } : {}),
});
const payment = (accountId: string, paymentId: string, amountMinor: number, currency = 'CNY') => ({
  paymentId,
  accountId,
  amountMinor,
  currency,
  paidAt: new Date().toISOString(),
});

/** Opens a case through the API and waits until the ledger has it. */
async function openCase(o: MissedOpts & { prefix?: string } = {}) {
  const accountId = uniqueAccountId(o.prefix ?? 'API');
  const res = await post('/v1/missed-payments', missed(accountId, o), stack.keys.admin);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  await expect.poll(async () => (await stack.sql`select 1 from cases where account_id = ${accountId}`).length).toBe(1);
  const handle = stack.client.workflow.getHandle(res.body.workflowId as string);
  return { accountId, caseId: res.body.caseId as string, runId: res.body.runId as string, handle };
}

/** Opens a case and pays it in full by signed webhook; resolves once the workflow has completed. */
async function closedCase(amountMinor = 10_000) {
  const c = await openCase({ amountMinor, prefix: 'CLOSED' });
  const paid = await hook(payment(c.accountId, `${c.accountId}-full`, amountMinor));
  expect(paid.body).toEqual({ applied: true });
  expect(await c.handle.result()).toMatchObject({ stage: 'paid' });
  return c;
}

const caseState = async (accountId: string) => {
  const r = await get(`/v1/cases/${accountId}`, stack.keys.supervisor);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};
const receiptStatus = async (paymentId: string) =>
  (await stack.sql<{ status: string }[]>`select status from payment_receipts where payment_id = ${paymentId}`).map((r) => r.status);

describe('POST /v1/missed-payments', () => {
  it('opens the case (202), is idempotent on (accountId, dueDate), and adds a second instalment to the same case', async () => {
    const accountId = uniqueAccountId('MP');
    const first = await post('/v1/missed-payments', missed(accountId), stack.keys.admin);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({
      caseId: expect.any(String),
      workflowId: caseWorkflowId(accountId),
      runId: expect.any(String),
      created: true,
    });
    expect(first.body.caseId).toBe(`${first.body.workflowId}/${first.body.runId}`);

    // The same instalment again: still "created" (it is the one that opened the case), same case, nothing added.
    const again = await post('/v1/missed-payments', missed(accountId), stack.keys.supervisor);
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ ...first.body, created: true });
    expect(await caseState(accountId)).toMatchObject({ outstandingMinor: 100_000, missedPayments: [expect.anything()] });

    // Another due date (the day before: it accrues its own day of penalty, 25): the open case takes it.
    const second = await post(
      '/v1/missed-payments',
      missed(accountId, { dueDate: addDays(yesterday(), -1), amountMinor: 50_000 }),
      stack.keys.admin,
    );
    expect(second.status).toBe(202);
    expect(second.body).toEqual({ ...first.body, created: false });
    const state = await caseState(accountId);
    expect(state).toMatchObject({ caseKey: first.body.caseId, outstandingMinor: 150_025, daysOverdue: 2 });
    expect(state.missedPayments).toHaveLength(2);
  });

  it('answers a new case at once, before its first task ran, and GET shows it right after', async () => {
    // A new account is a plain start (the API does not wait for the worker); GET waits for the case's first task.
    const opened = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const accountId = uniqueAccountId('NOW');
        const r = await post('/v1/missed-payments', missed(accountId), stack.keys.admin);
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        const view = await get(`/v1/cases/${accountId}`, stack.keys.supervisor);
        expect(view.status, JSON.stringify(view.body)).toBe(200);
        expect(view.body).toMatchObject({ caseKey: r.body.caseId, outstandingMinor: 100_000, stage: 'open' });
        return r.body.caseId;
      }),
    );
    expect(new Set(opened).size).toBe(8);
  });

  it('answers 400 with field-level issues', async () => {
    const accountId = uniqueAccountId('BAD');
    const body = {
      ...missed(accountId),
      debtor: { name: '李四', timeZone: 'Mars/Olympus' },
      amountDue: { amountMinor: 1.5, currency: 'CNY' },
    };
    const r = await post('/v1/missed-payments', body, stack.keys.admin);
    expectProblem(r, 400);
    const paths = (r.body.issues as Array<{ path: string }>).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.amountDue.amountMinor', 'body.debtor.timeZone']));
    expect(
      r.body.issues.every((i: { message: unknown; code: unknown }) => typeof i.message === 'string' && typeof i.code === 'string'),
    ).toBe(true);

    const extra = await post('/v1/missed-payments', { ...missed(accountId), unexpected: 1 }, stack.keys.admin);
    expectProblem(extra, 400);
    expect(extra.body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'body', code: 'unrecognized_keys' })]));
    // Unknown keys are refused at every level: a misspelt `phone` would otherwise open a case with no phone.
    const typo = await post(
      '/v1/missed-payments',
      { ...missed(accountId), debtor: { name: '李四', timeZone: TZ, phone: '+86 139 0000 0003' } },
      stack.keys.admin,
    );
    expectProblem(typo, 400);
    expect(typo.body.issues).toEqual([expect.objectContaining({ path: 'body.debtor', code: 'unrecognized_keys' })]);
    const nested = await post(
      '/v1/missed-payments',
      {
        ...missed(accountId),
        guarantors: [{ id: 'G1', name: '王', phone: '1' }],
        amountDue: { amountMinor: 1, currency: 'CNY', fx: 1 },
      },
      stack.keys.admin,
    );
    expectProblem(nested, 400);
    expect(nested.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['body.amountDue', 'body.guarantors.0']);
    // A guarantor given twice (one id): which one would the case and the ledger keep?
    const twice = await post(
      '/v1/missed-payments',
      {
        ...missed(accountId),
        guarantors: [
          { id: 'G1', name: '王', phones: ['+86 139 0000 0004'] },
          { id: 'G1', name: '王二', phones: ['+86 139 0000 0005'] },
        ],
      },
      stack.keys.admin,
    );
    expectProblem(twice, 400);
    expect(twice.body.issues).toEqual([
      expect.objectContaining({ path: 'body.guarantors.1.id', message: 'guarantor id G1 is given twice' }),
    ]);
    // Nothing was started for a refused request.
    await expect(stack.client.workflow.getHandle(caseWorkflowId(accountId)).describe()).rejects.toThrow();
  });

  it('answers 409 for an instalment in another currency than the open case, and 422 for an unknown playbook', async () => {
    const c = await openCase({ prefix: 'FX' });
    const usd = await post(
      '/v1/missed-payments',
      missed(c.accountId, { dueDate: addDays(yesterday(), -30), currency: 'USD' }),
      stack.keys.admin,
    );
    expectProblem(usd, 409);
    expect(usd.body.detail).toMatch(/CNY/);
    expect((await caseState(c.accountId)).missedPayments).toHaveLength(1);
    const playbook = await post(
      '/v1/missed-payments',
      { ...missed(uniqueAccountId('PB')), playbookId: 'no-such-playbook' },
      stack.keys.admin,
    );
    // Published playbooks are in the ledger: an id no playbook has is refused by intake, not by the schema.
    expectProblem(playbook, 422);
    expect(playbook.body.detail).toBe('no playbook no-such-playbook, built in or published');
    const badId = await post('/v1/missed-payments', { ...missed(uniqueAccountId('PB')), playbookId: 'Not An Id' }, stack.keys.admin);
    expectProblem(badId, 400);
    expect(badId.body.issues.map((i: { path: string }) => i.path)).toEqual(['body.playbookId']);
  });

  it('answers 401 without a key or with an unknown one, and 403 for a collector', async () => {
    const body = missed(uniqueAccountId('AUTH'));
    expectProblem(await post('/v1/missed-payments', body), 401);
    expectProblem(await post('/v1/missed-payments', body, 'rk_admin_not-a-real-key-0123456789abcdef'), 401);
    // The X-API-Key header is the other way to present a key.
    const viaHeader = await fetch(`${stack.apiUrl}/v1/missed-payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'rk_admin_bogus' },
      body: JSON.stringify(body),
    });
    expect(viaHeader.status).toBe(401);
    const forbidden = await post('/v1/missed-payments', body, stack.keys.collector);
    expectProblem(forbidden, 403);
    expect(forbidden.body.detail).toMatch(/collector/);
    await expect(stack.client.workflow.getHandle(caseWorkflowId(body.accountId)).describe()).rejects.toThrow();
  });

  it('after the case closed, the same instalment answers the old case (created:false) and starts no new run', async () => {
    const c = await closedCase();
    const r = await post('/v1/missed-payments', missed(c.accountId, { amountMinor: 10_000 }), stack.keys.admin);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ caseId: c.caseId, workflowId: caseWorkflowId(c.accountId), runId: c.runId, created: false });
    const described = await stack.client.workflow.getHandle(caseWorkflowId(c.accountId)).describe();
    expect(described.runId).toBe(c.runId);
    expect(described.status.name).toBe('COMPLETED');
    expect(await stack.sql`select 1 from cases where account_id = ${c.accountId}`).toHaveLength(1);
  });
});

describe('POST /v1/webhooks/payments', () => {
  it('applies a payment once: 200 applied:true, then applied:false for the same payment', async () => {
    const c = await openCase({ prefix: 'PAY' });
    const p = payment(c.accountId, `${c.accountId}-p1`, 40_000);
    expect(await hook(p)).toMatchObject({ status: 200, body: { applied: true } });
    expect(await hook(p)).toMatchObject({ status: 200, body: { applied: false } });
    expect((await caseState(c.accountId)).outstandingMinor).toBe(60_000);
    await expect.poll(() => receiptStatus(p.paymentId)).toEqual(['applied']);
    await expect.poll(async () => (await stack.sql`select 1 from payments where payment_id = ${p.paymentId}`).length).toBe(1);
  });

  it('answers 401 for a missing, wrong, stale or tampered signature, and keeps nothing', async () => {
    const c = await openCase({ prefix: 'SIG' });
    const p = payment(c.accountId, `${c.accountId}-sig`, 1_000);
    const url = `${stack.apiUrl}/v1/webhooks/payments`;

    const unsigned = remember('post', '/v1/webhooks/payments', await postJson(url, p));
    expectProblem(unsigned, 401);
    expectProblem(await hook(p, { secret: 'whsec_someone_else' }), 401);
    expectProblem(await hook(p, { atSeconds: Math.floor(Date.now() / 1000) - 301 }), 401);
    // Signed for one body, sent with another: the amount changed on the way.
    const signed = signBody(WEBHOOK_SECRET, Math.floor(Date.now() / 1000), JSON.stringify(p));
    expectProblem(await hook({ ...p, amountMinor: 1 }, { signature: signed }), 401);
    expectProblem(await hook(p, { signature: 'garbage' }), 401);

    expect(await receiptStatus(p.paymentId)).toEqual([]);
    expect((await caseState(c.accountId)).outstandingMinor).toBe(100_000);
    // The same payment correctly signed is taken.
    expect(await hook(p)).toMatchObject({ status: 200, body: { applied: true } });
  });

  it('answers 400 for a signed but invalid body', async () => {
    const c = await openCase({ prefix: 'INV' });
    const r = await hook({ ...payment(c.accountId, `${c.accountId}-bad`, 1_000), amountMinor: -5, paidAt: 'yesterday' });
    expectProblem(r, 400);
    expect(r.body.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['body.amountMinor', 'body.paidAt']));
    expectProblem(await hook('{"paymentId": '), 400);
    expect(await receiptStatus(`${c.accountId}-bad`)).toEqual([]);
  });

  it('answers 404 for an unknown account and keeps the payment as unmatched', async () => {
    const accountId = uniqueAccountId('NOCASE');
    const r = await hook(payment(accountId, `${accountId}-x`, 500));
    expectProblem(r, 404);
    expect(await receiptStatus(`${accountId}-x`)).toEqual(['unmatched']);
  });

  it('answers 409 after the case closed and keeps the payment as after-close', async () => {
    const c = await closedCase();
    // The payment that closed the case, delivered again, is a duplicate: 200 applied:false.
    expect(await hook(payment(c.accountId, `${c.accountId}-full`, 10_000))).toMatchObject({ status: 200, body: { applied: false } });
    const late = await hook(payment(c.accountId, `${c.accountId}-late`, 700));
    expectProblem(late, 409);
    expect(await receiptStatus(`${c.accountId}-late`)).toEqual(['after-close']);
  });

  it('answers 422 for another currency and keeps the payment as rejected', async () => {
    const c = await openCase({ prefix: 'CUR' });
    const r = await hook(payment(c.accountId, `${c.accountId}-usd`, 1_000, 'USD'));
    expectProblem(r, 422);
    expect(r.body.detail).toMatch(/CNY/);
    expect(await receiptStatus(`${c.accountId}-usd`)).toEqual(['rejected']);
    expect((await caseState(c.accountId)).outstandingMinor).toBe(100_000);
  });

  it('one signed webhook delivered 10 times at once is applied exactly once', async () => {
    const c = await openCase({ prefix: 'RACE' });
    const raw = JSON.stringify(payment(c.accountId, `${c.accountId}-once`, 30_000));
    const sig = signBody(WEBHOOK_SECRET, Math.floor(Date.now() / 1000), raw);
    const replies = await Promise.all(Array.from({ length: 10 }, () => hook(raw, { signature: sig })));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    const applied = replies.map((r) => r.body.applied as boolean);
    expect(applied.filter((a) => a)).toHaveLength(1);
    expect(applied.filter((a) => !a)).toHaveLength(9);
    const state = await caseState(c.accountId);
    expect(state.outstandingMinor).toBe(70_000);
    expect(state.payments).toHaveLength(1);
    await expect.poll(async () => (await stack.sql`select 1 from payments where account_id = ${c.accountId}`).length).toBe(1);
    await expect.poll(() => receiptStatus(`${c.accountId}-once`)).toEqual(['applied']);
    expect(await stack.sql`select 1 from payment_receipts where account_id = ${c.accountId}`).toHaveLength(1);
  });
});

describe('reading cases', () => {
  it('GET /v1/cases/:accountId: the case as the workflow sees it; 404 for an unknown account', async () => {
    const c = await openCase({ prefix: 'READ' });
    const r = await get(`/v1/cases/${c.accountId}`, stack.keys.collector);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      accountId: c.accountId,
      caseKey: c.caseId,
      stage: 'open',
      currency: 'CNY',
      daysOverdue: 1,
      outstandingMinor: 100_000,
    });
    expect(r.body.timeline[0]).toMatchObject({ what: 'case opened' });
    expectProblem(await get(`/v1/cases/${uniqueAccountId('GHOST')}`, stack.keys.supervisor), 404);
    expectProblem(await get(`/v1/cases/${c.accountId}`), 401);
    expectProblem(await get('/v1/cases/bad%20id', stack.keys.supervisor), 400);
  });

  it('GET /v1/cases lists by stage and collector, a page at a time', async () => {
    const collectorId = `col-${uniqueAccountId('L').toLowerCase()}`;
    const a = await openCase({ prefix: 'LIST', collectorId });
    const b = await openCase({ prefix: 'LIST', collectorId });
    const q = `/v1/cases?stage=open&collectorId=${collectorId}`;
    // Visibility is eventually consistent.
    await expect
      .poll(async () => ((await get(q, stack.keys.supervisor)).body.cases as Array<{ accountId: string }>).map((x) => x.accountId).sort(), {
        timeout: 15_000,
      })
      .toEqual([a.accountId, b.accountId].sort());
    const all = await get(q, stack.keys.legal);
    expect(all.status).toBe(200);
    for (const item of all.body.cases) {
      expect(item).toMatchObject({ workflowId: caseWorkflowId(item.accountId), status: 'running', stage: 'open', collectorId });
      expect(item.runId).toMatch(/\S/);
    }

    const page1 = await get(`${q}&pageSize=1`, stack.keys.supervisor);
    expect(page1.status).toBe(200);
    expect(page1.body.cases).toHaveLength(1);
    expect(page1.body.nextPageToken).toMatch(/^[A-Za-z0-9_-]+$/);
    const page2 = await get(`${q}&pageSize=1&pageToken=${page1.body.nextPageToken}`, stack.keys.supervisor);
    expect(page2.status).toBe(200);
    expect(page2.body.cases).toHaveLength(1);
    expect([page1.body.cases[0].accountId, page2.body.cases[0].accountId].sort()).toEqual([a.accountId, b.accountId].sort());

    // minDaysOverdue filters on the DaysOverdue attribute: these cases are 1 day overdue.
    await expect
      .poll(async () => (await get(`${q}&minDaysOverdue=1`, stack.keys.supervisor)).body.cases.length, { timeout: 15_000 })
      .toBe(2);
    expect((await get(`${q}&minDaysOverdue=2`, stack.keys.supervisor)).body.cases).toEqual([]);
  });

  it('GET /v1/cases refuses bad filters (400) and collectors (403)', async () => {
    const negative = await get('/v1/cases?minDaysOverdue=-1', stack.keys.supervisor);
    expectProblem(negative, 400);
    expect(negative.body.issues.map((i: { path: string }) => i.path)).toContain('query.minDaysOverdue');
    const unknownKey = await get('/v1/cases?colour=blue', stack.keys.supervisor);
    expectProblem(unknownKey, 400);
    expectProblem(await get("/v1/cases?collectorId=x'%20OR%20'1'='1", stack.keys.supervisor), 400);
    expectProblem(await get('/v1/cases?stage=closed', stack.keys.supervisor), 400);
    expectProblem(await get('/v1/cases?pageSize=0', stack.keys.supervisor), 400);
    expectProblem(await get('/v1/cases', stack.keys.collector), 403);
  });

  it('GET /v1/cases refuses a page token it did not issue with 400, without a long wait', { timeout: 20_000 }, async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    for (const token of ['AAAA', 'x'.repeat(50), b64('"abc"'), b64('[]'), b64('null'), b64('{"RunID":5}')]) {
      const started = Date.now();
      const r = await get(`/v1/cases?pageSize=1&pageToken=${token}`, stack.keys.supervisor);
      expectProblem(r, 400);
      expect(r.body.title).toBe('Invalid page token');
      expect(Date.now() - started, token).toBeLessThan(8_000);
    }
  });

  it('GET /v1/cases/:accountId/history: the ledger, case-opened first; 404 for an unknown account', async () => {
    const c = await openCase({ prefix: 'HIST' });
    await expect
      .poll(
        async () => (await stack.sql`select 1 from audit_log where account_id = ${c.accountId} and action = 'instalment-missed'`).length,
      )
      .toBe(1);
    const r = await get(`/v1/cases/${c.accountId}/history`, stack.keys.collector);
    expect(r.status).toBe(200);
    expect(r.body.accountId).toBe(c.accountId);
    expect(r.body.entries[0]).toMatchObject({
      actor: 'case-workflow',
      action: 'case-opened',
      at: expect.any(String),
      detail: expect.any(Object),
    });
    expect(r.body.entries.map((e: { action: string }) => e.action)).toContain('instalment-missed');
    expectProblem(await get(`/v1/cases/${uniqueAccountId('GHOST')}/history`, stack.keys.supervisor), 404);
    expectProblem(await get(`/v1/cases/${c.accountId}/history`, stack.keys['field-officer']), 403);
  });
});

describe('case actions', () => {
  const act = (accountId: string, name: string, body: unknown, key: string) => post(`/v1/cases/${accountId}/${name}`, body, key);

  it('promises: 201 with the promise id; a past date is 422 with the reason in detail', async () => {
    const c = await openCase({ prefix: 'PTP' });
    const past = await act(c.accountId, 'promises', { date: addDays(today(), -1), amountMinor: 10_000 }, stack.keys.collector);
    expectProblem(past, 422);
    expect(past.body.detail).toMatch(/in the past/);
    const ok = await act(c.accountId, 'promises', { date: addDays(today(), 3), amountMinor: 10_000 }, stack.keys.collector);
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ accepted: true, promiseId: 1, stage: 'open', detail: expect.any(String) });
    expect((await caseState(c.accountId)).promises).toMatchObject([{ id: 1, status: 'pending', amountMinor: 10_000 }]);
    const bad = await act(c.accountId, 'promises', { date: addDays(today(), 3), amountMinor: 0 }, stack.keys.collector);
    expectProblem(bad, 400);
    expectProblem(await act(c.accountId, 'promises', { date: addDays(today(), 3), amountMinor: 1 }, stack.keys['field-officer']), 403);
  });

  it("contact-outcomes: 202, on the case's timeline, recorded with the key's subject as actor", async () => {
    const c = await openCase({ prefix: 'OUT' });
    const r = await act(
      c.accountId,
      'contact-outcomes',
      { channel: 'phone', outcome: 'reached', reasonCategory: 2, note: 'will pay Friday' },
      stack.keys.collector,
    );
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ accepted: true });
    await expect
      .poll(async () => (await caseState(c.accountId)).timeline.map((t: { what: string }) => t.what))
      .toContain('contact outcome (phone)');
    await expect
      .poll(
        async () =>
          stack.sql`select actor, outcome, reason_category from contact_attempts
                    where account_id = ${c.accountId} and status = 'completed'`,
      )
      .toEqual([{ actor: 'collector-1', outcome: 'reached', reason_category: 2 }]);
    // The actor is the key's, never the body's.
    expectProblem(
      await act(c.accountId, 'contact-outcomes', { channel: 'phone', outcome: 'reached', actor: 'someone-else' }, stack.keys.collector),
      400,
    );
  });

  it(
    'visit-reports: a written promise is a date and an amount (400 for free text); ' + '422 before any visit; 403 for a collector',
    async () => {
      // The receivables playbook visits on day 21 at the earliest: this case has had no visit.
      // (test/case-repairs.test.ts reports on a visit that ran: 200 with the promise.)
      const accountId = uniqueAccountId('VIS');
      expect((await post('/v1/missed-payments', { ...missed(accountId), playbookId: 'receivables-sales' }, stack.keys.admin)).status).toBe(
        202,
      );
      const report = { outcome: 'met', signedStatement: true, writtenPromise: { date: addDays(yesterday(), 4), amountMinor: 5_000 } };
      expectProblem(
        await act(accountId, 'visit-reports', { ...report, writtenPromise: 'pays 5,000 by Friday' }, stack.keys['field-officer']),
        400,
      );
      const r = await act(accountId, 'visit-reports', report, stack.keys['field-officer']);
      expectProblem(r, 422);
      expect(r.body.detail).toBe('no field visit to report on yet');
      expectProblem(await act(accountId, 'visit-reports', { outcome: 'met', signedStatement: true }, stack.keys.collector), 403);
    },
  );

  it("guarantor-responses: 202, and the guarantor's status follows", async () => {
    const c = await openCase({ prefix: 'GUA', guarantors: [{ id: 'G1', name: '李保证', phones: ['+86 139 0000 0002'] }] });
    const r = await act(c.accountId, 'guarantor-responses', { guarantorId: 'G1', response: 'will-pay' }, stack.keys.collector);
    expect(r.status).toBe(202);
    await expect.poll(async () => (await caseState(c.accountId)).guarantors).toMatchObject([{ id: 'G1', status: 'will-pay' }]);
  });

  it('disputes (200), a second dispute (422), resolve (200); holds and resume', async () => {
    const c = await openCase({ prefix: 'DIS' });
    const d = await act(c.accountId, 'disputes', { reason: 'amount contested' }, stack.keys.collector);
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ accepted: true, stage: 'open', detail: expect.any(String) });
    const again = await act(c.accountId, 'disputes', { reason: 'again' }, stack.keys.collector);
    expectProblem(again, 422);
    expect(again.body.detail).toMatch(/already in dispute/);
    expectProblem(await act(c.accountId, 'disputes/resolve', {}, stack.keys.collector), 403);
    expect(await act(c.accountId, 'disputes/resolve', {}, stack.keys.legal)).toMatchObject({ status: 200, body: { accepted: true } });
    expect((await caseState(c.accountId)).dispute).toBeUndefined();

    expectProblem(await act(c.accountId, 'resume', {}, stack.keys.supervisor), 422);
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString();
    expect(await act(c.accountId, 'holds', { reason: 'debtor in hospital', until }, stack.keys.supervisor)).toMatchObject({
      status: 200,
      body: { accepted: true },
    });
    expect((await caseState(c.accountId)).hold).toMatchObject({ reason: 'debtor in hospital', until });
    expect(await act(c.accountId, 'resume', {}, stack.keys.supervisor)).toMatchObject({ status: 200, body: { accepted: true } });
    expect((await caseState(c.accountId)).hold).toBeUndefined();
    expectProblem(await act(c.accountId, 'holds', { reason: 'x', until: '2020-01-01T00:00:00Z' }, stack.keys.supervisor), 422);
  });

  it('treatment restructure is set by a supervisor without an approval; an approval of a treatment is 422', async () => {
    const c = await openCase({ prefix: 'TRT' });
    const set = await act(c.accountId, 'treatment', { treatment: 'restructure' }, stack.keys.supervisor);
    expect(set.status).toBe(200);
    expect(set.body.detail).toBe('treatment is restructure');
    const approved = await act(c.accountId, 'approvals', { kind: 'treatment' }, stack.keys.supervisor);
    expectProblem(approved, 422);
    expect(approved.body.detail).toMatch(/^a treatment needs no approval/);
    expect((await caseState(c.accountId)).treatment).toMatchObject({ kind: 'restructure', decidedBy: 'supervisor-1' });
  });

  it('approvals and legal events that do not apply are 422; legal events are for legal only', async () => {
    const c = await openCase({ prefix: 'LEG' });
    const referral = await act(c.accountId, 'approvals', { kind: 'legal-referral' }, stack.keys.supervisor);
    expectProblem(referral, 422);
    expect(referral.body.detail).toMatch(/no legal referral/);
    expectProblem(await act(c.accountId, 'approvals', { kind: 'treatment' }, stack.keys.supervisor), 422);
    expectProblem(await act(c.accountId, 'approvals', { kind: 'visit' }, stack.keys.supervisor), 422);
    expectProblem(await act(c.accountId, 'approvals', { kind: 'treatment' }, stack.keys.collector), 403);
    const event = { kind: 'filed', court: '海淀区人民法院', caseNumber: '(2026)京0108民初1号' };
    const notLegal = await act(c.accountId, 'legal-events', event, stack.keys.legal);
    expectProblem(notLegal, 422);
    expect(notLegal.body.detail).toMatch(/stage legal/);
    expectProblem(await act(c.accountId, 'legal-events', event, stack.keys.collector), 403);
    expectProblem(await act(c.accountId, 'legal-events', { kind: 'appeal' }, stack.keys.legal), 400);
    // A misspelt costMinor is refused, not silently dropped.
    const extra = await act(c.accountId, 'legal-events', { ...event, cost: 50_000 }, stack.keys.legal);
    expectProblem(extra, 400);
    expect(extra.body.issues).toEqual([expect.objectContaining({ path: 'body', code: 'unrecognized_keys' })]);
  });

  it('write-off by a supervisor closes the case written off; then every action is 409', async () => {
    const c = await openCase({ prefix: 'WO' });
    const r = await act(c.accountId, 'write-off', { reason: 'debtor deceased, no estate' }, stack.keys.supervisor);
    expect(r).toMatchObject({ status: 200, body: { accepted: true } });
    expect(await c.handle.result()).toMatchObject({ stage: 'written-off' });
    expect(await stack.sql`select actor from audit_log where account_id = ${c.accountId} and action = 'write-off'`).toEqual([
      { actor: 'supervisor-1' },
    ]);

    // A closed case: updates and signals alike are 409.
    expectProblem(await act(c.accountId, 'promises', { date: addDays(today(), 3), amountMinor: 1_000 }, stack.keys.collector), 409);
    expectProblem(await act(c.accountId, 'write-off', { reason: 'again' }, stack.keys.supervisor), 409);
    expectProblem(await act(c.accountId, 'disputes', { reason: 'late' }, stack.keys.collector), 409);
    expectProblem(await act(c.accountId, 'resume', {}, stack.keys.supervisor), 409);
    expectProblem(await act(c.accountId, 'contact-outcomes', { channel: 'phone', outcome: 'reached' }, stack.keys.collector), 409);
    expectProblem(await act(c.accountId, 'guarantor-responses', { guarantorId: 'G1', response: 'paid' }, stack.keys.collector), 409);
    // The closed case still answers its state.
    expect(await caseState(c.accountId)).toMatchObject({ stage: 'written-off' });
  });

  it('every action on an unknown account is 404', async () => {
    const ghost = uniqueAccountId('GHOST');
    expectProblem(await act(ghost, 'promises', { date: addDays(today(), 3), amountMinor: 1_000 }, stack.keys.collector), 404);
    expectProblem(await act(ghost, 'contact-outcomes', { channel: 'sms', outcome: 'no-answer' }, stack.keys.collector), 404);
    expectProblem(await act(ghost, 'visit-reports', { outcome: 'not-met', signedStatement: false }, stack.keys['field-officer']), 404);
    expectProblem(await act(ghost, 'guarantor-responses', { guarantorId: 'G1', response: 'refuses' }, stack.keys.collector), 404);
    expectProblem(await act(ghost, 'disputes', { reason: 'x' }, stack.keys.collector), 404);
    expectProblem(await act(ghost, 'disputes/resolve', {}, stack.keys.supervisor), 404);
    expectProblem(await act(ghost, 'holds', { reason: 'x' }, stack.keys.supervisor), 404);
    expectProblem(await act(ghost, 'resume', {}, stack.keys.supervisor), 404);
    expectProblem(await act(ghost, 'treatment', { treatment: 'litigate' }, stack.keys.supervisor), 404);
    expectProblem(await act(ghost, 'approvals', { kind: 'treatment' }, stack.keys.supervisor), 404);
    expectProblem(await act(ghost, 'legal-events', { kind: 'closed', outcome: 'x' }, stack.keys.legal), 404);
    expectProblem(await act(ghost, 'write-off', { reason: 'x' }, stack.keys.supervisor), 404);
  });
});

describe('work queues', () => {
  it("GET /v1/work-queues/calls: a collector's own calls of the day; another's queue is 403, a supervisor may look", async () => {
    const c = await openCase({ prefix: 'CALL', collectorId: 'collector-1' });
    const date = addDays(today(), 2); // a day no call of the case's own ladder is placed on yet
    const at = (d: string, t: string) => new Date(instantOf(d, t, TZ)).toISOString();
    const insert = (key: string, collectorId: string, d: string, time: string, status = 'open') => stack.sql<{ id: number }[]>`
      insert into call_tasks (idempotency_key, case_key, account_id, collector_id, party, phone, due_at, window_end, status)
      values (${`${c.caseId}:${key}`}, ${c.caseId}, ${c.accountId}, ${collectorId}, 'debtor', '+86 139 0000 0001',
              ${at(d, time)}, ${at(d, '20:00')}, ${status})
      returning id`;
    const [mine] = await insert('t1', 'collector-1', date, '10:00');
    const [late] = await insert('t2', 'collector-1', date, '23:30'); // 23:30 local is still that local date
    await insert('t3', 'collector-1', addDays(date, 1), '10:00');
    await insert('t4', 'collector-1', date, '11:00', 'done');
    const [theirs] = await insert('t5', 'collector-2', date, '10:00');

    const r = await get(`/v1/work-queues/calls?collectorId=collector-1&date=${date}`, stack.keys.collector);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ collectorId: 'collector-1', date });
    const ours = (r.body.calls as Array<{ accountId: string }>).filter((x) => x.accountId === c.accountId);
    expect(ours).toEqual([
      {
        taskId: mine!.id,
        accountId: c.accountId,
        party: 'debtor',
        partyRef: null,
        phone: '+86 139 0000 0001',
        dueAt: at(date, '10:00'),
        windowEnd: at(date, '20:00'),
        debtorName: '张三',
        outstandingMinor: 100_000,
        currency: 'CNY',
      },
      expect.objectContaining({ taskId: late!.id }),
    ]);

    expectProblem(await get(`/v1/work-queues/calls?collectorId=collector-2&date=${date}`, stack.keys.collector), 403);
    const sup = await get(`/v1/work-queues/calls?collectorId=collector-2&date=${date}`, stack.keys.supervisor);
    expect(sup.status).toBe(200);
    expect(sup.body.calls.map((x: { taskId: number }) => x.taskId)).toContain(theirs!.id);
    expectProblem(await get(`/v1/work-queues/calls?collectorId=collector-1&date=${date}`, stack.keys['field-officer']), 403);
    expectProblem(await get(`/v1/work-queues/calls?collectorId=collector-1&date=2026-02-30`, stack.keys.collector), 400);
    expectProblem(await get(`/v1/work-queues/calls?collectorId=collector-1`, stack.keys.collector), 400);
  });

  it("GET /v1/work-queues/visits: a field officer's own visits of the day", async () => {
    const c = await openCase({ prefix: 'VQ' });
    await stack.sql`insert into field_officers (officer_id, name, region, vehicle)
                    values ('field-officer-1', '王外勤', 'api-test-region', '京A12345')
                    on conflict (officer_id) do nothing`;
    await stack.sql`insert into field_officers (officer_id, name, region) values ('field-officer-2', '赵外勤', 'api-test-region')
                    on conflict (officer_id) do nothing`;
    const date = addDays(today(), 2);
    const insert = (key: string, officer: string, d: string, from: string, status = 'planned') => stack.sql<{ id: number }[]>`
      insert into visits (idempotency_key, case_key, account_id, planned_for, window_from, window_to, officer_id, vehicle,
                          materials, purpose, approval_required, status)
      values (${`${c.caseId}:${key}`}, ${c.caseId}, ${c.accountId}, ${d}, ${from}, '18:00', ${officer}, '京A12345',
              ${['loan contract']}, 'site visit', true, ${status})
      returning id`;
    const [mine] = await insert('v1', 'field-officer-1', date, '09:00');
    await insert('v2', 'field-officer-1', date, '10:00', 'cancelled');
    await insert('v3', 'field-officer-1', addDays(date, 1), '09:00');
    const [theirs] = await insert('v4', 'field-officer-2', date, '09:00');

    const r = await get(`/v1/work-queues/visits?officerId=field-officer-1&date=${date}`, stack.keys['field-officer']);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ officerId: 'field-officer-1', date });
    expect((r.body.visits as Array<{ accountId: string }>).filter((v) => v.accountId === c.accountId)).toEqual([
      {
        visitId: mine!.id,
        accountId: c.accountId,
        debtorName: '张三',
        address: null,
        windowFrom: '09:00',
        windowTo: '18:00',
        purpose: 'site visit',
        materials: ['loan contract'],
        vehicle: '京A12345',
        status: 'planned',
        approvalRequired: true,
      },
    ]);
    expectProblem(await get(`/v1/work-queues/visits?officerId=field-officer-2&date=${date}`, stack.keys['field-officer']), 403);
    const sup = await get(`/v1/work-queues/visits?officerId=field-officer-2&date=${date}`, stack.keys.supervisor);
    expect(sup.status).toBe(200);
    expect(sup.body.visits.map((v: { visitId: number }) => v.visitId)).toEqual([theirs!.id]);
    expectProblem(await get(`/v1/work-queues/visits?officerId=field-officer-1&date=${date}`, stack.keys.collector), 403);
  });
});

describe('operations and HTTP behaviour', () => {
  it('healthz and readyz', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: { ok: true } });
    expect(await get('/readyz')).toMatchObject({ status: 200, body: { ok: true, checks: { temporal: 'ok', postgres: 'ok' } } });
  });

  it('readyz answers 503 when PostgreSQL is unreachable; the webhook is 503 without a secret and 429 over its rate', async () => {
    const deadDb = connectDb('postgres://nobody@127.0.0.1:1/nothing');
    const apps = [
      createApp({ client: stack.client, sql: deadDb, taskQueue: stack.taskQueue }, createLogger('silent')),
      createApp(
        { client: stack.client, sql: stack.sql, taskQueue: stack.taskQueue, webhookSecret: WEBHOOK_SECRET, webhookRateLimit: 2 },
        createLogger('silent'),
      ),
    ];
    const servers = apps.map((app) => app.listen(0, '127.0.0.1'));
    await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.once('listening', () => resolve()))));
    const [unready, limited] = servers.map((srv) => `http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
    try {
      expect(await getJson(`${unready}/readyz`)).toMatchObject({
        status: 503,
        body: { ok: false, checks: { temporal: 'ok', postgres: 'unreachable' } },
      });
      expectProblem(await postSignedWebhook(`${unready}/v1/webhooks/payments`, payment('A1', 'p-503', 1)), 503);

      const unknown = uniqueAccountId('RATE');
      expectProblem(await postSignedWebhook(`${limited}/v1/webhooks/payments`, payment(unknown, `${unknown}-1`, 1)), 404);
      expectProblem(await postSignedWebhook(`${limited}/v1/webhooks/payments`, payment(unknown, `${unknown}-2`, 1)), 404);
      const third = await postSignedWebhook(`${limited}/v1/webhooks/payments`, payment(unknown, `${unknown}-3`, 1));
      expectProblem(third, 429);
      expect(third.headers.get('ratelimit-policy')).toMatch(/q=2/);
      expect(await receiptStatus(`${unknown}-3`)).toEqual([]);
    } finally {
      await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
      await deadDb.end({ timeout: 1 });
    }
  });

  it('every response carries X-Request-Id, echoed when the client sends a sane one', async () => {
    const fresh = await fetch(`${stack.apiUrl}/healthz`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await fetch(`${stack.apiUrl}/v1/cases/${uniqueAccountId('RID')}`, { headers: { 'x-request-id': 'trace-42.a_b' } });
    expect(echoed.status).toBe(401);
    expect(echoed.headers.get('x-request-id')).toBe('trace-42.a_b');
    const insane = await fetch(`${stack.apiUrl}/healthz`, { headers: { 'x-request-id': 'no spaces <script>' } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const tooLong = await fetch(`${stack.apiUrl}/healthz`, { headers: { 'x-request-id': 'a'.repeat(101) } });
    expect(tooLong.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('errors are application/problem+json: unknown route 404, invalid JSON 400, a body over 64 KB 413', async () => {
    expectProblem(await get('/v1/nothing-here', stack.keys.admin), 404);
    const invalid = await post('/v1/missed-payments', '{"accountId": "A1",', stack.keys.admin);
    expectProblem(invalid, 400);
    expect(invalid.body.title).toBe('Invalid JSON');
    const big = { ...missed(uniqueAccountId('BIG')), debtor: { name: 'x', timeZone: TZ, address: 'y'.repeat(70 * 1024) } };
    expectProblem(await post('/v1/missed-payments', big, stack.keys.admin), 413);
    // The webhook takes at most 16 KB.
    expectProblem(await hook({ ...payment('A1', 'big', 1), pad: 'z'.repeat(20 * 1024) }), 413);
  });

  it('a body in another content type is 415, not taken for an empty one', async () => {
    const c = await openCase({ prefix: 'CT' });
    await post(`/v1/cases/${c.accountId}/holds`, { reason: 'on holiday' }, stack.keys.supervisor);
    const send = (body: string | undefined, type?: string) =>
      fetch(`${stack.apiUrl}/v1/cases/${c.accountId}/resume`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.keys.supervisor}`, ...(type ? { 'content-type': type } : {}) },
        ...(body !== undefined ? { body } : {}),
      });
    const plain = await send('please resume', 'text/plain');
    expect(plain.status).toBe(415);
    expect(plain.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await send('{}', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await caseState(c.accountId)).hold).toMatchObject({ reason: 'on holiday' });
    // No body at all is an empty one; JSON with a charset is JSON.
    expect((await send(undefined)).status).toBe(200);
    expect((await caseState(c.accountId)).hold).toBeUndefined();
    await post(`/v1/cases/${c.accountId}/holds`, { reason: 'again' }, stack.keys.supervisor);
    expect((await send('{}', 'application/json; charset=utf-8')).status).toBe(200);
  });

  it('logs carry no PII, and carry the request id', async () => {
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => void lines.push(line) });
    const app = createApp({ client: stack.client, sql: stack.sql, taskQueue: stack.taskQueue, webhookSecret: WEBHOOK_SECRET }, log);
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const accountId = uniqueAccountId('PII');
      const body = missed(accountId, {
        debtor: { phones: ['+86 138 1234 5678'], idNumber: '110108199001011234', address: '北京市海淀区中关村大街1号' },
      });
      const opened = await fetch(`${base}/v1/missed-payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.keys.admin}`, 'x-request-id': 'pii-req-1' },
        body: JSON.stringify(body),
      });
      expect(opened.status).toBe(202);
      // A refused body that carries the PII too (its issues are answered, not logged).
      const refused = await fetch(`${base}/v1/missed-payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.keys.admin}`, 'x-request-id': 'pii-req-2' },
        body: JSON.stringify({ ...body, debtor: { ...body.debtor, phones: ['+86 138 1234 5678 ext'] } }),
      });
      expect(refused.status).toBe(400);
      // Phone numbers and ID numbers in URLs, plain and percent-encoded.
      const urls = [
        '/v1/cases/13812345678',
        '/v1/cases/110108199001011234/history',
        '/v1/cases/+86%20138%201234%205678',
        '/v1/cases/+86%20138%201234%205678%zz', // a malformed escape after it
        '/v1/cases/138-1234-5678',
      ];
      for (const [i, path] of urls.entries()) {
        const r = await fetch(`${base}${path}`, {
          headers: { authorization: `Bearer ${stack.keys.supervisor}`, 'x-request-id': `pii-url-${i}` },
        });
        expect(r.status).toBeGreaterThanOrEqual(400);
      }
      await expect.poll(() => lines.join('')).toContain(`pii-url-${urls.length - 1}`);
      const text = lines.join('');
      for (const id of ['pii-req-1', 'pii-req-2', ...urls.map((_, i) => `pii-url-${i}`)]) expect(text).toContain(id);
      for (const pii of ['13812345678', '138 1234 5678', '138%201234%205678', '138-1234-5678', '110108199001011234', '中关村'])
        expect(text).not.toContain(pii);
      expect(text).not.toContain('1234 5678');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('the OpenAPI document', () => {
  it('documents every status this file saw the API answer with', async () => {
    const doc = (await getJson(`${stack.apiUrl}/v1/openapi.json`)).body as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const routes = allRoutes({ client: stack.client, sql: stack.sql, taskQueue: stack.taskQueue }).map((r) => ({
      method: r.method,
      oaPath: r.path.replace(/:(\w+)/g, '{$1}'),
      re: new RegExp(`^${r.path.replace(/:(\w+)/g, '[^/]+')}$`),
    }));
    const undocumented = new Set<string>();
    for (const s of seen) {
      // 413 (body too large) is the transport's, for any route that takes a body.
      if (s.status === 413) continue;
      const r = routes.find((x) => x.method === s.method && x.re.test(s.path));
      if (!r) continue; // no such route: the catch-all 404
      if (!(String(s.status) in doc.paths[r.oaPath]![r.method]!.responses))
        undocumented.add(`${s.method.toUpperCase()} ${r.oaPath} → ${s.status}`);
    }
    expect([...undocumented]).toEqual([]);
    expect(seen.length).toBeGreaterThan(100);
  });
});
