import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ChannelErrors,
  createHttpProvider,
  createOutboxProvider,
  signBody,
  validateRecipient,
  verifySignature,
  type OutboundMessage,
} from '../activities/channels/index';
import { connectDb } from '../db/index';

const SECRET = 'whsec_test_secret';

function message(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    idempotencyKey: `msg-${randomUUID()}`,
    channel: 'sms',
    caseKey: `case-${randomUUID().slice(0, 8)}`,
    accountId: `ACC-${randomUUID().slice(0, 8)}`,
    recipient: { name: 'Li Wei', phone: '+8613800000000' },
    body: 'Your instalment of CNY 1,200.00 is 15 days overdue.',
    ...overrides,
  };
}

/** Runs `fn`, expecting it to throw an ApplicationFailure, and returns that failure. */
async function failure(fn: () => Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected an ApplicationFailure, but the call succeeded');
}

describe('validateRecipient', () => {
  it('accepts each channel with its address and rejects it without', () => {
    expect(() => validateRecipient(message({ channel: 'sms', recipient: { name: 'A', phone: '+1' } }))).not.toThrow();
    expect(() => validateRecipient(message({ channel: 'email', recipient: { name: 'A', email: 'a@example.com' } }))).not.toThrow();
    expect(() => validateRecipient(message({ channel: 'letter', recipient: { name: 'A', address: '1 Main St' } }))).not.toThrow();
    for (const m of [
      message({ channel: 'sms', recipient: { name: 'A', email: 'a@example.com' } }),
      message({ channel: 'email', recipient: { name: 'A', phone: '+1' } }),
      message({ channel: 'letter', recipient: { name: 'A', address: '   ' } }),
    ]) {
      let thrown: unknown;
      try {
        validateRecipient(m);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ApplicationFailure);
      expect((thrown as ApplicationFailure).type).toBe(ChannelErrors.InvalidRecipient);
      expect((thrown as ApplicationFailure).nonRetryable).toBe(true);
    }
  });
});

describe('outbox provider', () => {
  const sql = connectDb(inject('databaseUrl'), { max: 2 });
  const outbox = createOutboxProvider(sql);
  afterAll(() => sql.end());

  const rowsFor = (keys: string[]) =>
    sql<{ id: number; idempotency_key: string; channel: string; recipient: any; payload: any; provider: string; status: string }[]>`
      select id, idempotency_key, channel, recipient, payload, provider, status from channel_outbox
      where idempotency_key in ${sql(keys)} order by id`;

  it('queues a message once per idempotency key; a second send returns the first receipt as a duplicate', async () => {
    const m = message();
    const first = await outbox.send(m);
    const second = await outbox.send({ ...m });
    expect(first).toEqual({ provider: 'outbox', providerRef: expect.stringMatching(/^outbox#\d+$/), status: 'queued', duplicate: false });
    expect(second).toEqual({ ...first, duplicate: true });

    const rows = await rowsFor([m.idempotencyKey]);
    expect(rows).toHaveLength(1);
    expect(`outbox#${rows[0]!.id}`).toBe(first.providerRef);
    expect(rows[0]).toMatchObject({ channel: 'sms', provider: 'outbox', status: 'queued', recipient: m.recipient });
  });

  it('queues two messages with different keys as two rows', async () => {
    const a = message();
    const b = message({ caseKey: a.caseKey, accountId: a.accountId });
    const [ra, rb] = await Promise.all([outbox.send(a), outbox.send(b)]);
    expect(ra.providerRef).not.toBe(rb.providerRef);
    expect(ra.duplicate || rb.duplicate).toBe(false);
    expect(await rowsFor([a.idempotencyKey, b.idempotencyKey])).toHaveLength(2);
  });

  it('stores a letter’s document metadata but not its PDF bytes', async () => {
    const m = message({
      channel: 'letter',
      recipient: { name: 'Li Wei', address: '88 Century Ave, Shanghai' },
      subject: 'Overdue notice',
      document: {
        kind: 'overdue-notice',
        language: 'zh-CN',
        reference: `N-${randomUUID()}`,
        contentHash: 'sha256:abc',
        pdfBase64: 'JVBERi0xLjcK',
      },
    });
    await outbox.send(m);
    const [row] = await rowsFor([m.idempotencyKey]);
    expect(row!.payload).toEqual({
      subject: 'Overdue notice',
      body: m.body,
      document: { kind: 'overdue-notice', language: 'zh-CN', reference: m.document!.reference, contentHash: 'sha256:abc' },
    });
    expect(JSON.stringify(row!.payload)).not.toContain('JVBERi0xLjcK');
  });

  it('refuses a message without the recipient’s address for its channel, and writes nothing', async () => {
    const m = message({ channel: 'email', recipient: { name: 'Li Wei', phone: '+8613800000000' } });
    const f = await failure(() => outbox.send(m));
    expect(f.type).toBe('InvalidRecipient');
    expect(f.nonRetryable).toBe(true);
    expect(await rowsFor([m.idempotencyKey])).toHaveLength(0);
  });
});

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  signatureValid: boolean;
}
type Reply = (req: Recorded, res: http.ServerResponse) => void;

describe('http provider', () => {
  const requests: Recorded[] = [];
  let reply: Reply = (_req, res) => json(res, 201, { id: 'gw-1' });
  let server: http.Server;
  let url: string;

  function json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const header = req.headers['recoup-signature'];
        const recorded: Recorded = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawBody,
          signatureValid: typeof header === 'string' && verifySignature(header, rawBody, SECRET, Math.floor(Date.now() / 1000)),
        };
        requests.push(recorded);
        if (!recorded.signatureValid) return json(res, 401, { error: 'bad signature' });
        reply(recorded, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/messages`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const provider = (opts: { timeoutMs?: number; secret?: string } = {}) =>
    createHttpProvider({ url, secret: opts.secret ?? SECRET, name: 'test-gateway', timeoutMs: opts.timeoutMs ?? 5_000 });

  it('POSTs the signed JSON message with its Idempotency-Key; a 201 with an id is the receipt', async () => {
    reply = (_req, res) => json(res, 201, { id: 'gw-1' });
    const m = message({ channel: 'email', recipient: { name: 'Li Wei', email: 'li.wei@example.com' }, subject: 'Reminder' });
    const receipt = await provider().send(m);
    expect(receipt).toEqual({ provider: 'test-gateway', providerRef: 'gw-1', status: 'queued', duplicate: false });

    const req = requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/messages');
    expect(req.signatureValid).toBe(true);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe(m.idempotencyKey);
    expect(req.headers['recoup-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(JSON.parse(req.rawBody)).toEqual(m);
  });

  it('takes the status and duplicate flag from a 2xx answer', async () => {
    reply = (_req, res) => json(res, 200, { id: 'gw-2', status: 'delivered', duplicate: true });
    expect(await provider().send(message())).toEqual({
      provider: 'test-gateway',
      providerRef: 'gw-2',
      status: 'delivered',
      duplicate: true,
    });
  });

  it('treats a 409 with an id as a duplicate receipt', async () => {
    reply = (_req, res) => json(res, 409, { id: 'gw-1', status: 'sent' });
    expect(await provider().send(message())).toEqual({ provider: 'test-gateway', providerRef: 'gw-1', status: 'sent', duplicate: true });
  });

  it('fails a 422 as non-retryable ChannelRejected, with the status and an excerpt of the answer', async () => {
    reply = (_req, res) => json(res, 422, { error: 'phone number is not mobile' });
    const f = await failure(() => provider().send(message()));
    expect(f.type).toBe('ChannelRejected');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('422');
    expect(f.message).toContain('phone number is not mobile');
  });

  it('fails a 503 as retryable ChannelUnavailable', async () => {
    reply = (_req, res) => json(res, 503, { error: 'maintenance' });
    const f = await failure(() => provider().send(message()));
    expect(f.type).toBe('ChannelUnavailable');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain('503');
  });

  it('fails a gateway that never answers as retryable ChannelUnavailable after timeoutMs', async () => {
    reply = () => undefined; // hold the request open
    const started = Date.now();
    const f = await failure(() => provider({ timeoutMs: 200 }).send(message()));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(f.message).toContain('no answer within 200 ms');
    expect(f.type).toBe('ChannelUnavailable');
    expect(f.nonRetryable).toBe(false);
  });

  it('fails a refused connection as retryable ChannelUnavailable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const f = await failure(() =>
      createHttpProvider({ url: `http://127.0.0.1:${port}/messages`, secret: SECRET, timeoutMs: 2_000 }).send(message()),
    );
    expect(f.message).toContain('ECONNREFUSED');
    expect(f.type).toBe('ChannelUnavailable');
    expect(f.nonRetryable).toBe(false);
  });

  it('is rejected by the gateway when signed with the wrong secret', async () => {
    reply = (_req, res) => json(res, 201, { id: 'never' });
    const f = await failure(() => provider({ secret: 'not-the-secret' }).send(message()));
    expect(requests.at(-1)!.signatureValid).toBe(false);
    expect(f.type).toBe('ChannelRejected'); // the 401
    expect(f.nonRetryable).toBe(true);
  });

  it('refuses an invalid recipient before calling the gateway', async () => {
    const before = requests.length;
    const f = await failure(() => provider().send(message({ channel: 'letter', recipient: { name: 'Li Wei' } })));
    expect(f.type).toBe('InvalidRecipient');
    expect(f.nonRetryable).toBe(true);
    expect(requests.length).toBe(before);
  });
});

describe('signBody / verifySignature', () => {
  const body = JSON.stringify({ id: 1, text: 'Overdue: CNY 1,200.00 — 逾期通知' });
  const t = 1_760_000_000;

  it('verifies its own signature, and fails a tampered body or a wrong secret', () => {
    const header = signBody(SECRET, t, body);
    expect(header).toMatch(/^t=1760000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(header, body, SECRET, t)).toBe(true);
    expect(verifySignature(header, body.replace('1,200', '1,201'), SECRET, t)).toBe(false);
    expect(verifySignature(header, body, 'other-secret', t)).toBe(false);
  });

  it('accepts a timestamp 299 s old and refuses one 301 s old (or 301 s ahead)', () => {
    const header = signBody(SECRET, t, body);
    expect(verifySignature(header, body, SECRET, t + 299)).toBe(true);
    expect(verifySignature(header, body, SECRET, t + 301)).toBe(false);
    expect(verifySignature(header, body, SECRET, t - 301)).toBe(false);
    expect(verifySignature(header, body, SECRET, t + 301, 600)).toBe(true);
  });

  it('returns false for malformed headers and wrong-length signatures', () => {
    const v1 = signBody(SECRET, t, body).split(',v1=')[1]!;
    for (const header of [
      '',
      'garbage',
      `v1=${v1}`,
      `t=${t}`,
      `t=abc,v1=${v1}`,
      `t=${t},v1=${v1.slice(0, 62)}`,
      `t=${t},v1=${v1}00`,
      `t=${t},v1=${'z'.repeat(64)}`,
      `t=${t},t=${t},v1=${v1}`,
    ]) {
      expect(verifySignature(header, body, SECRET, t), header).toBe(false);
    }
    // A second v1 (secret rotation) is fine as long as one matches.
    expect(verifySignature(`t=${t},v1=${'0'.repeat(64)},v1=${v1}`, body, SECRET, t)).toBe(true);
  });
});
