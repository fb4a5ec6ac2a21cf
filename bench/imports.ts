// Section 7: the portfolio import (issue 15): a CSV of N rows POSTed to the API as `recoup import` sends
// it, then followed to the end: rows per second from the upload's start to the import's end (every row
// opened as a case: a workflow started), and until every case's ledger rows are written (the new cases'
// first workflow tasks, on the same worker). Medians over rounds; target ≥ 200 rows/s.
import { addDays, localDate } from '../shared/calendar';
import { csvOfLines } from '../shared/csv';
import { median, ms, sleep } from './lib';
import { rawEmpty } from './raw/workflows';
import { RAW_TASK_QUEUE, type Stack } from './stack';

const TARGET_ROWS_PER_S = 200;
/** Raw starts measured after each round, at the import's concurrency: the server's floor for one start per row. */
const RAW_STARTS = 1_000;
const RAW_CONCURRENCY = 16;
const TZ = 'Asia/Shanghai';

export async function measureImports(stack: Stack, opts: { rows: number; rounds: number }) {
  const lines: string[] = [];
  const upload: number[] = [];
  const opened: number[] = [];
  const inLedger: number[] = [];
  const raw: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const prefix = `BIMP${process.pid}R${round}`;
    const due = addDays(localDate(Date.now(), TZ), -1);
    const csv = csvOfLines([
      ['accountId', 'dueDate', 'amountMinor', 'currency', 'debtorName', 'timeZone', 'phones', 'address'],
      ...Array.from({ length: opts.rows }, (_, i) => [
        `${prefix}-${i}`,
        due,
        10_000 + i,
        'CNY',
        `债务人${i}`,
        TZ,
        '+86 138 0000 0000',
        `北京市朝阳区${i}号`,
      ]),
    ]);
    const t0 = process.hrtime.bigint();
    const res = await stack.api(`/v1/imports?name=bench-${round}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    if (res.status !== 202) throw new Error(`import: ${res.status} ${await res.text()}`);
    const { importId } = (await res.json()) as { importId: string };
    upload.push(ms(t0));
    for (;;) {
      const v = (await (await stack.api(`/v1/imports/${importId}`)).json()) as { status: string; rows: Record<string, number> };
      if (v.status === 'done') {
        if (v.rows.opened !== opts.rows) throw new Error(`import ${importId}: ${JSON.stringify(v.rows)}`);
        break;
      }
      await sleep(100);
    }
    opened.push(ms(t0));
    const inLedgerNow = async () =>
      (await stack.sql<{ n: number }[]>`select count(*)::int as n from cases where account_id like ${`${prefix}-%`}`)[0]!.n;
    while ((await inLedgerNow()) < opts.rows) await sleep(250);
    inLedger.push(ms(t0));
    // The floor: empty workflows started by a plain client at the import's concurrency, on the same server.
    const r0 = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: RAW_CONCURRENCY }, async () => {
        while (next < RAW_STARTS) {
          const i = next++;
          await stack.client.workflow.start(rawEmpty, { workflowId: `${prefix}-raw-${i}`, taskQueue: RAW_TASK_QUEUE });
        }
      }),
    );
    raw.push(ms(r0));
    console.log(`[bench] imports: round ${round + 1}: ${opts.rows} rows opened in ${(opened.at(-1)! / 1000).toFixed(1)} s`);
  }
  const rate = (t: number) => Math.round((opts.rows * 1000) / t);
  const m = median(opened);
  lines.push(
    `${opts.rows} rows a round, ${opts.rounds} rounds (medians): upload and validation ${(median(upload) / 1000).toFixed(1)} s; ` +
      `every row's case started ${(m / 1000).toFixed(1)} s = ${rate(m)} rows/s ${rate(m) >= TARGET_ROWS_PER_S ? '✓' : '✗'} ` +
      `(target ≥ ${TARGET_ROWS_PER_S}); every case in the ledger ${(median(inLedger) / 1000).toFixed(1)} s = ` +
      `${rate(median(inLedger))} rows/s`,
  );
  const rawRate = Math.round((RAW_STARTS * 1000) / median(raw));
  lines.push(
    `the floor, raw workflow.start of an empty workflow at concurrency ${RAW_CONCURRENCY}: ${rawRate}/s; ` +
      `import ÷ raw ${(rate(m) / rawRate).toFixed(2)}: one workflow start per row, so the server's start rate bounds the import`,
  );
  return { lines, rowsPerSecond: rate(m), rawStartsPerSecond: rawRate };
}
