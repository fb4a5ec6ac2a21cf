import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { dataConverterFor } from '../shared/codec';
import { WORKFLOWS_PATH } from '../worker/worker';
import { testCodec } from './helpers';

/**
 * Histories of the default playbook's stories, recorded with
 * `RECOUP_RECORD_HISTORIES=1 npx vitest run test/stories.test.ts`, replayed against today's
 * workflow code. A change that alters the command sequence of a running case fails here:
 * put it behind patched() (docs/versioning.md).
 */
const dir = fileURLToPath(new URL('./histories/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

it('replays every recorded case history deterministically', async () => {
  expect(files.length).toBeGreaterThanOrEqual(10);
  const histories = files.map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(dir + f, 'utf8'))),
  }));
  const failures: string[] = [];
  for await (const r of Worker.runReplayHistories(
    // With the engine's codec: recorded before encryption, their payloads pass through it as they are.
    { workflowsPath: WORKFLOWS_PATH, replayName: 'recorded-cases', dataConverter: dataConverterFor(testCodec()) },
    histories,
  )) {
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
});
