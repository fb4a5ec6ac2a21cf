import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startStack, uniqueAccountId, type Stack } from './helpers';

/**
 * Scorecards (GET /v1/scorecards) on the real stack, over a small portfolio written straight into the
 * ledger in May 2031 (no other test writes there), with ids of this run only: the figures per collector
 * and per team are the ones worked out by hand below, in JSON and in CSV; the period's edges are local
 * midnights (Asia/Shanghai unless timeZone says otherwise); only supervisors and managers may look.
 */
let s: Stack;
const run = uniqueAccountId('SC');
const id = (x: string) => `${run}-${x}`;
// Teams A and B; collectors C1, C2 (team A) and C3 (team B, no cases); a supervisor (not a collector row).
const TA = id('TA');
const TB = id('TB');
const C1 = id('C1');
const C2 = id('C2');
const C3 = id('C3');
const caseKey = (n: number) => `Case:${id(`K${n}`)}/r1`;
const account = (n: number) => id(`K${n}`);

const url = (q: string) => `${s.apiUrl}/v1/scorecards?${q}`;
const MAY = 'from=2031-05-01&to=2031-05-31';

beforeAll(async () => {
  s = await startStack();
  const sql = s.sql;
  await sql`insert into teams (team_id, name) values (${TA}, ${'East, "A" team'}), (${TB}, 'West')`;
  await sql`insert into people (person_id, name, role, team_id) values
    (${C1}, '张一', 'collector', ${TA}), (${C2}, '李二', 'collector', ${TA}), (${C3}, '王三', 'collector', ${TB}),
    (${id('S1')}, '赵四', 'supervisor', ${TA})`;
  // Case n: its collector (current owner) and team. K5 belongs to C2 but to team B.
  const cases: [number, string | null, string][] = [
    [1, C1, TA],
    [2, C1, TA],
    [3, C2, TA],
    [4, null, TB],
    [5, C2, TB],
  ];
  for (const [n, collector, team] of cases)
    await sql`insert into cases (case_key, idempotency_key, account_id, workflow_id, debtor_name, currency, first_due_date,
                                 opening_minor, playbook_id, playbook_version, opened_at, collector_id, team_id)
              values (${caseKey(n)}, ${`${caseKey(n)}:open`}, ${account(n)}, ${`Case:${account(n)}`}, '测试', 'CNY', '2031-03-01',
                      100000, 'standard', 1, '2031-03-02T00:00:00Z', ${collector}, ${team})`;

  // Instalments (assigned principal, whatever their date): K1 100,000 + 50,000; K2 200,000; K3 80,000; K4 40,000; K5 25,000.
  const instalments: [number, string, number][] = [
    [1, '2031-03-01', 100_000],
    [1, '2031-04-01', 50_000],
    [2, '2031-03-01', 200_000],
    [3, '2031-03-01', 80_000],
    [4, '2031-03-01', 40_000],
    [5, '2031-03-01', 25_000],
  ];
  for (const [n, due, amount] of instalments)
    await sql`insert into instalments (idempotency_key, case_key, account_id, due_date, amount_minor, currency)
              values (${`${caseKey(n)}:missed:${due}`}, ${caseKey(n)}, ${account(n)}, ${due}, ${amount}, 'CNY')`;

  // Contact attempts. May 2031 in Asia/Shanghai is [2031-04-30T16:00Z, 2031-05-31T16:00Z).
  const attempts: [number, string, string][] = [
    [1, 'placed', '2031-05-03T02:00:00Z'], // in
    [1, 'completed', '2031-05-03T03:00:00Z'], // in
    [1, 'completed', '2031-04-30T15:59:59Z'], // out: 23:59:59 on 30 April local
    [1, 'refused', '2031-05-10T02:00:00Z'], // a refusal is not work
    [2, 'completed', '2031-04-30T16:00:00Z'], // in: midnight on 1 May local
    [2, 'refused', '2031-05-12T02:00:00Z'],
    [3, 'placed', '2031-05-31T16:00:00Z'], // out: midnight on 1 June local (in May in UTC)
    [4, 'completed', '2031-05-31T15:59:59Z'], // in: the last second of 31 May local
    [5, 'placed', '2031-05-20T02:00:00Z'], // in
  ];
  let i = 0;
  for (const [n, status, at] of attempts)
    await sql`insert into contact_attempts (idempotency_key, case_key, account_id, channel, party, status, actor, attempted_at)
              values (${`${caseKey(n)}:attempt:${i++}`}, ${caseKey(n)}, ${account(n)}, 'phone', 'debtor', ${status}, 'test', ${at})`;

  const promises: [number, number, string, string][] = [
    [1, 1, 'kept', '2031-05-05T02:00:00Z'],
    [1, 2, 'broken', '2031-05-20T02:00:00Z'],
    [1, 3, 'kept', '2031-04-20T02:00:00Z'], // out
    [3, 1, 'pending', '2031-05-25T02:00:00Z'],
    [4, 1, 'kept', '2031-05-02T02:00:00Z'],
  ];
  for (const [n, no, status, at] of promises)
    await sql`insert into promises (idempotency_key, case_key, promise_no, promised_date, amount_minor, status, made_at)
              values (${`${caseKey(n)}:promise:${no}:pending`}, ${caseKey(n)}, ${no}, '2031-06-10', 10000, ${status}, ${at})`;

  const payments: [number, string, number, number, string][] = [
    [1, 'P1', 30_000, 0, '2031-05-06T02:00:00Z'],
    [1, 'P2', 60_000, 10_000, '2031-05-30T02:00:00Z'], // 50,000 recovered, 10,000 owed back
    [1, 'P3', 5_000, 0, '2031-04-28T02:00:00Z'], // out
    [3, 'P4', 12_345, 0, '2031-05-15T02:00:00Z'],
    [4, 'P5', 40_000, 0, '2031-05-31T15:00:00Z'], // in: 23:00 on 31 May local
    [5, 'P6', 7_000, 0, '2031-06-01T00:00:00Z'], // out, in either zone
  ];
  for (const [n, p, amount, excess, at] of payments)
    await sql`insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at, excess_minor,
                                    outstanding_after_minor)
              values (${id(p)}, ${`${caseKey(n)}:payment:${id(p)}`}, ${account(n)}, ${caseKey(n)}, ${amount}, 'CNY', ${at}, ${excess}, 0)`;

  const costs: [number, number, string][] = [
    [1, 1_500, '2031-05-07T02:00:00Z'],
    [1, 2_000, '2031-06-02T02:00:00Z'], // out
    [3, 800, '2031-05-09T02:00:00Z'],
    [4, 3_000, '2031-05-11T02:00:00Z'],
  ];
  i = 0;
  for (const [n, amount, at] of costs)
    await sql`insert into case_costs (idempotency_key, case_key, account_id, kind, amount_minor, currency, description, incurred_at)
              values (${`${caseKey(n)}:cost:${i++}`}, ${caseKey(n)}, ${account(n)}, 'field-visit', ${amount}, 'CNY', 'test', ${at})`;
});
afterAll(async () => {
  await s?.stop();
});

const mine = (rows: { collectorId?: string; teamId: string }[], key: 'collectorId' | 'teamId') =>
  rows.filter((r) => (r[key] ?? '').startsWith(run));

// By hand, May 2031 in Asia/Shanghai:
const C1_ROW = {
  collectorId: C1,
  teamId: TA,
  name: '张一',
  currency: 'CNY',
  casesWorked: 2, // K1 (placed, completed), K2 (completed at local midnight)
  contactsMade: 2, // K1 03:00Z, K2 16:00Z; the one a second before May is out
  promisesMade: 2, // K1 #1, #2 (#3 in April)
  promisesKept: 1, // K1 #1
  recoveredMinor: 80_000, // 30,000 + (60,000 − 10,000)
  assignedMinor: 350_000, // K1 100,000 + 50,000, K2 200,000
  recoveryRate: 0.2286, // 80,000 / 350,000 = 0.228571…
  costMinor: 1_500, // K1's June cost is out
};
const C2_ROW = {
  collectorId: C2,
  teamId: TA,
  name: '李二',
  currency: 'CNY',
  casesWorked: 1, // K5 (K3's attempt is on 1 June local)
  contactsMade: 0,
  promisesMade: 1, // K3 #1
  promisesKept: 0,
  recoveredMinor: 12_345, // K3; K5's payment is in June
  assignedMinor: 105_000, // K3 80,000 + K5 25,000
  recoveryRate: 0.1176, // 12,345 / 105,000 = 0.117571…
  costMinor: 800,
};
const C3_ROW = {
  collectorId: C3,
  teamId: TB,
  name: '王三',
  currency: null, // no cases
  casesWorked: 0,
  contactsMade: 0,
  promisesMade: 0,
  promisesKept: 0,
  recoveredMinor: 0,
  assignedMinor: 0,
  recoveryRate: 0,
  costMinor: 0,
};
const TA_ROW = {
  teamId: TA,
  name: 'East, "A" team',
  currency: 'CNY',
  casesWorked: 2, // K1, K2 (K3 not in May)
  contactsMade: 2, // K1, K2
  promisesMade: 3, // K1 #1, #2, K3 #1
  promisesKept: 1,
  recoveredMinor: 92_345, // 80,000 (K1) + 12,345 (K3)
  assignedMinor: 430_000, // 150,000 + 200,000 + 80,000
  recoveryRate: 0.2148, // 92,345 / 430,000 = 0.214756…
  costMinor: 2_300, // 1,500 + 800
};
const TB_ROW = {
  teamId: TB,
  name: 'West',
  currency: 'CNY',
  casesWorked: 2, // K4, K5
  contactsMade: 1, // K4 at the last second of May local
  promisesMade: 1, // K4 #1
  promisesKept: 1,
  recoveredMinor: 40_000, // K4 (K5's is in June)
  assignedMinor: 65_000, // K4 40,000 + K5 25,000
  recoveryRate: 0.6154, // 40,000 / 65,000 = 0.615384…
  costMinor: 3_000,
};

describe('GET /v1/scorecards', () => {
  it('per collector: every collector, with figures from the ledger for the local calendar days of the period', async () => {
    const r = await getJson(url(`by=collector&${MAY}`), s.keys.supervisor);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ by: 'collector', from: '2031-05-01', to: '2031-05-31', timeZone: 'Asia/Shanghai' });
    expect(mine(r.body.rows, 'collectorId')).toEqual([C1_ROW, C2_ROW, C3_ROW]);
    // A supervisor is not a collector row.
    expect(r.body.rows.some((x: { collectorId: string }) => x.collectorId === id('S1'))).toBe(false);
  });

  it('per team: the cases of the team, whoever owns them', async () => {
    const r = await getJson(url(`by=team&${MAY}`), s.keys.manager);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ by: 'team', timeZone: 'Asia/Shanghai' });
    expect(mine(r.body.rows, 'teamId')).toEqual([TA_ROW, TB_ROW]);
  });

  it('in another time zone the edges move', async () => {
    // May 2031 in UTC: K2's attempt at 04-30T16:00Z is out, K3's at 05-31T16:00Z is in.
    const r = await getJson(url(`by=collector&${MAY}&timeZone=UTC`), s.keys.supervisor);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.timeZone).toBe('UTC');
    const [c1, c2] = mine(r.body.rows, 'collectorId') as (typeof C1_ROW)[];
    expect(c1).toMatchObject({ casesWorked: 1, contactsMade: 1 });
    expect(c2).toMatchObject({ casesWorked: 2, contactsMade: 0 });
    // One day: 3 May local holds K1's placed and completed attempts.
    const day = await getJson(url(`by=collector&from=2031-05-03&to=2031-05-03`), s.keys.supervisor);
    expect(mine(day.body.rows, 'collectorId')[0]).toMatchObject({ casesWorked: 1, contactsMade: 1, recoveredMinor: 0 });
  });

  it('format=csv: a header and the same figures, RFC 4180 quoted', async () => {
    const res = await fetch(url(`by=team&${MAY}&format=csv`), { headers: { authorization: `Bearer ${s.keys.supervisor}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toBe(
      'teamId,name,currency,casesWorked,contactsMade,promisesMade,promisesKept,recoveredMinor,assignedMinor,recoveryRate,costMinor',
    );
    expect(lines.at(-1)).toBe(''); // every line ends with CRLF
    expect(lines.filter((l) => l.startsWith(run))).toEqual([
      `${TA},"East, ""A"" team",CNY,2,2,3,1,92345,430000,0.2148,2300`,
      `${TB},West,CNY,2,1,1,1,40000,65000,0.6154,3000`,
    ]);

    const byCollector = await fetch(url(`by=collector&${MAY}&format=csv`), { headers: { authorization: `Bearer ${s.keys.manager}` } });
    const rows = (await byCollector.text()).split('\r\n');
    expect(rows[0]).toBe(
      'collectorId,name,teamId,currency,casesWorked,contactsMade,promisesMade,promisesKept,recoveredMinor,assignedMinor,' +
        'recoveryRate,costMinor',
    );
    expect(rows.filter((l) => l.startsWith(run))).toEqual([
      `${C1},张一,${TA},CNY,2,2,2,1,80000,350000,0.2286,1500`,
      `${C2},李二,${TA},CNY,1,0,1,0,12345,105000,0.1176,800`,
      `${C3},王三,${TB},,0,0,0,0,0,0,0,0`,
    ]);
  });

  it('only supervisors and managers; a period that ends before it starts, is too long or has no zone is a 400', async () => {
    expect((await getJson(url(`by=team&${MAY}`), s.keys.collector)).status).toBe(403);
    expect((await getJson(url(`by=team&${MAY}`), s.keys.finance)).status).toBe(403);
    const backwards = await getJson(url('by=team&from=2031-05-31&to=2031-05-01'), s.keys.supervisor);
    expect(backwards.status).toBe(400);
    expect(backwards.body.issues).toEqual([expect.objectContaining({ path: 'query.to', message: '`to` is before `from`' })]);
    // 366 days (a leap year) is the most; 367 is too many.
    expect((await getJson(url('by=team&from=2032-01-01&to=2032-12-31'), s.keys.supervisor)).status).toBe(200);
    const long = await getJson(url('by=team&from=2032-01-01&to=2033-01-01'), s.keys.supervisor);
    expect(long.status).toBe(400);
    expect(long.body.issues[0].message).toBe('the period is more than 366 days');
    expect((await getJson(url(`by=team&${MAY}&timeZone=Mars/Olympus`), s.keys.supervisor)).status).toBe(400);
    expect((await getJson(url(`by=desk&${MAY}`), s.keys.supervisor)).status).toBe(400);
    expect((await getJson(url('by=team&from=2031-05-01'), s.keys.supervisor)).status).toBe(400);
    expect((await getJson(url(`by=team&${MAY}&extra=1`), s.keys.supervisor)).status).toBe(400);
  });
});
