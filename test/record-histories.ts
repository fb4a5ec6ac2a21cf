import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { EncryptionCodec } from '../shared/codec';
import { decodeHistoryPayloads } from './history-payloads';

/**
 * With RECOUP_RECORD_HISTORIES=1, suites save the first run of each case they started under
 * test/histories/ for the replay test (test/replay.test.ts; docs/versioning.md says when).
 */
export const recording = !!process.env.RECOUP_RECORD_HISTORIES;

export async function saveHistories(
  client: Client,
  started: Array<{ name: string; workflowId: string; firstExecutionRunId: string }>,
  prefix = '',
  /** The codec the cases ran with: recorded histories are kept decoded, so the replay test needs no key. */
  codec?: EncryptionCodec,
): Promise<void> {
  const dir = fileURLToPath(new URL('./histories/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const seen = new Map<string, number>();
  for (const { name, workflowId, firstExecutionRunId } of started) {
    const base = `${prefix}${name.replace(/^.*> /, '')}`
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const slug = n === 1 ? base : `${base}-${n}`;
    const fetched = await client.workflow.getHandle(workflowId, firstExecutionRunId).fetchHistory();
    const history = codec ? decodeHistoryPayloads(fetched, codec) : fetched;
    await writeFile(`${dir}${slug}.json`, historyToJSON(history));
  }
}
