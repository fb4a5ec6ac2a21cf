import { parse as parseCsv } from 'csv-parse';
import { createHash, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { z } from 'zod';
import { addDays, localDate } from '../../shared/calendar';
import { csvOfLines } from '../../shared/csv';
import {
  fieldOf,
  importWorkflowId,
  IMPORT_COLUMNS,
  isImportColumn,
  MissedPaymentBody,
  missedPaymentOfCsv,
  REQUIRED_IMPORT_COLUMNS,
  type ImportRowStatus,
} from '../../shared/intake';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';

/** A file larger than this is refused (413): split it. */
const MAX_IMPORT_BYTES = 256 * 1024 * 1024;
const MAX_IMPORT_ROWS = 1_000_000;
/** Rows written to the ledger per statement while the file streams in. */
const INSERT_BATCH = 1_000;
const CSV_TYPES = ['text/csv'];
const JSON_LINES_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'];

const ImportParams = z.object({ importId: z.string().regex(/^imp-[0-9a-f]{12}$/, 'an import id such as imp-0123456789ab') }).strict();
const ImportQuery = z.object({ name: z.string().trim().min(1).max(200).optional() }).strict();

const ImportView = z.object({
  importId: z.string(),
  name: z.string(),
  format: z.enum(['csv', 'ndjson']),
  status: z.enum(['loading', 'running', 'done']),
  createdBy: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  totalRows: z.number().nullable(),
  /** Rows by outcome: pending, opened (a new case), joined (an open case), unchanged (the ledger had it), rejected, refused. */
  rows: z.record(z.string(), z.number()),
  /** Set when the file was imported before: this is that import, resumed or finished. */
  sameFileAs: z.string().optional(),
  links: z.object({ self: z.string(), rejects: z.string() }),
});

interface StagedRow {
  import_id: string;
  row_no: number;
  status: ImportRowStatus;
  account_id: string | null;
  due_date: string | null;
  body: unknown;
  field: string | null;
  message: string | null;
}

/**
 * A portfolio in one request (issue 15, part 1): a CSV (docs/imports.md) or JSON lines of missed
 * payments, streamed in. Each row is validated with the schema of POST /v1/missed-payments and kept in
 * the ledger with its outcome; the valid ones are opened or joined by the import's workflow, a batch at
 * a time. The same file again is the same import (its SHA-256): it resumes, or answers as it finished.
 */
export function importRoutes(d: ApiDeps) {
  const view = async (importId: string, sameFileAs?: string): Promise<z.infer<typeof ImportView>> => {
    const [imp] = await d.sql<
      {
        import_id: string;
        name: string;
        format: 'csv' | 'ndjson';
        status: 'loading' | 'running' | 'done';
        created_by: string;
        created_at: Date;
        finished_at: Date | null;
        total_rows: number | null;
      }[]
    >`select import_id, name, format, status, created_by, created_at, finished_at, total_rows from imports where import_id = ${importId}`;
    if (!imp) throw new HttpProblem(404, 'Not found', `no import ${importId}`);
    const counts = await d.sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from import_rows where import_id = ${importId} group by status`;
    const rows: Record<string, number> = { pending: 0, opened: 0, joined: 0, unchanged: 0, rejected: 0, refused: 0 };
    for (const c of counts) rows[c.status] = c.n;
    return {
      importId: imp.import_id,
      name: imp.name,
      format: imp.format,
      status: imp.status,
      createdBy: imp.created_by,
      createdAt: imp.created_at.toISOString(),
      finishedAt: imp.finished_at?.toISOString() ?? null,
      totalRows: imp.total_rows,
      rows,
      ...(sameFileAs ? { sameFileAs } : {}),
      links: { self: `/v1/imports/${imp.import_id}`, rejects: `/v1/imports/${imp.import_id}/rejects.csv` },
    };
  };

  /** The import's workflow, started once (a running one is kept; a finished one finds nothing pending). */
  const run = async (importId: string) => {
    await d.client.workflow.start('portfolioImport', {
      workflowId: importWorkflowId(importId),
      taskQueue: d.taskQueue,
      args: [{ importId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `Portfolio import ${importId}`,
    });
  };

  return [
    route({
      method: 'post',
      path: '/v1/imports',
      tag: 'intake',
      summary:
        'A portfolio of missed payments in one request: CSV (docs/imports.md) or JSON lines, streamed. Rows are validated as ' +
        'POST /v1/missed-payments validates one; valid rows open or join their cases in the background. The same file again resumes it.',
      access: { roles: ['supervisor', 'admin'] },
      query: ImportQuery,
      streamedBody: [...CSV_TYPES, ...JSON_LINES_TYPES],
      responses: {
        202: { description: 'Taken: its rows are staged and being opened (GET the import for progress)', schema: ImportView },
        400: { description: 'Not a portfolio file: a missing or unknown column, or no rows' },
        413: { description: `Larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB or ${MAX_IMPORT_ROWS} rows: split it` },
        415: { description: 'Neither text/csv nor JSON lines (application/x-ndjson)' },
      },
      async handler({ query, principal, req }) {
        const format = req.is(CSV_TYPES) ? 'csv' : 'ndjson';
        // Uploads that never finished (the client gone mid-file) are not imports: dropped after a day.
        await d.sql`delete from imports where status = 'loading' and created_at < now() - interval '1 day'`;
        const importId = `imp-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
        await d.sql`insert into imports (import_id, name, format, created_by)
                    values (${importId}, ${query.name ?? `${format} upload`}, ${format}, ${principal!.subject})`;
        let staged: { rows: number; sha256: string };
        try {
          staged = await stage(d, importId, format, req);
        } catch (e) {
          await d.sql`delete from imports where import_id = ${importId}`;
          throw e;
        }
        // The same content imported before: that import is this one.
        const [earlier] = await d.sql<{ import_id: string; status: string }[]>`
          select import_id, status from imports where content_sha256 = ${staged.sha256}`;
        if (earlier) {
          await d.sql`delete from imports where import_id = ${importId}`;
          if (earlier.status !== 'done') await run(earlier.import_id);
          return { status: 202, body: await view(earlier.import_id, earlier.import_id) };
        }
        try {
          await d.sql`update imports set content_sha256 = ${staged.sha256}, status = 'running', total_rows = ${staged.rows}
                      where import_id = ${importId}`;
        } catch (e) {
          // The same file, uploaded twice at once: the other upload holds it.
          if ((e as { code?: string }).code !== '23505') throw e;
          await d.sql`delete from imports where import_id = ${importId}`;
          const [other] = await d.sql<{ import_id: string }[]>`select import_id from imports where content_sha256 = ${staged.sha256}`;
          return { status: 202, body: await view(other!.import_id, other!.import_id) };
        }
        await run(importId);
        return { status: 202, body: await view(importId) };
      },
    }),

    route({
      method: 'get',
      path: '/v1/imports',
      tag: 'intake',
      summary: 'The latest 50 imports, newest first',
      access: { roles: ['supervisor', 'admin'] },
      responses: { 200: { description: 'Imports', schema: z.object({ imports: z.array(ImportView) }) } },
      async handler() {
        const ids = await d.sql<{ import_id: string }[]>`
          select import_id from imports where status <> 'loading' order by created_at desc limit 50`;
        return { status: 200, body: { imports: await Promise.all(ids.map((i) => view(i.import_id))) } };
      },
    }),

    route({
      method: 'get',
      path: '/v1/imports/:importId',
      tag: 'intake',
      summary: "An import's progress: its rows by outcome",
      access: { roles: ['supervisor', 'admin'] },
      params: ImportParams,
      responses: { 200: { description: 'The import', schema: ImportView }, 404: { description: 'No such import' } },
      async handler({ params }) {
        return { status: 200, body: await view(params.importId) };
      },
    }),

    route({
      method: 'get',
      path: '/v1/imports/:importId/rejects.csv',
      tag: 'intake',
      summary: 'The rows that opened nothing, as CSV: row (line in the file), accountId, field, message; rejected or refused',
      access: { roles: ['supervisor', 'admin'] },
      params: ImportParams,
      responses: {
        200: { description: 'The rejected rows', text: ['text/csv'] },
        404: { description: 'No such import' },
      },
      async handler({ params }) {
        await view(params.importId);
        const rows = await d.sql<
          { row_no: number; account_id: string | null; status: string; field: string | null; message: string | null }[]
        >`
          select row_no, account_id, status, field, message from import_rows
          where import_id = ${params.importId} and status in ('rejected', 'refused') order by row_no`;
        const lines = [
          ['row', 'accountId', 'outcome', 'field', 'message'],
          ...rows.map((r) => [r.row_no, r.account_id, r.status, r.field, r.message]),
        ];
        return { status: 200, contentType: 'text/csv; charset=utf-8', body: csvOfLines(lines) };
      },
    }),
  ];
}

/**
 * Reads the file as it streams in: its SHA-256, and each row validated and staged (`pending` when
 * valid, `rejected` with the field and the message when not), a batch per statement.
 */
async function stage(d: ApiDeps, importId: string, format: 'csv' | 'ndjson', body: Readable): Promise<{ rows: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > MAX_IMPORT_BYTES)
        return done(new HttpProblem(413, 'Too large', `an import is at most ${MAX_IMPORT_BYTES} bytes: split it`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  body.on('error', (e) => tap.destroy(e));
  body.pipe(tap);

  const today = new Map<string, string>();
  const todayIn = (tz: string) => {
    let t = today.get(tz);
    if (!t) today.set(tz, (t = localDate((d.now ?? Date.now)(), tz)));
    return t;
  };
  const seen = new Map<string, number>();
  let batch: StagedRow[] = [];
  let rows = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    const values = b.map((r) => ({ ...r, body: r.body === null ? null : d.sql.json(r.body as never) }));
    await d.sql`insert into import_rows ${d.sql(values as never)}
                on conflict do nothing`;
  };
  const add = async (rowNo: number, raw: unknown, csv: boolean, error?: { field: string; message: string }) => {
    if (++rows > MAX_IMPORT_ROWS) throw new HttpProblem(413, 'Too many rows', `an import is at most ${MAX_IMPORT_ROWS} rows: split it`);
    const rawAccount = (raw as { accountId?: unknown } | undefined)?.accountId;
    const accountId = typeof rawAccount === 'string' ? rawAccount.slice(0, 100) : null;
    const row: StagedRow = {
      import_id: importId,
      row_no: rowNo,
      status: 'rejected',
      account_id: accountId,
      due_date: null,
      body: null,
      field: error?.field ?? null,
      message: error?.message ?? null,
    };
    const amount = (raw as { amountDue?: { amountMinor?: unknown } } | undefined)?.amountDue?.amountMinor;
    if (!error && csv && typeof amount === 'string') {
      row.field = 'amountMinor';
      row.message = `a whole number of minor units (fen, cents), digits only: "${amount.slice(0, 40)}" is not (¥12.50 is 1250)`;
    } else if (!error) {
      const r = MissedPaymentBody.safeParse(raw);
      if (!r.success) {
        const first = r.error.issues[0]!;
        row.field = fieldOf(first.path, csv);
        row.message = r.error.issues
          .map((i) => (r.error.issues.length > 1 ? `${fieldOf(i.path, csv)}: ${i.message}` : i.message))
          .join('; ');
      } else {
        const m = r.data;
        const key = `${m.accountId}\u0000${m.dueDate}`;
        const local = todayIn(m.debtor.timeZone);
        if (m.dueDate >= local) {
          row.field = 'dueDate';
          row.message =
            `not overdue yet: due ${m.dueDate}, today is ${local} in ${m.debtor.timeZone}; ` + `send it from ${addDays(m.dueDate, 1)}`;
        } else if (seen.has(key)) {
          row.field = 'dueDate';
          row.message = `the same instalment (accountId, dueDate) as row ${seen.get(key)}`;
        } else {
          seen.set(key, rowNo);
          Object.assign(row, { status: 'pending', due_date: m.dueDate, body: m, field: null, message: null });
        }
      }
    }
    batch.push(row);
    if (batch.length >= INSERT_BATCH) await flush();
  };

  if (format === 'csv') {
    let header: string[] | undefined;
    const skipped: Array<{ line: number; message: string }> = [];
    const parser = tap.pipe(
      parseCsv({
        bom: true,
        info: true,
        relax_column_count: true,
        skip_empty_lines: true,
        skip_records_with_error: true,
        on_skip: (err) => {
          skipped.push({ line: Number((err as { lines?: number } | undefined)?.lines ?? 0), message: err?.message ?? 'unreadable row' });
          return undefined;
        },
      }),
    );
    tap.on('error', (e) => parser.destroy(e));
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      for (const s of skipped.splice(0)) await add(s.line, undefined, true, { field: '(row)', message: s.message });
      if (!header) {
        header = record.map((c) => c.trim());
        checkHeader(header);
        continue;
      }
      if (record.length !== header.length) {
        const cells: Record<string, string> = {};
        if (header[0] === 'accountId' && record[0]) cells.accountId = record[0];
        await add(info.lines, cells, true, {
          field: '(row)',
          message: `${record.length} fields where the header has ${header.length}`,
        });
        continue;
      }
      const cells: Record<string, string> = {};
      header.forEach((c, i) => {
        const v = record[i]!.trim();
        if (v !== '') cells[c] = v;
      });
      await add(info.lines, missedPaymentOfCsv(cells), true);
    }
    for (const s of skipped.splice(0)) await add(s.line, undefined, true, { field: '(row)', message: s.message });
    if (!header) throw new HttpProblem(400, 'Empty file', 'the file has no header line');
  } else {
    let lineNo = 0;
    for await (const line of createInterface({ input: tap, crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        await add(lineNo, undefined, false, { field: '(row)', message: 'not a JSON object' });
        continue;
      }
      await add(lineNo, value, false);
    }
  }
  await flush();
  if (rows === 0) throw new HttpProblem(400, 'No rows', 'the file holds no rows');
  return { rows, sha256: hash.digest('hex') };
}

function checkHeader(header: string[]): void {
  const unknown = header.filter((c) => !isImportColumn(c));
  const missing = REQUIRED_IMPORT_COLUMNS.filter((c) => !header.includes(c));
  const twice = header.filter((c, i) => header.indexOf(c) !== i);
  if (unknown.length || missing.length || twice.length) {
    throw new HttpProblem(400, 'Not a portfolio file', 'the header line does not match the columns of docs/imports.md', {
      ...(missing.length ? { missing } : {}),
      ...(unknown.length ? { unknown } : {}),
      ...(twice.length ? { repeated: twice } : {}),
      columns: IMPORT_COLUMNS,
    });
  }
}
