import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHttpProvider } from '../activities/channels/index';
import { addDays, localDate } from '../shared/calendar';
import { verifySignature } from '../shared/signature';
import { getJson, middayZone, openCaseByApi, payByWebhook, postJson, startStack, uniqueAccountId, type Stack } from './helpers';

/**
 * Events out (issue 15, part 2) on the real stack: a subscriber (an HTTP server in this test) gets a
 * case's events from the dispatcher workflow, signed, in order; survives the subscriber being down; and
 * a subscriber answering 410 pauses its subscription.
 */
interface Received {
  id: string;
  type: string;
  accountId: string;
  caseKey: string;
  signed: boolean;
}

interface Subscriber {
  url: string;
  server: Server;
  /** What it took (2xx), with whether the signature held. */
  taken: Received[];
  /** Requests it got, taken or not. */
  seen: number;
  /** Its answer to the next request. */
  answer: () => number;
  secret: string;
}

/** A subscriber: an HTTP server that answers `answer()` to every POST and keeps what it took. */
async function subscriber(): Promise<Subscriber> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      sub.seen++;
      const status = sub.answer();
      if (status >= 200 && status < 300) {
        const e = JSON.parse(raw) as Received;
        const signed = verifySignature(String(req.headers['recoup-signature']), raw, sub.secret, Math.floor(Date.now() / 1000));
        sub.taken.push({ ...e, signed: signed && req.headers['recoup-event-id'] === e.id });
      }
      res.writeHead(status).end();
    });
  });
  const sub: Subscriber = { url: '', server, taken: [], seen: 0, answer: () => 200, secret: '' };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return sub;
}

let stack: Stack;
const servers: Server[] = [];
/** The channel gateway the relay sends channel_outbox through: it takes every message, and keeps it. */
const gateway = {
  url: '',
  secret: 'gw_secret_0123456789abcdef',
  got: [] as Array<{ key: string; body: Record<string, any>; signed: boolean }>,
};
beforeAll(async () => {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      const signed = verifySignature(String(req.headers['recoup-signature']), raw, gateway.secret, Math.floor(Date.now() / 1000));
      gateway.got.push({ key, body: JSON.parse(raw), signed });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `gw-${gateway.got.length}`, status: 'sent' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  gateway.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/messages`;
  stack = await startStack({ relayGateway: createHttpProvider({ url: gateway.url, secret: gateway.secret, name: 'gateway' }) });
});
afterAll(async () => {
  for (const s of servers) s.close();
  await stack?.stop();
});

const TZ = 'Asia/Shanghai';
const subscribe = async (url: string, eventTypes: string[]) => {
  const r = await postJson(`${stack.apiUrl}/v1/subscriptions`, { url, eventTypes, description: 'test' }, stack.keys.admin);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { subscriptionId: string; secret: string };
};
const eventsOf = (accountId: string) =>
  stack.sql<{ event_id: string; type: string }[]>`select event_id, type from case_events where account_id = ${accountId} order by id`;
/** The subscriber's events of an account, a redelivery counted once (as a subscriber deduplicates on the id). */
const dedup = (taken: Received[], accountId: string) => {
  const seen = new Set<string>();
  return taken.filter((e) => e.accountId === accountId && !seen.has(e.id) && seen.add(e.id));
};

/** A case's life: opened, a promise made and kept by a payment in full, closed. */
async function life(accountId: string) {
  await openCaseByApi(stack, accountId, { amountMinor: 10_000 });
  await vi.waitFor(async () => expect(await stack.sql`select 1 from cases where account_id = ${accountId}`).toHaveLength(1), {
    timeout: 20_000,
  });
  const promise = await postJson(
    `${stack.apiUrl}/v1/cases/${accountId}/promises`,
    { date: addDays(localDate(Date.now(), TZ), 3), amountMinor: 10_000 },
    stack.keys.supervisor,
  );
  expect(promise.status, JSON.stringify(promise.body)).toBe(201);
  const owed = (await getJson(`${stack.apiUrl}/v1/cases/${accountId}`, stack.keys.supervisor)).body.outstandingMinor as number;
  const paid = await payByWebhook(stack.apiUrl, accountId, `${accountId}-pay`, owed);
  expect(paid.body).toEqual({ applied: true });
  await vi.waitFor(
    async () => expect(await stack.sql`select 1 from cases where account_id = ${accountId} and closed_at is not null`).toHaveLength(1),
    { timeout: 30_000 },
  );
}

describe('a subscriber to every event', () => {
  it(
    'gets each event of a case once after dedup, in order, signed; and after 2 minutes down, what it missed',
    { timeout: 400_000 },
    async () => {
      const sub = await subscriber();
      servers.push(sub.server);
      const s = await subscribe(sub.url, ['*']);
      sub.secret = s.secret;

      const a = uniqueAccountId('EVT');
      await life(a);
      const want = await eventsOf(a);
      expect(want.map((e) => e.type)).toEqual(
        expect.arrayContaining(['case.opened', 'promise.made', 'promise.kept', 'case.stage_changed', 'case.closed']),
      );
      expect(want[0]!.type).toBe('case.opened');
      expect(want.at(-1)!.type).toBe('case.closed');
      await vi.waitFor(() => expect(dedup(sub.taken, a).map((e) => e.id)).toEqual(want.map((e) => e.event_id)), { timeout: 60_000 });
      expect(sub.taken.filter((e) => e.accountId === a).every((e) => e.signed)).toBe(true);

      // Down for 2 minutes (503): a second case's events wait, in order, and arrive once it is back.
      const downUntil = Date.now() + 120_000;
      sub.answer = () => (Date.now() < downUntil ? 503 : 200);
      const b = uniqueAccountId('EVT');
      await life(b);
      const wantB = await eventsOf(b);
      await vi.waitFor(
        async () => {
          const [d] = await stack.sql<{ attempts: number }[]>`
        select max(attempts)::int as attempts from event_deliveries where subscription_id = ${s.subscriptionId} and status = 'pending'`;
          expect(d!.attempts).toBeGreaterThanOrEqual(3);
        },
        { timeout: 90_000, interval: 1_000 },
      );
      expect(dedup(sub.taken, b)).toEqual([]);
      const failing = await getJson(`${stack.apiUrl}/v1/subscriptions/${s.subscriptionId}`, stack.keys.admin);
      expect(failing.body).toMatchObject({ status: 'active', pending: wantB.length });
      expect(failing.body.failingSince).not.toBeNull();
      await vi.waitFor(() => expect(dedup(sub.taken, b).map((e) => e.id)).toEqual(wantB.map((e) => e.event_id)), {
        timeout: 240_000,
        interval: 1_000,
      });
      expect(Date.now()).toBeGreaterThanOrEqual(downUntil);
      expect(sub.taken.filter((e) => e.accountId === b).every((e) => e.signed)).toBe(true);

      // The delivery log: the first event of b took several attempts, the last answer 200.
      const log = await getJson(`${stack.apiUrl}/v1/subscriptions/${s.subscriptionId}/deliveries?limit=500`, stack.keys.admin);
      const first = log.body.deliveries.find((x: { eventId: string }) => x.eventId === wantB[0]!.event_id);
      expect(first).toMatchObject({ status: 'delivered', lastStatus: 200, type: 'case.opened' });
      expect(first.attempts).toBeGreaterThan(3);
      const after = await getJson(`${stack.apiUrl}/v1/subscriptions/${s.subscriptionId}`, stack.keys.admin);
      expect(after.body).toMatchObject({ status: 'active', pending: 0, failingSince: null });
    },
  );
});

describe('subscriptions', () => {
  it('a subscriber answering 410 is paused, its events kept for a resume', { timeout: 120_000 }, async () => {
    const sub = await subscriber();
    servers.push(sub.server);
    sub.answer = () => 410;
    const s = await subscribe(sub.url, ['case.opened']);
    sub.secret = s.secret;
    const a = uniqueAccountId('EVT');
    await openCaseByApi(stack, a, { amountMinor: 10_000 });
    await vi.waitFor(
      async () => {
        const v = await getJson(`${stack.apiUrl}/v1/subscriptions/${s.subscriptionId}`, stack.keys.admin);
        expect(v.body).toMatchObject({ status: 'paused', pending: 1 });
        expect(v.body.pausedReason).toMatch(/410 Gone/);
      },
      { timeout: 60_000 },
    );
    const seen = sub.seen;
    // Paused, it still queues: a case opened now waits for the resume.
    const a2 = uniqueAccountId('EVT');
    await openCaseByApi(stack, a2, { amountMinor: 10_000 });
    await vi.waitFor(
      async () =>
        expect((await getJson(`${stack.apiUrl}/v1/subscriptions/${s.subscriptionId}`, stack.keys.admin)).body).toMatchObject({
          status: 'paused',
          pending: 2,
        }),
      { timeout: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 3_000));
    expect(sub.seen).toBe(seen);

    // Resumed, to a subscriber that takes it: the event goes out.
    sub.answer = () => 204;
    const resumed = await postJson(
      `${stack.apiUrl}/v1/subscriptions/${s.subscriptionId}/resume`,
      { reason: 'endpoint fixed' },
      stack.keys.admin,
    );
    expect(resumed.body).toMatchObject({ status: 'active' });
    await vi.waitFor(
      () => {
        expect(dedup(sub.taken, a).map((e) => e.type)).toEqual(['case.opened']);
        expect(dedup(sub.taken, a2).map((e) => e.type)).toEqual(['case.opened']);
      },
      { timeout: 30_000 },
    );
    // Oldest first.
    expect(sub.taken.map((e) => e.accountId).filter((x) => x === a || x === a2)).toEqual([a, a2]);
  });

  it('are for admins, and refuse a bad URL or an unknown event type', async () => {
    const url = `${stack.apiUrl}/v1/subscriptions`;
    expect((await postJson(url, { url: 'http://127.0.0.1:1/x', eventTypes: ['*'] }, stack.keys.supervisor)).status).toBe(403);
    const bad = await postJson(url, { url: 'ftp://x', eventTypes: ['case.exploded'] }, stack.keys.admin);
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['body.url', 'body.eventTypes.0']));
    expect((await getJson(`${url}/sub-000000000000`, stack.keys.admin)).status).toBe(404);
  });
});

describe('the relay of channel_outbox', () => {
  it('sends a letter a case queued through the gateway, with its PDF, and marks it sent', { timeout: 120_000 }, async () => {
    // The relay as the engine starts it when RECOUP_CHANNEL_GATEWAY_URL is set (here with an id of this test's).
    await stack.client.workflow.start('outboxRelay', {
      workflowId: `relay-${stack.taskQueue}`,
      taskQueue: stack.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    // On the receivables playbook, day 0 is a statement of account: a letter queued in channel_outbox.
    const a = uniqueAccountId('RLY');
    const noon = middayZone();
    const r = await postJson(
      `${stack.apiUrl}/v1/missed-payments`,
      {
        accountId: a,
        debtor: { name: '赵六', timeZone: noon, phones: ['+86 139 0000 0066'], address: '北京市东城区6号' },
        dueDate: addDays(localDate(Date.now(), noon), -1),
        amountDue: { amountMinor: 50_000, currency: 'CNY' },
        playbookId: 'receivables-sales',
      },
      stack.keys.admin,
    );
    expect(r.status).toBe(202);
    await vi.waitFor(
      async () => {
        const rows = await stack.sql<{ status: string; provider_ref: string | null; channel: string; idempotency_key: string }[]>`
          select status, provider_ref, channel, idempotency_key from channel_outbox where account_id = ${a} and channel = 'letter'`;
        expect(rows.length).toBeGreaterThan(0);
        expect(rows.every((x) => x.status === 'sent' && x.provider_ref?.startsWith('gw-'))).toBe(true);
      },
      { timeout: 90_000, interval: 500 },
    );
    const [letter] = await stack.sql<{ idempotency_key: string; provider_ref: string }[]>`
      select idempotency_key, provider_ref from channel_outbox where account_id = ${a} and channel = 'letter' order by id limit 1`;
    const sent = gateway.got.filter((g) => g.key === letter!.idempotency_key);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent[0]!.signed).toBe(true);
    expect(sent[0]!.body.document.pdfBase64.length).toBeGreaterThan(1_000);
    expect(Buffer.from(sent[0]!.body.document.pdfBase64, 'base64').subarray(0, 5).toString()).toBe('%PDF-');
    const [notice] = await stack.sql<{ delivery_status: string; provider_ref: string }[]>`
      select delivery_status, provider_ref from notices where idempotency_key = ${letter!.idempotency_key}`;
    expect(notice).toEqual({ delivery_status: 'sent', provider_ref: letter!.provider_ref });
  });
});

describe("the ledger's triggers", () => {
  it('write promise and plan events as the rows change, including a promise recorded already kept', async () => {
    const a = uniqueAccountId('TRG');
    await openCaseByApi(stack, a, { amountMinor: 10_000 });
    await vi.waitFor(async () => expect(await stack.sql`select 1 from cases where account_id = ${a}`).toHaveLength(1), { timeout: 20_000 });
    const [c] = await stack.sql<{ case_key: string }[]>`select case_key from cases where account_id = ${a}`;
    const key = c!.case_key;
    // As the ledger's writes make them (activities/ledger.ts, activities/treatments.ts), in one transaction each.
    await stack.sql`insert into promises (idempotency_key, case_key, promise_no, promised_date, amount_minor, status, made_at)
                    values (${`${key}:p1`}, ${key}, 1, '2026-12-01', 5000, 'pending', now())`;
    await stack.sql`update promises set status = 'broken' where case_key = ${key} and promise_no = 1`;
    await stack.sql`insert into promises (idempotency_key, case_key, promise_no, promised_date, amount_minor, status, made_at, settled_at)
                    values (${`${key}:p2`}, ${key}, 2, '2026-12-02', 5000, 'kept', now(), now())`;
    const plan = (status: string) => stack.sql`
      insert into repayment_plans (case_key, account_id, plan_no, status, proposed_by, proposed_at, total_minor, grace_days, penalty_mode,
                                   revision, updated_at)
      values (${key}, ${a}, 1, ${status}, 'collector-1', now(), 10000, 3, 'frozen', 1, now())
      on conflict (case_key, plan_no) do update set status = excluded.status`;
    await plan('proposed');
    await plan('active');
    await plan('broken');
    const types = (await eventsOf(a)).map((e) => e.type).filter((t) => !t.startsWith('case.'));
    expect(types).toEqual(['promise.made', 'promise.broken', 'promise.made', 'promise.kept', 'plan.made', 'plan.broken']);
  });
});
