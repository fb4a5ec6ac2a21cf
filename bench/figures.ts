// The portfolio's figures over a large ledger (issue 14): N cases seeded by set-based SQL into a scratch
// database of the given PostgreSQL server (created, migrated, dropped at the end), then the time of
// portfolioFigures (as GET /v1/reports/portfolio runs it: the whole portfolio and one team, this month)
// and of weeklyFigures (the last 7 days), medians after a warm-up, with the indexes and sequential scans
// they used (pg_stat_* deltas) and, from one more run under auto_explain, each statement's time and scans.
import postgres from 'postgres';
import type { Sql } from '../db/index';
import { migrate } from '../db/migrate';
import { periodEndOf, periodStartOf, portfolioFigures, targetFor, weeklyFigures, writeAgingSnapshot } from '../db/figures';
import { instantOf, localDate } from '../shared/calendar';
import { median, ms } from './lib';

const TZ = 'Asia/Shanghai';
const DAY_MS = 86_400_000;
const TARGET_MS = 2_000;
const TEAM = 'team-01';

export interface FiguresResult {
  /** Labelled results (label, value) and the report's lines. */
  results: Array<[string, string]>;
  lines: string[];
}

/** As db/index.ts reads bigint columns: JS numbers. */
const bigintAsNumber = { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) };

export async function measureFigures(opts: { url: string; cases: number; runs?: number }): Promise<FiguresResult> {
  const runs = opts.runs ?? 5;
  const say = (line: string) => console.log(`[bench] figures: ${line}`);
  const results: Array<[string, string]> = [];
  const lines: string[] = [];
  const admin = postgres(opts.url, { max: 1, onnotice: () => undefined });
  const dbName = `recoup_bench_figures_${process.pid}`;
  const scratch = new URL(opts.url);
  scratch.pathname = `/${dbName}`;
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.unsafe(`create database ${dbName}`);
  // One connection for all: the API's queries run one after another, and prepared statements (with the
  // plan cache's switch to a generic plan after five runs) live per connection.
  let onNotice: (n: postgres.Notice) => void = () => undefined;
  const sql: Sql = postgres(scratch.href, {
    max: 1,
    types: { bigint: bigintAsNumber },
    onnotice: (n) => onNotice(n),
    connection: { application_name: 'recoup-bench-figures' },
  });
  try {
    const [server] = await sql<{ version: string; settings: string }[]>`
      select current_setting('server_version') as version,
             'shared_buffers ' || current_setting('shared_buffers') || ', work_mem ' || current_setting('work_mem') as settings`;
    const version = server!.version;
    await migrate(sql);
    const now = new Date();
    const t0 = process.hrtime.bigint();
    say(`seeding ${opts.cases.toLocaleString('en')} cases into ${dbName} (PostgreSQL ${version})`);
    await seed(sql, opts.cases, now);
    const snapshotAt = new Date(now.getTime() - 7 * DAY_MS);
    const s0 = process.hrtime.bigint();
    const snapshotRows = await writeAgingSnapshot(sql, snapshotAt);
    const snapshotMs = ms(s0);
    const monthStart = periodStartOf('month', localDate(now.getTime(), TZ));
    await seedTargets(sql, now, monthStart);
    await sql.unsafe('vacuum analyze');
    const seedMs = ms(t0);
    const counts = await rowCounts(sql);
    results.push(
      [
        `figures: seeding ${opts.cases.toLocaleString('en')} cases by SQL, with the aging snapshot, VACUUM ANALYZE`,
        `${(seedMs / 1000).toFixed(1)} s`,
      ],
      [
        `figures: writeAgingSnapshot a week back (${snapshotRows.toLocaleString('en')} open cases; one run, part of the seeding)`,
        `${snapshotMs.toFixed(0)} ms`,
      ],
    );
    lines.push(
      `Figures ledger (scratch database on PostgreSQL ${version}, ${server!.settings}): ` +
        Object.entries(counts)
          .map(([k, v]) => `${k} ${v.toLocaleString('en')}`)
          .join(', '),
    );

    // What the API runs for GET /v1/reports/portfolio (?teamId=): the period's target, then the figures.
    const portfolio = async (teamId?: string) => {
      const start = periodStartOf('month', localDate(now.getTime(), TZ));
      const target = await targetFor(sql, 'month', start, teamId);
      return portfolioFigures(sql, {
        from: new Date(instantOf(start, '00:00', TZ)),
        to: new Date(instantOf(periodEndOf('month', start), '00:00', TZ)),
        asOf: now,
        ...(teamId ? { teamId } : {}),
        ...(target ? { target } : {}),
      });
    };
    const week = { weekStart: snapshotAt.toISOString(), weekEnd: now.toISOString(), timeZone: TZ };
    const figures: Array<{ label: string; run: () => Promise<string> }> = [
      {
        label: `portfolioFigures, whole portfolio, this month (${monthStart}…)`,
        run: async () => describe(await portfolio()),
      },
      {
        label: `portfolioFigures, one team (${TEAM}), this month`,
        run: async () => describe(await portfolio(TEAM)),
      },
      {
        label: 'weeklyFigures, the last 7 days',
        run: async () => {
          const w = await weeklyFigures(sql, week);
          return `${describe(w.figures)}, month so far ${w.month.recoveredMinor.toLocaleString('en')}`;
        },
      },
    ];
    for (const f of figures) {
      say(f.label);
      await f.run(); // warm-up
      const before = await scanStats(sql);
      const times: number[] = [];
      let what = '';
      for (let i = 0; i < runs; i++) {
        const t = process.hrtime.bigint();
        what = await f.run();
        times.push(ms(t));
      }
      const after = await scanStats(sql);
      const m = median(times);
      results.push([
        `figures: ${f.label}: median of ${runs}`,
        `${m.toFixed(0)} ms${m < TARGET_MS ? ' ✓' : ' ✗'} target < 2 s (runs ${times.map((x) => x.toFixed(0)).join(', ')})`,
      ]);
      lines.push(`${f.label}: ${what}`);
      lines.push(`  indexes scanned per run: ${indexDelta(before, after, runs) || 'none'}`);
      lines.push(`  sequential scans per run (each parallel worker counts): ${seqDelta(before, after, runs) || 'none'}`);
      // One more run under auto_explain (ANALYZE, no timing): each statement as it ran on this connection.
      const plans = await explained(sql, f.run, (h) => (onNotice = h));
      const total = plans.reduce((s, p) => s + p.ms, 0);
      lines.push(`  its statements, slowest first (one run under auto_explain: ${plans.length} statements, ${total.toFixed(0)} ms):`);
      for (const p of plans.slice(0, m < TARGET_MS ? 3 : 6)) lines.push(`    ${p.ms.toFixed(0).padStart(5)} ms  ${p.text}  [${p.scans}]`);
    }
  } finally {
    await sql.end({ timeout: 5 });
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch((e: unknown) => say(`drop failed: ${String(e)}`));
    await admin.end({ timeout: 5 });
  }
  return { results, lines };
}

const describe = (f: Awaited<ReturnType<typeof portfolioFigures>>) =>
  `${f.openCases.toLocaleString('en')} open cases, ${f.repayments.count.toLocaleString('en')} payments in the period, ` +
  `${f.promises.made.toLocaleString('en')} promises, ${f.cost.casesInPeriod.toLocaleString('en')} cases in the period, ` +
  `${f.legal.reduce((s, l) => s + l.cases, 0).toLocaleString('en')} in legal, ` +
  `roll rates from ${f.rollRates ? f.rollRates.rows.reduce((s, r) => s + r.cases, 0).toLocaleString('en') : 'no'} snapshot cases`;

/**
 * The ledger, set-based: `n` cases (about 70 % open; overdue since 1 to 400 days; 20 teams and a few
 * without; stages and treatments mixed; balances of 500 to 50,000 CNY), 0–6 payments a case (3 on
 * average) over the last six months of its life, 0–2 promises, 0–4 costs, a legal referral for about 5 %.
 */
async function seed(sql: Sql, n: number, now: Date): Promise<void> {
  await sql`select setseed(0.14)`;
  await sql`
    with base as (
      select i, random() < 0.7 as open, 1 + floor(random() * 400)::int as days, random() as r_stage, random() as r_treat,
             random() as r_open, random() as r_close, random() as r_paid, (50000 + floor(random() * 4950000))::bigint as opening
      from generate_series(1, ${n}::int) i),
    dated as (
      select b.*, (date_trunc('day', ${now}::timestamptz at time zone ${TZ}) at time zone ${TZ}) - (b.days - 1) * interval '1 day'
               as overdue_since
      from base b),
    opened as (
      select d.*, d.overdue_since + least(interval '1 day', ${now}::timestamptz - d.overdue_since) * d.r_open as opened_at,
             case when d.open then (case when d.r_stage < 0.85 then 'open' when d.r_stage < 0.95 then 'restructured' else 'legal' end)
                  else (case when d.r_stage < 0.55 then 'paid' when d.r_stage < 0.75 then 'settled' when d.r_stage < 0.95 then 'written-off'
                             else 'legal-closed' end) end as stage
      from dated d),
    closed as (
      select o.*, case when o.open then null else o.opened_at + (${now}::timestamptz - o.opened_at) * o.r_close end as closed_at,
             case when o.stage = 'paid' then o.opening when o.stage = 'settled' then (o.opening * 0.7)::bigint
                  else (o.opening * o.r_paid * 0.5)::bigint end as paid
      from opened o)
    insert into cases (case_key, idempotency_key, account_id, workflow_id, debtor_name, currency, first_due_date, opening_minor,
                       playbook_id, playbook_version, stage, paid_minor, outstanding_minor, principal_minor, opened_at, closed_at,
                       days_overdue, treatment, overdue_since, team_id, collector_id, projection_no, projected_at)
    select 'Case:F-' || i || '/run-1', 'bench-intake:F-' || i, 'F-' || i, 'Case:F-' || i, 'Debtor ' || i, 'CNY',
           (overdue_since at time zone ${TZ})::date - 1, opening, 'default', 1, stage, paid,
           case when stage = 'paid' then 0 else opening - paid end, case when stage = 'paid' then 0 else opening - paid end,
           opened_at, closed_at,
           case when open then days else floor(extract(epoch from (closed_at - overdue_since)) / 86400)::int + 1 end,
           case when stage in ('legal', 'legal-closed') then 'litigate' when stage = 'restructured' then 'restructure'
                when r_treat < 0.8 then 'collect' when r_treat < 0.9 then 'restructure' when r_treat < 0.95 then 'settle-in-kind'
                else 'litigate' end,
           overdue_since, case when i % 53 = 0 then null else 'team-' || lpad((1 + i % 20)::text, 2, '0') end,
           'collector-' || lpad((i % 300)::text, 3, '0'), 1, coalesce(closed_at, opened_at)
    from closed`;
  // Payments, promises and costs fall in the last six months of a case's life (its whole life when it closed before).
  const life = (what: string) => sql`
    select c.*, lo + (hi - lo) * random() as at from (
      select c.id, c.case_key, c.account_id, c.opening_minor, c.outstanding_minor, k,
             case when hi > lo then lo else c.opened_at end as lo, hi
      from (select c.*, greatest(c.opened_at, ${now}::timestamptz - interval '183 days') as lo,
                   coalesce(c.closed_at, ${now}::timestamptz) as hi from cases c) c
      cross join lateral generate_series(1, ${sql.unsafe(what)}) k) c`;
  await sql`
    insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at, principal_minor,
                          excess_minor, outstanding_after_minor)
    select 'FP-' || id || '-' || k, 'bench-pay:F-' || id || '-' || k, account_id, case_key, amount, 'CNY', at, amount - excess, excess,
           coalesce(outstanding_minor, 0)
    from (select l.*, greatest(100, (l.opening_minor * (0.02 + 0.2 * random()))::bigint) as amount from (${life(
      'abs(hashint4(c.id::int)) % 7',
    )}) l) p, lateral (select case when random() < 0.03 then p.amount / 10 else 0 end as excess) x`;
  await sql`
    insert into promises (idempotency_key, case_key, promise_no, promised_date, amount_minor, status, made_at, settled_at)
    select 'bench-promise:F-' || id || '-' || k, case_key, k, due, greatest(100, opening_minor / 10),
           case when due >= today then 'pending' when random() < 0.55 then 'kept' else 'broken' end, at,
           case when due < today then (due + 1)::timestamp at time zone ${TZ} end
    from (select l.*, (l.at at time zone ${TZ})::date + 7 as due, (${now}::timestamptz at time zone ${TZ})::date as today
          from (${life('abs(hashint4(c.id::int + 1000003)) % 5 - 2')}) l) p`;
  await sql`
    insert into case_costs (idempotency_key, case_key, account_id, kind, amount_minor, currency, description, incurred_at, recoverable)
    select 'bench-cost:F-' || id || '-' || k, case_key, account_id, (array['sms', 'call', 'letter', 'visit', 'notice'])[1 + k % 5],
           (20 + floor(random() * 2000))::bigint, 'CNY', 'bench', at, random() < 0.3
    from (${life('abs(hashint4(c.id::int + 2000003)) % 5')}) l`;
  await sql`
    insert into legal_referrals (idempotency_key, case_key, account_id, reason, dossier, status, requested_at)
    select 'bench-legal:' || case_key, case_key, account_id, 'no payment after the ladder', '{}'::jsonb,
           case when stage = 'legal-closed' then 'closed'
                else (array['requested', 'approved', 'filed', 'mediated', 'judgment'])[1 + abs(hashint4(id::int)) % 5] end,
           opened_at + (coalesce(closed_at, ${now}::timestamptz) - opened_at) / 2
    from cases where stage in ('legal', 'legal-closed')`;
}

/** This month's targets: the portfolio's and the measured team's (a book four times the overdue balance). */
async function seedTargets(sql: Sql, now: Date, monthStart: string): Promise<void> {
  const monthAgo = new Date(now.getTime() - 30 * DAY_MS);
  for (const [scope, scopeId] of [
    ['portfolio', ''],
    ['team', TEAM],
  ] as const) {
    const team = scopeId || null;
    await sql`
      insert into targets (period_kind, period_start, scope, scope_id, currency, recovery_target_minor, cost_budget_minor,
                           book_balance_minor, book_accounts, set_by)
      select 'month', ${monthStart}::date, ${scope}, ${scopeId}, 'CNY',
             (select coalesce(sum(p.amount_minor), 0) * 11 / 10 from payments p join cases c using (case_key)
              where p.paid_at >= ${monthAgo} and (${team}::text is null or c.team_id = ${team})),
             (select coalesce(sum(k.amount_minor), 0) * 12 / 10 from case_costs k join cases c using (case_key)
              where k.incurred_at >= ${monthAgo} and (${team}::text is null or c.team_id = ${team})),
             (select coalesce(sum(outstanding_minor), 0) * 4 from cases
              where closed_at is null and (${team}::text is null or team_id = ${team})),
             (select count(*) * 4 from cases where (${team}::text is null or team_id = ${team})), 'bench'`;
  }
}

async function rowCounts(sql: Sql): Promise<Record<string, number>> {
  const [r] = await sql<Record<string, number>[]>`
    select (select count(*)::int from cases) as cases, (select count(*)::int from cases where closed_at is null) as "open cases",
           (select count(*)::int from payments) as payments, (select count(*)::int from promises) as promises,
           (select count(*)::int from case_costs) as case_costs, (select count(*)::int from legal_referrals) as legal_referrals,
           (select count(*)::int from aging_snapshots) as aging_snapshots`;
  return r!;
}

interface ScanStats {
  indexes: Map<string, number>;
  seq: Map<string, number>;
}

/** The cumulative scans of the scratch database's tables and indexes, this connection's own flushed first. */
async function scanStats(sql: Sql): Promise<ScanStats> {
  await sql`select pg_stat_force_next_flush()`; // flushed when the connection goes idle, before the next statement
  const idx = await sql<{ name: string; n: number }[]>`
    select relname || '.' || indexrelname as name, idx_scan::int as n from pg_stat_user_indexes`;
  const tab = await sql<{ name: string; n: number }[]>`select relname as name, seq_scan::int as n from pg_stat_user_tables`;
  return { indexes: new Map(idx.map((r) => [r.name, r.n])), seq: new Map(tab.map((r) => [r.name, r.n])) };
}

const delta = (a: Map<string, number>, b: Map<string, number>, runs: number) =>
  [...b]
    .map(([k, v]) => [k, (v - (a.get(k) ?? 0)) / runs] as const)
    .filter(([, d]) => d > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([k, d]) => `${k} ${Number.isInteger(d) ? d : d.toFixed(1)}`)
    .join(', ');
const indexDelta = (a: ScanStats, b: ScanStats, runs: number) => delta(a.indexes, b.indexes, runs);
const seqDelta = (a: ScanStats, b: ScanStats, runs: number) => delta(a.seq, b.seq, runs);

interface Explained {
  ms: number;
  text: string;
  scans: string;
}

/**
 * Runs `run` once with auto_explain on for this connection (plans with actual rows, as NOTICEs) and
 * returns its statements, slowest first: time, the start of the statement, and its scans.
 */
async function explained(
  sql: Sql,
  run: () => Promise<unknown>,
  setNotice: (h: (n: postgres.Notice) => void) => void,
): Promise<Explained[]> {
  const out: Explained[] = [];
  await sql.unsafe(`load 'auto_explain'`);
  await sql.unsafe(
    `set auto_explain.log_min_duration = 0; set auto_explain.log_analyze = on; set auto_explain.log_timing = off;
     set auto_explain.log_format = 'json'; set auto_explain.log_level = 'notice'`,
  );
  setNotice((n) => {
    const m = /^duration: ([\d.]+) ms\s+plan:\s*([\s\S]*)$/.exec(String(n.message));
    if (!m) return;
    const plan = JSON.parse(m[2]!) as { 'Query Text': string; Plan: PlanNode };
    const text = plan['Query Text'].replace(/\s+/g, ' ').trim();
    if (/auto_explain|pg_stat/.test(text)) return;
    out.push({ ms: Number(m[1]), text: text.length > 90 ? `${text.slice(0, 90)}…` : text, scans: scansOf(plan.Plan).join(', ') });
  });
  try {
    await run();
  } finally {
    await sql.unsafe('set auto_explain.log_min_duration = -1');
    setNotice(() => undefined);
  }
  return out.sort((a, b) => b.ms - a.ms);
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Workers Planned'?: number;
  Plans?: PlanNode[];
}

function scansOf(node: PlanNode): string[] {
  const own =
    node['Index Name'] !== undefined
      ? [`${node['Node Type']} ${node['Index Name']}`]
      : node['Node Type'] === 'Seq Scan'
        ? [`Seq Scan ${node['Relation Name']}`]
        : node['Workers Planned']
          ? [`${node['Node Type']} ×${node['Workers Planned']} workers`]
          : [];
  return [...own, ...(node.Plans ?? []).flatMap(scansOf)];
}
