import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../dev/tools';
import { addDays, localDate } from '../shared/calendar';
import { EncryptionCodec } from '../shared/codec';
import { csvOfLines } from '../shared/csv';
import { spawnPart, type Part } from './faults/processes';
import { getJson, startStack, uniqueAccountId, type Reply, type Stack } from './helpers';

/**
 * The portfolio import (issue 15, part 1) on the real stack: the `recoup import` CLI in a child process,
 * the API, the import's workflow and the case workflows on a real worker, the ledger in PostgreSQL.
 */
let stack: Stack;
let dir: string;
let worker: Part | undefined;
const key = randomBytes(32);
/** The worker as production runs it, in a process of its own: `npm run worker`, with the stack's key. */
const startWorker = async () => {
  worker = spawnPart('worker/main.ts', {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: inject('temporalNamespace'),
    DATABASE_URL: inject('databaseUrl'),
    RECOUP_TASK_QUEUE: stack.taskQueue,
    RECOUP_CODEC_KEYS: `i1=${key.toString('base64')}`,
    LOG_LEVEL: 'info',
  });
  await worker.waitForLine(/worker polling task queue/, 120_000);
};
beforeAll(async () => {
  // The API in this process; the worker (the import's workflow and activities, and the cases) in another.
  stack = await startStack({ worker: false, codec: new EncryptionCodec({ active: 'i1', keys: new Map([['i1', key]]) }) });
  await startWorker();
  dir = await mkdtemp(path.join(tmpdir(), 'recoup-import-'));
});
afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const TZ = 'Asia/Shanghai';
const yesterday = () => addDays(localDate(Date.now(), TZ), -1);
const HEADER = [
  'accountId',
  'dueDate',
  'amountMinor',
  'currency',
  'debtorName',
  'timeZone',
  'phones',
  'region',
  'guarantorId',
  'guarantorName',
  'address',
];

/** Ten ways a row goes wrong, and the column the reject report must name for each. */
const BAD: Array<{ field: string; spoil(row: string[]): void }> = [
  { field: 'accountId', spoil: (r) => (r[0] = '') },
  { field: 'accountId', spoil: (r) => (r[0] = 'has space!') },
  { field: 'dueDate', spoil: (r) => (r[1] = '2026-13-40') },
  { field: 'dueDate', spoil: (r) => (r[1] = addDays(localDate(Date.now(), TZ), 5)) },
  { field: 'amountMinor', spoil: (r) => (r[2] = '12.50') },
  { field: 'amountMinor', spoil: (r) => (r[2] = '0') },
  { field: 'currency', spoil: (r) => (r[3] = 'yuan') },
  { field: 'debtorName', spoil: (r) => (r[4] = '') },
  { field: 'phones', spoil: (r) => (r[6] = '+86 139 0000 0001;call me') },
  { field: 'timeZone', spoil: (r) => (r[5] = 'Mars/Olympus') },
];

/** `n` rows, every 200th spoilt one of the ten ways (50 in 10,000): the CSV, and the bad rows' lines and fields. */
function portfolio(prefix: string, n: number) {
  const lines: string[][] = [HEADER];
  const bad: Array<{ row: number; field: string }> = [];
  for (let i = 0; i < n; i++) {
    const row = [
      `${prefix}-${String(i).padStart(5, '0')}`,
      // Due yesterday: each case's playbook is at its first steps, as a portfolio's newest arrears are.
      yesterday(),
      String(10_000 + (i % 977) * 100),
      'CNY',
      `债务人${i}`,
      TZ,
      `+86 139 ${String(i).padStart(4, '0')} 0000`,
      `region-${i % 7}`,
      i % 3 === 0 ? `G-${i}` : '',
      i % 3 === 0 ? `保证人${i}` : '',
      `北京市朝阳区${i}号`,
    ];
    if (i % 200 === 199) {
      const kind = BAD[((i + 1) / 200 - 1) % BAD.length]!;
      kind.spoil(row);
      // The header is line 1: row i is on line i + 2.
      bad.push({ row: i + 2, field: kind.field });
    }
    lines.push(row);
  }
  return { csv: csvOfLines(lines), bad };
}

/** `recoup import` as a user runs it (not on a terminal: plain progress lines). */
function cli(file: string): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), [path.join(PROJECT_ROOT, 'cli/recoup.ts'), 'import', file], {
    env: { ...process.env, RECOUP_API_URL: stack.apiUrl, RECOUP_API_KEY: stack.keys.supervisor },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: killed, tsx and the node it runs go together.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

const post = async (body: string, type: string, key = stack.keys.supervisor): Promise<Reply> => {
  const res = await fetch(`${stack.apiUrl}/v1/imports?name=t`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': type },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers };
};

const casesOf = async (prefix: string) =>
  (await stack.sql<{ n: number }[]>`select count(*)::int as n from cases where account_id like ${`${prefix}-%`}`)[0]!.n;

describe('a portfolio of 10,000 rows through `recoup import`', () => {
  const prefix = uniqueAccountId('IMP');
  const { csv, bad } = portfolio(prefix, 10_000);
  let file: string;

  it(
    'opens 9,950 cases and reports the 50 bad rows, resuming after the CLI and the worker are killed halfway',
    { timeout: 1_500_000 },
    async () => {
      file = path.join(dir, 'portfolio.csv');
      await writeFile(file, csv);
      const first = cli(file);
      // Halfway: the CLI and the worker are killed (SIGKILL: no drain), and a new worker started.
      let importId = '';
      await vi.waitFor(
        async () => {
          const [r] = await stack.sql<{ import_id: string; done: number }[]>`
          select i.import_id, count(*) filter (where r.status in ('opened', 'joined'))::int as done
          from imports i join import_rows r using (import_id) where i.name = 'portfolio.csv' and i.status = 'running'
          group by i.import_id`;
          expect(r?.done ?? 0).toBeGreaterThanOrEqual(5_000);
          importId = r!.import_id;
        },
        { timeout: 600_000, interval: 200 },
      );
      const t0 = Date.now();
      process.kill(-first.child.pid!, 'SIGKILL');
      await worker!.kill();
      await first.done;
      const whileDown = (await getJson(`${stack.apiUrl}/v1/imports/${importId}`, stack.keys.supervisor)).body;
      expect(whileDown.status).toBe('running');
      expect(whileDown.rows.pending).toBeGreaterThan(0);
      await startWorker();

      // The same command again: the API knows the file, and follows the import to its end.
      const again = await cli(file).done;
      console.log(`import: ${importId} resumed and done ${Math.round((Date.now() - t0) / 1000)} s after the kill\n${again.stderr}`);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(`this file is import ${importId}`);
      expect(again.stderr).toMatch(/done: 10,000\/10,000 rows 100%/);
      const summary = JSON.parse(again.stdout.trim().split('\n').at(-1)!);
      expect(summary).toMatchObject({ importId, status: 'done', totalRows: 10_000 });
      expect(summary.rows).toMatchObject({ pending: 0, rejected: 50, refused: 0 });
      // Every valid row opened its own case (one instalment each): none twice, none lost across the kill.
      expect(summary.rows.opened + summary.rows.joined + summary.rows.unchanged).toBe(9_950);

      // The reject report: the 50 rows, by their line in the file, with the field at fault.
      const rejects = await readFile(`${file}.rejects.csv`, 'utf8');
      const lines = rejects.trim().split('\r\n');
      expect(lines[0]).toBe('row,accountId,outcome,field,message');
      const got = lines.slice(1).map((l) => {
        const [row, , outcome, field] = l.split(',');
        return { row: Number(row), field: field!, outcome };
      });
      expect(got.map(({ row, field }) => ({ row, field }))).toEqual(bad);
      expect(new Set(got.map((g) => g.outcome))).toEqual(new Set(['rejected']));

      // The cases are real: each valid account has its case in the ledger, once, with its instalment.
      await vi.waitFor(async () => expect(await casesOf(prefix)).toBe(9_950), { timeout: 600_000, interval: 1_000 });
      console.log(`import: every case in the ledger ${Math.round((Date.now() - t0) / 1000)} s after the kill`);
      const [dups] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from (select account_id from instalments where account_id like ${`${prefix}-%`}
                                      group by account_id, due_date having count(*) > 1) d`;
      expect(dups!.n).toBe(0);
      const [inst] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from instalments where account_id like ${`${prefix}-%`}`;
      expect(inst!.n).toBe(9_950);
    },
  );

  it('the same file again opens nothing', { timeout: 120_000 }, async () => {
    const before = await casesOf(prefix);
    const r = await post(csv, 'text/csv');
    expect(r.status).toBe(202);
    expect(r.body.sameFileAs).toBe(r.body.importId);
    expect(r.body).toMatchObject({ status: 'done', totalRows: 10_000 });
    // The same rows in another file (a line added at its end): a new import, whose rows all find their instalments.
    const extra = portfolio(`${prefix}X`, 1).csv.split('\r\n')[1]!;
    const other = await post(`${csv}${extra}\r\n`, 'text/csv');
    expect(other.status).toBe(202);
    expect(other.body.sameFileAs).toBeUndefined();
    await vi.waitFor(
      async () => {
        const v = await getJson(`${stack.apiUrl}/v1/imports/${other.body.importId}`, stack.keys.supervisor);
        expect(v.body.status).toBe('done');
        expect(v.body.rows).toMatchObject({ opened: 1, unchanged: 9_950, rejected: 50, pending: 0 });
      },
      { timeout: 110_000, interval: 500 },
    );
    expect(await casesOf(prefix)).toBe(before);
  });
});

describe('POST /v1/imports', () => {
  it('takes JSON lines, with the API’s schema and dotted paths in the reject report', { timeout: 60_000 }, async () => {
    const a = uniqueAccountId('IMPJ');
    const ok = {
      accountId: a,
      debtor: { name: '张三', timeZone: TZ },
      dueDate: yesterday(),
      amountDue: { amountMinor: 5_000, currency: 'CNY' },
    };
    const lines = [
      JSON.stringify(ok),
      '',
      '{not json',
      JSON.stringify({ ...ok, accountId: uniqueAccountId('IMPJ'), amountDue: { amountMinor: 5_000, currency: 'CNY', extra: 1 } }),
      JSON.stringify({ ...ok, dueDate: addDays(yesterday(), -1) }),
    ];
    const r = await post(lines.join('\n'), 'application/x-ndjson');
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toMatchObject({ format: 'ndjson', totalRows: 4, rows: { rejected: 2 } });
    await vi.waitFor(
      async () => {
        const v = await getJson(`${stack.apiUrl}/v1/imports/${r.body.importId}`, stack.keys.supervisor);
        expect(v.body).toMatchObject({ status: 'done', rows: { opened: 1, joined: 1, rejected: 2, pending: 0 } });
      },
      { timeout: 50_000, interval: 300 },
    );
    const rejects = await getJson(`${stack.apiUrl}/v1/imports/${r.body.importId}/rejects.csv`, stack.keys.admin);
    expect(rejects.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(rejects.body).toContain('3,,rejected,(row),not a JSON object');
    expect(rejects.body).toMatch(/\r\n4,IMPJ-\w+,rejected,amountDue,/);
    // The account's case holds both instalments.
    await vi.waitFor(async () => expect(await stack.sql`select 1 from instalments where account_id = ${a}`).toHaveLength(2), {
      timeout: 20_000,
    });
  });

  it("opens each account's case with its oldest instalment, whatever the rows' order", { timeout: 90_000 }, async () => {
    // 20 accounts, each a newer CNY instalment first and an older USD one after: the USD one opens every case.
    const p = uniqueAccountId('IMPO');
    const lines: string[][] = [['accountId', 'dueDate', 'amountMinor', 'currency', 'debtorName']];
    for (let i = 0; i < 20; i++) {
      lines.push(
        [`${p}-${i}`, yesterday(), '1000', 'CNY', `债务人${i}`],
        [`${p}-${i}`, addDays(yesterday(), -3), '2000', 'USD', `债务人${i}`],
      );
    }
    const r = await post(csvOfLines(lines), 'text/csv');
    expect(r.status).toBe(202);
    await vi.waitFor(
      async () => {
        const v = await getJson(`${stack.apiUrl}/v1/imports/${r.body.importId}`, stack.keys.supervisor);
        expect(v.body).toMatchObject({ status: 'done', rows: { opened: 20, refused: 20, pending: 0 } });
      },
      { timeout: 80_000, interval: 300 },
    );
    const rejects = (await getJson(`${stack.apiUrl}/v1/imports/${r.body.importId}/rejects.csv`, stack.keys.admin)).body as string;
    const rows = rejects.trim().split('\r\n').slice(1);
    expect(rows).toHaveLength(20);
    // Every refused row is the CNY one (even lines: 2, 4, …), refused by a case in USD.
    for (const line of rows) {
      expect(Number(line.split(',')[0]) % 2, line).toBe(0);
      expect(line).toMatch(/USD/);
    }
  });

  it('refuses what is not a portfolio file, and who may not import', async () => {
    const missing = await post('accountId,dueDate\r\nA-1,2026-01-01\r\n', 'text/csv');
    expect(missing.status).toBe(400);
    expect(missing.body.missing).toEqual(['amountMinor', 'currency', 'debtorName']);
    const unknown = await post(`${HEADER.join(',')},phone\r\n`, 'text/csv');
    expect(unknown.status).toBe(400);
    expect(unknown.body.unknown).toEqual(['phone']);
    const empty = await post(`${HEADER.join(',')}\r\n`, 'text/csv');
    expect(empty.status).toBe(400);
    expect((await post('{}', 'application/json')).status).toBe(415);
    expect((await post(`${HEADER.join(',')}\r\n`, 'text/csv', stack.keys.collector)).status).toBe(403);
    expect((await getJson(`${stack.apiUrl}/v1/imports/imp-000000000000`, stack.keys.admin)).status).toBe(404);
    expect((await getJson(`${stack.apiUrl}/v1/imports/nope`, stack.keys.admin)).status).toBe(400);
    // Nothing of the refused files was kept.
    expect(await stack.sql`select 1 from imports where status = 'loading'`).toHaveLength(0);
  });
});
