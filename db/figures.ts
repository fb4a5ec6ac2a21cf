import type { Sql } from './index';

/**
 * The portfolio in figures (issue 14), from the ledger. Every figure is defined here and in
 * docs/reports.md; a team narrows every figure to the cases whose `cases.team_id` is that team.
 *
 * - Days overdue of an open case as of `asOf`: local days since `overdue_since` + 1 (the case's own
 *   figure, DaysOverdue); cases from before `overdue_since` existed use their last `days_overdue`.
 * - Aging buckets: open cases (not closed) by days overdue: 1–3, 4–7, 8–30, 31–60, 61–90, 91+; count
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
 * - Legal pipeline: referrals by status (requested, approved, filed, mediated, judgment, closed), count
 *   and the outstanding balance of their cases.
 */
export interface FiguresQuery {
  /** Period start (inclusive) and end (exclusive), instants. */
  from: Date;
  to: Date;
  asOf: Date;
  teamId?: string;
  /** The target row of the period, if one is set. */
  target?: { recoveryTargetMinor: number | null; costBudgetMinor: number | null; bookBalanceMinor: number | null };
}

const AGING_BUCKETS = [
  { bucket: '1-3', min: 1, max: 3 },
  { bucket: '4-7', min: 4, max: 7 },
  { bucket: '8-30', min: 8, max: 30 },
  { bucket: '31-60', min: 31, max: 60 },
  { bucket: '61-90', min: 61, max: 90 },
  { bucket: '91+', min: 91, max: Number.MAX_SAFE_INTEGER },
] as const;

const ratio = (a: number, b: number | null | undefined) => (b ? Math.round((a / b) * 10_000) / 10_000 : null);

export async function portfolioFigures(sql: Sql, q: FiguresQuery) {
  const team = q.teamId ?? null;
  const open = await sql<{ days: number; outstanding: number }[]>`
    select case when overdue_since is not null
                then floor(extract(epoch from (${q.asOf}::timestamptz - overdue_since)) / 86400)::int + 1
                else coalesce(days_overdue, 0) end as days,
           coalesce(outstanding_minor, 0) as outstanding
    from cases where closed_at is null and (${team}::text is null or team_id = ${team})`;
  const aging = AGING_BUCKETS.map((b) => {
    const rows = open.filter((r) => r.days >= b.min && r.days <= b.max);
    return { bucket: b.bucket, cases: rows.length, outstandingMinor: rows.reduce((s, r) => s + Number(r.outstanding), 0) };
  });
  const overdueMinor = open.reduce((s, r) => s + Number(r.outstanding), 0);
  const defaultedMinor = open.filter((r) => r.days >= 91).reduce((s, r) => s + Number(r.outstanding), 0);

  const [paid] = await sql<{ n: number; amount: number }[]>`
    select count(*)::int as n, coalesce(sum(p.amount_minor - p.excess_minor), 0)::bigint as amount
    from payments p join cases c on c.case_key = p.case_key
    where p.paid_at >= ${q.from} and p.paid_at < ${q.to} and (${team}::text is null or c.team_id = ${team})`;
  const [promises] = await sql<{ made: number; kept: number }[]>`
    select count(*)::int as made, count(*) filter (where p.status = 'kept')::int as kept
    from promises p join cases c on c.case_key = p.case_key
    where p.made_at >= ${q.from} and p.made_at < ${q.to} and (${team}::text is null or c.team_id = ${team})`;
  const [costs] = await sql<{ amount: number; cases: number }[]>`
    select (select coalesce(sum(k.amount_minor), 0)::bigint from case_costs k join cases c on c.case_key = k.case_key
            where k.incurred_at >= ${q.from} and k.incurred_at < ${q.to} and (${team}::text is null or c.team_id = ${team})) as amount,
           (select count(*)::int from cases c where c.opened_at < ${q.to} and (c.closed_at is null or c.closed_at >= ${q.from})
              and (${team}::text is null or c.team_id = ${team})) as cases`;
  const byStage = await sql<{ stage: string; treatment: string | null; n: number }[]>`
    select stage, treatment, count(*)::int as n from cases
    where opened_at < ${q.to} and (${team}::text is null or team_id = ${team}) group by stage, treatment`;
  const legal = await sql<{ status: string; n: number; outstanding: number }[]>`
    select l.status, count(*)::int as n, coalesce(sum(c.outstanding_minor), 0)::bigint as outstanding
    from legal_referrals l join cases c on c.case_key = l.case_key
    where (${team}::text is null or c.team_id = ${team}) group by l.status order by l.status`;

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
    openCases: open.length,
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
  };
}
