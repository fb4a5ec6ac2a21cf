import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { Playbook } from './playbook';

/**
 * Playbooks as authored files (docs/playbooks.md): YAML or JSON text, validated with the `Playbook`
 * schema, each problem at its line and column. Used by `recoup playbook validate|diff|publish`,
 * `npm run build:playbooks` and `POST /v1/playbooks`. Never imported by the workflow bundle.
 */

/** One problem of a file: 1-based line and column, the field (`steps[3].window.from`, '' for the file itself). */
export interface PlaybookIssue {
  line: number;
  column: number;
  path: string;
  message: string;
}
export type PlaybookParse = { ok: true; playbook: Playbook } | { ok: false; issues: PlaybookIssue[] };

/** A playbook id names files (`playbooks/<id>.v<version>.yaml`) and URLs: lower-case letters, digits, dashes. */
export const PLAYBOOK_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** Where a built-in playbook's source lives, from the checkout's root. */
export const builtinPlaybookFile = (id: string, version: number) => `playbooks/${id}.v${version}.yaml`;

type Segment = string | number;
type YamlNode = NonNullable<Document['contents']>;
interface Located {
  /** The node the path names, or the deepest one it reaches (a missing key: its mapping). */
  node: YamlNode | null;
  /** The key of the pair whose value `node` is (a mapping's own line is its key's). */
  key: YamlNode | null;
  found: boolean;
}

/**
 * Parses and validates a playbook file. JSON is read as YAML (a superset) for the positions, and must
 * also be strict JSON when the file name ends in `.json`. The playbook comes back as the schema makes
 * it: every default filled in, keys in the schema's order.
 */
export function parsePlaybookText(text: string, fileName: string): PlaybookParse {
  const source = text.replace(/^\uFEFF/, '');
  const starts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  const at = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
  // The YAML parser recurses per level of [ and {: thousands of them cost seconds before it gives up.
  const deep = tooDeep(source);
  if (deep !== undefined) return { ok: false, issues: [{ ...at(deep), path: '', message: `nested more than ${MAX_DEPTH} deep` }] };
  // PostgreSQL keeps no NUL in text, and no text file has one.
  const nul = source.indexOf('\u0000');
  if (nul >= 0) return { ok: false, issues: [{ ...at(nul), path: '', message: 'a NUL character: this is not a text file' }] };
  // JSON first by its own grammar (YAML would take a trailing comma or a bare word), then as YAML for the positions.
  const jsonError = /\.json$/i.test(fileName) ? jsonSyntaxError(source) : undefined;
  if (jsonError) return { ok: false, issues: [{ ...at(jsonError.offset), path: '', message: `not valid JSON: ${jsonError.message}` }] };
  const doc = parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: capped(
        doc.errors.map((e) => ({
          line: e.linePos?.[0].line ?? 1,
          column: e.linePos?.[0].col ?? 1,
          path: '',
          message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
        })),
      ),
    };
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, issues: [{ line: 1, column: 1, path: '', message: (e as Error).message }] };
  }
  if (value === null || value === undefined) {
    return {
      ok: false,
      issues: [{ line: 1, column: 1, path: '', message: 'empty: a playbook is a mapping (id, version, name, …, steps)' }],
    };
  }

  const positionOf = (l: Located) => {
    const n = l.key && (!l.node || isMap(l.node) || isSeq(l.node) || !l.found) ? l.key : (l.node ?? l.key);
    return n?.range ? at(n.range[0]) : { line: 1, column: 1 };
  };
  const issues: PlaybookIssue[] = [];
  const parsed = Playbook.safeParse(value);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const path = i.path.filter((s): s is Segment => typeof s !== 'symbol');
      if (i.code === 'unrecognized_keys') {
        const parent = locate(doc, path);
        for (const k of i.keys) {
          const known = knownKeys(path);
          const near = known.find(
            (x) =>
              !valueAt(value, [...path, x]).present &&
              ((k.length >= 4 && x.toLowerCase().startsWith(k.toLowerCase())) || distance(x, k) <= (k.length < 5 ? 1 : 2)),
          );
          const keyNode = parent.node && isMap(parent.node) ? parent.node.items.find((p) => keyOf(p.key) === k)?.key : undefined;
          issues.push({
            ...(keyNode && (keyNode as YamlNode).range ? at((keyNode as YamlNode).range![0]) : positionOf(parent)),
            path: pathText([...path, k]),
            message: `unknown key "${k}"${near ? ` (did you mean "${near}"?)` : ''}`,
          });
        }
        continue;
      }
      issues.push({ ...positionOf(locate(doc, path)), path: pathText(path), message: messageOf(i, valueAt(value, path)) });
    }
    // The schema's own checks across steps (duplicate ids) run only on an otherwise valid file: say it now too.
    const steps = (value as { steps?: unknown }).steps;
    if (Array.isArray(steps)) {
      const seen = new Set<string>();
      steps.forEach((s, n) => {
        const id = (s as { id?: unknown } | null)?.id;
        if (typeof id !== 'string') return;
        if (seen.has(id) && !issues.some((x) => x.path === `steps[${n}].id`)) {
          issues.push({ ...positionOf(locate(doc, ['steps', n, 'id'])), path: `steps[${n}].id`, message: `duplicate step id ${id}` });
        }
        seen.add(id);
      });
    }
  }
  const id = (value as { id?: unknown }).id;
  if (typeof id === 'string' && id.length > 0 && !PLAYBOOK_ID.test(id)) {
    issues.push({
      ...positionOf(locate(doc, ['id'])),
      path: 'id',
      message: 'lower-case letters, digits and dashes, up to 100 (it names the file and the URL)',
    });
  }
  if (parsed.success && JSON.stringify(parsed.data).includes('\\u0000')) {
    issues.push({ line: 1, column: 1, path: '', message: 'a NUL character (\\0) in a string' });
  }
  if (issues.length > 0 || !parsed.success) {
    return { ok: false, issues: capped(issues.sort((a, b) => a.line - b.line || a.column - b.column)) };
  }
  return { ok: true, playbook: parsed.data };
}

/** Issues at most this many (a broken file can make hundreds of the same). */
const MAX_ISSUES = 50;
function capped(issues: PlaybookIssue[]): PlaybookIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const k = `${i.line}:${i.column}:${i.path}:${i.message}`;
    return !seen.has(k) && seen.add(k);
  });
  if (unique.length <= MAX_ISSUES) return unique;
  const last = unique[MAX_ISSUES - 1]!;
  return [...unique.slice(0, MAX_ISSUES - 1), { ...last, path: '', message: `and ${unique.length - MAX_ISSUES + 1} more issue(s)` }];
}

/** `file:line:column path: message`, one line per issue. */
export function formatIssues(fileName: string, issues: readonly PlaybookIssue[]): string[] {
  return issues.map((i) => `${fileName}:${i.line}:${i.column} ${i.path ? `${i.path}: ` : ''}${i.message}`);
}

/** `steps[3].window.from` */
export function pathText(path: readonly Segment[]): string {
  return path
    .map((s, n) =>
      typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `${n === 0 ? '' : '.'}${s}` : `[${JSON.stringify(s)}]`,
    )
    .join('');
}

function keyOf(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function locate(doc: Document, path: readonly Segment[]): Located {
  let node = (doc.contents ?? null) as YamlNode | null;
  let key: YamlNode | null = null;
  for (const seg of path) {
    if (node && isMap(node)) {
      const pair = node.items.find((p) => keyOf(p.key) === String(seg));
      if (!pair) return { node, key, found: false };
      key = pair.key as YamlNode;
      node = (pair.value ?? null) as YamlNode | null;
      // `name:` with nothing after it: the key's line.
      if (!node || !node.range) return { node: null, key, found: true };
    } else if (node && isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      key = null;
      node = node.items[seg] as YamlNode;
    } else {
      return { node, key, found: false };
    }
  }
  return { node, key, found: true };
}

function valueAt(value: unknown, path: readonly Segment[]): { present: boolean; value?: unknown } {
  let v: unknown = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, seg)) return { present: false };
    v = (v as Record<Segment, unknown>)[seg];
  }
  return { present: true, value: v };
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}" (a string)`;
  return `${String(v)} (a ${typeof v})`;
}
const oneOf = (values: readonly unknown[]) => `one of ${values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`;

/** zod's issue in an author's words. */
function messageOf(i: z.core.$ZodIssue, at: { present: boolean; value?: unknown }): string {
  switch (i.code) {
    case 'invalid_type': {
      const expected = TYPE_WORDS[i.expected] ?? i.expected;
      if (!at.present) return `missing (${expected} is required)`;
      if (i.expected === 'int' && typeof at.value === 'number') return `expected a whole number, got ${at.value}`;
      return `expected ${expected}, got ${describe(at.value)}`;
    }
    case 'invalid_value':
      return `expected ${oneOf(i.values)}, got ${describe(at.value)}`;
    case 'invalid_union': {
      const values = i.errors.flat().flatMap((e) => (e.code === 'invalid_value' ? e.values : []));
      if (values.length > 0 && i.errors.every((e) => e.every((x) => x.code === 'invalid_value')))
        return `expected ${oneOf(values)}, got ${describe(at.value)}`;
      return i.message;
    }
    case 'too_small':
    case 'too_big': {
      const small = i.code === 'too_small';
      const limit = Number(small ? (i as { minimum: unknown }).minimum : (i as { maximum: unknown }).maximum);
      const inclusive = i.inclusive !== false;
      if (i.origin === 'array') {
        if (i.exact) return `exactly ${limit} item(s), got ${Array.isArray(at.value) ? at.value.length : 0}`;
        return `${small ? 'at least' : 'at most'} ${limit} item(s)`;
      }
      if (i.origin === 'string')
        return small && limit === 1 ? 'must not be empty' : `${small ? 'at least' : 'at most'} ${limit} characters`;
      if (i.origin === 'number') {
        const bound = small ? (inclusive ? 'at least' : 'above') : inclusive ? 'at most' : 'below';
        return `${bound} ${limit}, got ${String(at.value)}`;
      }
      return i.message;
    }
    default:
      return i.message;
  }
}

/** The keys the schema knows at a path (for "did you mean"). */
function knownKeys(path: readonly Segment[]): string[] {
  interface Def {
    type: string;
    shape?: Record<string, unknown>;
    element?: unknown;
    innerType?: unknown;
    in?: unknown;
  }
  const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def: Def } } | undefined)?._zod?.def;
  const unwrap = (s: unknown): unknown => {
    for (let d = defOf(s); d; d = defOf(s)) {
      if (d.innerType) s = d.innerType;
      else if (d.type === 'pipe') s = d.in;
      else break;
    }
    return s;
  };
  let s: unknown = Playbook;
  for (const seg of path) {
    const d = defOf(unwrap(s));
    if (d?.type === 'object' && typeof seg === 'string') s = d.shape?.[seg];
    else if (d?.type === 'array' && typeof seg === 'number') s = d.element;
    else return [];
  }
  const d = defOf(unwrap(s));
  return d?.type === 'object' ? Object.keys(d.shape ?? {}) : [];
}

/** Levenshtein distance, for short keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

const MAX_DEPTH = 64;
/** Where `[` and `{` (outside quotes and comments) first nest deeper than MAX_DEPTH, if they do. */
function tooDeep(s: string): number | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote || c === '\n') quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) i = s.indexOf('\n', i) < 0 ? s.length : s.indexOf('\n', i);
    else if (c === '[' || c === '{') {
      if (++depth > MAX_DEPTH) return i;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/** The first place `s` is not JSON (RFC 8259), and why. */
function jsonSyntaxError(s: string): { offset: number; message: string } | undefined {
  let i = 0;
  class Stop {
    constructor(readonly message: string) {}
  }
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++;
  };
  const what = () => (i >= s.length ? 'the end of the file' : JSON.stringify(s[i]));
  const token = (re: RegExp) => {
    re.lastIndex = i;
    const m = re.exec(s);
    if (m) i += m[0].length;
    return m !== null;
  };
  const string = () => {
    i++;
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Stop('a string without its closing quote');
      if (c === '"') return void i++;
      if (c === '\\') {
        i++;
        if (!token(/["\\/bfnrt]|u[0-9a-fA-F]{4}/y)) throw new Stop(`bad escape \\${s[i] ?? ''}`);
      } else if (c < ' ') throw new Stop('a control character (a line break?) inside a string');
      else i++;
    }
  };
  const value = (depth = 0): void => {
    ws();
    const c = s[i];
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) throw new Stop(`nested more than ${MAX_DEPTH} deep`);
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (s[i] === close) return void i++;
      for (;;) {
        ws();
        if (c === '{') {
          if (s[i] !== '"') throw new Stop(`expected a "quoted" key, got ${what()}`);
          string();
          ws();
          if (s[i] !== ':') throw new Stop(`expected ':', got ${what()}`);
          i++;
        }
        value(depth + 1);
        ws();
        if (s[i] === ',') {
          i++;
          ws();
          if (s[i] === close) throw new Stop(`a comma before '${close}'`);
          continue;
        }
        if (s[i] === close) return void i++;
        throw new Stop(`expected ',' or '${close}', got ${what()}`);
      }
    }
    if (c === '"') return string();
    if (token(/-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?(?![\w.])/y) || token(/(true|false|null)(?!\w)/y)) return;
    throw new Stop(`expected a value, got ${what()}`);
  };
  try {
    value();
    ws();
    if (i < s.length) throw new Stop(`more after the value: ${what()}`);
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { offset: Math.min(i, s.length), message: e.message };
    throw e;
  }
}
