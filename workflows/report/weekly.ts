import { ApplicationFailure, condition, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  approveReportUpdate,
  checkReportUpdate,
  reportStateQuery,
  type ReportActivities,
  type ReportDecision,
  type ReportStatus,
  type WeeklyReportInput,
} from '../../shared/reports';
import { ReportStatus as ReportStatusKey } from '../../shared/search-attributes';

const acts = proxyActivities<ReportActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The Friday report (issue 14, part 3), one run per week, started by the Temporal Schedule: it
 * snapshots the week's figures (the 7 days before it started, or `asOf`), waits for a manager's
 * approval (reminding every `reminderHours`), then for finance's check. An approval that finds the
 * figures changed since the snapshot re-snapshots the report and asks for the approval again: a
 * report is never edited. Its status is the `ReportStatus` search attribute.
 */
export async function weeklyReport(input: WeeklyReportInput): Promise<{ reportKey: string; status: ReportStatus; snapshotNo: number }> {
  const reportKey = workflowInfo().workflowId;
  const weekEnd = input.asOf ? Date.parse(input.asOf) : workflowInfo().startTime.getTime();
  const week = { weekStart: new Date(weekEnd - 7 * DAY).toISOString(), weekEnd: new Date(weekEnd).toISOString() };
  let status: ReportStatus = 'awaiting-approval';
  let remindersSent = 0;
  let snapshot = await acts.snapshotWeeklyReport({ reportKey, ...week, timeZone: input.timeZone });
  let approved: ReportDecision | undefined;
  let checked: ReportDecision | undefined;
  const publish = () => upsertSearchAttributes([{ key: ReportStatusKey, value: status }] as never);
  publish();

  setHandler(reportStateQuery, () => ({ status, snapshotNo: snapshot.snapshotNo, remindersSent }));
  setHandler(
    approveReportUpdate,
    async (d) => {
      // The figures must still be the snapshot's: if not, a new snapshot, and the approval asked again.
      const now = await acts.weeklyFiguresHash({ ...week, timeZone: input.timeZone });
      if (now !== snapshot.figuresHash) {
        snapshot = await acts.snapshotWeeklyReport({ reportKey, ...week, timeZone: input.timeZone });
        return {
          status,
          detail: `the figures changed since snapshot ${snapshot.snapshotNo - 1}: re-snapshotted as ${snapshot.snapshotNo}, approve again`,
        };
      }
      approved = d;
      return { status: 'awaiting-check' as const, detail: `approved by ${d.by}; finance checks it next` };
    },
    {
      validator: (d) => {
        if (status !== 'awaiting-approval') throw ApplicationFailure.nonRetryable(`the report is ${status}`, 'InvalidInput');
        if (d.role !== 'manager') throw ApplicationFailure.nonRetryable('a manager approves the weekly report', 'InvalidInput');
      },
    },
  );
  setHandler(
    checkReportUpdate,
    (d) => {
      checked = d;
      return { status: 'done' as const, detail: `checked by ${d.by}` };
    },
    {
      validator: (d) => {
        if (status === 'done') throw ApplicationFailure.nonRetryable('the report is done: approved and checked', 'InvalidInput');
        if (status !== 'awaiting-check')
          throw ApplicationFailure.nonRetryable(`the report is ${status}: a manager approves it first`, 'InvalidInput');
        if (d.role !== 'finance') throw ApplicationFailure.nonRetryable('finance checks the weekly report', 'InvalidInput');
        // Four eyes: the one who approved it does not also check it.
        if (d.by === approved?.by)
          throw ApplicationFailure.nonRetryable(`${d.by} approved the report: someone else in finance checks it`, 'InvalidInput');
      },
    },
  );

  // Waiting for the manager, reminded every reminderHours.
  while (!approved) {
    if (await condition(() => !!approved, input.reminderHours * HOUR)) break;
    remindersSent += 1;
    await acts.remindReportApprover({ reportKey, reminder: remindersSent, at: new Date().toISOString() });
  }
  status = 'awaiting-check';
  await acts.recordReportDecision({ reportKey, status, by: approved!.by, at: new Date().toISOString() });
  publish();
  await condition(() => !!checked);
  status = 'done';
  await acts.recordReportDecision({ reportKey, status, by: checked!.by, at: new Date().toISOString() });
  publish();
  return { reportKey, status, snapshotNo: snapshot.snapshotNo };
}
