import type { Sql } from '../db/index';
import { ApplicationFailure } from '@temporalio/common';
import { BATCHED_WRITES, type CaseActivities } from '../shared/activities';
import { createOutboxProvider, type ChannelProvider } from './channels/index';
import { createContactActivities } from './contact';
import { createLegalActivities } from './legal';
import { createLedgerActivities } from './ledger';
import { createNoticeActivities } from './notices';

export interface ActivityDeps {
  sql: Sql;
  /** Where letters and supervisor notifications go; default: the PostgreSQL outbox. */
  channels?: { letters?: ChannelProvider; notify?: ChannelProvider };
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps): CaseActivities {
  const outbox = createOutboxProvider(deps.sql);
  const letters = deps.channels?.letters ?? outbox;
  const notify = deps.channels?.notify ?? outbox;
  const all: Omit<CaseActivities, 'writeLedger'> = {
    ...createLedgerActivities(deps),
    ...createContactActivities(deps),
    ...createNoticeActivities({ sql: deps.sql, letters }),
    ...createLegalActivities({ sql: deps.sql, letters, notify }),
  };
  return {
    ...all,
    /**
     * A case's ledger rows of one step, in one transaction: each write runs as its activity would
     * (idempotent on its key), in a savepoint of this transaction. Only ledger writes are batched.
     */
    async writeLedger({ writes }) {
      for (const w of writes)
        if (!BATCHED.has(w.fn)) throw ApplicationFailure.nonRetryable(`${w.fn} is not a ledger write`, 'InvalidInput');
      await deps.sql.begin(async (tx) => {
        // The same activities, on the transaction (their own transactions become savepoints: db/index.ts atomically).
        const inTx = {
          ...createLedgerActivities({ sql: tx as unknown as Sql }),
          ...createContactActivities({ sql: tx as unknown as Sql }),
        };
        const legal = createLegalActivities({ sql: tx as unknown as Sql, letters, notify });
        for (const w of writes) {
          const fn = (w.fn === 'recordLegalEvent' ? legal.recordLegalEvent : inTx[w.fn]) as (arg: unknown) => Promise<unknown>;
          await fn(w.arg);
        }
      });
    },
  };
}

const BATCHED = new Set<string>(BATCHED_WRITES);
