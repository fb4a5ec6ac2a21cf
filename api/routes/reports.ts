import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { z } from 'zod';
import { instantOf, isValidTimeZone, localDate } from '../../shared/calendar';
import { IsoDate } from '../../shared/case';
import { CurrencyCode } from '../../shared/money-schema';
import { approveReportUpdate, checkReportUpdate, WEEKLY_SCHEDULE_ID } from '../../shared/reports';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { portfolioFigures } from '../../db/figures';
import { route } from '../registry';

const Id = z.string().regex(/^[\w.-]{1,100}$/);
const PeriodKind = z.enum(['month', 'quarter', 'year']);
const Minor = z.number().int().nonnegative();

const Target = z
  .object({
    periodKind: PeriodKind,
    /** The period's first day: the 1st of a month; of January, April, July or October; of January. */
    periodStart: IsoDate,
    scope: z.enum(['portfolio', 'team', 'collector']),
    scopeId: Id.optional(),
    currency: CurrencyCode,
    recoveryTargetMinor: Minor.optional(),
    costBudgetMinor: Minor.optional(),
    issuedMinor: Minor.optional(),
    bookBalanceMinor: Minor.optional(),
    bookAccounts: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((t) => (t.scope === 'portfolio') === (t.scopeId === undefined), {
    message: 'scopeId names the team or collector (and only them)',
    path: ['scopeId'],
  })
  .refine((t) => startOf(t.periodKind, t.periodStart) === t.periodStart, {
    message: 'periodStart is the first day of the period',
    path: ['periodStart'],
  });

/** The first day of the period of `kind` that contains `date` (YYYY-MM-DD). */
function startOf(kind: z.infer<typeof PeriodKind>, date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  const month = kind === 'month' ? m : kind === 'quarter' ? m - ((m - 1) % 3) : 1;
  return `${y}-${String(month).padStart(2, '0')}-01`;
}
/** The first day after the period that starts on `start`. */
function endOf(kind: z.infer<typeof PeriodKind>, start: string): string {
  const [y, m] = start.split('-').map(Number) as [number, number];
  const months = kind === 'month' ? 1 : kind === 'quarter' ? 3 : 12;
  const next = m - 1 + months;
  return `${y + Math.floor(next / 12)}-${String((next % 12) + 1).padStart(2, '0')}-01`;
}

/**
 * The Friday report's Temporal Schedule: Friday 17:00 in the portfolio's time zone. Overlap ALLOW_ALL:
 * each week's report is its own workflow, and last week's may still wait for approval. Catch-up
 * window one day: a cluster down at 17:00 and back by Saturday 17:00 still makes the report; older
 * missed Fridays are not made up (their figures are in the next one).
 */
export async function ensureWeeklySchedule(client: Client, taskQueue: string, timeZone = 'Asia/Shanghai'): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: WEEKLY_SCHEDULE_ID,
      spec: { calendars: [{ dayOfWeek: 'FRIDAY', hour: 17, minute: 0 }], timezone: timeZone },
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 day' },
      action: {
        type: 'startWorkflow',
        workflowType: 'weeklyReport',
        workflowId: 'weekly-report',
        taskQueue,
        args: [{ timeZone, reminderHours: 24 }],
      },
      memo: { purpose: 'The Friday collection report (Recoup)' },
    });
  } catch (e) {
    if (!(e instanceof ScheduleAlreadyRunning)) throw e;
  }
}

/** Targets and the book (manager, finance), and the portfolio's figures against them (issue 14). */
export function reportRoutes(d: ApiDeps) {
  const now = () => (d.now ?? Date.now)();
  const Report = z.object({ id: z.coerce.number().int().positive() }).strict();
  const reportRow = async (id: number) => {
    const [r] = await d.sql<
      {
        id: string;
        report_key: string;
        week_start: Date;
        week_end: Date;
        status: string;
        snapshot_no: number;
        figures: unknown;
        csv: string;
        approved_by: string | null;
        checked_by: string | null;
      }[]
    >`select id, report_key, week_start, week_end, status, snapshot_no, figures, csv, approved_by, checked_by
      from weekly_reports where id = ${id}`;
    if (!r) throw new HttpProblem(404, 'Not found', `no weekly report ${id}`);
    return r;
  };
  const summary = (r: Awaited<ReturnType<typeof reportRow>>) => ({
    id: Number(r.id),
    reportKey: r.report_key,
    weekStart: r.week_start.toISOString(),
    weekEnd: r.week_end.toISOString(),
    status: r.status,
    snapshotNo: r.snapshot_no,
    approvedBy: r.approved_by,
    checkedBy: r.checked_by,
  });
  const decide = (name: 'approve' | 'check', role: 'manager' | 'finance') =>
    route({
      method: 'post',
      path: `/v1/reports/weekly/:id/${name}`,
      tag: 'reports',
      summary:
        name === 'approve'
          ? "A manager's approval of the weekly report (if its figures changed since the snapshot, it is re-snapshotted and asked again)"
          : "Finance's check of the approved weekly report",
      access: { roles: [role] },
      params: Report,
      body: z.object({}).strict(),
      responses: {
        200: { description: 'The report workflow took it', schema: z.object({ status: z.string(), detail: z.string() }) },
        404: { description: 'No such report' },
        422: { description: 'Not in the state for it' },
      },
      async handler({ params, principal }) {
        const r = await reportRow(params.id);
        const handle = d.client.workflow.getHandle(r.report_key);
        const def = name === 'approve' ? approveReportUpdate : checkReportUpdate;
        return { status: 200, body: await handle.executeUpdate(def, { args: [{ by: principal!.subject, role }] }) };
      },
    });
  const scheduleAction = (name: 'trigger' | 'pause' | 'unpause') =>
    route({
      method: 'post',
      path: `/v1/reports/weekly/schedule/${name}`,
      tag: 'reports',
      summary:
        name === 'trigger'
          ? 'Make the weekly report now (the Schedule is created if it does not exist yet)'
          : `${name === 'pause' ? 'Pause' : 'Resume'} the Friday 17:00 Schedule (also possible in the Temporal UI)`,
      access: { roles: ['manager'] },
      body: z.object({}).strict(),
      responses: { 202: { description: 'Done', schema: z.object({ scheduleId: z.string(), action: z.string() }) } },
      async handler() {
        await ensureWeeklySchedule(d.client, d.taskQueue);
        const h = d.client.schedule.getHandle(WEEKLY_SCHEDULE_ID);
        if (name === 'trigger') await h.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
        else if (name === 'pause') await h.pause('paused through the API');
        else await h.unpause('resumed through the API');
        return { status: 202, body: { scheduleId: WEEKLY_SCHEDULE_ID, action: name } };
      },
    });

  return [
    scheduleAction('trigger'),
    scheduleAction('pause'),
    scheduleAction('unpause'),
    decide('approve', 'manager'),
    decide('check', 'finance'),
    route({
      method: 'get',
      path: '/v1/reports/weekly',
      tag: 'reports',
      summary: 'The weekly reports, newest first, with their status (awaiting-approval, awaiting-check, done)',
      access: { roles: ['supervisor', 'manager', 'finance'] },
      responses: { 200: { description: 'The reports', schema: z.object({ reports: z.array(z.record(z.string(), z.unknown())) }) } },
      async handler() {
        const rows = await d.sql<Awaited<ReturnType<typeof reportRow>>[]>`
          select id, report_key, week_start, week_end, status, snapshot_no, figures, csv, approved_by, checked_by
          from weekly_reports order by id desc limit 100`;
        return { status: 200, body: { reports: rows.map(summary) } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/reports/weekly/:id',
      tag: 'reports',
      summary: 'A weekly report: its figures as snapshotted (JSON), or its CSV (format=csv)',
      access: { roles: ['supervisor', 'manager', 'finance'] },
      params: Report,
      query: z.object({ format: z.enum(['json', 'csv']).default('json') }).strict(),
      responses: {
        200: { description: 'The report', schema: z.record(z.string(), z.unknown()), text: ['text/csv'] },
        404: { description: 'No such report' },
      },
      async handler({ params, query }) {
        const r = await reportRow(params.id);
        if (query.format === 'csv') return { status: 200, body: r.csv, contentType: 'text/csv; charset=utf-8' };
        return { status: 200, body: { ...summary(r), figures: r.figures } };
      },
    }),
    route({
      method: 'post',
      path: '/v1/targets',
      tag: 'reports',
      summary:
        'Set the recovery target, cost budget and book figures (issued, balance outstanding, accounts) of a period ' +
        '(month, quarter, year) for the portfolio, a team or a collector; what is given replaces what was set',
      access: { roles: ['manager', 'finance'] },
      body: Target,
      responses: { 200: { description: 'The target as set', schema: z.record(z.string(), z.unknown()) } },
      async handler({ body, principal }) {
        await d.sql`
          insert into targets (period_kind, period_start, scope, scope_id, currency, recovery_target_minor, cost_budget_minor,
                               issued_minor, book_balance_minor, book_accounts, set_by)
          values (${body.periodKind}, ${body.periodStart}, ${body.scope}, ${body.scopeId ?? ''}, ${body.currency},
                  ${body.recoveryTargetMinor ?? null}, ${body.costBudgetMinor ?? null}, ${body.issuedMinor ?? null},
                  ${body.bookBalanceMinor ?? null}, ${body.bookAccounts ?? null}, ${principal!.subject})
          on conflict (period_kind, period_start, scope, scope_id) do update set currency = excluded.currency,
            recovery_target_minor = coalesce(excluded.recovery_target_minor, targets.recovery_target_minor),
            cost_budget_minor = coalesce(excluded.cost_budget_minor, targets.cost_budget_minor),
            issued_minor = coalesce(excluded.issued_minor, targets.issued_minor),
            book_balance_minor = coalesce(excluded.book_balance_minor, targets.book_balance_minor),
            book_accounts = coalesce(excluded.book_accounts, targets.book_accounts),
            set_by = excluded.set_by, updated_at = now()`;
        return { status: 200, body: { ...body, setBy: principal!.subject } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/reports/portfolio',
      tag: 'reports',
      summary:
        "The portfolio's figures as of a moment, for the period (month by default) that contains it: aging buckets, repayments, " +
        'recovery against target, overdue and default rates, promises, cost per case and per unit recovered against budget, ' +
        'cases by stage and treatment, the legal pipeline (definitions: docs/reports.md)',
      access: { roles: ['supervisor', 'manager', 'finance'] },
      query: z
        .object({
          asOf: z.iso.datetime({ offset: true }).optional(),
          teamId: Id.optional(),
          period: PeriodKind.default('month'),
          timeZone: z.string().refine(isValidTimeZone, 'an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
        })
        .strict(),
      responses: { 200: { description: 'The figures', schema: z.record(z.string(), z.unknown()) } },
      async handler({ query }) {
        const asOf = query.asOf ? new Date(query.asOf) : new Date(now());
        const start = startOf(query.period, localDate(asOf.getTime(), query.timeZone));
        const end = endOf(query.period, start);
        const [t] = await d.sql<
          { recovery_target_minor: number | null; cost_budget_minor: number | null; book_balance_minor: number | null }[]
        >`
          select recovery_target_minor, cost_budget_minor, book_balance_minor from targets
          where period_kind = ${query.period} and period_start = ${start}
            and scope = ${query.teamId ? 'team' : 'portfolio'} and scope_id = ${query.teamId ?? ''}`;
        const figures = await portfolioFigures(d.sql, {
          from: new Date(instantOf(start, '00:00', query.timeZone)),
          to: new Date(instantOf(end, '00:00', query.timeZone)),
          asOf,
          ...(query.teamId ? { teamId: query.teamId } : {}),
          ...(t
            ? {
                target: {
                  recoveryTargetMinor: t.recovery_target_minor,
                  costBudgetMinor: t.cost_budget_minor,
                  bookBalanceMinor: t.book_balance_minor,
                },
              }
            : {}),
        });
        return {
          status: 200,
          body: {
            asOf: asOf.toISOString(),
            period: { kind: query.period, start, end, timeZone: query.timeZone },
            ...(query.teamId ? { teamId: query.teamId } : {}),
            ...figures,
          },
        };
      },
    }),
  ];
}
