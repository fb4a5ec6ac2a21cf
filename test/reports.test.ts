import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAgingSnapshot } from '../db/figures';
import { getJson, postJson, startStack, type Stack } from './helpers';

/**
 * The portfolio's figures (issue 14, parts 1 and 2) for a portfolio seeded in the ledger, every
 * figure computed by hand below. The cases are one team's (unique per run) in June 2031, so no other
 * test's rows mix in.
 */
const tag = randomUUID().slice(0, 8);
const TEAM = `rep-${tag}`;
const AS_OF = '2031-06-15T12:00:00+08:00';
let s: Stack;

const key = (c: string) => `rep:${tag}:${c}`;
async function seed(sql: Stack['sql']) {
  const cases = [
    // A: overdue since 06-13 00:00: 2.5 days → day 3 (1–3); B: since 06-09 → day 7 (4–7); C: since 05-01 → day 46 (31–60), in
    // legal, referral filed; D: since 03-01 → day 107 (91+), restructured; E: paid and closed on 06-10; F: since 06-06 → day 10
    // (8–30).
    { c: 'A', since: '2031-06-13T00:00:00+08:00', outstanding: 100_000, stage: 'open', treatment: 'collect', closed: null },
    { c: 'B', since: '2031-06-09T00:00:00+08:00', outstanding: 200_000, stage: 'open', treatment: 'collect', closed: null },
    { c: 'C', since: '2031-05-01T00:00:00+08:00', outstanding: 300_000, stage: 'legal', treatment: 'collect', closed: null },
    { c: 'D', since: '2031-03-01T00:00:00+08:00', outstanding: 400_000, stage: 'open', treatment: 'restructure', closed: null },
    {
      c: 'E',
      since: '2031-05-20T00:00:00+08:00',
      outstanding: 0,
      stage: 'paid',
      treatment: 'collect',
      closed: '2031-06-10T10:00:00+08:00',
    },
    { c: 'F', since: '2031-06-06T00:00:00+08:00', outstanding: 50_000, stage: 'open', treatment: 'collect', closed: null },
  ];
  for (const x of cases) {
    await sql`insert into cases (case_key, idempotency_key, account_id, workflow_id, debtor_name, currency, first_due_date, opening_minor,
                                 playbook_id, playbook_version, outstanding_minor, stage, treatment, team_id, overdue_since, opened_at,
                                 closed_at)
              values (${key(x.c)}, ${key(x.c)}, ${key(x.c)}, ${key(x.c)}, 'd', 'CNY', '2031-01-01', 100000, 'micro-loan-default', 2,
                      ${x.outstanding}, ${x.stage}, ${x.treatment}, ${TEAM}, ${x.since}, ${x.since}, ${x.closed})`;
  }
  const pay = (c: string, n: number, amount: number, excess: number, at: string) =>
    sql`insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at, fees_minor, penalty_minor,
                              principal_minor, excess_minor, outstanding_after_minor)
        values (${`${key(c)}:p${n}`}, ${`${key(c)}:p${n}`}, ${key(c)}, ${key(c)}, ${amount}, 'CNY', ${at}, 0, 0, ${amount - excess},
                ${excess}, 0)`;
  await pay('E', 1, 150_000, 0, '2031-06-10T09:00:00+08:00');
  await pay('A', 1, 20_000, 0, '2031-06-14T09:00:00+08:00');
  await pay('B', 1, 10_000, 0, '2031-05-31T23:00:00+08:00'); // May: not June's
  await pay('D', 1, 55_000, 5_000, '2031-06-02T09:00:00+08:00'); // 5,000 paid beyond the balance
  const promise = (c: string, n: number, status: string, made: string) =>
    sql`insert into promises (idempotency_key, case_key, promise_no, promised_date, amount_minor, status, made_at)
        values (${`${key(c)}:pr${n}`}, ${key(c)}, ${n}, '2031-06-20', 1000, ${status}, ${made})`;
  await promise('A', 1, 'kept', '2031-06-05T10:00:00+08:00');
  await promise('B', 1, 'broken', '2031-06-12T10:00:00+08:00');
  await promise('C', 1, 'kept', '2031-05-28T10:00:00+08:00'); // May
  const cost = (c: string, n: number, amount: number, at: string) =>
    sql`insert into case_costs (idempotency_key, case_key, account_id, kind, amount_minor, currency, description, incurred_at)
        values (${`${key(c)}:k${n}`}, ${key(c)}, ${key(c)}, 'letter', ${amount}, 'CNY', 'd', ${at})`;
  await cost('A', 1, 2_000, '2031-06-03T10:00:00+08:00');
  await cost('D', 1, 5_000, '2031-06-04T10:00:00+08:00');
  await cost('B', 1, 1_000, '2031-05-30T10:00:00+08:00'); // May
  await sql`insert into legal_referrals (idempotency_key, case_key, account_id, reason, dossier, status)
            values (${`${key('C')}:legal`}, ${key('C')}, ${key('C')}, 'broken promises', '{}', 'filed')`;
}

beforeAll(async () => {
  s = await startStack();
  await seed(s.sql);
  const team = await postJson(`${s.apiUrl}/v1/teams`, { teamId: TEAM, name: 'Reports test team' }, s.keys.admin);
  expect(team.status, JSON.stringify(team.body)).toBeLessThan(300);
});
afterAll(async () => {
  await s?.stop();
});

describe('the portfolio in figures', () => {
  it('every figure equals the hand-computed one', async () => {
    const target = {
      periodKind: 'month',
      periodStart: '2031-06-01',
      scope: 'team',
      scopeId: TEAM,
      currency: 'CNY',
      recoveryTargetMinor: 440_000,
      costBudgetMinor: 10_000,
      bookBalanceMinor: 10_000_000,
    };
    expect((await postJson(`${s.apiUrl}/v1/targets`, target, s.keys.collector)).status).toBe(403);
    expect((await postJson(`${s.apiUrl}/v1/targets`, { ...target, periodStart: '2031-06-02' }, s.keys.manager)).status).toBe(400);
    const set = await postJson(`${s.apiUrl}/v1/targets`, target, s.keys.finance);
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ ...target, issuedMinor: null, setBy: 'finance-1' });
    // A team that does not exist, or a currency the cases are not in: refused, named.
    const noTeam = await postJson(`${s.apiUrl}/v1/targets`, { ...target, scopeId: `${TEAM}-none` }, s.keys.finance);
    expect([noTeam.status, noTeam.body.detail]).toEqual([422, `no team ${TEAM}-none`]);
    const usd = await postJson(`${s.apiUrl}/v1/targets`, { ...target, currency: 'EUR' }, s.keys.finance);
    expect(usd.status).toBe(422);
    expect(usd.body.detail).toMatch(/^the portfolio's cases are in .*CNY.*: a target in EUR would not compare with them$/);
    const listed = await getJson(`${s.apiUrl}/v1/targets?periodKind=month&periodStart=2031-06-01&scope=team`, s.keys.supervisor);
    expect(listed.body.targets.filter((t: { scopeId?: string }) => t.scopeId === TEAM)).toEqual([set.body]);

    const r = await getJson(`${s.apiUrl}/v1/reports/portfolio?asOf=${encodeURIComponent(AS_OF)}&teamId=${TEAM}`, s.keys.manager);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const f = r.body;
    expect(f.period).toEqual({ kind: 'month', start: '2031-06-01', end: '2031-07-01', timeZone: 'Asia/Shanghai' });
    expect(f.aging).toEqual([
      { bucket: '1-3', cases: 1, outstandingMinor: 100_000 },
      { bucket: '4-7', cases: 1, outstandingMinor: 200_000 },
      { bucket: '8-30', cases: 1, outstandingMinor: 50_000 },
      { bucket: '31-60', cases: 1, outstandingMinor: 300_000 },
      { bucket: '61-90', cases: 0, outstandingMinor: 0 },
      { bucket: '91+', cases: 1, outstandingMinor: 400_000 },
    ]);
    expect(f.openCases).toBe(5);
    // June: E 150,000 + A 20,000 + D 55,000 − 5,000 excess = 220,000 in 3 payments (B's is May's).
    expect(f.repayments).toEqual({ count: 3, amountMinor: 220_000 });
    expect(f.recovery).toEqual({ recoveredMinor: 220_000, targetMinor: 440_000, ratio: 0.5 });
    // Overdue: 100,000 + 200,000 + 50,000 + 300,000 + 400,000 = 1,050,000 of a 10,000,000 book; 91+ days: D's 400,000.
    expect(f.overdueMinor).toBe(1_050_000);
    expect(f.overdueRate).toBe(0.105);
    expect(f.defaultedMinor).toBe(400_000);
    expect(f.defaultRate).toBe(0.04);
    expect(f.promises).toEqual({ made: 2, kept: 1 });
    // Costs in June 2,000 + 5,000 = 7,000 over the 6 cases open in June (E until the 10th): 1,166.67 → 1,167 a case;
    // 7,000 ÷ 220,000 = 0.031818… → 0.0318 per unit recovered; 7,000 of a 10,000 budget.
    expect(f.cost).toEqual({
      costMinor: 7_000,
      casesInPeriod: 6,
      perCaseMinor: 1_167,
      perUnitRecovered: 0.0318,
      budgetMinor: 10_000,
      ofBudget: 0.7,
    });
    expect(f.byStage).toEqual({ open: 4, legal: 1, paid: 1 });
    expect(f.byTreatment).toEqual({ collect: 5, restructure: 1 });
    expect(f.legal).toEqual([{ status: 'filed', cases: 1, outstandingMinor: 300_000 }]);

    // The 8 weeks ending at AS_OF, from 2031-04-20 12:00 (+08:00): payments B 05-31 (week 6), D 06-02 (week 7, less its 5,000
    // excess), E 06-10 and A 06-14 (week 8); opened C 05-01 (week 2), E 05-20 (week 5), F 06-06 (week 7), B 06-09 and A 06-13
    // (week 8); closed E 06-10 (week 8). D opened before the 8 weeks.
    const week = (i: number, repaidMinor: number, payments: number, opened: number, closed: number) => ({
      weekStart: new Date(Date.parse('2031-04-20T04:00:00Z') + i * 7 * 86_400_000).toISOString(),
      weekEnd: new Date(Date.parse('2031-04-20T04:00:00Z') + (i + 1) * 7 * 86_400_000).toISOString(),
      repaidMinor,
      payments,
      opened,
      closed,
    });
    expect(f.trend).toEqual([
      week(0, 0, 0, 0, 0),
      week(1, 0, 0, 1, 0),
      week(2, 0, 0, 0, 0),
      week(3, 0, 0, 0, 0),
      week(4, 0, 0, 1, 0),
      week(5, 10_000, 1, 0, 0),
      week(6, 50_000, 1, 1, 0),
      week(7, 170_000, 2, 2, 1),
    ]);
  });

  it('roll rates: from the aging snapshot a week earlier to now, bucket by bucket', async () => {
    // No snapshot 6 to 13 days before: no roll rates.
    const before = await getJson(`${s.apiUrl}/v1/reports/portfolio?asOf=${encodeURIComponent(AS_OF)}&teamId=${TEAM}`, s.keys.manager);
    expect(before.body.rollRates).toBeNull();
    // The snapshot the weekly report takes, a week before AS_OF (06-08 12:00): C day 39 (31–60), D day 100 (91+), E day 20
    // (8–30; closed on the 10th), F day 3 (1–3); A and B were not open yet.
    await writeAgingSnapshot(s.sql, new Date('2031-06-08T12:00:00+08:00'));
    const r = await getJson(`${s.apiUrl}/v1/reports/portfolio?asOf=${encodeURIComponent(AS_OF)}&teamId=${TEAM}`, s.keys.manager);
    // Now: C day 46 (31–60, stays), D day 107 (91+, stays), E closed, F day 10 (8–30: rolled forward).
    expect(r.body.rollRates).toEqual({
      from: '2031-06-08T04:00:00.000Z',
      to: '2031-06-15T04:00:00.000Z',
      rows: [
        { bucket: '1-3', cases: 1, outstandingMinor: 50_000, to: { '8-30': 1 }, rollForward: 1 },
        { bucket: '4-7', cases: 0, outstandingMinor: 0, to: {}, rollForward: null },
        { bucket: '8-30', cases: 1, outstandingMinor: 0, to: { closed: 1 }, rollForward: 0 },
        { bucket: '31-60', cases: 1, outstandingMinor: 300_000, to: { '31-60': 1 }, rollForward: 0 },
        { bucket: '61-90', cases: 0, outstandingMinor: 0, to: {}, rollForward: null },
        { bucket: '91+', cases: 1, outstandingMinor: 400_000, to: { '91+': 1 }, rollForward: 0 },
      ],
    });
    // The snapshot is taken once per moment: again changes nothing.
    expect(await writeAgingSnapshot(s.sql, new Date('2031-06-08T12:00:00+08:00'))).toBe(0);
  });

  it('without a target the rates are null; a bad period or zone is a 400', async () => {
    const r = await getJson(
      `${s.apiUrl}/v1/reports/portfolio?asOf=${encodeURIComponent(AS_OF)}&teamId=${TEAM}&period=year`,
      s.keys.supervisor,
    );
    expect(r.status).toBe(200);
    expect(r.body.period).toMatchObject({ start: '2031-01-01', end: '2032-01-01' });
    // The year: June's 220,000 and B's 10,000 of May.
    expect(r.body.recovery).toEqual({ recoveredMinor: 230_000, targetMinor: null, ratio: null });
    expect(r.body.overdueRate).toBeNull();
    expect((await getJson(`${s.apiUrl}/v1/reports/portfolio?period=week`, s.keys.supervisor)).status).toBe(400);
    expect((await getJson(`${s.apiUrl}/v1/reports/portfolio?timeZone=Mars/Base`, s.keys.supervisor)).status).toBe(400);
    expect((await getJson(`${s.apiUrl}/v1/reports/portfolio`, s.keys.collector)).status).toBe(403);
  });
});
