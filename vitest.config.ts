import { isClosedConnectionWrite } from './db/index';
import { readFileSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Pure code: no Temporal, no PostgreSQL, no global setup. `npm run test:unit` runs these alone, in
 * seconds. (compose.test.ts reads the compose file and the Dockerfile; it runs `docker compose config`
 * only where a Docker engine answers.) A new test file is an integration test unless listed here.
 */
const UNIT = [
  'test/bench-lib.test.ts',
  'test/calendar.test.ts',
  'test/case-core.test.ts',
  'test/codec.test.ts',
  'test/compliance.test.ts',
  'test/compose.test.ts',
  'test/config.test.ts',
  'test/documents.test.ts',
  'test/logging-fields.test.ts',
  'test/logging.test.ts',
  'test/money.test.ts',
  'test/playbook-file.test.ts',
  'test/report-documents.test.ts',
  'test/treatments-core.test.ts',
];

// A unit file that reached for the shared servers would fail on a missing inject() (or start its own):
// refuse the configuration instead, naming the file.
const NEEDS_SERVERS = new RegExp(
  [
    /\binject\(/,
    /from '\.\/(helpers|story-kit|record-histories|recording-activities)'/,
    /@temporalio\/testing/,
    /\bconnectDb\(/,
    /startEmbeddedPostgres/,
    /NativeConnection/,
    /Worker\.create/,
  ]
    .map((r) => r.source)
    .join('|'),
);
for (const file of UNIT) {
  const found = NEEDS_SERVERS.exec(readFileSync(new URL(file, import.meta.url), 'utf8'));
  if (found)
    throw new Error(
      `vitest.config.ts: ${file} is in the unit project but uses '${found[0]}': it needs the servers, move it to integration`,
    );
}

export default defineConfig({
  test: {
    // Polls wait for a worker on a busy machine: a second is too little under load, and a poll
    // that is still wrong after ten is a failure, not a slow pass.
    expect: { poll: { timeout: 10_000 } },
    // postgres.js's write after a closed connection (db/index.ts, surviveClosedConnectionWrites): the
    // engine lets exactly that one pass when PostgreSQL goes away; so do the tests that stop it.
    onUnhandledError: (e) => !isClosedConnectionWrite(e),
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          testTimeout: 20_000,
          // Before the integration files, never beside them: nothing here waits on a server.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT, 'test/faults/**'],
          globalSetup: ['test/global-setup.ts'],
          setupFiles: ['test/setup-runtime.ts'],
          // Workflow tests start workers and real servers: give them room, and run files one at a time
          // so two workers never compete for the two cores of a CI machine.
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // Faults survived: processes killed, servers restarted, PostgreSQL stopped (`npm run test:faults`;
          // `npm test` runs them last). Each file brings up what it kills.
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          setupFiles: ['test/setup-runtime.ts'],
          testTimeout: 600_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
