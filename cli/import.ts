import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

interface ImportView {
  importId: string;
  status: 'loading' | 'running' | 'done';
  totalRows: number | null;
  rows: Record<string, number>;
  sameFileAs?: string;
  links: { self: string; rejects: string };
}

const POLL_MS = 500;
/** Without a terminal, a progress line at most this often. */
const PLAIN_EVERY_MS = 5_000;

/**
 * `recoup import <file>`: streams the file to POST /v1/imports, then follows the import to its end with a
 * progress bar (plain lines when stderr is not a terminal), and writes the rejected rows as CSV. Run it
 * again on the same file after an interruption: the API knows the file and the import goes on.
 * Exit code: 0 done (rejected rows are reported, not a failure), 1 the API refused the file, 2 bad usage.
 */
export async function importFile(o: {
  file: string;
  url: string;
  key: string;
  name?: string;
  rejects?: string;
  wait: boolean;
}): Promise<number> {
  const info = await stat(o.file).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === 'ENOENT' ? `no file ${o.file}` : `cannot read ${o.file}: ${e.message}`);
  });
  if (!info.isFile()) throw new Error(`${o.file} is not a file`);
  const size = info.size;
  const type = /\.(jsonl|ndjson)$/i.test(o.file) ? 'application/x-ndjson' : 'text/csv';
  const base = o.url.replace(/\/+$/, '');
  const auth = { authorization: `Bearer ${o.key}` };
  const name = o.name ?? path.basename(o.file);
  process.stderr.write(`uploading ${o.file} (${size.toLocaleString('en')} bytes) to ${base}\n`);
  if (!/^https?:\/\//.test(base)) throw new Error(`the API's URL starts with http:// or https:// (got ${base})`);
  const res = await fetch(`${base}/v1/imports?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': type, 'content-length': String(size) },
    body: Readable.toWeb(createReadStream(o.file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit).catch((e: Error & { cause?: { code?: string; message?: string } }) => {
    throw new Error(`cannot reach the API at ${base}: ${e.cause?.code ?? e.cause?.message ?? e.message}`, { cause: e });
  });
  const taken = (await res.json().catch(() => ({}))) as ImportView & { title?: string; detail?: string };
  if (res.status !== 202) {
    process.stderr.write(`refused: HTTP ${res.status} ${taken.title ?? ''}: ${taken.detail ?? ''}\n${JSON.stringify(taken, null, 2)}\n`);
    return 1;
  }
  if (taken.sameFileAs) process.stderr.write(`this file is import ${taken.sameFileAs} (sent before): following it\n`);
  process.stderr.write(`import ${taken.importId}: ${taken.totalRows} rows, ${taken.rows.rejected} rejected on reading\n`);
  if (!o.wait) {
    console.log(JSON.stringify(taken));
    return 0;
  }

  const bar = progress(taken.totalRows ?? 0);
  let v = taken;
  for (;;) {
    bar(v);
    if (v.status === 'done') break;
    await sleep(POLL_MS);
    const r = await fetch(`${base}${taken.links.self}`, { headers: auth });
    if (r.status !== 200) {
      process.stderr.write(`\ncould not read the import: HTTP ${r.status}; it goes on in the engine: run the command again to follow it\n`);
      return 1;
    }
    v = (await r.json()) as ImportView;
  }
  const notOpened = (v.rows.rejected ?? 0) + (v.rows.refused ?? 0);
  if (notOpened > 0) {
    const out = o.rejects ?? `${o.file}.rejects.csv`;
    const r = await fetch(`${base}${v.links.rejects}`, { headers: auth });
    await writeFile(out, await r.text());
    process.stderr.write(`${notOpened} rows opened nothing: ${out}\n`);
  } else {
    process.stderr.write('every row opened or joined its case: no reject report\n');
  }
  console.log(
    JSON.stringify({
      importId: v.importId,
      status: v.status,
      totalRows: v.totalRows,
      rows: v.rows,
      // Sent before: these counts are that import's, and nothing new was opened now.
      ...(taken.sameFileAs ? { sameFileAs: taken.sameFileAs } : {}),
    }),
  );
  return 0;
}

/** Draws the import's progress: a bar redrawn in place on a terminal, else a line now and then. */
function progress(total: number): (v: ImportView) => void {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let lastLine = 0;
  let lastDone = -1;
  return (v) => {
    const done = total - (v.rows.pending ?? 0);
    const pct = total ? Math.floor((100 * done) / total) : 100;
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? Math.round(done / secs) : 0;
    const counts = ['opened', 'joined', 'unchanged', 'rejected', 'refused']
      .filter((k) => (v.rows[k] ?? 0) > 0)
      .map((k) => `${k} ${v.rows[k]!.toLocaleString('en')}`)
      .join(' · ');
    const text = `${done.toLocaleString('en')}/${total.toLocaleString('en')} rows ${pct}% · ${rate}/s · ${counts}`;
    if (tty) {
      const width = 30;
      const filled = Math.round((width * pct) / 100);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K${v.status === 'done' ? '\n' : ''}`);
    } else if (v.status === 'done' || (done !== lastDone && Date.now() - lastLine >= PLAIN_EVERY_MS)) {
      process.stderr.write(`${v.status === 'done' ? 'done: ' : ''}${text}\n`);
      lastLine = Date.now();
      lastDone = done;
    }
  };
}
