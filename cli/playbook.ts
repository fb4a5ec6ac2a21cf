import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Playbook } from '../shared/playbook';
import { formatIssues, parsePlaybookText, pathText, type PlaybookIssue } from '../shared/playbook-file';
import type { PlaybookVersion } from '../db/playbooks';

/**
 * `recoup playbook …`: playbooks as files (docs/playbooks.md).
 *   validate <file...>   each file checked, every problem as file:line:column path: message
 *   diff <a> <b>         what changed between two files, field by field and step by step (exit 1 when they differ)
 *   publish <file>       POST /v1/playbooks (admin key)
 *   list                 GET /v1/playbooks
 * Exit codes: 0 ok (diff: the same), 1 invalid or refused (diff: different), 2 usage (a missing file,
 * option or key; diff: a file that is not a valid playbook).
 */
export function registerPlaybookCommands(program: Command): Command {
  const playbook = program
    .command('playbook')
    .description('Collection playbooks as files (YAML or JSON): validate, diff, publish, list (docs/playbooks.md)');

  playbook
    .command('validate')
    .description('Check playbook files against the schema: each problem as file:line:column field: message')
    .argument('<file...>', 'playbook files (.yaml, .yml or .json)')
    .action(async (files: string[]) => {
      let bad = 0;
      let unread = 0;
      for (const file of files) {
        // A file that cannot be read is named, and the others are still checked.
        const text = await readText(file).catch((e: Error) => {
          console.error(`recoup: ${e.message}`);
          unread++;
          return undefined;
        });
        if (text === undefined) continue;
        const r = parsePlaybookText(text, file);
        if (r.ok) console.log(`${file}: ok, ${r.playbook.id} v${r.playbook.version} (${r.playbook.steps.length} steps)`);
        else {
          bad++;
          for (const line of formatIssues(file, r.issues)) console.log(line);
        }
      }
      if (bad > 0) console.error(`${bad} of ${files.length} file(s) invalid`);
      if (unread > 0) console.error(`${unread} of ${files.length} file(s) not read`);
      if (bad > 0 || unread > 0) process.exitCode = unread > 0 ? 2 : 1;
    });

  playbook
    .command('diff')
    .description('What changed from one playbook file to another: fields old → new, steps added, removed and changed (by step id)')
    .argument('<a>', 'the old file')
    .argument('<b>', 'the new file')
    .action(async (a: string, b: string) => {
      const [pa, pb] = [parsePlaybookText(await readText(a), a), parsePlaybookText(await readText(b), b)];
      if (!pa.ok || !pb.ok) {
        for (const [file, r] of [[a, pa] as const, [b, pb] as const])
          if (!r.ok) for (const line of formatIssues(file, r.issues)) console.error(line);
        throw new Error('only valid playbooks are compared: `recoup playbook validate` them first');
      }
      const lines = diffPlaybooks(pa.playbook, pb.playbook);
      if (lines.length === 0) return;
      console.log(`--- ${a}  ${pa.playbook.id} v${pa.playbook.version}`);
      console.log(`+++ ${b}  ${pb.playbook.id} v${pb.playbook.version}`);
      for (const line of lines) console.log(line);
      process.exitCode = 1;
    });

  apiOptions(
    playbook
      .command('publish')
      .description('Publish a playbook file (admin): new cases of its id start with it; its version must be above every version of the id')
      .argument('<file>', 'the playbook file (.yaml, .yml or .json)'),
  ).action(async (file: string, o: ApiOptions) => {
    const text = await readText(file);
    const local = parsePlaybookText(text, file);
    if (!local.ok) {
      for (const line of formatIssues(file, local.issues)) console.log(line);
      console.error('not published: the file is invalid');
      process.exitCode = 1;
      return;
    }
    const res = await call(o, '/v1/playbooks', {
      method: 'POST',
      headers: { 'content-type': `${/\.json$/i.test(file) ? 'application/json' : 'application/yaml'}; charset=utf-8` },
      body: text,
    });
    const body = (await res.json().catch(() => ({}))) as Version & Problem;
    if (res.status === 201) console.log(`published ${body.id} v${body.version} (sha256 ${body.sha256})`);
    else if (res.status === 200) {
      const how = body.builtIn ? 'built in' : `published by ${body.publishedBy} at ${body.publishedAt}`;
      console.log(`${body.id} v${body.version} is this very file already (${how}): nothing changed`);
    } else {
      if (res.status === 422 && body.issues) for (const line of formatIssues(file, body.issues)) console.log(line);
      console.error(`refused: HTTP ${res.status} ${body.title ?? ''}${body.detail ? `: ${body.detail}` : ''}`);
      process.exitCode = 1;
    }
  });

  apiOptions(
    playbook
      .command('list')
      .description('Every playbook id with its versions, built in and published (admin, supervisor or manager)')
      .option('--json', 'the API answer as JSON'),
  ).action(async (o: ApiOptions & { json?: boolean }) => {
    const res = await call(o, '/v1/playbooks');
    const body = (await res.json().catch(() => ({}))) as {
      playbooks?: Array<{ id: string; latest: number; versions: Version[] }>;
    } & Problem;
    if (res.status !== 200 || !body.playbooks) {
      console.error(`refused: HTTP ${res.status} ${body.title ?? ''}${body.detail ? `: ${body.detail}` : ''}`);
      process.exitCode = 1;
      return;
    }
    if (o.json) return console.log(JSON.stringify(body, null, 2));
    const rows = [['ID', 'VERSION', 'SOURCE', 'PUBLISHED', 'NAME']];
    for (const p of body.playbooks)
      for (const v of p.versions)
        rows.push([
          p.id,
          `${v.version}${v.version === p.latest ? ' (latest)' : ''}`,
          v.builtIn ? 'built-in' : 'published',
          v.publishedAt ? `${v.publishedAt.slice(0, 16).replace('T', ' ')}Z by ${v.publishedBy}` : '',
          v.name,
        ]);
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) console.log(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '));
  });
  return playbook;
}

interface ApiOptions {
  url: string;
  key?: string;
}
/** What the API answers for a version (db/playbooks.ts). */
type Version = PlaybookVersion;
interface Problem {
  title?: string;
  detail?: string;
  issues?: PlaybookIssue[];
}

const apiOptions = (c: Command) =>
  c
    .addOption(
      new Option('--url <url>', "the API's base URL")
        .env('RECOUP_API_URL')
        .default(`http://localhost:${process.env.RECOUP_API_PORT ?? 3000}`),
    )
    .addOption(new Option('--key <key>', 'an API key (publish: admin; list: admin, supervisor or manager)').env('RECOUP_API_KEY'));

async function call(o: ApiOptions, path: string, init: RequestInit = {}): Promise<Response> {
  if (!o.key) throw new InvalidArgumentError('an API key is needed: --key or RECOUP_API_KEY');
  const base = o.url.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) throw new InvalidArgumentError(`the API's URL starts with http:// or https:// (got ${base})`);
  return fetch(`${base}${path}`, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${o.key}` },
  }).catch((e: Error & { cause?: { code?: string; message?: string } }) => {
    throw new Error(`cannot reach the API at ${base}: ${e.cause?.code ?? e.cause?.message ?? e.message}`, { cause: e });
  });
}

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === 'ENOENT' ? `no file ${file}` : `cannot read ${file}: ${e.message}`);
  });
}

// ---- the structural diff ----

type Change = { path: string; from: unknown; to: unknown };
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));

/** Leaf by leaf: objects by key, lists of records by position, other lists and values whole. */
function changes(a: unknown, b: unknown, path: Array<string | number>): Change[] {
  if (isDeepStrictEqual(a, b)) return [];
  if (isRecord(a) && isRecord(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    return keys.flatMap((k) => changes(a[k], b[k], [...path, k]));
  }
  if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].some(isRecord)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => changes(a[i], b[i], [...path, i])).flat();
  }
  return [{ path: pathText(path), from: a, to: b }];
}

/**
 * What changed from playbook `a` to `b` (both as the schema makes them, defaults filled in, so a default
 * spelled out or left out is no change), one line per change:
 *   ~ costs.recoverable: [] → ["letter"]
 *   + step call-2 (day 9, phone-call): …
 *   - step legal-referral (day 30, legal-referral)
 *   ~ step early-call: repeat.untilDay: 3 → 5
 * Nothing when they are the same.
 */
export function diffPlaybooks(a: Playbook, b: Playbook): string[] {
  const { steps: stepsA, ...restA } = a;
  const { steps: stepsB, ...restB } = b;
  const out = changes(restA, restB, []).map((c) => `~ ${c.path}: ${show(c.from)} → ${show(c.to)}`);
  const idsA = stepsA.map((s) => s.id);
  const idsB = stepsB.map((s) => s.id);
  const byId = (steps: Playbook['steps'], id: string) => steps.find((s) => s.id === id)!;
  for (const s of stepsA) if (!idsB.includes(s.id)) out.push(`- step ${s.id} (day ${s.day}, ${s.action})`);
  for (const s of stepsB) if (!idsA.includes(s.id)) out.push(`+ step ${s.id} (day ${s.day}, ${s.action}): ${s.description}`);
  for (const id of idsB.filter((i) => idsA.includes(i))) {
    for (const c of changes(byId(stepsA, id), byId(stepsB, id), [])) out.push(`~ step ${id}: ${c.path}: ${show(c.from)} → ${show(c.to)}`);
  }
  const keptA = idsA.filter((i) => idsB.includes(i));
  const keptB = idsB.filter((i) => idsA.includes(i));
  if (!isDeepStrictEqual(keptA, keptB)) out.push(`~ steps order: ${keptA.join(', ')} → ${keptB.join(', ')}`);
  return out;
}
