// Debtor data never reaches Temporal in clear: the raw history of a case (read by a client without the
// codec) holds none of the debtor's or guarantor's particulars; decoded with the codec, all of them.
// The codec server decodes for the Temporal UI and the CLI; key rotation keeps old cases readable.
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { addDays, localDate } from '../shared/calendar';
import { dataConverterFor, EncryptionCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../shared/codec';
import { WORKFLOWS_PATH } from '../worker/worker';
import { getJson, payByWebhook, postJson, startStack, uniqueAccountId, type Stack } from './helpers';
import { decodeHistoryPayloads, metadataOf, payloadsIn } from './history-payloads';

const TZ = 'Asia/Shanghai';
const PII = {
  name: '欧阳振华',
  idNumber: '110105198807154321',
  phone: '+86 137 1234 9876',
  email: 'zhenhua.ouyang@example.cn',
  address: '上海市浦东新区世纪大道88号',
  guarantorName: '司马秀英',
  guarantorPhone: '+86 135 8765 4321',
};
const UI_TOKEN = 'ui-token-0123456789abcdef0123456789abcdef';
const UI_ORIGIN = 'http://127.0.0.1:8233';

let stack: Stack;
let raw: { connection: Connection; client: Client };

beforeAll(async () => {
  stack = await startStack({ codecServer: { uiToken: UI_TOKEN, corsOrigins: [UI_ORIGIN] } });
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  raw = { connection, client: new Client({ connection, namespace: inject('temporalNamespace') }) };
});
afterAll(async () => {
  await raw?.connection.close();
  await stack?.stop();
});

const intakeBody = (accountId: string) => ({
  accountId,
  debtor: {
    name: PII.name,
    idNumber: PII.idNumber,
    phones: [PII.phone],
    email: PII.email,
    address: PII.address,
    timeZone: TZ,
  },
  guarantors: [{ id: 'G1', name: PII.guarantorName, phones: [PII.guarantorPhone] }],
  dueDate: addDays(localDate(Date.now(), TZ), -1),
  amountDue: { amountMinor: 500_000, currency: 'CNY' },
});

async function openCase(s: Stack, accountId = uniqueAccountId('ENC')) {
  const r = await postJson(`${s.apiUrl}/v1/missed-payments`, intakeBody(accountId), s.keys.admin);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  await expect.poll(async () => (await s.sql`select 1 from cases where account_id = ${accountId}`).length, { timeout: 20_000 }).toBe(1);
  return { accountId, workflowId: r.body.workflowId as string };
}

type Hist = proto.temporal.api.history.v1.IHistory;
const historyBytes = (h: Hist) => Buffer.from(proto.temporal.api.history.v1.History.encode(h).finish());
const strings = Object.values(PII);
const found = (bytes: Buffer) => strings.filter((s) => bytes.includes(Buffer.from(s)));

/**
 * What stays readable by design: search attributes, and what the SDK's core writes into its own
 * markers (a patch's id; a local activity's sequence number and type).
 */
const readableByDesign = (where = '') =>
  /searchAttributes\.indexedFields\./.test(where) || /markerRecordedEventAttributes\.details\.(patch-data|data)\.payloads$/.test(where);
const meta = metadataOf;
const decodeAll = async (h: Hist, codec: EncryptionCodec): Promise<Hist> => decodeHistoryPayloads(h, codec);

describe('payload encryption', () => {
  it("leaves none of the debtor's particulars in the raw history; decoded, all of them are there", async () => {
    const c = await openCase(stack);
    expect((await payByWebhook(stack.apiUrl, c.accountId, `${c.accountId}-p1`, 10_000)).status).toBe(200);
    // The case shows what it holds to a supervisor through the API (a client with the codec).
    const view = await getJson(`${stack.apiUrl}/v1/cases/${c.accountId}`, stack.keys.supervisor);
    expect(view.status).toBe(200);
    expect(JSON.stringify(view.body)).toContain(PII.guarantorName);

    const history = await raw.client.workflow.getHandle(c.workflowId).fetchHistory();
    const payloads = payloadsIn(history);
    expect(payloads.length).toBeGreaterThan(5);
    const clear = payloads.filter((p) => meta(p, 'encoding') !== ENCRYPTED_ENCODING && !readableByDesign(p.where));
    expect(clear.map((p) => p.where)).toEqual([]);
    const encrypted = payloads.filter((p) => meta(p, 'encoding') === ENCRYPTED_ENCODING);
    expect(encrypted.map((p) => p.where)).toEqual(
      expect.arrayContaining([
        '.events.workflowExecutionStartedEventAttributes.input.payloads',
        '.events.userMetadata.summary',
        '.events.markerRecordedEventAttributes.details.result.payloads',
        '.events.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest.input.args.payloads',
      ]),
    );
    const rawBytes = historyBytes(history);
    expect(found(rawBytes)).toEqual([]);
    console.log(
      `[encryption] raw history: ${rawBytes.length} bytes, ${encrypted.length} payloads encrypted, ` +
        `${payloads.length - encrypted.length} readable by design (search attributes, SDK markers); particulars found: 0`,
    );

    const decoded = historyBytes(await decodeAll(history, stack.codec));
    expect(found(decoded)).toEqual(strings);
    // A client without the codec cannot read the case's answers either.
    await expect(raw.client.workflow.getHandle(c.workflowId).query('caseState', Date.now())).rejects.toThrow();
  });

  it('keeps personal data out of search attributes', async () => {
    const c = await openCase(stack);
    const d = await raw.client.workflow.getHandle(c.workflowId).describe();
    const attrs = JSON.stringify(d.searchAttributes) + JSON.stringify(d.typedSearchAttributes);
    expect(attrs.length).toBeGreaterThan(20);
    expect(found(Buffer.from(attrs))).toEqual([]);
  });
});

describe('the codec server', () => {
  const sample = async () => {
    const [p] = await stack.codec.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(PII)) }]);
    return {
      payloads: [
        {
          metadata: {
            encoding: Buffer.from(meta(p!, 'encoding')).toString('base64'),
            [KEY_ID_METADATA]: Buffer.from(meta(p!, KEY_ID_METADATA)).toString('base64'),
          },
          data: Buffer.from(p!.data!).toString('base64'),
        },
      ],
    };
  };
  const decodedName = (body: { payloads: { data: string }[] }) => JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString()).name;

  it('decodes for a supervisor or legal, not for a collector or without a key', async () => {
    const body = await sample();
    const ok = await postJson(`${stack.apiUrl}/v1/codec/decode`, body, stack.keys.supervisor);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(decodedName(ok.body)).toBe(PII.name);
    expect((await postJson(`${stack.apiUrl}/v1/codec/decode`, body, stack.keys.legal)).status).toBe(200);
    expect((await postJson(`${stack.apiUrl}/v1/codec/decode`, body, stack.keys.collector)).status).toBe(403);
    expect((await postJson(`${stack.apiUrl}/v1/codec/decode`, body)).status).toBe(401);
  });

  it("decodes on the UI's secret path, for the UI's origin only; a wrong path is not found", async () => {
    const body = await sample();
    const ui = await fetch(`${stack.apiUrl}/v1/codec/ui/${UI_TOKEN}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: UI_ORIGIN, 'x-namespace': 'default' },
      body: JSON.stringify(body),
    });
    expect(ui.status).toBe(200);
    expect(ui.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(decodedName((await ui.json()) as never)).toBe(PII.name);
    const preflight = (origin: string) =>
      fetch(`${stack.apiUrl}/v1/codec/ui/${UI_TOKEN}/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const allowed = await preflight(UI_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    const other = await preflight('http://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect((await postJson(`${stack.apiUrl}/v1/codec/ui/${'x'.repeat(UI_TOKEN.length)}/decode`, body)).status).toBe(404);
  });

  it('encodes back, answers 400 with the issues on a bad body and 422 on a payload under an unknown key', async () => {
    const enc = await postJson(
      `${stack.apiUrl}/v1/codec/encode`,
      { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"x"').toString('base64') }] },
      stack.keys.supervisor,
    );
    expect(enc.status).toBe(200);
    expect(Buffer.from(enc.body.payloads[0].metadata.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    // The Temporal CLI sends {} for no payloads (a query without arguments): an empty list back.
    const none = await postJson(`${stack.apiUrl}/v1/codec/decode`, {}, stack.keys.supervisor);
    expect(none).toMatchObject({ status: 200, body: { payloads: [] } });
    const bad = await postJson(`${stack.apiUrl}/v1/codec/decode`, { payloads: [{ data: 'not base64!' }] }, stack.keys.supervisor);
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toBe('body.payloads.0.data');
    const foreign = await new EncryptionCodec({ active: 'elsewhere', keys: new Map([['elsewhere', randomBytes(32)]]) }).encode([
      { metadata: {}, data: Buffer.from('x') },
    ]);
    const unknown = await postJson(
      `${stack.apiUrl}/v1/codec/decode`,
      {
        payloads: foreign.map((p) => ({
          metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(p.data!).toString('base64'),
        })),
      },
      stack.keys.supervisor,
    );
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail).toMatch(/key "elsewhere", which is not in the key ring/);
  });
});

describe('key rotation', () => {
  it('cases started under key 1 still replay and answer queries once key 2 is active; key 1 removed, they do not', async () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const ringK1 = new EncryptionCodec({ active: 'k1', keys: new Map([['k1', k1]]) });
    const ringK1K2 = new EncryptionCodec({
      active: 'k2',
      keys: new Map([
        ['k1', k1],
        ['k2', k2],
      ]),
    });
    const ringK2 = new EncryptionCodec({ active: 'k2', keys: new Map([['k2', k2]]) });
    const taskQueue = `test-rotation-${randomBytes(4).toString('hex')}`;

    const before = await startStack({ codec: ringK1, taskQueue });
    const a = await openCase(before);
    await before.stop();

    const after = await startStack({ codec: ringK1K2, taskQueue });
    try {
      // A new worker: case A replays its key-1 history, then answers and takes a payment under key 2.
      const viewA = await getJson(`${after.apiUrl}/v1/cases/${a.accountId}`, after.keys.supervisor);
      expect(viewA.status, JSON.stringify(viewA.body)).toBe(200);
      expect(JSON.stringify(viewA.body)).toContain(PII.guarantorPhone);
      expect((await payByWebhook(after.apiUrl, a.accountId, `${a.accountId}-p1`, 10_000)).body).toEqual({ applied: true });
      const b = await openCase(after);
      expect((await getJson(`${after.apiUrl}/v1/cases/${b.accountId}`, after.keys.supervisor)).status).toBe(200);

      const histA = await raw.client.workflow.getHandle(a.workflowId).fetchHistory();
      const histB = await raw.client.workflow.getHandle(b.workflowId).fetchHistory();
      const keysOf = (h: Hist) =>
        [
          ...new Set(
            payloadsIn(h)
              .filter((p) => !readableByDesign(p.where))
              .map((p) => meta(p, KEY_ID_METADATA)),
          ),
        ].sort();
      expect(keysOf(histA)).toEqual(['k1', 'k2']);
      expect(keysOf(histB)).toEqual(['k2']);

      const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
      const replay = (codec: EncryptionCodec, workflowId: string, history: Hist) =>
        Worker.runReplayHistory({ workflowBundle, dataConverter: dataConverterFor(codec) }, history, workflowId);
      await replay(ringK1K2, a.workflowId, histA);
      await replay(ringK1K2, b.workflowId, histB);
      await expect(replay(ringK2, a.workflowId, histA)).rejects.toThrow(/which is not in the key ring \(keys: k2\)/);
    } finally {
      await after.stop();
    }
  });
});
