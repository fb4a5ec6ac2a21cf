import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** The Friday report (issue 14, part 3): one workflow per week, started by the Temporal Schedule. */
export interface WeeklyReportInput {
  /** The week ends here (default: the workflow's start time); it covers the 7 days before. */
  asOf?: string;
  timeZone: string;
  /** Hours between reminders to the manager while the report waits for approval. */
  reminderHours: number;
}

export type ReportStatus = 'awaiting-approval' | 'awaiting-check' | 'done';

interface ReportSnapshot {
  reportKey: string;
  snapshotNo: number;
  figuresHash: string;
}

export interface ReportActivities {
  /** Computes the week's figures and stores them as the report's snapshot (a new one when they changed). */
  snapshotWeeklyReport(r: { reportKey: string; weekStart: string; weekEnd: string; timeZone: string }): Promise<ReportSnapshot>;
  /** The figures of the report's week as they are now: their hash, to see whether the snapshot still holds. */
  weeklyFiguresHash(r: { weekStart: string; weekEnd: string; timeZone?: string }): Promise<string>;
  recordReportDecision(r: { reportKey: string; status: ReportStatus; by: string; at: string }): Promise<void>;
  remindReportApprover(r: { reportKey: string; reminder: number; at: string }): Promise<void>;
}

export interface ReportDecision {
  by: string;
  role: 'manager' | 'finance';
}
export const approveReportUpdate = defineUpdate<{ status: ReportStatus; detail: string }, [ReportDecision]>('approveReport');
export const checkReportUpdate = defineUpdate<{ status: ReportStatus; detail: string }, [ReportDecision]>('checkReport');
export const reportStateQuery = defineQuery<{ status: ReportStatus; snapshotNo: number; remindersSent: number }>('reportState');

export const WEEKLY_SCHEDULE_ID = 'recoup-weekly-report';
