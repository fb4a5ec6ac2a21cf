import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_PLAYBOOKS } from '../shared/builtin-playbooks';
import { Playbook } from '../shared/playbook';
import { builtinPlaybookFile, parsePlaybookText, type PlaybookIssue } from '../shared/playbook-file';
import { atomically, type Db } from './index';

/**
 * The playbooks a new case may start with (docs/playbooks.md): the built-in versions (playbooks/*.yaml,
 * compiled into shared/builtin-playbooks.ts) and the versions published into `playbook_versions`
 * (migration 016), which are never changed. For one id, versions only go up, across both.
 */

/** One version of a playbook, as `GET /v1/playbooks` lists it. */
export interface PlaybookVersion {
  id: string;
  version: number;
  name: string;
  builtIn: boolean;
  /** SHA-256 of the file's text (a built-in's YAML file; null when the checkout lacks it). */
  sha256: string | null;
  publishedBy: string | null;
  publishedAt: string | null;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A built-in version's YAML file, read once; undefined when the checkout or image lacks it. */
const builtinSources = new Map<string, string | undefined>();
function builtinSource(id: string, version: number): string | undefined {
  const file = builtinPlaybookFile(id, version);
  if (!builtinSources.has(file)) {
    let text: string | undefined;
    try {
      text = readFileSync(path.join(ROOT, file), 'utf8');
    } catch {
      text = undefined;
    }
    builtinSources.set(file, text);
  }
  return builtinSources.get(file);
}

function builtinVersion(p: Playbook): PlaybookVersion {
  const text = builtinSource(p.id, p.version);
  return {
    id: p.id,
    version: p.version,
    name: p.name,
    builtIn: true,
    sha256: text ? sha256(text) : null,
    publishedBy: null,
    publishedAt: null,
  };
}

interface Row {
  playbook_id: string;
  version: number;
  name: string;
  sha256: string;
  published_by: string;
  published_at: Date;
}
const publishedVersion = (r: Row): PlaybookVersion => ({
  id: r.playbook_id,
  version: r.version,
  name: r.name,
  builtIn: false,
  sha256: r.sha256,
  publishedBy: r.published_by,
  publishedAt: r.published_at.toISOString(),
});

/**
 * Stored as jsonb, which reorders keys: parsed again, the playbook is what the schema makes of the
 * published body, keys in the schema's order (as a built-in's, and as the case's input will carry it).
 */
const fromBody = (body: unknown): Playbook => Playbook.parse(body);

/** The column `latest_published` of one select: each playbook id's newest published version (findPlaybook's hint). */
export function latestPublishedSql(sql: Db) {
  return sql`(select coalesce(json_object_agg(playbook_id, v), '{}') from
                (select playbook_id, max(version) as v from playbook_versions group by playbook_id) p) as latest_published`;
}

/**
 * A playbook by id: that version, or without one the latest of the id over the built-in and the
 * published versions. `builtIn`: a case may name it by reference (`playbookRef`); a published one goes
 * whole into the case's input.
 */
export async function findPlaybook(
  sql: Db,
  id: string,
  version?: number,
  /** The newest published version of each playbook id, when the caller read them already (latestPublishedSql). */
  latestPublished?: Record<string, number>,
): Promise<{ playbook: Playbook; builtIn: boolean } | undefined> {
  const builtins = BUILTIN_PLAYBOOKS.filter((p) => p.id === id);
  if (version !== undefined) {
    const b = builtins.find((p) => p.version === version);
    if (b) return { playbook: b, builtIn: true };
    const [row] = await sql<{ body: unknown }[]>`select body from playbook_versions where playbook_id = ${id} and version = ${version}`;
    return row ? { playbook: fromBody(row.body), builtIn: false } : undefined;
  }
  const b = builtins.reduce<Playbook | undefined>((m, p) => (!m || p.version > m.version ? p : m), undefined);
  // Nothing published newer than the built-in one: no need to ask.
  const published = latestPublished?.[id];
  if (b && latestPublished && (published === undefined || published <= b.version)) return { playbook: b, builtIn: true };
  const [row] = await sql<{ version: number; body: unknown }[]>`
    select version, body from playbook_versions where playbook_id = ${id} order by version desc limit 1`;
  if (row && (!b || row.version > b.version)) return { playbook: fromBody(row.body), builtIn: false };
  return b ? { playbook: b, builtIn: true } : undefined;
}

/** Every playbook id with its versions (oldest first), built-in and published; `latest` is what a new case gets. */
export async function listPlaybooks(sql: Db): Promise<Array<{ id: string; name: string; latest: number; versions: PlaybookVersion[] }>> {
  const rows = await sql<Row[]>`
    select playbook_id, version, name, sha256, published_by, published_at from playbook_versions order by playbook_id, version`;
  const byId = new Map<string, PlaybookVersion[]>();
  for (const v of [...BUILTIN_PLAYBOOKS.map(builtinVersion), ...rows.map(publishedVersion)]) {
    byId.set(v.id, [...(byId.get(v.id) ?? []), v]);
  }
  return [...byId.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, versions]) => {
      versions.sort((a, b) => a.version - b.version);
      const last = versions[versions.length - 1]!;
      return { id, name: last.name, latest: last.version, versions };
    });
}

/** One version's record and its file's text (a built-in's from playbooks/; undefined when the checkout lacks it). */
export async function playbookVersion(
  sql: Db,
  id: string,
  version: number,
): Promise<{ version: PlaybookVersion; playbook: Playbook; source: string | undefined } | undefined> {
  const b = BUILTIN_PLAYBOOKS.find((p) => p.id === id && p.version === version);
  if (b) return { version: builtinVersion(b), playbook: b, source: builtinSource(id, version) };
  const [row] = await sql<(Row & { body: unknown; source: string })[]>`
    select playbook_id, version, name, sha256, published_by, published_at, body, source
    from playbook_versions where playbook_id = ${id} and version = ${version}`;
  return row ? { version: publishedVersion(row), playbook: fromBody(row.body), source: row.source } : undefined;
}

export type PublishOutcome =
  | { outcome: 'invalid'; issues: PlaybookIssue[] }
  /** Written now. */
  | { outcome: 'published'; version: PlaybookVersion }
  /** This very text is that version already (published before, or the built-in's own file): nothing written. */
  | { outcome: 'unchanged'; version: PlaybookVersion }
  /** The version is not above the latest of its id. */
  | { outcome: 'not-above'; id: string; version: number; latest: PlaybookVersion };

/**
 * Publishes a playbook file: validated (line-accurate issues), then written once, if its version is
 * above every version of its id, built-in or published. The same text again is answered with the
 * version it is. One publication per id at a time (an advisory lock), in `sql`'s transaction when it is
 * one: the caller's audit row goes in with it.
 */
export async function publishPlaybook(sql: Db, file: { text: string; fileName: string; publishedBy: string }): Promise<PublishOutcome> {
  const parsed = parsePlaybookText(file.text, file.fileName);
  if (!parsed.ok) return { outcome: 'invalid', issues: parsed.issues };
  const p = parsed.playbook;
  const hash = sha256(file.text);
  return atomically(sql, async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`playbook:${p.id}`}))`;
    const builtin = BUILTIN_PLAYBOOKS.find((b) => b.id === p.id && b.version === p.version);
    if (builtin && builtinVersion(builtin).sha256 === hash) return { outcome: 'unchanged', version: builtinVersion(builtin) } as const;
    const rows = await tx<Row[]>`
      select playbook_id, version, name, sha256, published_by, published_at from playbook_versions
      where playbook_id = ${p.id} order by version desc`;
    const same = rows.find((r) => r.version === p.version && r.sha256 === hash);
    if (same) return { outcome: 'unchanged', version: publishedVersion(same) } as const;
    const latest = [...BUILTIN_PLAYBOOKS.filter((b) => b.id === p.id).map(builtinVersion), ...rows.map(publishedVersion)].reduce<
      PlaybookVersion | undefined
    >((m, v) => (!m || v.version > m.version ? v : m), undefined);
    if (latest && p.version <= latest.version) return { outcome: 'not-above', id: p.id, version: p.version, latest } as const;
    const [row] = await tx<Row[]>`
      insert into playbook_versions (playbook_id, version, name, body, source, sha256, published_by)
      values (${p.id}, ${p.version}, ${p.name}, ${tx.json(p as never)}, ${file.text}, ${hash}, ${file.publishedBy})
      returning playbook_id, version, name, sha256, published_by, published_at`;
    return { outcome: 'published', version: publishedVersion(row!) } as const;
  });
}
