import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weeklyReportHtml } from '../api/pages';
import { weeklyFigures } from '../db/figures';
import { addDays, localDate } from '../shared/calendar';
import { caseWorkflowId } from '../shared/ids';
import { Experiment, Playbook } from '../shared/search-attributes';
import { getJson, postJson, startStack, type Stack } from './helpers';

/**
 * Playbook rules and champion/challenger experiments at intake (issue 16, part 2), and an experiment's
 * results (part 3), on the real API, Temporal server and PostgreSQL. The cases of the split are started
 * on a task queue no worker polls (`worker: false`): what is measured is the intake's choice, and a
 * thousand cases' ladders would only slow the file down. Every rule and experiment here matches only
 * this file's own product, so the other files' cases (same database) are never chosen for.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack({ worker: false });
});
afterAll(async () => {
  await s?.stop();
});

const product = `exp-test-${randomUUID().slice(0, 8)}`;
const zone = 'Asia/Shanghai';
const missed = (accountId: string, daysAgo: number, extra: Record<string, unknown> = {}) => ({
  accountId,
  dueDate: addDays(localDate(Date.now(), zone), -daysAgo),
  debtor: { name: '吴九', timeZone: zone, phones: ['+86 139 0000 0099'] },
  amountDue: { amountMinor: 100_000, currency: 'CNY' },
  product,
  ...extra,
});
/** The rules' test's own product: no experiment of this file applies to its cases. */
const ruleProduct = `${product}-rules`;

/** Runs `work` over 0…n−1, `c` at a time. */
async function inBatches(n: number, c: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

describe('champion/challenger at intake', () => {
  it('sends 200 ± 30 of 1,000 new cases to a 20 % challenger, recorded; a second intake of the same accounts flips none', async () => {
    const experimentId = `split-${randomUUID().slice(0, 8)}`;
    const made = await postJson(
      `${s.apiUrl}/v1/experiments`,
      {
        experimentId,
        name: 'Dealer ladder for micro-loans, 20 %',
        championPlaybookId: 'micro-loan-default',
        challengerPlaybookId: 'receivables-sales',
        challengerPercent: 20,
        match: { productIn: [product] },
      },
      s.keys.admin,
    );
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ champion: { playbookId: 'micro-loan-default', version: 2 }, status: 'running' });

    const N = 1_000;
    const accounts = Array.from({ length: N }, (_, i) => `EXS-${experimentId}-${i}`);
    const intake = async (daysAgo: number) =>
      inBatches(N, 16, async (i) => {
        const r = await postJson(`${s.apiUrl}/v1/missed-payments`, missed(accounts[i]!, daysAgo), s.keys.admin);
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        expect(r.body.created).toBe(true);
      });
    await intake(3);
    const arms = async () =>
      s.sql<{ account_id: string; arms: string[]; playbooks: string[] }[]>`
        select account_id, array_agg(arm order by started_at) as arms,
               array_agg(playbook_id || '@' || playbook_version order by started_at) as playbooks
        from experiment_cases where experiment_id = ${experimentId} group by account_id`;
    const first = await arms();
    expect(first).toHaveLength(N);
    const challengers = first.filter((a) => a.arms[0] === 'challenger').length;
    console.log(`[experiments] 1,000 intakes under a 20 % split: ${challengers} challenger, ${N - challengers} champion`);
    expect(challengers).toBeGreaterThanOrEqual(170);
    expect(challengers).toBeLessThanOrEqual(230);
    // Each arm's cases started with its playbook, and say so in their search attributes and summary.
    for (const a of [first.find((x) => x.arms[0] === 'challenger')!, first.find((x) => x.arms[0] === 'champion')!]) {
      expect(a.playbooks[0]).toBe(a.arms[0] === 'challenger' ? 'receivables-sales@1' : 'micro-loan-default@2');
      const d = await s.client.workflow.getHandle(caseWorkflowId(a.account_id)).describe();
      expect(d.typedSearchAttributes.get(Playbook)).toBe(a.playbooks[0]);
      expect(d.typedSearchAttributes.get(Experiment)).toBe(`${experimentId}:${a.arms[0]}`);
      expect(await d.staticSummary()).toContain(`${experimentId} ${a.arms[0]}`);
    }

    // The cases end (terminated here: no worker runs them), and the share changes; the same accounts come
    // back with a new instalment: new cases, each in the arm its account had.
    await inBatches(N, 16, async (i) => {
      await s.client.workflow.getHandle(caseWorkflowId(accounts[i]!)).terminate('the test ends the first cases');
    });
    await s.sql`update experiments set challenger_percent = 50 where experiment_id = ${experimentId}`;
    await intake(2);
    const second = await arms();
    const flipped = second.filter((a) => a.arms.length !== 2 || a.arms[0] !== a.arms[1]);
    console.log(`[experiments] second intake of the same 1,000 accounts: ${second.length} accounts, ${flipped.length} flipped`);
    expect(second.every((a) => a.arms.length === 2)).toBe(true);
    expect(flipped).toEqual([]);

    const view = await getJson(`${s.apiUrl}/v1/experiments/${experimentId}`, s.keys.manager);
    expect(view.body.cases).toEqual({ champion: 2 * (N - challengers), challenger: 2 * challengers });
    const ended = await postJson(`${s.apiUrl}/v1/experiments/${experimentId}/end`, {}, s.keys.admin);
    expect(ended.body).toMatchObject({ status: 'ended', endedBy: 'admin-1' });
    // Ended: a new account starts with the champion, outside the experiment.
    const after = `EXS-${experimentId}-after`;
    expect((await postJson(`${s.apiUrl}/v1/missed-payments`, missed(after, 3), s.keys.admin)).status).toBe(202);
    const d = await s.client.workflow.getHandle(caseWorkflowId(after)).describe();
    expect(d.typedSearchAttributes.get(Playbook)).toBe('micro-loan-default@2');
    expect(d.typedSearchAttributes.get(Experiment)).toBeUndefined();
    await Promise.all(
      accounts.concat(after).map((a) =>
        s.client.workflow
          .getHandle(caseWorkflowId(a))
          .terminate()
          .catch(() => undefined),
      ),
    );
  }, 600_000);

  it('refuses a second experiment on the same champion, a challenger that is the champion, unknown playbooks, and non-admins', async () => {
    const base = {
      experimentId: `x-${randomUUID().slice(0, 8)}`,
      name: 'x',
      championPlaybookId: 'receivables-sales',
      challengerPlaybookId: 'micro-loan-default',
      challengerPercent: 10,
      match: { productIn: [product] },
    };
    const post = (body: object, key = s.keys.admin) => postJson(`${s.apiUrl}/v1/experiments`, body, key);
    expect((await post({ ...base, challengerPlaybookId: 'receivables-sales' })).status).toBe(422);
    expect((await post({ ...base, challengerPlaybookId: 'no-such-playbook' })).status).toBe(422);
    expect((await post({ ...base, challengerVersion: 99 })).status).toBe(422);
    expect((await post({ ...base, challengerPercent: 100 })).status).toBe(400);
    expect((await post({ ...base, challengerPercent: 12.345 })).status).toBe(400);
    expect((await post(base, s.keys.supervisor)).status).toBe(403);
    expect((await post(base)).status).toBe(201);
    // No case yet: each arm names its pinned playbook, with nothing to compare; a future asOf is refused.
    const empty = await getJson(`${s.apiUrl}/v1/experiments/${base.experimentId}/results`, s.keys.manager);
    expect(empty.body.arms.map((a: Record<string, unknown>) => [a.arm, a.playbookId, a.playbookVersion, a.cases])).toEqual([
      ['champion', 'receivables-sales', 1, 0],
      ['challenger', 'micro-loan-default', 2, 0],
    ]);
    expect(empty.body.difference[0]).toEqual({ day: 7, value: null, ci95: null });
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect((await getJson(`${s.apiUrl}/v1/experiments/${base.experimentId}/results?asOf=${future}`, s.keys.manager)).status).toBe(422);
    expect((await post(base)).status).toBe(409);
    const other = await post({ ...base, experimentId: `${base.experimentId}-2` });
    expect(other.status).toBe(409);
    expect(other.body.detail).toContain(`${base.experimentId} already runs on receivables-sales`);
    expect((await postJson(`${s.apiUrl}/v1/experiments/${base.experimentId}/end`, {}, s.keys.admin)).status).toBe(200);
    expect((await getJson(`${s.apiUrl}/v1/experiments/no-such-experiment`, s.keys.admin)).status).toBe(404);
  });
});

describe('playbook rules at intake', () => {
  it('the first matching rule chooses; a named playbook wins; an unknown one is refused; a rule switched off stops applying', async () => {
    const segment = `seg-${randomUUID().slice(0, 8)}`;
    const rule = await postJson(
      `${s.apiUrl}/v1/playbook-rules`,
      {
        priority: 10,
        playbookId: 'receivables-sales',
        match: { productIn: [ruleProduct], segmentIn: [segment], balanceFromMinor: 50_000 },
      },
      s.keys.admin,
    );
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect(rule.body.ruleId).toMatch(/^pr-[0-9a-f]{12}$/);
    expect((await postJson(`${s.apiUrl}/v1/playbook-rules`, { priority: 1, playbookId: 'nope', match: {} }, s.keys.admin)).status).toBe(
      422,
    );
    const opened = async (accountId: string, extra: Record<string, unknown>) => {
      const r = await postJson(`${s.apiUrl}/v1/missed-payments`, missed(accountId, 3, { product: ruleProduct, ...extra }), s.keys.admin);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const d = await s.client.workflow.getHandle(caseWorkflowId(accountId)).describe();
      await s.client.workflow.getHandle(caseWorkflowId(accountId)).terminate();
      return d.typedSearchAttributes.get(Playbook);
    };
    const id = (k: string) => `EXR-${segment}-${k}`;
    expect(await opened(id('match'), { segment })).toBe('receivables-sales@1');
    // Below the balance band, or another segment: the default.
    expect(await opened(id('small'), { segment, amountDue: { amountMinor: 49_999, currency: 'CNY' } })).toBe('micro-loan-default@2');
    expect(await opened(id('other'), { segment: `${segment}-x` })).toBe('micro-loan-default@2');
    // The lender names the playbook: no rule applies.
    expect(await opened(id('named'), { segment, playbookId: 'micro-loan-default' })).toBe('micro-loan-default@2');
    const unknown = await postJson(
      `${s.apiUrl}/v1/missed-payments`,
      missed(id('unknown'), 3, { playbookId: 'no-such-playbook' }),
      s.keys.admin,
    );
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail).toContain('no playbook no-such-playbook');

    const off = await postJson(`${s.apiUrl}/v1/playbook-rules/${rule.body.ruleId}/deactivate`, {}, s.keys.admin);
    expect(off.body).toMatchObject({ enabled: false });
    expect(await opened(id('after'), { segment })).toBe('micro-loan-default@2');
    const list = await getJson(`${s.apiUrl}/v1/playbook-rules`, s.keys.supervisor);
    expect(list.body.rules.find((r: { ruleId: string }) => r.ruleId === rule.body.ruleId)).toMatchObject({ enabled: false });
    const [audited] = await s.sql`select count(*)::int as n from audit_log where detail->>'ruleId' = ${rule.body.ruleId}`;
    expect(audited!.n).toBe(2);
  });
});

describe('experiment results', () => {
  it('equal the figures computed by hand for a seeded portfolio', async () => {
    const experimentId = `hand-${randomUUID().slice(0, 8)}`;
    const asOf = '2026-06-30T00:00:00.000Z';
    const at = (day: string, plusDays = 0) => new Date(Date.parse(`${day}T00:00:00Z`) + plusDays * 86_400_000);
    // Ended, so it never takes a real intake; its results are read all the same.
    await s.sql`insert into experiments (experiment_id, name, champion_playbook_id, champion_version, challenger_playbook_id,
                                         challenger_version, challenger_percent, status, created_by, started_at, ended_at)
                values (${experimentId}, 'by hand', 'micro-loan-default', 2, 'receivables-sales', 1, 50, 'ended', 'test',
                        '2026-02-01', '2026-07-01')`;
    interface Seed {
      k: string;
      arm: 'champion' | 'challenger';
      opened: string;
      owed: number;
      pays: Array<[days: number, minor: number]>;
      closedAfter?: number;
      dispute?: boolean;
      costs?: number[];
      promises?: Array<'kept' | 'broken'>;
      refusals?: number;
    }
    const seeds: Seed[] = [
      {
        k: 'C1',
        arm: 'champion',
        opened: '2026-03-01',
        owed: 100_000,
        pays: [
          [3, 20_000],
          [20, 30_000],
          [45, 10_000],
        ],
        costs: [5_000, 2_000],
        promises: ['kept', 'broken'],
        refusals: 1,
      },
      {
        k: 'C2',
        arm: 'champion',
        opened: '2026-03-01',
        owed: 50_000,
        pays: [[10, 50_000]],
        closedAfter: 10,
        costs: [2_000],
        promises: ['kept'],
      },
      { k: 'C3', arm: 'champion', opened: '2026-06-10', owed: 80_000, pays: [[2, 8_000]], dispute: true },
      {
        k: 'D1',
        arm: 'challenger',
        opened: '2026-03-01',
        owed: 100_000,
        pays: [
          [5, 50_000],
          [25, 50_000],
        ],
        closedAfter: 25,
        costs: [5_000],
      },
      { k: 'D2', arm: 'challenger', opened: '2026-03-01', owed: 60_000, pays: [], promises: ['broken'], refusals: 2 },
      { k: 'D3', arm: 'challenger', opened: '2026-03-15', owed: 40_000, pays: [[70, 10_000]] },
      // Opened after asOf: not counted.
      { k: 'D4', arm: 'challenger', opened: '2026-07-02', owed: 40_000, pays: [[1, 40_000]] },
    ];
    for (const c of seeds) {
      const accountId = `EXH-${experimentId}-${c.k}`;
      const caseKey = `${caseWorkflowId(accountId)}/run-${c.k}`;
      const [pb, v] = c.arm === 'champion' ? ['micro-loan-default', 2] : ['receivables-sales', 1];
      await s.sql`insert into experiment_assignments (experiment_id, account_id, arm, bucket)
                  values (${experimentId}, ${accountId}, ${c.arm}, 0)`;
      await s.sql`insert into experiment_cases (experiment_id, case_key, account_id, arm, playbook_id, playbook_version)
                  values (${experimentId}, ${caseKey}, ${accountId}, ${c.arm}, ${pb}, ${v})`;
      const closed = c.closedAfter === undefined ? null : at(c.opened, c.closedAfter);
      await s.sql`insert into cases (case_key, idempotency_key, account_id, workflow_id, debtor_name, currency, first_due_date,
                                     opening_minor, playbook_id, playbook_version, stage, opened_at, closed_at, in_dispute)
                  values (${caseKey}, ${`${caseKey}:opened`}, ${accountId}, ${caseWorkflowId(accountId)}, '测试', 'CNY',
                          ${addDays(c.opened, -1)}, ${c.owed}, ${pb}, ${v}, ${closed ? 'paid' : 'open'}, ${at(c.opened)}, ${closed},
                          ${c.dispute ?? false})`;
      let left = c.owed;
      for (const [i, [days, minor]] of c.pays.entries()) {
        left -= minor;
        await s.sql`insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at,
                                          principal_minor, outstanding_after_minor)
                    values (${`${caseKey}:p${i}`}, ${`${caseKey}:p${i}`}, ${accountId}, ${caseKey}, ${minor}, 'CNY',
                            ${at(c.opened, days)}, ${minor}, ${left})`;
      }
      for (const [i, minor] of (c.costs ?? []).entries()) {
        await s.sql`insert into case_costs (idempotency_key, case_key, account_id, kind, amount_minor, currency, description, incurred_at)
                    values (${`${caseKey}:k${i}`}, ${caseKey}, ${accountId}, 'letter', ${minor}, 'CNY', 'seeded', ${at(c.opened, 1)})`;
      }
      for (const [i, status] of (c.promises ?? []).entries()) {
        await s.sql`insert into promises (idempotency_key, case_key, promise_no, promised_date, amount_minor, status, made_at,
                                          settled_at)
                    values (${`${caseKey}:pr${i}`}, ${caseKey}, ${i + 1}, ${c.opened}, 1000, ${status}, ${at(c.opened, 1)},
                            ${at(c.opened, 5)})`;
      }
      for (let i = 0; i < (c.refusals ?? 0); i++) {
        await s.sql`insert into contact_attempts (idempotency_key, case_key, account_id, channel, party, status, refused_rule, actor,
                                                  attempted_at)
                    values (${`${caseKey}:r${i}`}, ${caseKey}, ${accountId}, 'phone', 'debtor', 'refused', 'cn-hours', 'test',
                            ${at(c.opened, 2)})`;
      }
    }

    const r = await getJson(`${s.apiUrl}/v1/experiments/${experimentId}/results?asOf=${asOf}`, s.keys.manager);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const [champion, challenger] = r.body.arms;
    // Champion: C1, C2, C3. Owed 230,000; recovered 20,000 + 30,000 + 10,000 + 50,000 + 8,000 = 118,000.
    //  day 7: all three are 7 days old; within 7 days C1 20,000 and C3 8,000: 28,000 ÷ 230,000.
    //  day 30 and later: C3 (20 days old) is not; C1 + C2 owe 150,000; within 30 days 50,000 + 50,000,
    //  within 60 (and 90) 60,000 + 50,000.
    expect(champion).toEqual({
      arm: 'champion',
      playbookId: 'micro-loan-default',
      playbookVersion: 2,
      cases: 3,
      closed: 1,
      owedMinor: 230_000,
      recoveredMinor: 118_000,
      recovery: [
        { day: 7, cases: 3, owedMinor: 230_000, recoveredMinor: 28_000, rate: 0.1217 },
        { day: 30, cases: 2, owedMinor: 150_000, recoveredMinor: 100_000, rate: 0.6667 },
        { day: 60, cases: 2, owedMinor: 150_000, recoveredMinor: 110_000, rate: 0.7333 },
        { day: 90, cases: 2, owedMinor: 150_000, recoveredMinor: 110_000, rate: 0.7333 },
      ],
      costMinor: 9_000, // 5,000 + 2,000 + 2,000
      costPerUnitRecovered: 0.0763, // 9,000 ÷ 118,000
      promises: { made: 3, kept: 2, broken: 1 },
      brokenPromisesPerCase: 0.3333,
      refusals: 1,
      disputes: 1,
      medianDaysToClose: 10,
    });
    // Challenger: D1, D2, D3 (D4 opened after asOf). Owed 200,000; recovered 110,000; all three are 90 days old.
    expect(challenger).toEqual({
      arm: 'challenger',
      playbookId: 'receivables-sales',
      playbookVersion: 1,
      cases: 3,
      closed: 1,
      owedMinor: 200_000,
      recoveredMinor: 110_000,
      recovery: [
        { day: 7, cases: 3, owedMinor: 200_000, recoveredMinor: 50_000, rate: 0.25 },
        { day: 30, cases: 3, owedMinor: 200_000, recoveredMinor: 100_000, rate: 0.5 },
        { day: 60, cases: 3, owedMinor: 200_000, recoveredMinor: 100_000, rate: 0.5 },
        { day: 90, cases: 3, owedMinor: 200_000, recoveredMinor: 110_000, rate: 0.55 },
      ],
      costMinor: 5_000,
      costPerUnitRecovered: 0.0455, // 5,000 ÷ 110,000
      promises: { made: 1, kept: 0, broken: 1 },
      brokenPromisesPerCase: 0.3333,
      refusals: 2,
      disputes: 0,
      medianDaysToClose: 25,
    });
    // The difference at day 30, by hand: champion R = 100,000 ÷ 150,000 = 2/3; residuals y − R·x are
    // −16,666.67 and +16,666.67; variance = 2 × 16,666.67² ÷ (1 × 2 × 75,000²) = 0.049383. Challenger R = 0.5;
    // residuals +50,000, −30,000, −20,000; variance = 3.8e9 ÷ (2 × 3 × 66,666.67²) = 0.1425.
    // Difference −0.16667 ± 1.95996 × √(0.049383 + 0.1425) = ± 0.85856.
    expect(r.body.difference).toEqual([
      { day: 7, value: 0.1283, ci95: [-0.2563, 0.5128] },
      { day: 30, value: -0.1667, ci95: [-1.0252, 0.6919] },
      { day: 60, value: -0.2333, ci95: [-1.0511, 0.5845] },
      { day: 90, value: -0.1833, ci95: [-0.9519, 0.5853] },
    ]);

    const csv = await fetch(`${s.apiUrl}/v1/experiments/${experimentId}/results?asOf=${asOf}&format=csv`, {
      headers: { authorization: `Bearer ${s.keys.supervisor}` },
    });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^row,playbook,cases,closed,owedMinor,recoveredMinor,recoveryDay7,/);
    expect(lines[1]).toMatch(/^champion,micro-loan-default@2,3,1,230000,118000,0\.1217,0\.6667,0\.7333,0\.7333,/);
    expect(lines[3]).toMatch(/^challenger - champion,,,,,,0\.1283,-0\.1667,-0\.2333,-0\.1833,-0\.2563,-1\.0252,/);
    expect((await getJson(`${s.apiUrl}/v1/experiments/${experimentId}/results`, s.keys.collector)).status).toBe(403);

    // The weekly report of a week the experiment ran in carries its results as of the week's end; a week
    // before it started has none (and keeps the figures it always had).
    const week = await weeklyFigures(s.sql, { weekStart: '2026-06-23T16:00:00.000Z', weekEnd: asOf, timeZone: zone });
    expect(week.experiments?.filter((e) => e.experimentId === experimentId)).toEqual([
      {
        experimentId,
        name: 'by hand',
        status: 'running',
        results: { experimentId, asOf, arms: r.body.arms, difference: r.body.difference },
      },
    ]);
    // Its page shows each arm and the difference at day 30 with the interval (the numbers above, in percent).
    const page = weeklyReportHtml({ ...week, reportKey: 'r', snapshotNo: 1, status: 'done' }, 'en', { pdf: 'p', csv: 'c', other: 'o' });
    expect(page).toContain('Champion/challenger experiments');
    expect(page).toContain(`by hand (${experimentId}, running)`);
    expect(page).toContain('<td>challenger</td><td>receivables-sales v1</td><td>3</td><td>50.0 %</td><td>55.0 %</td><td>0.0455</td>');
    expect(page).toContain('Recovery at day 30, challenger − champion: -16.7 %, 95 % interval -102.5 % to 69.2 %');
    const before = await weeklyFigures(s.sql, {
      weekStart: '2026-01-05T16:00:00.000Z',
      weekEnd: '2026-01-12T16:00:00.000Z',
      timeZone: zone,
    });
    expect(before.experiments?.some((e) => e.experimentId === experimentId) ?? false).toBe(false);
  });
});
