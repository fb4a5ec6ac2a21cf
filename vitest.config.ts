import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-runtime.ts'],
    // Workflow tests start workers and real servers: give them room, and run files one at a time
    // so two workers never compete for the two cores of a CI machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // Polls wait for a worker on a busy machine: a second is too little under load, and a poll
    // that is still wrong after ten is a failure, not a slow pass.
    expect: { poll: { timeout: 10_000 } },
  },
});
