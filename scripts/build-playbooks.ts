// `npm run build:playbooks`: shared/builtin-playbooks.ts, the built-in playbooks as plain data, from
// their authored files playbooks/<id>.v<version>.yaml (docs/playbooks.md). `--check`: only say whether
// the generated file is up to date (exit 1 when not). test/playbook-file.test.ts runs the same check.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { parseDocument } from 'yaml';
import type { Playbook } from '../shared/playbook';
import { builtinPlaybookFile, formatIssues, parsePlaybookText } from '../shared/playbook-file';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const GENERATED = 'shared/builtin-playbooks.ts';
export const BUILD_COMMAND = 'npm run build:playbooks';
const MAX_LINE = 140;

/**
 * The exported name of each built-in: the latest version of an id has the id's name, older versions
 * `<name>_V<n>` (running cases name them). Names other than these two follow the id.
 */
const NAMES: Record<string, string> = { 'micro-loan-default': 'DEFAULT_PLAYBOOK', 'receivables-sales': 'RECEIVABLES_PLAYBOOK' };
const baseName = (id: string) => NAMES[id] ?? `${id.toUpperCase().replace(/-/g, '_')}_PLAYBOOK`;

interface Built {
  file: string;
  playbook: Playbook;
  /** The file's opening comment, up to its first empty comment line: the constant's doc comment. */
  doc: string[];
}

/** Reads and validates playbooks/*.yaml; throws with every problem, file:line:column. */
function readBuiltins(root: string): Built[] {
  const dir = path.join(root, 'playbooks');
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  const problems: string[] = [];
  const built: Built[] = [];
  for (const name of files) {
    const file = `playbooks/${name}`;
    const text = readFileSync(path.join(dir, name), 'utf8');
    const r = parsePlaybookText(text, file);
    if (!r.ok) {
      problems.push(...formatIssues(file, r.issues));
      continue;
    }
    const expected = builtinPlaybookFile(r.playbook.id, r.playbook.version);
    if (file !== expected) {
      problems.push(`${file}:1:1 the file of ${r.playbook.id} v${r.playbook.version} is named ${expected}`);
      continue;
    }
    const comment = parseDocument(text).commentBefore ?? '';
    const lines = comment.split('\n').map((l) => l.replace(/^ /, '').trimEnd());
    const blank = lines.findIndex((l) => l === '');
    built.push({ file, playbook: r.playbook, doc: blank < 0 ? lines : lines.slice(0, blank) });
  }
  if (problems.length > 0) throw new Error(`invalid built-in playbook(s):\n${problems.join('\n')}`);
  if (built.length === 0) throw new Error(`no playbooks/*.yaml in ${root}`);
  return built.sort((a, b) => a.playbook.id.localeCompare(b.playbook.id) || a.playbook.version - b.playbook.version);
}

/** A value as TypeScript source: objects spread over lines, long strings split (`'…' + '…'`) under the line limit. */
function emit(v: unknown, depth: number, keyLength = 0): string {
  const pad = '  '.repeat(depth + 1);
  if (typeof v === 'string') {
    const literal = JSON.stringify(v);
    if (2 * depth + keyLength + 2 + literal.length + 1 <= MAX_LINE) return literal;
    const room = MAX_LINE - 2 * (depth + 1) - 2 - 2 - 4;
    const chunks: string[] = [];
    let rest = v;
    while (rest.length > room) {
      const cut = rest.lastIndexOf(' ', room);
      const at = cut > 0 ? cut + 1 : room;
      chunks.push(rest.slice(0, at));
      rest = rest.slice(at);
    }
    chunks.push(rest);
    return chunks.map((c) => JSON.stringify(c)).join(` +\n${pad}`);
  }
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 1_000_000) return String(v).replace(/\B(?=(\d{3})+$)/g, '_');
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  const flat = (x: unknown) => x === null || typeof x !== 'object';
  if (Array.isArray(v)) {
    if (v.every(flat)) return `[${v.map((x) => emit(x, depth)).join(', ')}]`;
    return `[\n${v.map((x) => `${pad}${emit(x, depth + 1)},\n`).join('')}${'  '.repeat(depth)}]`;
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
    // A record of plain values inside a list stays on one line ({ funds: 'good', treatment: 'collect' }).
    if (depth >= 2 && entries.every(([, x]) => flat(x)) && entries.length <= 3)
      return `{ ${entries.map(([k, x]) => `${key(k)}: ${emit(x, depth)}`).join(', ')} }`;
    return `{\n${entries.map(([k, x]) => `${pad}${key(k)}: ${emit(x, depth + 1, key(k).length)},\n`).join('')}${'  '.repeat(depth)}}`;
  }
  throw new Error(`cannot write ${typeof v} as data`);
}

/** shared/builtin-playbooks.ts as it must be, from the YAML files of `root`. */
export async function generateBuiltinPlaybooks(root = ROOT): Promise<string> {
  const built = readBuiltins(root);
  const latest = new Map<string, number>();
  for (const b of built) latest.set(b.playbook.id, Math.max(latest.get(b.playbook.id) ?? 0, b.playbook.version));
  const nameOf = (p: Playbook) => (latest.get(p.id) === p.version ? baseName(p.id) : `${baseName(p.id)}_V${p.version}`);

  const out = [
    `// Generated by \`${BUILD_COMMAND}\` (scripts/build-playbooks.ts) from`,
    ...built.map((b) => `//   ${b.file}`),
    '// Do not edit: edit those files (or add one) and run the command again. test/playbook-file.test.ts',
    '// fails while this file and the YAML files disagree.',
    "import type { Playbook } from './playbook';",
    '',
    '// The built-in playbooks as plain data, every default spelled out. The workflow bundle imports this',
    "// module and not the zod schema: each case's sandbox evaluates its modules afresh, and zod with the",
    '// schemas and two parses cost every new or replayed case milliseconds of worker CPU. A unit test',
    '// checks that the schema takes each of them unchanged.',
    '',
  ];
  for (const b of built) {
    if (b.doc.length > 0) out.push('/**', ...b.doc.map((l) => ` * ${l.replace(/\*\//g, '*\\/')}`.trimEnd()), ' */');
    out.push(`export const ${nameOf(b.playbook)}: Playbook = ${emit(b.playbook, 0)};`, '');
  }
  out.push(
    '/** Every built-in version, by id and version: the ones a running case may name. */',
    `export const BUILTIN_PLAYBOOKS: readonly Playbook[] = [${built.map((b) => nameOf(b.playbook)).join(', ')}];`,
    '',
  );
  // Formatted as the checkout formats it (.prettierrc), wherever the YAML files were read from.
  const target = path.join(ROOT, GENERATED);
  const text = await format(out.join('\n'), { ...(await resolveConfig(target)), filepath: target });
  const long = text.split('\n').findIndex((l) => [...l].length > MAX_LINE);
  if (long >= 0) throw new Error(`${GENERATED}:${long + 1} would be over ${MAX_LINE} characters: shorten that text in its YAML file`);
  return text;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const target = path.join(ROOT, GENERATED);
  const want = await generateBuiltinPlaybooks();
  const have = readFileSync(target, 'utf8');
  if (want === have) {
    console.log(`[build:playbooks] ${GENERATED} is up to date`);
  } else if (check) {
    console.error(`[build:playbooks] ${GENERATED} does not match playbooks/*.yaml: run \`${BUILD_COMMAND}\``);
    process.exitCode = 1;
  } else {
    writeFileSync(target, want);
    console.log(`[build:playbooks] wrote ${GENERATED}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main().catch((e: Error) => {
    console.error(`[build:playbooks] ${e.message}`);
    process.exitCode = 1;
  });
}
