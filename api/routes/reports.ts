import { z } from 'zod';
import { instantOf, isValidTimeZone, localDate } from '../../shared/calendar';
import { IsoDate } from '../../shared/case';
import { CurrencyCode } from '../../shared/money-schema';
import type { ApiDeps } from '../deps';
import { portfolioFigures } from '../figures';
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

/** Targets and the book (manager, finance), and the portfolio's figures against them (issue 14). */
export function reportRoutes(d: ApiDeps) {
  const now = () => (d.now ?? Date.now)();
  return [
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
