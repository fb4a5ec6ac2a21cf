import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it, inject } from 'vitest';
import { connectDb } from '../db/index';
import { migrate, MIGRATIONS_DIR } from '../db/migrate';
import { readdirSync } from 'node:fs';

const sql = connectDb(inject('databaseUrl'));
afterAll(() => sql.end());

it('has recorded every migration file, in order, and a second run applies nothing', async () => {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const rows = await sql<{ name: string }[]>`select name from schema_migrations order by version`;
  expect(rows.map((r) => r.name)).toEqual(files);
  expect(await migrate(sql)).toEqual([]);
});

it('rolls back a failing migration and records nothing of it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'recoup-mig-'));
  await writeFile(path.join(dir, '900_half_done.sql'), 'create table half_done (id int); select 1/0;');
  await expect(migrate(sql, dir)).rejects.toThrow(/division by zero/);
  expect(await sql`select 1 from schema_migrations where version = 900`).toHaveLength(0);
  expect(await sql`select to_regclass('half_done') as t`).toEqual([{ t: null }]);
});
