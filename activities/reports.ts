import { createHash } from 'node:crypto';
import { atomically, type Sql } from '../db/index';
import { portfolioFigures } from '../db/figures';
import type { ReportActivities } from '../shared/reports';
import type { ChannelProvider } from './channels/index';

const figuresOf = (sql: Sql, weekStart: string, weekEnd: string) =>
  portfolioFigures(sql, { from: new Date(weekStart), to: new Date(weekEnd), asOf: new Date(weekEnd) });
const hashOf = (figures: unknown) => createHash('sha256').update(JSON.stringify(figures)).digest('hex');

/** The week's figures as CSV: one line per figure (name, value). */
function csvOf(f: Awaited<ReturnType<typeof portfolioFigures>>): string {
  const rows: Array<[string, string | number | null]> = [
    ['figure', 'value'],
    ...f.aging.flatMap((a): Array<[string, number]> => [
      [`aging ${a.bucket} cases`, a.cases],
      [`aging ${a.bucket} outstanding_minor`, a.outstandingMinor],
    ]),
    ['open cases', f.openCases],
    ['overdue_minor', f.overdueMinor],
    ['repayments count', f.repayments.count],
    ['repayments amount_minor', f.repayments.amountMinor],
    ['promises made', f.promises.made],
    ['promises kept', f.promises.kept],
    ['cost_minor', f.cost.costMinor],
    ['cost per case_minor', f.cost.perCaseMinor],
    ['defaulted_minor (91+ days)', f.defaultedMinor],
  ];
  return (
    rows
      .map((r) => r.map((v) => (v === null ? '' : /[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v))).join(','))
      .join('\r\n') + '\r\n'
  );
}

/** The Friday report's activities: the snapshot of the week's figures, decisions, reminders. */
export function createReportActivities({ sql, notify }: { sql: Sql; notify: ChannelProvider }): ReportActivities {
  return {
    async snapshotWeeklyReport(r) {
      const figures = await figuresOf(sql, r.weekStart, r.weekEnd);
      const hash = hashOf(figures);
      return atomically(sql, async (tx) => {
        const [row] = await tx<{ snapshot_no: number; figures_hash: string }[]>`
          insert into weekly_reports (report_key, week_start, week_end, time_zone, status, snapshot_no, figures, figures_hash, csv)
          values (${r.reportKey}, ${r.weekStart}, ${r.weekEnd}, ${r.timeZone}, 'awaiting-approval', 1, ${tx.json(figures as never)},
                  ${hash},
                  ${csvOf(figures)})
          on conflict (report_key) do update set
            snapshot_no = case when weekly_reports.figures_hash = excluded.figures_hash then weekly_reports.snapshot_no
                               else weekly_reports.snapshot_no + 1 end,
            figures = excluded.figures, figures_hash = excluded.figures_hash, csv = excluded.csv, status = 'awaiting-approval',
            approved_by = null, approved_at = null, updated_at = now()
          returning snapshot_no, figures_hash`;
        return { reportKey: r.reportKey, snapshotNo: row!.snapshot_no, figuresHash: row!.figures_hash };
      });
    },
    async weeklyFiguresHash(r) {
      return hashOf(await figuresOf(sql, r.weekStart, r.weekEnd));
    },
    async recordReportDecision(r) {
      if (r.status === 'awaiting-check')
        await sql`update weekly_reports set status = 'awaiting-check', approved_by = ${r.by}, approved_at = ${r.at}, updated_at = now()
                  where report_key = ${r.reportKey}`;
      if (r.status === 'done')
        await sql`update weekly_reports set status = 'done', checked_by = ${r.by}, checked_at = ${r.at}, updated_at = now()
                  where report_key = ${r.reportKey}`;
    },
    async remindReportApprover(r) {
      await notify.send({
        idempotencyKey: `${r.reportKey}:reminder:${r.reminder}`,
        channel: 'email',
        caseKey: r.reportKey,
        accountId: 'portfolio',
        recipient: { name: 'Collection managers', email: 'managers@recoup.local' },
        subject: `The weekly collection report awaits your approval (reminder ${r.reminder})`,
        body: `Report ${r.reportKey} awaits a manager's approval (POST /v1/reports/weekly/<id>/approve), then finance's check.`,
      });
    },
  };
}
