import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Sql } from '../db/index';
import { MissedPaymentBody, type ImportActivities, type ImportRowStatus } from '../shared/intake';
import { IntakeRefused, openOrJoinCase, type IntakeDeps } from './intake';

/** Rows of one import opened or joined at once: each is a workflow start (or an update) on the Temporal server. */
const IMPORT_CONCURRENCY = 16;

/**
 * The portfolio import's side effects (issue 15, part 1): the rows of an import, taken in line order,
 * each opening or joining its case exactly as POST /v1/missed-payments would. A row's outcome is
 * written as soon as it has one, so a worker killed mid-batch leaves only the rows in flight pending;
 * the retry takes them again, and intake is idempotent on (accountId, dueDate).
 */
export function createImportActivities(deps: { sql: Sql; intake?: Omit<IntakeDeps, 'sql'> }): ImportActivities {
  const { sql } = deps;
  return {
    async importRows({ importId, limit }) {
      if (!deps.intake) {
        throw ApplicationFailure.nonRetryable('this worker has no Temporal client for intake (ActivityDeps.intake)', 'NotConfigured');
      }
      const intake: IntakeDeps = { ...deps.intake, sql };
      // The next `limit` pending rows, with every pending row of their accounts: an account's rows go one after
      // another, oldest due date first, so the case opens with its oldest instalment (and its currency).
      const rows = await sql<{ row_no: number; account_id: string; body: unknown }[]>`
        select row_no, account_id, body from import_rows
        where import_id = ${importId} and status = 'pending'
          and account_id in (select account_id from import_rows where import_id = ${importId} and status = 'pending'
                             order by row_no limit ${limit})
        order by account_id, due_date, row_no`;
      const byAccount = new Map<string, Array<(typeof rows)[number]>>();
      for (const r of rows) byAccount.set(r.account_id, [...(byAccount.get(r.account_id) ?? []), r]);
      const accounts = [...byAccount.values()];
      let next = 0;
      const one = async (row: { row_no: number; body: unknown }) => {
        let status: ImportRowStatus;
        let caseKey: string | null = null;
        let field: string | null = null;
        let message: string | null = null;
        try {
          const r = await openOrJoinCase(intake, MissedPaymentBody.parse(row.body));
          status = r.unchanged ? 'unchanged' : r.created ? 'opened' : 'joined';
          caseKey = r.caseKey;
        } catch (e) {
          // Refused by the case (another currency, or not overdue any more): the row's outcome. Anything
          // else (Temporal or PostgreSQL unavailable) fails the batch, which is retried.
          if (!(e instanceof IntakeRefused)) throw e;
          status = 'refused';
          field = e.field;
          message = e.detail;
        }
        await sql`update import_rows set status = ${status}, case_key = ${caseKey}, field = ${field}, message = ${message},
                  body = null, done_at = now() where import_id = ${importId} and row_no = ${row.row_no}`;
        ctx.heartbeat(row.row_no);
      };
      // A worker shutting down cancels its activities: the rows in flight finish, no new one starts, and the
      // batch fails as cancelled, so the next worker takes the rest.
      const ctx = Context.current();
      const worker = async () => {
        while (next < accounts.length && !ctx.cancellationSignal.aborted) {
          for (const row of accounts[next++]!) await one(row);
        }
      };
      await Promise.all(Array.from({ length: Math.min(IMPORT_CONCURRENCY, accounts.length) }, worker));
      if (ctx.cancellationSignal.aborted) await ctx.cancelled;
      const [left] = await sql<{ n: number }[]>`
        select count(*)::int as n from import_rows where import_id = ${importId} and status = 'pending'`;
      return { taken: rows.length, remaining: left!.n };
    },

    async finishImport({ importId }) {
      await sql`update imports set status = 'done', finished_at = now() where import_id = ${importId} and status <> 'done'`;
    },
  };
}
