import { TestWorkflowEnvironment } from '@temporalio/testing';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedDb } from '../db/embedded';
import { connectDb } from '../db/index';
import { migrate } from '../db/migrate';
import { PROJECT_ROOT, toolPaths } from '../dev/tools';
import { CASE_SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import { freePort } from './ports';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalNamespace: string;
    databaseUrl: string;
  }
}

/**
 * Brings up the real servers every test shares: a Temporal dev server (with the case search
 * attributes) and PostgreSQL (DATABASE_URL when set, else a fresh embedded server), migrated.
 * Both start at once; if either fails, the other is stopped.
 */
export default async function setup(project: TestProject) {
  const { temporalCli } = toolPaths();
  await removeDeadRunsData();
  const temporal = TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli },
      searchAttributes: [...CASE_SEARCH_ATTRIBUTES],
      ip: '127.0.0.1',
    },
  });
  // Every run gets its own empty ledger on a free port, so two runs never share a server; and every
  // project of a run its own directory: `npm test` sets up the integration and the faults projects in
  // one process, and a second cluster made in the first one's directory (a temporary cluster starts by
  // emptying it) takes its lock file, so the first server shuts itself down a minute later.
  const database = process.env.DATABASE_URL
    ? Promise.resolve(undefined)
    : freePort().then((port) =>
        startEmbeddedPostgres({
          dataDir: path.join(PROJECT_ROOT, '.data', `test-pg-${process.pid}-${project.name}`),
          port,
          temporary: true,
        }),
      );
  const [t, d] = await Promise.allSettled([temporal, database]);
  if (t.status === 'rejected' || d.status === 'rejected') {
    if (t.status === 'fulfilled') await t.value.teardown();
    if (d.status === 'fulfilled') await d.value?.stop();
    const failure: unknown = t.status === 'rejected' ? t.reason : (d as PromiseRejectedResult).reason;
    if (failure instanceof EmbeddedPostgresError) {
      // Thrown from here, vitest would print "No test files found" first and a stack trace after:
      // the one line that says what failed and how to fix it is the whole story.
      process.stderr.write(`\n${failure.message}\n\n`);
      process.exit(1);
    }
    throw failure;
  }
  const env = t.value;
  const db: EmbeddedDb | undefined = d.value;
  const databaseUrl = db?.url ?? process.env.DATABASE_URL!;

  const sql = connectDb(databaseUrl, { max: 1 });
  await migrate(sql);
  await sql.end();

  project.provide('temporalAddress', env.address);
  project.provide('temporalNamespace', env.namespace ?? 'default');
  project.provide('databaseUrl', databaseUrl);

  return async () => {
    await env.teardown();
    await db?.stop(); // a temporary cluster: stop() removes its data
  };
}

/** Clusters of runs that were killed before their teardown (their process is gone). */
async function removeDeadRunsData(): Promise<void> {
  const dir = path.join(PROJECT_ROOT, '.data');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^test-pg-(\d+)(?:-[\w-]+)?$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') await rm(path.join(dir, name), { recursive: true, force: true });
    }
  }
}
