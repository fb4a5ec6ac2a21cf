import { createHash } from 'node:crypto';
import { atomically, type Db, type Sql } from '../db/index';
import { weeklyFigures, writeAgingSnapshot, type WeeklyFigures } from '../db/figures';
import { renderWeeklyReportPdf } from './documents/report';
import { reportStatusLine } from '../shared/charts';
import { csvOfLines } from '../shared/csv';
import type { ReportActivities } from '../shared/reports';
import type { ChannelProvider } from './channels/index';

const figuresOf = (sql: Sql, weekStart: string, weekEnd: string, timeZone: string) => weeklyFigures(sql, { weekStart, weekEnd, timeZone });
/** JSON with every object's keys in order: the same figures always hash the same, whatever order the rows came in. */
const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v !== null && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);
const hashOf = (figures: unknown) => createHash('sha256').update(canonical(figures)).digest('hex');

/** The week's figures as CSV: one line per figure (name, value); money in minor units, rates as decimals. */
function csvOf(w: WeeklyFigures): string {
  const f = w.figures;
  const rows: Array<[string, string | number | null]> = [
    ['figure', 'value'],
    ['week start', w.week.start],
    ['week end', w.week.end],
    ['currency', w.currency],
    ...f.aging.flatMap((a): Array<[string, number]> => [
      [`aging ${a.bucket} cases`, a.cases],
      [`aging ${a.bucket} outstanding_minor`, a.outstandingMinor],
    ]),
    ['open cases', f.openCases],
    ['overdue_minor', f.overdueMinor],
    ['repayments count', f.repayments.count],
    ['repayments amount_minor', f.repayments.amountMinor],
    ['month recovered_minor', w.month.recoveredMinor],
    ['month target_minor', w.month.targetMinor],
    ['month recovery ratio', w.month.ratio],
    ['overdue rate', f.overdueRate],
    ['default rate', f.defaultRate],
    ['defaulted_minor (91+ days)', f.defaultedMinor],
    ['promises made', f.promises.made],
    ['promises kept', f.promises.kept],
    ['cost_minor', f.cost.costMinor],
    ['cost per case_minor', f.cost.perCaseMinor],
    ['cost per unit recovered', f.cost.perUnitRecovered],
    ...Object.entries(f.byStage).map(([k, n]): [string, number] => [`stage ${k} cases`, n]),
    ...Object.entries(f.byTreatment).map(([k, n]): [string, number] => [`treatment ${k} cases`, n]),
    ...f.legal.flatMap((l): Array<[string, number]> => [
      [`legal ${l.status} cases`, l.cases],
      [`legal ${l.status} outstanding_minor`, l.outstandingMinor],
    ]),
    ...f.trend.flatMap((t): Array<[string, number]> => [
      [`week ${t.weekStart.slice(0, 10)} repaid_minor`, t.repaidMinor],
      [`week ${t.weekStart.slice(0, 10)} opened`, t.opened],
      [`week ${t.weekStart.slice(0, 10)} closed`, t.closed],
    ]),
    ...(f.rollRates?.rows ?? []).map((r): [string, number | null] => [`roll forward ${r.bucket}`, r.rollForward]),
    // Experiments that ran in the week (docs/experiments.md): each arm's cases and recovery, and the difference.
    ...(w.experiments ?? []).flatMap((e): Array<[string, number | string | null]> => [
      [`experiment ${e.experimentId} status`, e.status],
      ...e.results.arms.flatMap((a): Array<[string, number | string | null]> => [
        [`experiment ${e.experimentId} ${a.arm} playbook`, `${a.playbookId}@${a.playbookVersion}`],
        [`experiment ${e.experimentId} ${a.arm} cases`, a.cases],
        [`experiment ${e.experimentId} ${a.arm} recovered_minor`, a.recoveredMinor],
        ...a.recovery.map((x): [string, number | null] => [`experiment ${e.experimentId} ${a.arm} recovery day ${x.day}`, x.rate]),
        [`experiment ${e.experimentId} ${a.arm} cost per unit recovered`, a.costPerUnitRecovered],
      ]),
      ...e.results.difference.map((d): [string, string | null] => [
        `experiment ${e.experimentId} recovery day ${d.day} challenger - champion (95% CI)`,
        d.value === null ? null : `${d.value} (${d.ci95![0]}..${d.ci95![1]})`,
      ]),
    ]),
  ];
  return csvOfLines(rows);
}

interface StatusRow {
  status: string;
  approved_by: string | null;
  approved_at: Date | null;
  checked_by: string | null;
  checked_at: Date | null;
}

/** Renders the report's PDFs (zh-CN and en, each with its status in its language) and stores them with it. */
async function storePdfs(tx: Db, doc: WeeklyFigures & { reportKey: string; snapshotNo: number }, row: StatusRow): Promise<void> {
  const pdf = async (language: 'zh-CN' | 'en') =>
    (await renderWeeklyReportPdf({ ...doc, status: reportStatusLine(row, language, doc.week.timeZone) }, language)).pdf;
  const [zh, en] = [await pdf('zh-CN'), await pdf('en')];
  await tx`update weekly_reports set pdf_zh = ${zh}, pdf_en = ${en} where report_key = ${doc.reportKey}`;
}

/** The Friday report's activities: the snapshot of the week's figures, decisions, reminders. */
export function createReportActivities({ sql, notify }: { sql: Sql; notify: ChannelProvider }): ReportActivities {
  return {
    async snapshotWeeklyReport(r) {
      const figures = await figuresOf(sql, r.weekStart, r.weekEnd, r.timeZone);
      const hash = hashOf(figures);
      // Next week's roll rates start from the aging of this moment (kept from the first snapshot).
      await writeAgingSnapshot(sql, new Date(r.weekEnd));
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
        // Every snapshot stays readable as it was taken (the report's row holds the latest).
        await tx`insert into weekly_report_snapshots (report_key, snapshot_no, figures, figures_hash, csv)
                 values (${r.reportKey}, ${row!.snapshot_no}, ${tx.json(figures as never)}, ${hash}, ${csvOf(figures)})
                 on conflict (report_key, snapshot_no) do nothing`;
        // The PDFs are rendered from the snapshot's figures, in the same transaction as the snapshot.
        const pending = { status: 'awaiting-approval', approved_by: null, approved_at: null, checked_by: null, checked_at: null };
        await storePdfs(tx, { ...figures, reportKey: r.reportKey, snapshotNo: row!.snapshot_no }, pending);
        return { reportKey: r.reportKey, snapshotNo: row!.snapshot_no, figuresHash: row!.figures_hash };
      });
    },
    async weeklyFiguresHash(r) {
      return hashOf(await figuresOf(sql, r.weekStart, r.weekEnd, r.timeZone ?? 'Asia/Shanghai'));
    },
    async recordReportDecision(r) {
      await atomically(sql, async (tx) => {
        if (r.status === 'awaiting-check')
          await tx`update weekly_reports set status = 'awaiting-check', approved_by = ${r.by}, approved_at = ${r.at}, updated_at = now()
                   where report_key = ${r.reportKey}`;
        if (r.status === 'done')
          await tx`update weekly_reports set status = 'done', checked_by = ${r.by}, checked_at = ${r.at}, updated_at = now()
                   where report_key = ${r.reportKey}`;
        // The PDFs say who approved and checked them: rendered again from the same snapshot.
        const [row] = await tx<
          {
            figures: WeeklyFigures;
            snapshot_no: number;
            status: string;
            approved_by: string | null;
            approved_at: Date | null;
            checked_by: string | null;
            checked_at: Date | null;
          }[]
        >`select figures, snapshot_no, status, approved_by, approved_at, checked_by, checked_at from weekly_reports
          where report_key = ${r.reportKey}`;
        if (row) await storePdfs(tx, { ...row.figures, reportKey: r.reportKey, snapshotNo: row.snapshot_no }, row);
      });
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
