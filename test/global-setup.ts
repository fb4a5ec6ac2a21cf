import { TestWorkflowEnvironment } from '@temporalio/testing';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDb } from '../db/embedded';
import { connectDb } from '../db/index';
import { migrate } from '../db/migrate';
import { PROJECT_ROOT, toolPaths } from '../dev/tools';
import { CASE_SEARCH_ATTRIBUTES } from '../shared/search-attributes';

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
 */
export default async function setup(project: TestProject) {
  const { temporalCli } = toolPaths();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli },
      searchAttributes: [...CASE_SEARCH_ATTRIBUTES],
      ip: '127.0.0.1',
    },
  });

  let db: EmbeddedDb | undefined;
  let dataDir: string | undefined;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    // Every run gets its own empty ledger on a free port, so two runs never share a server.
    dataDir = path.join(PROJECT_ROOT, '.data', `test-pg-${process.pid}`);
    await rm(dataDir, { recursive: true, force: true });
    db = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    databaseUrl = db.url;
  }
  const sql = connectDb(databaseUrl, { max: 1 });
  await migrate(sql);
  await sql.end();

  project.provide('temporalAddress', env.address);
  project.provide('temporalNamespace', env.namespace ?? 'default');
  project.provide('databaseUrl', databaseUrl);

  return async () => {
    await env.teardown();
    await db?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
