import { DEFAULT_PLAYBOOK_ID } from '../shared/playbooks';
import { armOf, bucketOf, matches, type Arm, type CaseFacts, type CaseMatch } from '../shared/experiments';
import { csvOfLines } from '../shared/csv';
import type { Sql } from './index';

/** The playbook intake chose for a new case, and why: a rule, an experiment's arm, or the default. */
export interface PlaybookChoice {
  playbookId: string;
  /** Pinned by an experiment; otherwise the playbook's latest version. */
  version?: number;
  ruleId?: string;
  experiment?: { experimentId: string; arm: Arm };
}

interface RuleRow {
  rule_id: string;
  playbook_id: string;
  match: CaseMatch;
}
interface ExperimentRow {
  experiment_id: string;
  champion_playbook_id: string;
  champion_version: number;
  challenger_playbook_id: string;
  challenger_version: number;
  challenger_percent: string;
  match: CaseMatch;
}

/** What choosePlaybook reads: the enabled rules (in order) and the running experiments. */
export interface PlaybookLists {
  rules: RuleRow[];
  experiments: ExperimentRow[];
}

/** The columns `rules` and `experiments` (PlaybookLists) of one select: intake reads them with its other lookups. */
export function playbookListsSql(sql: Sql) {
  return sql`
    (select coalesce(json_agg(r order by r.priority, r.rule_id), '[]') from
       (select rule_id, playbook_id, match, priority from playbook_rules where enabled) r) as rules,
    (select coalesce(json_agg(e), '[]') from
       (select experiment_id, champion_playbook_id, champion_version, challenger_playbook_id, challenger_version,
               challenger_percent::text, match from experiments where status = 'running') e) as experiments`;
}

/**
 * Chooses the playbook of a new case (docs/experiments.md): the first enabled rule that matches, or the
 * default; then, if an experiment runs on that playbook and matches the case, the account's arm (kept in
 * experiment_assignments from its first intake on, so the same account never flips). `lists`: read by
 * the caller (playbookListsSql).
 */
export async function choosePlaybook(sql: Sql, facts: CaseFacts, lists: PlaybookLists): Promise<PlaybookChoice> {
  const rule = lists.rules.find((r) => matches(r.match, facts));
  const playbookId = rule?.playbook_id ?? DEFAULT_PLAYBOOK_ID;
  const base = { playbookId, ...(rule ? { ruleId: rule.rule_id } : {}) };
  const exp = lists.experiments.find((e) => e.champion_playbook_id === playbookId && matches(e.match, facts));
  if (!exp) return base;
  const bucket = bucketOf(exp.experiment_id, facts.accountId);
  // The arm recorded at the account's first intake wins over a share changed since.
  const [a] = await sql<{ arm: Arm }[]>`
    insert into experiment_assignments (experiment_id, account_id, arm, bucket)
    values (${exp.experiment_id}, ${facts.accountId}, ${armOf(bucket, Number(exp.challenger_percent))}, ${bucket})
    on conflict (experiment_id, account_id) do update set account_id = experiment_assignments.account_id
    returning arm`;
  const arm = a!.arm;
  return arm === 'challenger'
    ? {
        ...base,
        playbookId: exp.challenger_playbook_id,
        version: exp.challenger_version,
        experiment: { experimentId: exp.experiment_id, arm },
      }
    : { ...base, version: exp.champion_version, experiment: { experimentId: exp.experiment_id, arm } };
}

/** The case an arm opened (its workflow started), for the experiment's results. */
export async function recordExperimentCase(
  sql: Sql,
  c: { experimentId: string; arm: Arm; caseKey: string; accountId: string; playbookId: string; playbookVersion: number },
): Promise<void> {
  await sql`insert into experiment_cases (experiment_id, case_key, account_id, arm, playbook_id, playbook_version)
            values (${c.experimentId}, ${c.caseKey}, ${c.accountId}, ${c.arm}, ${c.playbookId}, ${c.playbookVersion})
            on conflict (case_key) do nothing`;
}

// ---- results (docs/experiments.md, "Results") ----

const RECOVERY_DAYS = [7, 30, 60, 90] as const;
/** Two-sided 95 % normal quantile. */
const Z95 = 1.959963984540054;

interface ArmResults {
  arm: Arm;
  playbookId: string;
  playbookVersion: number;
  cases: number;
  closed: number;
  owedMinor: number;
  recoveredMinor: number;
  /** Per horizon: the cases opened at least that many days before asOf, and what they recovered within it. */
  recovery: Array<{ day: number; cases: number; owedMinor: number; recoveredMinor: number; rate: number | null }>;
  costMinor: number;
  costPerUnitRecovered: number | null;
  promises: { made: number; kept: number; broken: number };
  brokenPromisesPerCase: number | null;
  /** Contacts the compliance guard refused, and cases the debtor disputed. */
  refusals: number;
  disputes: number;
  medianDaysToClose: number | null;
}

export interface ExperimentResults {
  experimentId: string;
  asOf: string;
  arms: ArmResults[];
  /** Challenger's recovery rate − champion's, per horizon, with its 95 % confidence interval (null: too few cases). */
  difference: Array<{ day: number; value: number | null; ci95: [number, number] | null }>;
}

interface CaseRow {
  arm: Arm;
  case_key: string;
  day0: Date;
  closed_at: Date | null;
  opening_minor: number;
  in_dispute: boolean;
}

/**
 * An experiment's figures per arm as of `asOf`, from the ledger: the cases each arm opened that have
 * their ledger row by then. Definitions in docs/experiments.md; the test checks them against hand-computed values.
 */
export async function experimentResults(sql: Sql, experimentId: string, asOf: Date): Promise<ExperimentResults> {
  const [e] = await sql<
    { champion_playbook_id: string; champion_version: number; challenger_playbook_id: string; challenger_version: number }[]
  >`
    select champion_playbook_id, champion_version, challenger_playbook_id, challenger_version from experiments
    where experiment_id = ${experimentId}`;
  const pinned = (arm: Arm) =>
    arm === 'champion'
      ? { playbookId: e?.champion_playbook_id ?? '', playbookVersion: e?.champion_version ?? 0 }
      : { playbookId: e?.challenger_playbook_id ?? '', playbookVersion: e?.challenger_version ?? 0 };
  // Day 0 of a case: the first day its account was overdue, where the debtor lives (a back-dated case, opened
  // in the ledger today, counts from then too).
  const cases = await sql<CaseRow[]>`
    select x.arm, c.case_key, ((c.first_due_date + 1)::timestamp at time zone coalesce(d.time_zone, 'UTC')) as day0,
           case when c.closed_at <= ${asOf} then c.closed_at end as closed_at, c.opening_minor, c.in_dispute
    from experiment_cases x join cases c on c.case_key = x.case_key left join debtors d on d.account_id = c.account_id
    where x.experiment_id = ${experimentId} and c.opened_at <= ${asOf}
    order by c.case_key`;
  const keys = cases.map((c) => c.case_key);
  const payments = await sql<{ case_key: string; paid_at: Date; amount: number }[]>`
    select case_key, paid_at, (amount_minor - excess_minor)::bigint as amount from payments
    where case_key = any(${keys}) and paid_at <= ${asOf}`;
  const costs = await sql<{ case_key: string; amount: number }[]>`
    select case_key, sum(amount_minor)::bigint as amount from case_costs
    where case_key = any(${keys}) and incurred_at <= ${asOf} group by case_key`;
  const promises = await sql<{ case_key: string; made: number; kept: number; broken: number }[]>`
    select case_key, count(*)::int as made,
           count(*) filter (where status = 'kept' and settled_at <= ${asOf})::int as kept,
           count(*) filter (where status = 'broken' and settled_at <= ${asOf})::int as broken
    from promises where case_key = any(${keys}) and made_at <= ${asOf} group by case_key`;
  const refusals = await sql<{ case_key: string; n: number }[]>`
    select case_key, count(*)::int as n from contact_attempts
    where case_key = any(${keys}) and status = 'refused' and attempted_at <= ${asOf} group by case_key`;

  const paidBy = group(payments, (p) => p.case_key);
  const sumOf = <T>(rows: T[], f: (r: T) => number) => rows.reduce((s, r) => s + f(r), 0);
  const byCase = <T extends { case_key: string }>(rows: T[]) => new Map(rows.map((r) => [r.case_key, r]));
  const costOf = byCase(costs);
  const promisesOf = byCase(promises);
  const refusalsOf = byCase(refusals);
  const DAY = 86_400_000;
  /** What a case recovered before `day` days after its day 0 (every payment when no horizon). */
  const recoveredBy = (c: CaseRow, day?: number) =>
    sumOf(paidBy.get(c.case_key) ?? [], (p) => (day === undefined || p.paid_at.getTime() < c.day0.getTime() + day * DAY ? p.amount : 0));
  const matured = (c: CaseRow, day: number) => c.day0.getTime() + day * DAY <= asOf.getTime();

  const arms: ArmResults[] = [];
  const pairs: Record<string, Array<{ x: number; y: number }>> = {};
  for (const arm of ['champion', 'challenger'] as const) {
    const mine = cases.filter((c) => c.arm === arm);
    const recoveredMinor = sumOf(mine, (c) => recoveredBy(c));
    const costMinor = sumOf(mine, (c) => Number(costOf.get(c.case_key)?.amount ?? 0));
    const made = sumOf(mine, (c) => promisesOf.get(c.case_key)?.made ?? 0);
    const broken = sumOf(mine, (c) => promisesOf.get(c.case_key)?.broken ?? 0);
    const closedDays = mine.filter((c) => c.closed_at).map((c) => (c.closed_at!.getTime() - c.day0.getTime()) / DAY);
    arms.push({
      arm,
      ...pinned(arm),
      cases: mine.length,
      closed: closedDays.length,
      owedMinor: sumOf(mine, (c) => c.opening_minor),
      recoveredMinor,
      recovery: RECOVERY_DAYS.map((day) => {
        const ripe = mine.filter((c) => matured(c, day));
        pairs[`${arm}:${day}`] = ripe.map((c) => ({ x: c.opening_minor, y: recoveredBy(c, day) }));
        const owed = sumOf(ripe, (c) => c.opening_minor);
        const rec = sumOf(ripe, (c) => recoveredBy(c, day));
        return { day, cases: ripe.length, owedMinor: owed, recoveredMinor: rec, rate: owed > 0 ? round(rec / owed) : null };
      }),
      costMinor,
      costPerUnitRecovered: recoveredMinor > 0 ? round(costMinor / recoveredMinor) : null,
      promises: { made, kept: sumOf(mine, (c) => promisesOf.get(c.case_key)?.kept ?? 0), broken },
      brokenPromisesPerCase: mine.length > 0 ? round(broken / mine.length) : null,
      refusals: sumOf(mine, (c) => refusalsOf.get(c.case_key)?.n ?? 0),
      disputes: mine.filter((c) => c.in_dispute).length,
      medianDaysToClose: closedDays.length > 0 ? round(median(closedDays), 2) : null,
    });
  }
  const difference = RECOVERY_DAYS.map((day) => {
    const a = ratioEstimate(pairs[`champion:${day}`]!);
    const b = ratioEstimate(pairs[`challenger:${day}`]!);
    if (!a || !b) return { day, value: null, ci95: null };
    const value = b.rate - a.rate;
    const half = Z95 * Math.sqrt(a.variance + b.variance);
    return { day, value: round(value), ci95: [round(value - half), round(value + half)] as [number, number] };
  });
  return { experimentId, asOf: asOf.toISOString(), arms, difference };
}

/**
 * An arm's recovery rate R = Σy ÷ Σx (recovered ÷ owed over its cases) and the variance of that ratio
 * estimator by the delta method: Σ(y − R·x)² ÷ ((n − 1) · n · x̄²). Needs two cases and something owed.
 */
function ratioEstimate(pairs: Array<{ x: number; y: number }>): { rate: number; variance: number } | null {
  const n = pairs.length;
  const sx = pairs.reduce((s, p) => s + p.x, 0);
  if (n < 2 || sx <= 0) return null;
  const rate = pairs.reduce((s, p) => s + p.y, 0) / sx;
  const meanX = sx / n;
  const ss = pairs.reduce((s, p) => s + (p.y - rate * p.x) ** 2, 0);
  return { rate, variance: ss / ((n - 1) * n * meanX * meanX) };
}

function group<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The results as CSV: one line per arm, then the difference (challenger − champion) with its 95 % interval. */
export function resultsCsv(r: ExperimentResults): string {
  const days = RECOVERY_DAYS.map((d) => `recoveryDay${d}`);
  const header = [
    'row',
    'playbook',
    'cases',
    'closed',
    'owedMinor',
    'recoveredMinor',
    ...days,
    ...days.map((d) => `${d}Ci95Low`),
    ...days.map((d) => `${d}Ci95High`),
    'costMinor',
    'costPerUnitRecovered',
    'promisesMade',
    'promisesKept',
    'promisesBroken',
    'refusals',
    'disputes',
    'medianDaysToClose',
  ];
  const none = days.map(() => null);
  const arms = r.arms.map((a) => [
    a.arm,
    `${a.playbookId}@${a.playbookVersion}`,
    a.cases,
    a.closed,
    a.owedMinor,
    a.recoveredMinor,
    ...a.recovery.map((x) => x.rate),
    ...none,
    ...none,
    a.costMinor,
    a.costPerUnitRecovered,
    a.promises.made,
    a.promises.kept,
    a.promises.broken,
    a.refusals,
    a.disputes,
    a.medianDaysToClose,
  ]);
  const diff = [
    'challenger - champion',
    ...Array.from({ length: 5 }, () => null),
    ...r.difference.map((d) => d.value),
    ...r.difference.map((d) => d.ci95?.[0] ?? null),
    ...r.difference.map((d) => d.ci95?.[1] ?? null),
    ...Array.from({ length: 9 }, () => null),
  ];
  return csvOfLines([header, ...arms, diff]);
}
