import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { instantOf, isValidTimeZone, localDate } from '../../shared/calendar';
import { IsoDate } from '../../shared/case';
import { CurrencyCode } from '../../shared/money-schema';
import { reportStatusLine } from '../../shared/charts';
import { approveReportUpdate, checkReportUpdate, WEEKLY_SCHEDULE_ID } from '../../shared/reports';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { periodEndOf, periodStartOf, portfolioFigures, targetFor, type WeeklyFigures } from '../../db/figures';
import { portfolioHtml, weeklyReportHtml } from '../pages';
import { route } from '../registry';

const Id = z.string().regex(/^[\w.-]{1,100}$/);
const PeriodKind = z.enum(['month', 'quarter', 'year']);
const Minor = z.number().int().nonnegative();
const TargetScope = z.enum(['portfolio', 'team', 'collector']);
/** A report's id, or its id and file type: `12`, `12.pdf`, `12.csv`, `12.html`, `12.json`. */
const ReportFile = z
  .string()
  .regex(/^\d{1,15}(\.(json|csv|pdf|html))?$/, 'a report id, optionally with .json, .csv, .pdf or .html')
  .transform((v) => {
    const [id, format] = v.split('.') as [string, 'json' | 'csv' | 'pdf' | 'html' | undefined];
    return { id: Number(id), format };
  });
const PortfolioQuery = z
  .object({
    asOf: z.iso.datetime({ offset: true }).optional(),
    teamId: Id.optional(),
    period: PeriodKind.default('month'),
    timeZone: z.string().refine(isValidTimeZone, 'an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
  })
  .strict();
/** The pages have no script and load nothing: inline styles and inline SVG only. */
const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const Target = z
  .object({
    periodKind: PeriodKind,
    /** The period's first day: the 1st of a month; of January, April, July or October; of January. */
    periodStart: IsoDate,
    scope: TargetScope,
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
  .refine((t) => periodStartOf(t.periodKind, t.periodStart) === t.periodStart, {
    message: 'periodStart is the first day of the period',
    path: ['periodStart'],
  });

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
        approved_at: Date | null;
        checked_by: string | null;
        checked_at: Date | null;
      }[]
    >`select id, report_key, week_start, week_end, status, snapshot_no, figures, csv, approved_by, approved_at, checked_by, checked_at
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
  const targetRows = async (f: {
    periodKind?: string | undefined;
    periodStart?: string | undefined;
    scope?: string | undefined;
    scopeId?: string;
  }) => {
    const rows = await d.sql<Record<string, unknown>[]>`
      select period_kind, to_char(period_start, 'YYYY-MM-DD') as period_start, scope, scope_id, currency, recovery_target_minor,
             cost_budget_minor, issued_minor, book_balance_minor, book_accounts, set_by, updated_at
      from targets
      where (${f.periodKind ?? null}::text is null or period_kind = ${f.periodKind ?? null})
        and (${f.periodStart ?? null}::date is null or period_start = ${f.periodStart ?? null}::date)
        and (${f.scope ?? null}::text is null or scope = ${f.scope ?? null})
        and (${f.scopeId ?? null}::text is null or scope_id = ${f.scopeId ?? null})
      order by period_start desc, period_kind, scope, scope_id limit 500`;
    const n = (v: unknown) => (v === null ? null : Number(v));
    return rows.map((r) => ({
      periodKind: r.period_kind,
      periodStart: r.period_start,
      scope: r.scope,
      ...(r.scope_id ? { scopeId: r.scope_id } : {}),
      currency: r.currency,
      recoveryTargetMinor: n(r.recovery_target_minor),
      costBudgetMinor: n(r.cost_budget_minor),
      issuedMinor: n(r.issued_minor),
      bookBalanceMinor: n(r.book_balance_minor),
      bookAccounts: n(r.book_accounts),
      setBy: r.set_by,
      updatedAt: (r.updated_at as Date).toISOString(),
    }));
  };
  const portfolio = async (query: z.infer<typeof PortfolioQuery>) => {
    const asOf = query.asOf ? new Date(query.asOf) : new Date(now());
    const start = periodStartOf(query.period, localDate(asOf.getTime(), query.timeZone));
    const end = periodEndOf(query.period, start);
    const target = await targetFor(d.sql, query.period, start, query.teamId);
    const figures = await portfolioFigures(d.sql, {
      from: new Date(instantOf(start, '00:00', query.timeZone)),
      to: new Date(instantOf(end, '00:00', query.timeZone)),
      asOf,
      ...(query.teamId ? { teamId: query.teamId } : {}),
      ...(target ? { target } : {}),
    });
    return {
      asOf: asOf.toISOString(),
      period: { kind: query.period, start, end, timeZone: query.timeZone },
      ...(query.teamId ? { teamId: query.teamId } : {}),
      /** The target's currency (the portfolio's); CNY without a target. */
      currency: target?.currency ?? 'CNY',
      ...figures,
    };
  };
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
        try {
          return { status: 200, body: await handle.executeUpdate(def, { args: [{ by: principal!.subject, role }] }) };
        } catch (e) {
          if (e instanceof WorkflowUpdateFailedError) throw new HttpProblem(422, 'Refused by the report', e.cause?.message ?? e.message);
          // A finished report's workflow has completed: it takes no more decisions.
          if (e instanceof WorkflowNotFoundError || r.status === 'done')
            throw new HttpProblem(422, 'Refused by the report', `the report is ${r.status}: approved and checked`);
          throw e;
        }
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
          select id, report_key, week_start, week_end, status, snapshot_no, figures, csv, approved_by, approved_at, checked_by, checked_at
          from weekly_reports order by id desc limit 100`;
        return { status: 200, body: { reports: rows.map(summary) } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/reports/weekly/:id',
      tag: 'reports',
      summary:
        'A weekly report: its figures as snapshotted (JSON), its CSV, its PDF or its HTML page with the charts ' +
        '(`12.csv`, `12.pdf`, `12.html`, or format=…; lang=zh-CN|en for the PDF and the page). A browser opens the page ' +
        'with the API key as the Basic password',
      access: { roles: ['supervisor', 'manager', 'finance'] },
      params: z.object({ id: ReportFile }).strict(),
      query: z
        .object({ format: z.enum(['json', 'csv', 'pdf', 'html']).optional(), lang: z.enum(['zh-CN', 'en']).default('zh-CN') })
        .strict(),
      responses: {
        200: {
          description: 'The report',
          schema: z.record(z.string(), z.unknown()),
          text: ['text/csv', 'application/pdf', 'text/html'],
        },
        404: { description: 'No such report' },
      },
      async handler({ params, query, res }) {
        const format = query.format ?? params.id.format ?? 'json';
        const r = await reportRow(params.id.id);
        const file = `recoup-weekly-report-${r.week_end.toISOString().slice(0, 10)}-${r.id}`;
        if (format === 'csv') {
          res.set('Content-Disposition', `attachment; filename="${file}.csv"`);
          return { status: 200, body: r.csv, contentType: 'text/csv; charset=utf-8' };
        }
        if (format === 'pdf') {
          const [pdf] = await d.sql<{ pdf: Buffer | null }[]>`
            select ${query.lang === 'en' ? d.sql`pdf_en` : d.sql`pdf_zh`} as pdf from weekly_reports where id = ${r.id}`;
          if (!pdf?.pdf) throw new HttpProblem(404, 'Not found', `report ${r.id} has no PDF (it was made before PDFs were)`);
          res.set('Content-Disposition', `inline; filename="${file}-${query.lang}.pdf"`);
          return { status: 200, body: pdf.pdf, contentType: 'application/pdf' };
        }
        if (format === 'html') {
          const other = query.lang === 'en' ? 'zh-CN' : 'en';
          res.set('Content-Security-Policy', PAGE_CSP);
          return {
            status: 200,
            contentType: 'text/html; charset=utf-8',
            body: weeklyReportHtml(
              {
                ...(r.figures as WeeklyFigures),
                reportKey: r.report_key,
                snapshotNo: r.snapshot_no,
                status: reportStatusLine(r, query.lang, (r.figures as WeeklyFigures).week.timeZone),
              },
              query.lang,
              { pdf: `${r.id}.pdf?lang=${query.lang}`, csv: `${r.id}.csv`, other: `${r.id}.html?lang=${other}` },
            ),
          };
        }
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
        if (body.scope !== 'portfolio') {
          const [known] =
            body.scope === 'team'
              ? await d.sql`select 1 from teams where team_id = ${body.scopeId!}`
              : await d.sql`select 1 from people where person_id = ${body.scopeId!}`;
          if (!known) throw new HttpProblem(422, 'Unknown scope', `no ${body.scope === 'team' ? 'team' : 'person'} ${body.scopeId!}`);
        }
        // Figures add up minor units: a target compares only in the currency the cases are in.
        const currencies = (await d.sql<{ currency: string }[]>`select distinct currency from cases`).map((c) => c.currency);
        if (currencies.length > 0 && !currencies.includes(body.currency))
          throw new HttpProblem(
            422,
            'Currency not in the portfolio',
            `the portfolio's cases are in ${currencies.join(', ')}: a target in ${body.currency} would not compare with them`,
          );
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
        const [row] = await targetRows({
          periodKind: body.periodKind,
          periodStart: body.periodStart,
          scope: body.scope,
          scopeId: body.scopeId ?? '',
        });
        return { status: 200, body: row! };
      },
    }),
    route({
      method: 'get',
      path: '/v1/targets',
      tag: 'reports',
      summary: 'The targets and book figures as set, newest period first; filtered by period kind, first day and scope',
      access: { roles: ['supervisor', 'manager', 'finance'] },
      query: z.object({ periodKind: PeriodKind.optional(), periodStart: IsoDate.optional(), scope: TargetScope.optional() }).strict(),
      responses: { 200: { description: 'The targets', schema: z.object({ targets: z.array(z.record(z.string(), z.unknown())) }) } },
      async handler({ query }) {
        return { status: 200, body: { targets: await targetRows(query) } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/reports/portfolio',
      tag: 'reports',
      summary:
        "The portfolio's figures as of a moment, for the period (month by default) that contains it: aging buckets, repayments, " +
        'recovery against target, overdue and default rates, promises, cost per case and per unit recovered against budget, ' +
        'cases by stage and treatment, the legal pipeline, the 8-week trend and roll rates (definitions: docs/reports.md)',
      access: { roles: ['supervisor', 'manager', 'finance'] },
      query: PortfolioQuery,
      responses: { 200: { description: 'The figures', schema: z.record(z.string(), z.unknown()) } },
      async handler({ query }) {
        return { status: 200, body: await portfolio(query) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/reports/portfolio.html',
      tag: 'reports',
      summary:
        "Today's portfolio as a page with its charts (aging, recovery against target, the 8-week trend) and figures; " +
        'a browser opens it with the API key as the Basic password',
      access: { roles: ['supervisor', 'manager', 'finance'] },
      query: PortfolioQuery.extend({ lang: z.enum(['zh-CN', 'en']).default('zh-CN') }).strict(),
      responses: { 200: { description: 'The page', text: ['text/html'] } },
      async handler({ query, res }) {
        const { lang, ...q } = query;
        res.set('Content-Security-Policy', PAGE_CSP);
        return { status: 200, contentType: 'text/html; charset=utf-8', body: portfolioHtml(await portfolio(q), lang) };
      },
    }),
  ];
}
