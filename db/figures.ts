import { instantOf, localDate } from '../shared/calendar';
import { experimentResults, type ExperimentResults } from './experiments';
import type { Sql } from './index';

/**
 * The portfolio in figures (issue 14), from the ledger. Every figure is defined here and in
 * docs/reports.md; a team narrows every figure to the cases whose `cases.team_id` is that team.
 *
 * - Days overdue of an open case as of `asOf`: local days since `overdue_since` + 1 (the case's own
 *   figure, DaysOverdue); cases from before `overdue_since` existed use their last `days_overdue`.
 * - Aging buckets: the cases open at `asOf` (opened by then, not closed by then) by days overdue: 1–3, 4–7, 8–30, 31–60, 61–90, 91+; count
 *   and outstanding balance of each.
 * - Repayments of the period: payments with `paid_at` in [from, to), less what was paid beyond the
 *   balance (`excess_minor`): count and amount.
 * - Recovery against target: the period's repayments ÷ the target set for the period and scope.
 * - Overdue rate: the outstanding balance of open cases ÷ the book's balance outstanding (the target
 *   row's `book_balance_minor`), the share of the book that is overdue.
 * - Default rate: the outstanding balance of open cases 91 or more days overdue ÷ the book's balance
 *   outstanding (90 days past due is the common default definition, and the source's target is
 *   "at most 5 %, aiming at 0").
 * - Promises made in the period and, of those, kept.
 * - Cost per case: the period's costs ÷ the cases that were open at some time in the period; cost
 *   per unit recovered: the period's costs ÷ its repayments; against the budget set for the period.
 * - Cases by stage and by treatment (all cases of the scope opened before `to`).
 * - Legal pipeline: the referrals of the cases open at `asOf`, by status (requested, approved, filed, mediated, judgment, closed), count
 *   and the outstanding balance of their cases.
 * - Weekly trend: the 8 weeks (7-day windows) that end at `asOf`: repayments, cases opened and closed.
 * - Roll rates: of the cases in each aging bucket in the aging snapshot taken 6 to 13 days before
 *   `asOf` (the previous weekly report's), how many are in each bucket at `asOf`, or closed; the
 *   roll-forward rate is the share that moved to a later bucket.
 */
export interface FiguresQuery {
  /** Period start (inclusive) and end (exclusive), instants. */
  from: Date;
  to: Date;
  asOf: Date;
  teamId?: string;
  /** The target row of the period, if one is set. */
  target?: Target;
}

export interface Target {
  recoveryTargetMinor: number | null;
  costBudgetMinor: number | null;
  bookBalanceMinor: number | null;
}

/** The aging buckets by their first day overdue; each runs to the day before the next one's (91+: no end). */
const AGING_BUCKETS = [
  { bucket: '1-3', min: 1 },
  { bucket: '4-7', min: 4 },
  { bucket: '8-30', min: 8 },
  { bucket: '31-60', min: 31 },
  { bucket: '61-90', min: 61 },
  { bucket: '91+', min: 91 },
] as const;
export type AgingBucket = (typeof AGING_BUCKETS)[number]['bucket'];

interface AgingRow {
  bucket: AgingBucket;
  cases: number;
  outstandingMinor: number;
}
export interface TrendWeek {
  /** The 7-day window [weekStart, weekEnd). */
  weekStart: string;
  weekEnd: string;
  /** Repayments less what was paid beyond the balance, and their count. */
  repaidMinor: number;
  payments: number;
  opened: number;
  closed: number;
}
interface RollRow {
  /** The bucket at the earlier snapshot, its cases and their outstanding balance then. */
  bucket: AgingBucket;
  cases: number;
  outstandingMinor: number;
  /** Where those cases are at `asOf`: a bucket, or 'closed'. */
  to: Partial<Record<AgingBucket | 'closed', number>>;
  /** The share now in a later bucket (null when the bucket was empty). */
  rollForward: number | null;
}
interface RollRates {
  /** The snapshot compared with `asOf`. */
  from: string;
  to: string;
  rows: RollRow[];
}

/** The portfolio's figures for a period as of a moment (GET /v1/reports/portfolio, and each weekly report's week). */
export interface PortfolioFigures {
  aging: AgingRow[];
  openCases: number;
  overdueMinor: number;
  repayments: { count: number; amountMinor: number };
  recovery: { recoveredMinor: number; targetMinor: number | null; ratio: number | null };
  overdueRate: number | null;
  defaultRate: number | null;
  defaultedMinor: number;
  promises: { made: number; kept: number };
  cost: {
    costMinor: number;
    casesInPeriod: number;
    perCaseMinor: number | null;
    perUnitRecovered: number | null;
    budgetMinor: number | null;
    ofBudget: number | null;
  };
  byStage: Record<string, number>;
  byTreatment: Record<string, number>;
  legal: Array<{ status: string; cases: number; outstandingMinor: number }>;
  trend: TrendWeek[];
  /** Null when no aging snapshot was taken 6 to 13 days before `asOf`. */
  rollRates: RollRates | null;
}

const ratio = (a: number, b: number | null | undefined) => (b ? Math.round((a / b) * 10_000) / 10_000 : null);
const DAY_MS = 86_400_000;
const TREND_WEEKS = 8;

/**
 * Days overdue of a case row `c` as of `asOf` (SQL): local days since overdue_since + 1, else its last
 * days_overdue. date_part (a float), not extract (a numeric): it is computed for every open case.
 */
const daysAt = (sql: Sql, asOf: Date) =>
  sql`case when c.overdue_since is not null
           then floor(date_part('epoch', ${asOf}::timestamptz - c.overdue_since) / 86400)::int + 1
           else coalesce(c.days_overdue, 0) end`;
/** The aging bucket of a days-overdue expression (SQL), computing it once; null below day 1. */
const bucketOf = (sql: Sql, days: ReturnType<typeof daysAt>) =>
  sql`(${sql.array([null, ...AGING_BUCKETS.map((b) => b.bucket)])}::text[])[width_bucket(${days}, ${sql.array(
    AGING_BUCKETS.map((b) => b.min),
  )}::int[]) + 1]`;
/** The case row `c` was open at `asOf`: opened by then, not closed by then. */
const openAt = (sql: Sql, asOf: Date) => sql`c.opened_at <= ${asOf} and (c.closed_at is null or c.closed_at > ${asOf})`;
/** `and <column> = <team>` when the figures are a team's; nothing for the whole portfolio (so the plan has no team test). */
const ofTeam = (sql: Sql, column: 'c.team_id' | 's.team_id', team: string | null) => (team ? sql`and ${sql(column)} = ${team}` : sql``);
/** The join to the case row, only when the figures are a team's (the whole portfolio needs no case column). */
const joinTeam = (sql: Sql, on: 'p' | 'k', team: string | null) =>
  team ? sql`join cases c on c.case_key = ${sql(`${on}.case_key`)} and c.team_id = ${team}` : sql``;

export async function portfolioFigures(sql: Sql, q: FiguresQuery): Promise<PortfolioFigures> {
  const team = q.teamId ?? null;
  const days = daysAt(sql, q.asOf);
  const agingRows = await sql<{ bucket: AgingBucket | null; n: number; outstanding: string; defaulted: string }[]>`
    select ${bucketOf(sql, days)} as bucket, count(*)::int as n, coalesce(sum(c.outstanding_minor), 0)::bigint as outstanding
    from cases c where ${openAt(sql, q.asOf)} ${ofTeam(sql, 'c.team_id', team)}
    group by 1`;
  const aging = AGING_BUCKETS.map((b) => {
    const r = agingRows.find((x) => x.bucket === b.bucket);
    return { bucket: b.bucket, cases: r?.n ?? 0, outstandingMinor: Number(r?.outstanding ?? 0) };
  });
  const openCases = agingRows.reduce((s, r) => s + r.n, 0);
  const overdueMinor = agingRows.reduce((s, r) => s + Number(r.outstanding), 0);
  const defaultedMinor = aging.find((a) => a.bucket === '91+')!.outstandingMinor;
  const [paid] = await sql<{ n: number; amount: number }[]>`
    select count(*)::int as n, coalesce(sum(p.amount_minor - p.excess_minor), 0)::bigint as amount
    from payments p ${joinTeam(sql, 'p', team)}
    where p.paid_at >= ${q.from} and p.paid_at < ${q.to}`;
  const [promises] = await sql<{ made: number; kept: number }[]>`
    select count(*)::int as made, count(*) filter (where p.status = 'kept')::int as kept
    from promises p join cases c on c.case_key = p.case_key
    where p.made_at >= ${q.from} and p.made_at < ${q.to} ${ofTeam(sql, 'c.team_id', team)}`;
  const [costs] = await sql<{ amount: number; cases: number }[]>`
    select (select coalesce(sum(k.amount_minor), 0)::bigint from case_costs k ${joinTeam(sql, 'k', team)}
            where k.incurred_at >= ${q.from} and k.incurred_at < ${q.to}) as amount,
           (select count(*)::int from cases c where c.opened_at < ${q.to} and (c.closed_at is null or c.closed_at >= ${q.from})
              ${ofTeam(sql, 'c.team_id', team)}) as cases`;
  const byStage = await sql<{ stage: string; treatment: string | null; n: number }[]>`
    select c.stage, c.treatment, count(*)::int as n from cases c
    where c.opened_at < ${q.to} ${ofTeam(sql, 'c.team_id', team)} group by c.stage, c.treatment order by c.stage, c.treatment`;
  const legal = await sql<{ status: string; n: number; outstanding: number }[]>`
    select l.status, count(*)::int as n, coalesce(sum(c.outstanding_minor), 0)::bigint as outstanding
    from legal_referrals l join cases c on c.case_key = l.case_key
    where ${openAt(sql, q.asOf)} ${ofTeam(sql, 'c.team_id', team)} group by l.status order by l.status`;

  const recovered = Number(paid!.amount);
  const costMinor = Number(costs!.amount);
  const count = (key: 'stage' | 'treatment') =>
    byStage.reduce<Record<string, number>>((m, r) => {
      const k = r[key] ?? 'none';
      m[k] = (m[k] ?? 0) + r.n;
      return m;
    }, {});
  return {
    aging,
    openCases,
    overdueMinor,
    repayments: { count: paid!.n, amountMinor: recovered },
    recovery: {
      recoveredMinor: recovered,
      targetMinor: q.target?.recoveryTargetMinor ?? null,
      ratio: ratio(recovered, q.target?.recoveryTargetMinor),
    },
    overdueRate: ratio(overdueMinor, q.target?.bookBalanceMinor),
    defaultRate: ratio(defaultedMinor, q.target?.bookBalanceMinor),
    defaultedMinor,
    promises: { made: promises!.made, kept: promises!.kept },
    cost: {
      costMinor,
      casesInPeriod: costs!.cases,
      perCaseMinor: costs!.cases ? Math.round(costMinor / costs!.cases) : null,
      perUnitRecovered: ratio(costMinor, recovered),
      budgetMinor: q.target?.costBudgetMinor ?? null,
      ofBudget: ratio(costMinor, q.target?.costBudgetMinor),
    },
    byStage: count('stage'),
    byTreatment: count('treatment'),
    legal: legal.map((l) => ({ status: l.status, cases: l.n, outstandingMinor: Number(l.outstanding) })),
    trend: await weeklyTrend(sql, q.asOf, team),
    rollRates: await rollRates(sql, q.asOf, team),
  };
}

/** The 8 weeks (7-day windows) that end at `asOf`, oldest first: repayments, cases opened and closed. */
async function weeklyTrend(sql: Sql, asOf: Date, team: string | null): Promise<TrendWeek[]> {
  const first = new Date(asOf.getTime() - TREND_WEEKS * 7 * DAY_MS);
  const rows = await sql<{ w: number; repaid: string; payments: number; opened: number; closed: number }[]>`
    with w as (select generate_series(0, ${TREND_WEEKS - 1}) as w),
    pay as (
      select floor(date_part('epoch', p.paid_at - ${first}::timestamptz) / 604800)::int as w,
             sum(p.amount_minor - p.excess_minor) as repaid, count(*)::int as n
      from payments p ${joinTeam(sql, 'p', team)}
      where p.paid_at >= ${first} and p.paid_at < ${asOf}
      group by 1),
    op as (
      select floor(date_part('epoch', c.opened_at - ${first}::timestamptz) / 604800)::int as w, count(*)::int as n
      from cases c where c.opened_at >= ${first} and c.opened_at < ${asOf} ${ofTeam(sql, 'c.team_id', team)}
      group by 1),
    cl as (
      select floor(date_part('epoch', c.closed_at - ${first}::timestamptz) / 604800)::int as w, count(*)::int as n
      from cases c where c.closed_at >= ${first} and c.closed_at < ${asOf} ${ofTeam(sql, 'c.team_id', team)}
      group by 1)
    select w.w, coalesce(pay.repaid, 0)::bigint as repaid, coalesce(pay.n, 0) as payments, coalesce(op.n, 0) as opened,
           coalesce(cl.n, 0) as closed
    from w left join pay using (w) left join op using (w) left join cl using (w) order by w.w`;
  return rows.map((r) => ({
    weekStart: new Date(first.getTime() + r.w * 7 * DAY_MS).toISOString(),
    weekEnd: new Date(first.getTime() + (r.w + 1) * 7 * DAY_MS).toISOString(),
    repaidMinor: Number(r.repaid),
    payments: r.payments,
    opened: r.opened,
    closed: r.closed,
  }));
}

/**
 * Roll rates from the aging snapshot taken 6 to 13 days before `asOf` (the latest such) to `asOf`:
 * per bucket then, where its cases are now (a bucket, or closed). Null without such a snapshot.
 */
async function rollRates(sql: Sql, asOf: Date, team: string | null): Promise<RollRates | null> {
  const [snap] = await sql<{ as_of: Date }[]>`
    select max(as_of) as as_of from aging_snapshots
    where as_of <= ${new Date(asOf.getTime() - 6 * DAY_MS)} and as_of >= ${new Date(asOf.getTime() - 13 * DAY_MS)}`;
  if (!snap?.as_of) return null;
  const rows = await sql<{ from_bucket: AgingBucket; to_bucket: AgingBucket | 'closed' | null; n: number; outstanding: string }[]>`
    select s.bucket as from_bucket,
           case when c.closed_at is not null and c.closed_at <= ${asOf} then 'closed' else ${bucketOf(sql, daysAt(sql, asOf))} end
             as to_bucket,
           count(*)::int as n, sum(s.outstanding_minor)::bigint as outstanding
    from aging_snapshots s join cases c on c.case_key = s.case_key
    where s.as_of = ${snap.as_of} ${ofTeam(sql, 's.team_id', team)}
    group by 1, 2`;
  const order = AGING_BUCKETS.map((b) => b.bucket as string);
  return {
    from: snap.as_of.toISOString(),
    to: asOf.toISOString(),
    rows: AGING_BUCKETS.map(({ bucket }) => {
      const mine = rows.filter((r) => r.from_bucket === bucket);
      const cases = mine.reduce((s, r) => s + r.n, 0);
      const to: RollRow['to'] = {};
      for (const r of mine) {
        const k = r.to_bucket ?? AGING_BUCKETS[0].bucket; // a case cured to below day 1 counts as the first bucket
        to[k] = (to[k] ?? 0) + r.n;
      }
      const forward = mine.filter((r) => r.to_bucket && r.to_bucket !== 'closed' && order.indexOf(r.to_bucket) > order.indexOf(bucket));
      return {
        bucket,
        cases,
        outstandingMinor: mine.reduce((s, r) => s + Number(r.outstanding), 0),
        to,
        rollForward: ratio(
          forward.reduce((s, r) => s + r.n, 0),
          cases,
        ),
      };
    }),
  };
}

/** The aging of every open case at `asOf` (the weekly report's snapshot, for next week's roll rates). Idempotent. */
export async function writeAgingSnapshot(sql: Sql, asOf: Date): Promise<number> {
  const days = daysAt(sql, asOf);
  const rows = await sql`
    insert into aging_snapshots (as_of, case_key, team_id, bucket, days_overdue, outstanding_minor)
    select ${asOf}, c.case_key, c.team_id, ${bucketOf(sql, days)}, ${days}, coalesce(c.outstanding_minor, 0)
    from cases c
    where ${openAt(sql, asOf)} and ${days} >= 1
    on conflict (as_of, case_key) do nothing
    returning 1`;
  return rows.length;
}

export type PeriodKind = 'month' | 'quarter' | 'year';

/** The first day of the period of `kind` that contains `date` (YYYY-MM-DD). */
export function periodStartOf(kind: PeriodKind, date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  const month = kind === 'month' ? m : kind === 'quarter' ? m - ((m - 1) % 3) : 1;
  return `${y}-${String(month).padStart(2, '0')}-01`;
}
/** The first day after the period that starts on `start`. */
export function periodEndOf(kind: PeriodKind, start: string): string {
  const [y, m] = start.split('-').map(Number) as [number, number];
  const months = kind === 'month' ? 1 : kind === 'quarter' ? 3 : 12;
  const next = m - 1 + months;
  return `${y + Math.floor(next / 12)}-${String((next % 12) + 1).padStart(2, '0')}-01`;
}

/** The target row of a period and scope (the portfolio's, or a team's), if one is set. */
export async function targetFor(
  sql: Sql,
  kind: PeriodKind,
  start: string,
  teamId?: string,
): Promise<(Target & { currency: string }) | undefined> {
  const [t] = await sql<
    { recovery_target_minor: string | null; cost_budget_minor: string | null; book_balance_minor: string | null; currency: string }[]
  >`
    select recovery_target_minor, cost_budget_minor, book_balance_minor, currency from targets
    where period_kind = ${kind} and period_start = ${start} and scope = ${teamId ? 'team' : 'portfolio'} and scope_id = ${teamId ?? ''}`;
  const n = (v: string | null) => (v === null ? null : Number(v));
  return t
    ? {
        recoveryTargetMinor: n(t.recovery_target_minor),
        costBudgetMinor: n(t.cost_budget_minor),
        bookBalanceMinor: n(t.book_balance_minor),
        currency: t.currency,
      }
    : undefined;
}

/** What a weekly report holds: the week's figures, and the month's recovery so far against its target. */
export interface WeeklyFigures {
  /** The 7 days [start, end) the report covers, and the portfolio's time zone. */
  week: { start: string; end: string; timeZone: string };
  /** The currency of the month's target (the portfolio's), CNY without one. */
  currency: string;
  /** The portfolio's figures over the week, as of its end (rates against the month's book). */
  figures: PortfolioFigures;
  /** The month that holds the week's end: repayments from its first day to the week's end, against its target. */
  month: { start: string; recoveredMinor: number; targetMinor: number | null; ratio: number | null };
  /** The champion/challenger experiments that ran during the week, with their results as of its end (absent: none ran). */
  experiments?: Array<{ experimentId: string; name: string; status: string; results: ExperimentResults }>;
}

export async function weeklyFigures(sql: Sql, w: { weekStart: string; weekEnd: string; timeZone: string }): Promise<WeeklyFigures> {
  const end = new Date(w.weekEnd);
  const monthStart = periodStartOf('month', localDate(end.getTime() - 1, w.timeZone));
  const target = await targetFor(sql, 'month', monthStart);
  const figures = await portfolioFigures(sql, {
    from: new Date(w.weekStart),
    to: end,
    asOf: end,
    ...(target ? { target: { ...target, recoveryTargetMinor: null, costBudgetMinor: null } } : {}),
  });
  const [m] = await sql<{ amount: string }[]>`
    select coalesce(sum(amount_minor - excess_minor), 0)::bigint as amount from payments
    where paid_at >= ${new Date(instantOf(monthStart, '00:00', w.timeZone))} and paid_at < ${end}`;
  const recovered = Number(m!.amount);
  const targetMinor = target?.recoveryTargetMinor ?? null;
  const ran = await sql<{ experiment_id: string; name: string; status: string }[]>`
    select experiment_id, name, case when ended_at is not null and ended_at < ${end} then 'ended' else 'running' end as status
    from experiments where started_at < ${end} and (ended_at is null or ended_at >= ${new Date(w.weekStart)}) order by experiment_id`;
  const experiments = await Promise.all(
    ran.map(async (e) => ({
      experimentId: e.experiment_id,
      name: e.name,
      status: e.status,
      results: await experimentResults(sql, e.experiment_id, end),
    })),
  );
  return {
    week: { start: w.weekStart, end: w.weekEnd, timeZone: w.timeZone },
    currency: target?.currency ?? 'CNY',
    figures,
    month: { start: monthStart, recoveredMinor: recovered, targetMinor, ratio: ratio(recovered, targetMinor) },
    // Only when one ran: a week without experiments keeps the figures (and their hash) it always had.
    ...(experiments.length > 0 ? { experiments } : {}),
  };
}
