import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './index';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Any number of processes may call this at once: an advisory lock lets one apply, the rest wait and skip. */
const MIGRATION_LOCK = 7_240_301;

/**
 * Applies every pending `NNN_name.sql` in order, recording each in schema_migrations, all in one
 * transaction: a failing file rolls back the whole batch, so the schema is never half-migrated.
 * Returns the names it applied this time.
 */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`create table if not exists schema_migrations (
      version int primary key, name text not null, applied_at timestamptz not null default now())`;
    const done = new Set((await tx<{ version: number }[]>`select version from schema_migrations`).map((r) => r.version));
    for (const file of files) {
      const version = Number(file.slice(0, 3));
      if (done.has(version)) continue;
      await tx.unsafe(await readFile(path.join(dir, file), 'utf8'));
      await tx`insert into schema_migrations (version, name) values (${version}, ${file})`;
      applied.push(file);
    }
  });
  return applied;
}
