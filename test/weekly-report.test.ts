import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { WEEKLY_SCHEDULE_ID } from '../shared/reports';
import { approveReportUpdate, checkReportUpdate, reportStateQuery } from '../shared/reports';
import { getJson, postJson, startStack, type Stack } from './helpers';
import { startLedgerStories } from './ledger-stories';

/**
 * The Friday report (issue 14, part 3) on the dev server, made by triggering its Schedule through
 * the API (the Schedule itself is Friday 17:00 Asia/Shanghai; its spec is checked here): one report,
 * the week's figures snapshotted, a manager's approval (re-snapshotted when the figures changed),
 * finance's check, the ReportStatus search attribute.
 */
let s: Stack;
let stories: Awaited<ReturnType<typeof startLedgerStories>> | undefined;
beforeAll(async () => {
  s = await startStack();
  // The Schedule is the namespace's: one another file made (its valid trigger or pause: the fuzz test) starts its
  // reports on that file's task queue, whose worker is gone. This file's trigger makes it afresh, on its own.
  await s.client.schedule
    .getHandle(WEEKLY_SCHEDULE_ID)
    .delete()
    .catch(() => undefined);
  stories = await startLedgerStories('weekly-report', s.sql);
});
afterAll(async () => {
  await stories?.stop();
  await s?.stop();
});

const post = (path: string, key: string) => postJson(`${s.apiUrl}${path}`, {}, key);

describe('the weekly report', () => {
  it('is made on trigger, approved by a manager (again after figures changed), checked by finance', async () => {
    expect((await post('/v1/reports/weekly/schedule/trigger', s.keys.finance)).status).toBe(403);
    const triggeredAt = Date.now() - 2_000;
    expect((await post('/v1/reports/weekly/schedule/trigger', s.keys.manager)).status).toBe(202);
    const schedule = await s.client.schedule.getHandle(WEEKLY_SCHEDULE_ID).describe();
    expect(schedule.spec.timezone).toBe('Asia/Shanghai');
    expect(schedule.spec.calendars?.[0]).toMatchObject({
      dayOfWeek: [{ start: 'FRIDAY', end: 'FRIDAY', step: 1 }],
      hour: [{ start: 17, end: 17, step: 1 }],
    });

    // The Schedule's reports are `weekly-report-<time>` (other files start reports of their own, and the fuzz test may
    // have triggered the Schedule before): this trigger's is the one from now on.
    const list = async () =>
      ((await getJson(`${s.apiUrl}/v1/reports/weekly`, s.keys.supervisor)).body.reports as Array<Record<string, unknown>>).filter((r) => {
        const at = /^weekly-report-(\d{4}-.+)$/.exec(r.reportKey as string)?.[1];
        return at !== undefined && Date.parse(at) >= triggeredAt;
      });
    await expect.poll(async () => (await list()).length, { timeout: 30_000 }).toBe(1);
    const report = (await list())[0]!;
    expect(report).toMatchObject({ status: 'awaiting-approval', snapshotNo: 1 });
    const id = report.id as number;

    // Finance checks after the manager approves; a manager approves, finance does not.
    const early = await post(`/v1/reports/weekly/${id}/check`, s.keys.finance);
    expect(early.status).toBe(422);
    expect(early.body.detail).toBe('the report is awaiting-approval: a manager approves it first');
    expect((await post(`/v1/reports/weekly/${id}/approve`, s.keys.finance)).status).toBe(403);

    // A payment of the week lands after the snapshot: the approval finds the figures changed and re-snapshots.
    const k = `wr-${randomUUID().slice(0, 8)}`;
    await s.sql`insert into cases (case_key, idempotency_key, account_id, workflow_id, debtor_name, currency, first_due_date, opening_minor,
                                   playbook_id, playbook_version, outstanding_minor, opened_at)
                values (${k}, ${k}, ${k}, ${k}, 'd', 'CNY', '2026-01-01', 1000, 'micro-loan-default', 2, 0, now() - interval '2 days')`;
    await s.sql`insert into payments (payment_id, idempotency_key, account_id, case_key, amount_minor, currency, paid_at, fees_minor,
                                      penalty_minor, principal_minor, excess_minor, outstanding_after_minor)
                values (${k}, ${k}, ${k}, ${k}, 1000, 'CNY', now() - interval '1 day', 0, 0, 1000, 0, 0)`;
    const changed = await post(`/v1/reports/weekly/${id}/approve`, s.keys.manager);
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toEqual({
      status: 'awaiting-approval',
      detail: 'the figures changed since snapshot 1: re-snapshotted as 2, approve again',
    });
    const approved = await post(`/v1/reports/weekly/${id}/approve`, s.keys.manager);
    expect(approved.body).toEqual({ status: 'awaiting-check', detail: 'approved by manager-1; finance checks it next' });
    const checked = await post(`/v1/reports/weekly/${id}/check`, s.keys.finance);
    expect(checked.body).toEqual({ status: 'done', detail: 'checked by finance-1' });
    // Every snapshot is kept as it was taken; the report shows the latest.
    expect(
      await s.sql`select snapshot_no from weekly_report_snapshots where report_key = ${report.reportKey as string} order by snapshot_no`,
    ).toEqual([{ snapshot_no: 1 }, { snapshot_no: 2 }]);
    // A done report takes no more decisions.
    const late = await post(`/v1/reports/weekly/${id}/approve`, s.keys.manager);
    expect([late.status, late.body.title]).toEqual([422, 'Refused by the report']);

    const result = await s.client.workflow.getHandle(report.reportKey as string).result();
    expect(result).toMatchObject({ status: 'done', snapshotNo: 2 });
    const row = await getJson(`${s.apiUrl}/v1/reports/weekly/${id}`, s.keys.finance);
    expect(row.body).toMatchObject({ status: 'done', snapshotNo: 2, approvedBy: 'manager-1', checkedBy: 'finance-1' });
    expect(row.body.figures.figures.repayments.count).toBeGreaterThanOrEqual(1);
    const csv = await fetch(`${s.apiUrl}/v1/reports/weekly/${id}?format=csv`, { headers: { authorization: `Bearer ${s.keys.manager}` } });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await csv.text()).toMatch(/^figure,value\r\nweek start,[\d-]+T[\d:.]+Z\r\n(.*\r\n)*aging 1-3 cases,\d+\r\n/);
    await expect
      .poll(async () => {
        for await (const w of s.client.workflow.list({ query: `WorkflowId = '${report.reportKey as string}' AND ReportStatus = 'done'` }))
          return w.workflowId;
        return undefined;
      })
      .toBe(report.reportKey);
  });

  it('waits for the approval with one reminder after the reminder hours (time-skipping server), then completes', async () => {
    const env = stories!.env;
    const workflowId = `weekly-report-ts-${randomUUID().slice(0, 8)}`;
    const handle = await env.client.workflow.start('weeklyReport', {
      taskQueue: 'weekly-report',
      workflowId,
      args: [{ timeZone: 'Asia/Shanghai', reminderHours: 24 }],
    });
    await env.sleep('23 hours');
    expect((await handle.query(reportStateQuery)).remindersSent).toBe(0);
    await env.sleep('2 hours');
    expect((await handle.query(reportStateQuery)).remindersSent).toBe(1);
    const sent =
      await s.sql`select payload->>'subject' as subject from channel_outbox where idempotency_key = ${`${workflowId}:reminder:1`}`;
    expect(sent).toEqual([{ subject: 'The weekly collection report awaits your approval (reminder 1)' }]);
    await handle.executeUpdate(approveReportUpdate, { args: [{ by: 'mgr-1', role: 'manager' }] });
    // Four eyes: the one who approved it (an admin key can act as both) does not check it.
    await expect(handle.executeUpdate(checkReportUpdate, { args: [{ by: 'mgr-1', role: 'finance' }] })).rejects.toThrow(
      /Workflow Update failed/,
    );
    await handle.executeUpdate(checkReportUpdate, { args: [{ by: 'fin-1', role: 'finance' }] });
    expect(await handle.result()).toMatchObject({ reportKey: workflowId, status: 'done' });
    expect((await handle.query(reportStateQuery)).remindersSent).toBe(1);
  });
});
