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

const replay = async (histories: Array<{ workflowId: string; history: ReturnType<typeof historyFromJSON> }>) => {
  const failures: string[] = [];
  for await (const r of Worker.runReplayHistories(
    // With the engine's codec: recorded before encryption, their payloads pass through it as they are.
    { workflowsPath: WORKFLOWS_PATH, replayName: 'recorded-cases', dataConverter: dataConverterFor(testCodec()) },
    histories,
  )) {
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  return failures;
};

// Some 200 histories: about 40 s alone on 2 cores, so more than the project's 60 s when other files run beside it.
it('replays every recorded case history deterministically', { timeout: 240_000 }, async () => {
  expect(files.length).toBeGreaterThanOrEqual(10);
  const histories = files.map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(dir + f, 'utf8'))),
  }));
  expect(await replay(histories)).toEqual([]);
});

/** A recorded history with its start's input (plain JSON: recorded without the codec) changed by `edit`. */
function withInput(file: string, edit: (input: Record<string, unknown>) => void) {
  const json = JSON.parse(readFileSync(dir + file, 'utf8')) as {
    events: Array<{ workflowExecutionStartedEventAttributes?: { input: { payloads: Array<{ data: string }> } } }>;
  };
  const payload = json.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!;
  const input = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as Record<string, unknown>;
  edit(input);
  payload.data = Buffer.from(JSON.stringify(input)).toString('base64');
  return { workflowId: file.replace(/\.json$/, ''), history: historyFromJSON(json) };
}

const hasPatchMarker = (file: string) => readFileSync(dir + file, 'utf8').includes('"markerName": "core_patch"');

// A case's input names the patch generation it runs under (CaseInput.generation, set by intake): a new
// run takes its patches without a marker (workflows/case/patches.ts). A worker older than that, or
// one that does not know the generation named, gave the run its newest generation's marker instead.
it('a run whose input names its generation replays both ways: without the marker, and with the one an older worker gave it', async () => {
  const vouched = files.filter((f) => !f.startsWith('pre-') && !f.startsWith('generation-') && !hasPatchMarker(f));
  const marked = files.filter((f) => f.startsWith('generation-1-marker-'));
  expect(vouched.length).toBeGreaterThanOrEqual(10); // recorded since: no patch marker at all
  expect(marked.length).toBeGreaterThanOrEqual(10);
  // An older worker began a case the new intake started (the input names generation-1, the history has
  // its marker); and a newer intake's case (a generation this code does not know) that this worker began.
  const sample = marked.filter((_, i) => i % 8 === 0);
  const cases = [
    ...sample.map((f) => withInput(f, (i) => void (i.generation = 'generation-1'))),
    ...sample.map((f) => withInput(f, (i) => void (i.generation = 'generation-9'))),
  ];
  expect(await replay(cases)).toEqual([]);
  // The input is what the run went by: without it, a run recorded without the marker does not replay.
  const stripped = vouched.slice(0, 3).map((f) => withInput(f, (i) => void delete i.generation));
  const failures = await replay(stripped);
  expect(failures).toHaveLength(stripped.length);
  for (const f of failures) expect(f).toMatch(/[Nn]ondetermin/);
});
