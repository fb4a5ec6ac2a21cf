import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { allRoutes } from '../api/app';
import type { Role } from '../api/auth';
import { PaymentWebhookBody } from '../api/routes/intake';
import { MissedPaymentBody } from '../shared/intake';
import { addDays, localDate } from '../shared/calendar';
import { CASE_GENERATION, type CaseInput } from '../shared/case';
import { caseWorkflowId } from '../shared/ids';
import { DEFAULT_PLAYBOOK, Playbook } from '../shared/playbook';
import { signBody } from '../shared/signature';
import { getJson, postJson, postSignedWebhook, startStack, uniqueAccountId, WEBHOOK_SECRET, type Reply, type Stack } from './helpers';

/**
 * 1,000 malformed bodies across every POST endpoint, each sent with a key (or a signature) that lets it
 * reach validation: none may answer 5xx, every answer is a 4xx problem document, and the target case
 * and the ledger are exactly as they were.
 */
const SEED = 20_261_128;
const CONCURRENCY = 8;
const BODIES = 2_400;
const TZ = 'Asia/Shanghai';

let stack: Stack;
let target: string;
beforeAll(async () => {
  stack = await startStack();
  // A playbook with nothing due for a year and no penalty: only a message could change the case.
  target = uniqueAccountId('FUZZ');
  const quiet = Playbook.parse({
    ...DEFAULT_PLAYBOOK,
    id: 'fuzz-quiet',
    penaltyBpsPerDay: 0,
    steps: [{ id: 'later', day: 365, action: 'phone-call', window: { from: '09:00', to: '18:00' }, description: 'Nothing before this' }],
  });
  const input: CaseInput = {
    generation: CASE_GENERATION,
    accountId: target,
    debtor: { name: '周八', timeZone: TZ, phones: ['+86 139 0000 0008'], jurisdiction: 'CN' },
    guarantors: [{ id: 'G1', name: '吴保证', phones: ['+86 139 0000 0009'] }],
    currency: 'CNY',
    firstMissed: { dueDate: addDays(localDate(Date.now(), TZ), -1), amountMinor: 500_000, currency: 'CNY' },
    playbook: quiet,
  };
  await stack.client.workflow.start('collectionCase', { taskQueue: stack.taskQueue, workflowId: caseWorkflowId(target), args: [input] });
  await vi.waitFor(async () => expect(await stack.sql`select 1 from cases where account_id = ${target}`).toHaveLength(1));
  const paid = await postSignedWebhook(`${stack.apiUrl}/v1/webhooks/payments`, {
    paymentId: `${target}-real`,
    accountId: target,
    amountMinor: 1_000,
    currency: 'CNY',
    paidAt: new Date().toISOString(),
  });
  expect(paid.body).toEqual({ applied: true });
  await vi.waitFor(async () => expect(await stack.sql`select 1 from payments where account_id = ${target}`).toHaveLength(1));
});
afterAll(async () => {
  await stack?.stop();
});

// ---- the endpoints, from the route table: the very schemas the app validates with ----
interface Endpoint {
  name: string;
  url: string;
  schema: z.ZodType;
  /** The webhook: signed, parsed with JSON.parse (null is taken as {}). Else an API key and express.json (strict). */
  signed: boolean;
  key?: string;
  valid: Record<string, unknown>;
}

const inDays = (n: number) => addDays(localDate(Date.now(), TZ), n);
/** A valid body for each POST route; the mutations start from it. */
const validBodies = (accountId: string): Record<string, Record<string, unknown>> => ({
  '/v1/missed-payments': {
    accountId,
    debtor: {
      name: '周八',
      timeZone: TZ,
      idNumber: '110108199001011234',
      phones: ['+86 139 0000 0008'],
      email: 'a@example.com',
      address: '北京',
      region: 'r',
      jurisdiction: 'CN',
    },
    guarantors: [{ id: 'G1', name: '吴保证', phones: ['+86 139 0000 0009'], address: '北京' }],
    dueDate: inDays(6),
    amountDue: { amountMinor: 10_000, currency: 'CNY' },
    playbookId: 'micro-loan-default',
    collectorId: 'collector-1',
  },
  '/v1/webhooks/payments': {
    paymentId: `${accountId}-fuzz`,
    accountId,
    amountMinor: 1_000,
    currency: 'CNY',
    paidAt: '2026-11-28T10:00:00+08:00',
  },
  '/v1/cases/:accountId/promises': { date: inDays(3), amountMinor: 10_000 },
  '/v1/cases/:accountId/contact-outcomes': { channel: 'phone', outcome: 'reached', reasonCategory: 2, note: 'n' },
  '/v1/cases/:accountId/visit-reports': {
    outcome: 'met',
    signedStatement: true,
    writtenPromise: { date: inDays(3), amountMinor: 10_000 },
    note: 'n',
  },
  '/v1/cases/:accountId/contact-details': {
    debtor: { phones: ['+86 139 0000 0010'], email: 'b@example.com', address: '上海' },
    guarantors: [{ id: 'G1', address: '北京' }],
  },
  '/v1/cases/:accountId/guarantor-responses': { guarantorId: 'G1', response: 'will-pay' },
  '/v1/cases/:accountId/disputes': { reason: 'contested' },
  '/v1/cases/:accountId/disputes/resolve': {},
  '/v1/cases/:accountId/holds': { reason: 'hospital', until: '2099-01-01T00:00:00Z' },
  '/v1/cases/:accountId/resume': {},
  '/v1/cases/:accountId/treatment': { treatment: 'restructure' },
  '/v1/cases/:accountId/approvals': { kind: 'treatment' },
  '/v1/cases/:accountId/legal-events': { kind: 'filed', court: 'c', caseNumber: 'n', costMinor: 100 },
  '/v1/cases/:accountId/write-off': { reason: 'r' },
  '/v1/cases/:accountId/plans': {
    instalments: [{ dueDate: inDays(30), amountMinor: 10_000 }],
    graceDays: 3,
    penalty: { mode: 'reduced', bpsPerDay: 1 },
    security: { kind: 'guarantee', description: 'd', valueMinor: 100 },
    note: 'n',
  },
  '/v1/cases/:accountId/plans/decisions': { decision: 'approve', note: 'n' },
  '/v1/cases/:accountId/in-kind': { step: 'appraised', valueMinor: 100, appraiser: 'a', document: 'd' },
  '/v1/cases/:accountId/in-kind/shortfall': { decision: 'collect', note: 'n' },
  '/v1/cases/:accountId/situation': { creditGrade: 'B', segment: 'sme', funds: 'good' },
  '/v1/cases/:accountId/receipts': { paymentId: 'P-1' },
  '/v1/accounts/:accountId/credit-hold/release': { reason: 'r' },
  '/v1/credit-status/delist': { accountId: 'ACC-1', reason: 'paid in full, reviewed' },
  '/v1/accounts/:accountId/contact-preferences': {
    ceaseCommunication: true,
    preferredChannel: 'sms',
    preferredLanguage: 'en',
    thirdPartyConsent: true,
    reason: 'asked in writing',
  },
  '/v1/accounts/:accountId/guarantors/:guarantorId/contact-preferences': { ceaseCommunication: true, reason: 'asked in writing' },
  // A subscriber nobody runs, for a type no fuzzed request makes: a valid body subscribes it, and nothing is sent.
  '/v1/subscriptions': { url: 'http://127.0.0.1:9/fuzz', eventTypes: ['plan.kept'], description: 'fuzz' },
  '/v1/subscriptions/:subscriptionId/pause': { reason: 'maintenance' },
  '/v1/subscriptions/:subscriptionId/resume': { reason: 'maintenance over' },
  '/v1/teams': { teamId: 'fuzz-team', name: 'n', leaderId: 'fuzz-person', region: 'r', segments: ['sme'] },
  '/v1/people': {
    personId: 'fuzz-person',
    name: 'n',
    role: 'collector',
    teamId: 'fuzz-team',
    callsPerDay: 10,
    visitsPerDay: 1,
    languages: ['zh-CN'],
    active: true,
  },
  '/v1/people/:personId/days-off': { days: [inDays(3)] },
  '/v1/people/:personId/api-keys': {},
  '/v1/assignment-rules': {
    priority: 1,
    teamId: 'fuzz-team',
    region: 'r',
    segment: 's',
    minBalanceMinor: 1,
    maxBalanceMinor: 2,
    minDaysOverdue: 1,
    maxDaysOverdue: 2,
    language: 'zh-CN',
  },
  '/v1/cases/:accountId/reassign': { collectorId: 'fuzz-person', teamId: 'fuzz-team', reason: 'r' },
  '/v1/work-queues/calls/:taskId/assign': { collectorId: 'fuzz-person' },
  '/v1/assignment-rules/:ruleId/deactivate': {},
  '/v1/reports/weekly/schedule/trigger': {},
  '/v1/reports/weekly/schedule/pause': {},
  '/v1/reports/weekly/schedule/unpause': {},
  '/v1/reports/weekly/:id/approve': {},
  '/v1/reports/weekly/:id/check': {},
  '/v1/playbook-rules': {
    priority: 10,
    playbookId: 'receivables-sales',
    match: { productIn: ['fuzz'], balanceFromMinor: 1 },
    description: 'f',
  },
  '/v1/playbook-rules/:ruleId/deactivate': {},
  '/v1/experiments': {
    experimentId: 'fuzz-exp',
    name: 'fuzz',
    championPlaybookId: 'micro-loan-default',
    challengerPlaybookId: 'receivables-sales',
    challengerVersion: 1,
    challengerPercent: 20,
    match: { productIn: ['fuzz'], segmentIn: ['sme'], creditGradeIn: ['B'], balanceToMinor: 10 },
  },
  '/v1/experiments/:experimentId/end': {},
  '/v1/targets': {
    periodKind: 'month',
    periodStart: '2031-06-01',
    scope: 'team',
    scopeId: 'fuzz-team',
    currency: 'CNY',
    recoveryTargetMinor: 1,
    costBudgetMinor: 1,
    issuedMinor: 1,
    bookBalanceMinor: 1,
    bookAccounts: 1,
  },
});

/** What each path parameter of a POST route stands for (:accountId is the target case). */
const PATH_VALUES: Record<string, string> = {
  personId: 'fuzz-person',
  taskId: '1',
  ruleId: '1',
  id: '1',
  guarantorId: 'G1',
  subscriptionId: 'sub-000000000000',
  experimentId: 'fuzz-exp',
};

function endpoints(): Endpoint[] {
  const valid = validBodies(target);
  return allRoutes({ client: stack.client, sql: stack.sql, taskQueue: stack.taskQueue })
    .filter((r) => r.method === 'post' && r.body)
    .map((r) => {
      const role: Role | undefined =
        r.path === '/v1/missed-payments' ? 'admin' : typeof r.access === 'object' ? r.access.roles[0] : undefined;
      return {
        name: r.path,
        url: `${stack.apiUrl}${r.path.replace(/:(\w+)/g, (_, name: string) => PATH_VALUES[name] ?? target)}`,
        schema: r.body!,
        signed: r.access === 'signature',
        ...(role ? { key: stack.keys[role] } : {}),
        valid: valid[r.path]!,
      };
    });
}

/** The body the route's handler would see for this raw text, or undefined when the app refuses the text itself. */
function serverView(ep: Endpoint, raw: string): { value: unknown } | undefined {
  if (ep.signed) {
    try {
      return { value: JSON.parse(raw) ?? {} };
    } catch {
      return undefined;
    }
  }
  // express.json with strict: an empty body is {}, else only an object or an array is parsed. Its
  // UTF-8 decoding drops a leading byte order mark.
  raw = raw.replace(/^\uFEFF/, '');
  if (raw.length === 0) return { value: {} };
  const first = /^[\x20\x09\x0a\x0d]*(.)/s.exec(raw)?.[1];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return { value: JSON.parse(raw) };
  } catch {
    return undefined;
  }
}
const acceptedBy = (ep: Endpoint, raw: string) => {
  const v = serverView(ep, raw);
  return v !== undefined && ep.schema.safeParse(v.value).success;
};

// ---- malformations ----
type Path = Array<string | number>;
function pathsOf(v: unknown, prefix: Path = []): Path[] {
  if (v === null || typeof v !== 'object') return [];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  return entries.flatMap(([k, x]) => [[...prefix, k], ...pathsOf(x, [...prefix, k])]);
}
const leafPaths = (v: unknown, pred: (x: unknown) => boolean) => pathsOf(v).filter((p) => pred(getAt(v, p)));
const objectPaths = (v: unknown): Path[] => [[], ...leafPaths(v, (x) => x !== null && typeof x === 'object' && !Array.isArray(x))];
function getAt(v: unknown, p: Path): unknown {
  return p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v);
}
/** A copy with the value at the path replaced (defineProperty: a key such as __proto__ becomes a real key). */
function setAt<T>(v: T, p: Path, value: unknown): T {
  const copy = structuredClone(v);
  const parent = getAt(copy, p.slice(0, -1)) as Record<string | number, unknown>;
  Object.defineProperty(parent, p[p.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}
function deleteAt<T>(v: T, p: Path): T {
  const copy = structuredClone(v);
  const parent = getAt(copy, p.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const k = p[p.length - 1]!;
  if (Array.isArray(parent)) parent.splice(Number(k), 1);
  else delete parent[k];
  return copy;
}
/** JSON text of the body with the value at the path written as a raw literal (1e400, -0, NaN…). */
const PLACEHOLDER = 'RAW-LITERAL-PLACEHOLDER-7f3a';
const withLiteral = (v: unknown, p: Path, literal: string) => JSON.stringify(setAt(v, p, PLACEHOLDER)).replace(`"${PLACEHOLDER}"`, literal);

const junk = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 30 }),
  fc.constant(''),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);
const numberLiteral = fc.oneof(
  fc.constantFrom(
    '1e400',
    '-1e400',
    '9007199254740992',
    '9007199254740993',
    '-9007199254740993',
    '1e21',
    '123456789012345678901234567890',
    '-1',
    '-0',
    '0',
    '0.5',
    '-0.5',
    '1.5',
    '3.14159',
    '1e-7',
    '-100000',
    'NaN',
    'Infinity',
    '-Infinity',
    '0x10',
    '01',
    '+1',
    '1.',
    '.5',
  ),
  fc.double({ noNaN: true }).map((d) => JSON.stringify(d)),
  fc.integer({ min: -(2 ** 31), max: 0 }).map(String),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }).map(String),
);
const badDate = fc.oneof(
  fc.constantFrom(
    '2026-02-30',
    '2026-13-01',
    '2026-00-10',
    '2026-1-1',
    '20261128',
    '26-11-28',
    '',
    ' ',
    'tomorrow',
    '2026-11-28T25:00:00Z',
    '2026-11-28T10:00:00',
    '2026-11-28 10:00:00+08:00',
    '0000-00-00',
    '9999-99-99',
    '2026/11/28',
    '2026-11-28\n',
    '２０２６-１１-２８',
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.getTime()),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
);
const CONTROL = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u2029',
  '\u200b',
  '\ufeff',
);
const controlString = fc
  .tuple(fc.string({ maxLength: 10 }), fc.string({ unit: CONTROL, minLength: 1, maxLength: 5 }), fc.string({ maxLength: 10 }))
  .map(([a, c, b]) => `${a}${c}${b}`);
const extraKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'actor', 'by', 'officerId', 'status', 'stage', 'id', 'extra', ''),
  fc.string({ maxLength: 20 }),
);
const nested = fc
  .record({
    depth: fc.integer({ min: 20, max: 800 }),
    kind: fc.constantFrom('array', 'object', 'mixed'),
    leaf: fc.jsonValue({ maxDepth: 1 }),
  })
  .map(({ depth, kind, leaf }) => {
    let v: unknown = leaf;
    for (let i = 0; i < depth; i++) v = kind === 'array' || (kind === 'mixed' && i % 2 === 0) ? [v] : { k: v, n: i };
    return v;
  });
const notJson = (base: unknown) => {
  const text = JSON.stringify(base);
  return fc.oneof(
    fc.constantFrom(
      "{'accountId': 'A'}",
      '{"a": 1,}',
      '{a: 1}',
      'NaN',
      '{"amountMinor": NaN}',
      '<xml/>',
      'undefined',
      '[1,2',
      '{"a":1}{"b":2}',
      '// c\n{}',
      '\u0000',
      'null null',
      '{"a":"\u0001"}',
      'true',
      '"string"',
      '42',
      '\ufeff{}',
      '{"a": 1e400x}',
      '{"a": "\\x41"}',
    ),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'binary-ascii', maxLength: 200 }),
    fc.integer({ min: 1, max: Math.max(1, text.length - 1) }).map((n) => text.slice(0, n)),
  );
};

type Category = 'wrong-type' | 'missing' | 'extra' | 'number' | 'date' | 'control' | 'not-object' | 'nested' | 'not-json';
interface Request {
  ep: Endpoint;
  category: Category;
  raw: string;
}

function malformed(ep: Endpoint): fc.Arbitrary<Request> {
  const base = ep.valid;
  const all = pathsOf(base);
  const strings = leafPaths(base, (x) => typeof x === 'string');
  const objects = objectPaths(base);
  const anyPath = all.length > 0 ? fc.constantFrom(...all) : fc.constant<Path | undefined>(undefined);
  const make = (category: Category, arb: fc.Arbitrary<string>) => arb.map((raw) => ({ ep, category, raw }));
  const json = (v: unknown) => JSON.stringify(v) ?? '';
  const options: Array<fc.WeightedArbitrary<Request>> = [
    {
      weight: 1,
      arbitrary: make(
        'not-object',
        fc
          .oneof(
            fc.constant(null),
            fc.boolean(),
            fc.integer(),
            fc.double(),
            fc.string({ maxLength: 20 }),
            fc.array(junk, { maxLength: 5 }),
            fc.constant([base]),
          )
          .map(json),
      ),
    },
    {
      weight: 1,
      arbitrary: make(
        'nested',
        fc
          .tuple(nested, fc.boolean(), fc.constantFrom(...objects))
          .map(([n, whole, at]) => json(whole ? n : setAt(base, [...at, 'junk'], n))),
      ),
    },
    { weight: 1, arbitrary: make('not-json', notJson(base)) },
    {
      weight: 2,
      arbitrary: make(
        'extra',
        fc
          .tuple(fc.constantFrom(...objects), extraKey, fc.jsonValue({ maxDepth: 2 }))
          .map(([at, k, v]) => json(setAt(base, [...at, k], v))),
      ),
    },
  ];
  if (all.length > 0) {
    options.push(
      {
        weight: 3,
        arbitrary: make(
          'wrong-type',
          fc.tuple(anyPath, junk).map(([p, v]) => json(setAt(base, p!, v))),
        ),
      },
      {
        weight: 2,
        arbitrary: make(
          'missing',
          anyPath.map((p) => json(deleteAt(base, p!))),
        ),
      },
      {
        weight: 2,
        arbitrary: make(
          'number',
          fc.tuple(anyPath, numberLiteral).map(([p, lit]) => withLiteral(base, p!, lit)),
        ),
      },
    );
  }
  if (strings.length > 0) {
    const stringPath = fc.constantFrom(...strings);
    options.push(
      {
        weight: 2,
        arbitrary: make(
          'date',
          fc.tuple(stringPath, badDate).map(([p, d]) => json(setAt(base, p, d))),
        ),
      },
      {
        weight: 2,
        arbitrary: make(
          'control',
          fc
            .tuple(stringPath, controlString, fc.boolean())
            .map(([p, c, replace]) => json(setAt(base, p, replace ? c : `${getAt(base, p) as string}${c}`))),
        ),
      },
    );
  }
  return fc.oneof(...options);
}

// ---- what must not change ----
async function snapshot() {
  const s = (await getJson(`${stack.apiUrl}/v1/cases/${target}`, stack.keys.supervisor)).body;
  const [counts] = await stack.sql<Record<string, number>[]>`
    select (select count(*)::int from payments where account_id = ${target}) as payments,
           (select count(*)::int from payment_receipts where account_id = ${target}) as receipts,
           (select count(*)::int from audit_log where account_id = ${target}) as audit,
           (select count(*)::int from contact_attempts where account_id = ${target}) as contacts,
           (select count(*)::int from cases) as all_cases,
           (select count(*)::int from payment_receipts) as all_receipts`;
  const described = await stack.client.workflow.getHandle(`Case:${target}`).describe();
  return {
    stage: s.stage,
    balance: s.balance,
    outstandingMinor: s.outstandingMinor,
    paidMinor: s.paidMinor,
    promises: s.promises,
    missedPayments: s.missedPayments,
    payments: s.payments.length,
    guarantors: s.guarantors,
    treatment: s.treatment,
    hold: s.hold ?? null,
    dispute: s.dispute ?? null,
    legal: s.legal ?? null,
    writeOff: s.writeOff ?? null,
    timeline: s.timeline.length,
    version: s.version,
    runId: described.runId,
    status: described.status.name,
    counts,
  };
}

/** A snapshot once the case and its ledger are quiet: the same twice in a row. */
async function settledSnapshot() {
  let last = await snapshot();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await snapshot();
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
}

async function send(r: Request): Promise<Reply> {
  if (r.ep.signed) return postSignedWebhook(r.ep.url, r.raw, { signature: signBody(WEBHOOK_SECRET, Math.floor(Date.now() / 1000), r.raw) });
  return postJson(r.ep.url, r.raw, r.ep.key);
}

describe('fuzzing the POST endpoints with malformed bodies', () => {
  it('every base body is valid for its endpoint, so a mutation is what makes it invalid', () => {
    const eps = endpoints();
    expect(eps.map((e) => e.name).sort()).toEqual(Object.keys(validBodies(target)).sort());
    for (const ep of eps) {
      expect(ep.schema.safeParse(ep.valid).success, ep.name).toBe(true);
      expect(acceptedBy(ep, JSON.stringify(ep.valid)), ep.name).toBe(true);
    }
    // The intake routes validate with the exported contracts.
    expect(eps.find((e) => e.name === '/v1/missed-payments')!.schema).toBe(MissedPaymentBody);
    expect(eps.find((e) => e.name === '/v1/webhooks/payments')!.schema).toBe(PaymentWebhookBody);
  });

  it(`${BODIES} malformed bodies: never 5xx, always a 4xx problem, no change to the case or the ledger`, { timeout: 300_000 }, async () => {
    const eps = endpoints();
    const request = fc
      .constantFrom(...eps)
      .chain(malformed)
      .filter((r) => !acceptedBy(r.ep, r.raw));
    const before = await settledSnapshot();

    const statuses = new Map<number, number>();
    const byEndpoint = new Map<string, number>();
    const byCategory = new Map<Category, number>();
    const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
    let sent = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: CONCURRENCY, maxLength: CONCURRENCY }), async (batch) => {
        const replies = await Promise.all(batch.map(send));
        replies.forEach((reply, i) => {
          const r = batch[i]!;
          sent += 1;
          bump(statuses, reply.status);
          bump(byEndpoint, r.ep.name);
          bump(byCategory, r.category);
          const what =
            `${r.ep.name} (${r.category}) ${JSON.stringify(r.raw.slice(0, 300))} → ` +
            `${reply.status} ${JSON.stringify(reply.body)?.slice(0, 300)}`;
          expect(reply.status, what).toBeGreaterThanOrEqual(400);
          expect(reply.status, what).toBeLessThan(500);
          // Signed or keyed as it must be, every request reached validation: refused as invalid (or too large), never as unauthorized.
          expect([400, 413], what).toContain(reply.status);
          expect(reply.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
          expect(reply.body, what).toMatchObject({ status: reply.status, title: expect.any(String) });
        });
      }),
      { seed: SEED, numRuns: BODIES / CONCURRENCY, endOnFailure: false },
    );
    const ms = Date.now() - started;
    console.info(
      `fuzz: ${sent} bodies in ${ms} ms; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `categories ${JSON.stringify(Object.fromEntries(byCategory))}`,
    );

    expect(sent).toBe(BODIES);
    // Every endpoint and every kind of malformation was exercised.
    for (const ep of eps) expect(byEndpoint.get(ep.name) ?? 0, ep.name).toBeGreaterThanOrEqual(30);
    for (const c of ['wrong-type', 'missing', 'extra', 'number', 'date', 'control', 'not-object', 'nested', 'not-json'] as const) {
      expect(byCategory.get(c) ?? 0, c).toBeGreaterThanOrEqual(20);
    }
    // Nothing reached the case or the ledger.
    expect(await snapshot()).toEqual(before);
  });
});
