import { z } from 'zod';
import { addDays, daysBetween, instantOf, isValidTimeZone } from '../../shared/calendar';
import { IsoDate } from '../../shared/case';
import type { ApiDeps } from '../deps';
import { route } from '../registry';
import { csvOfLines } from '../../shared/csv';

const MAX_DAYS = 366;
const CSV_TYPE = 'text/csv; charset=utf-8';

const Query = z
  .object({
    by: z.enum(['collector', 'team']),
    from: IsoDate,
    to: IsoDate,
    timeZone: z.string().refine(isValidTimeZone, 'not an IANA time zone').default('Asia/Shanghai'),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict()
  .refine((q) => q.to >= q.from, { message: '`to` is before `from`', path: ['to'] })
  .refine((q) => daysBetween(q.from, q.to) < MAX_DAYS, { message: `the period is more than ${MAX_DAYS} days`, path: ['to'] });

const Figures = {
  name: z.string(),
  currency: z.string().nullable(),
  casesWorked: z.number().int(),
  contactsMade: z.number().int(),
  promisesMade: z.number().int(),
  promisesKept: z.number().int(),
  recoveredMinor: z.number().int(),
  assignedMinor: z.number().int(),
  recoveryRate: z.number(),
  costMinor: z.number().int(),
};
const CollectorRow = z.object({ collectorId: z.string(), teamId: z.string().nullable(), ...Figures });
const TeamRow = z.object({ teamId: z.string(), ...Figures });
const Scorecards = z.object({
  by: z.enum(['collector', 'team']),
  from: z.string(),
  to: z.string(),
  timeZone: z.string(),
  rows: z.array(z.union([CollectorRow, TeamRow])),
});

interface Row {
  key: string;
  name: string;
  team_id: string | null;
  currency: string | null;
  cases_worked: number;
  contacts_made: number;
  promises_made: number;
  promises_kept: number;
  recovered_minor: number;
  assigned_minor: number;
  recovery_rate: number;
  cost_minor: number;
}

const FIGURE_COLUMNS = [
  'currency',
  'casesWorked',
  'contactsMade',
  'promisesMade',
  'promisesKept',
  'recoveredMinor',
  'assignedMinor',
  'recoveryRate',
  'costMinor',
] as const;

/** The rows as RFC 4180 CSV: a header line, then one line per row, every line ended by CRLF. */
function toCsv(columns: readonly string[], rows: readonly Record<string, string | number | null>[]): string {
  return csvOfLines([columns, ...rows.map((r) => columns.map((c) => r[c] ?? null))]);
}

/**
 * Scorecards (issue 13): per collector or per team, for a period of local calendar days, what was
 * worked, promised, recovered and spent, from the ledger. Definitions: docs/data-model.md, "Scorecards".
 */
export function scorecardRoutes(d: ApiDeps) {
  return [
    route({
      method: 'get',
      path: '/v1/scorecards',
      tag: 'scorecards',
      summary:
        'Scorecards per collector (one row per person with role collector, with or without figures) or per team (one row per ' +
        "team), for the calendar days from..to inclusive in timeZone (default Asia/Shanghai). A row's cases: cases.collector_id " +
        '(the current owner: a reassigned case counts wholly for its new owner) or cases.team_id. casesWorked: its cases with a ' +
        'placed or completed contact attempt in the period; contactsMade: completed contact attempts in the period; promisesMade: ' +
        'promises made in the period, promisesKept: those of them kept; recoveredMinor: payments paid in the period, less their ' +
        "excess; assignedMinor: all the cases' instalments (principal assigned, not limited to the period); recoveryRate: " +
        'recoveredMinor / assignedMinor to 4 decimals (0 when nothing is assigned); costMinor: case costs incurred in the period. ' +
        "Money in minor units; currency: the cases' currency (comma-separated if they differ; null without cases). format=csv: " +
        'the same rows as RFC 4180 CSV',
      access: { roles: ['supervisor', 'manager'] },
      query: Query,
      responses: {
        200: { description: 'The scorecards (JSON, or text/csv with format=csv)', schema: Scorecards, text: ['text/csv'] },
      },
      async handler({ query }) {
        const { by, from, to, timeZone } = query;
        // The period: from the start of `from` to the start of the day after `to`, local time.
        const start = new Date(instantOf(from, '00:00', timeZone));
        const end = new Date(instantOf(addDays(to, 1), '00:00', timeZone));
        const rowsOf =
          by === 'collector'
            ? d.sql`select p.person_id as key, p.name, p.team_id from people p where p.role = 'collector'`
            : d.sql`select t.team_id as key, t.name, null::text as team_id from teams t`;
        const casesOf =
          by === 'collector'
            ? d.sql`select c.case_key, c.collector_id as key, c.currency::text as currency from cases c join r on r.key = c.collector_id`
            : d.sql`select c.case_key, c.team_id as key, c.currency::text as currency from cases c join r on r.key = c.team_id`;
        const rows = await d.sql<Row[]>`
          with r as (${rowsOf}),
          rc as (${casesOf}),
          attempts as (
            select rc.key, count(distinct a.case_key)::int as worked, (count(*) filter (where a.status = 'completed'))::int as contacts
            from contact_attempts a join rc on rc.case_key = a.case_key
            where a.status in ('placed', 'completed') and a.attempted_at >= ${start} and a.attempted_at < ${end}
            group by rc.key),
          promised as (
            select rc.key, count(*)::int as made, (count(*) filter (where p.status = 'kept'))::int as kept
            from promises p join rc on rc.case_key = p.case_key
            where p.made_at >= ${start} and p.made_at < ${end}
            group by rc.key),
          recovered as (
            select rc.key, sum(p.amount_minor - p.excess_minor)::bigint as minor
            from payments p join rc on rc.case_key = p.case_key
            where p.paid_at >= ${start} and p.paid_at < ${end}
            group by rc.key),
          assigned as (
            select rc.key, sum(i.amount_minor)::bigint as minor
            from instalments i join rc on rc.case_key = i.case_key
            group by rc.key),
          costs as (
            select rc.key, sum(k.amount_minor)::bigint as minor
            from case_costs k join rc on rc.case_key = k.case_key
            where k.incurred_at >= ${start} and k.incurred_at < ${end}
            group by rc.key),
          currencies as (
            select rc.key, string_agg(distinct rc.currency, ',' order by rc.currency) as currency from rc group by rc.key)
          select r.key, r.name, r.team_id, cur.currency,
                 coalesce(w.worked, 0) as cases_worked, coalesce(w.contacts, 0) as contacts_made,
                 coalesce(pr.made, 0) as promises_made, coalesce(pr.kept, 0) as promises_kept,
                 coalesce(rec.minor, 0)::bigint as recovered_minor, coalesce(asg.minor, 0)::bigint as assigned_minor,
                 (case when coalesce(asg.minor, 0) = 0 then 0
                       else round(coalesce(rec.minor, 0)::numeric / asg.minor, 4) end)::float8 as recovery_rate,
                 coalesce(k.minor, 0)::bigint as cost_minor
          from r
          left join attempts w on w.key = r.key
          left join promised pr on pr.key = r.key
          left join recovered rec on rec.key = r.key
          left join assigned asg on asg.key = r.key
          left join costs k on k.key = r.key
          left join currencies cur on cur.key = r.key
          order by r.key`;

        const out = rows.map((r) => ({
          ...(by === 'collector' ? { collectorId: r.key, teamId: r.team_id } : { teamId: r.key }),
          name: r.name,
          currency: r.currency,
          casesWorked: r.cases_worked,
          contactsMade: r.contacts_made,
          promisesMade: r.promises_made,
          promisesKept: r.promises_kept,
          recoveredMinor: r.recovered_minor,
          assignedMinor: r.assigned_minor,
          recoveryRate: r.recovery_rate,
          costMinor: r.cost_minor,
        }));
        if (query.format === 'csv') {
          const keys = by === 'collector' ? ['collectorId', 'name', 'teamId'] : ['teamId', 'name'];
          return { status: 200, body: toCsv([...keys, ...FIGURE_COLUMNS], out), contentType: CSV_TYPE };
        }
        return { status: 200, body: { by, from, to, timeZone, rows: out } };
      },
    }),
  ];
}
