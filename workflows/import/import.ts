import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { ImportActivities } from '../../shared/intake';

const acts = proxyActivities<ImportActivities>({
  // A batch is ROWS_PER_BATCH rows at IMPORT_CONCURRENCY at once; each row heartbeats.
  startToCloseTimeout: '10 minutes',
  // A worker killed mid-batch: the next one takes the batch's rest within this.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

const ROWS_PER_BATCH = 500;
/** Batches per run: a 1,000,000-row file continues as new every 100,000 rows, keeping each history short. */
const BATCHES_PER_RUN = 200;

/**
 * A portfolio import (issue 15, part 1): its rows are in the ledger (import_rows), put there by the API;
 * this takes them a batch at a time until none is pending, then marks the import done. A worker or an API
 * that stops mid-import loses nothing: the next worker goes on from the rows still pending.
 */
export async function portfolioImport(input: { importId: string }): Promise<{ importId: string; batches: number }> {
  for (let batches = 1; batches <= BATCHES_PER_RUN; batches++) {
    const r = await acts.importRows({ importId: input.importId, limit: ROWS_PER_BATCH });
    if (r.remaining === 0) {
      await acts.finishImport({ importId: input.importId });
      return { importId: input.importId, batches };
    }
  }
  return continueAsNew<typeof portfolioImport>(input);
}
