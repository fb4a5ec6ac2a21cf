import type { Sql } from '../db/index';
import { ApplicationFailure } from '@temporalio/common';
import {
  assignedTimeline,
  BATCHED_WRITES,
  type CaseActivities,
  type LedgerWrite,
  type StepRequest,
  type StepResult,
} from '../shared/activities';
import { createOutboxProvider, type ChannelProvider } from './channels/index';
import { createContactActivities } from './contact';
import { createEventActivities } from './events';
import { createImportActivities } from './imports';
import { createRelayActivities } from './relay';
import type { IntakeDeps } from './intake';
import { createLegalActivities } from './legal';
import { createLedgerActivities } from './ledger';
import { createNoticeActivities } from './notices';
import { createReportActivities } from './reports';
import { createTeamActivities } from './teams';
import type { EventActivities, RelayActivities } from '../shared/events';
import type { ImportActivities } from '../shared/intake';
import type { ReportActivities } from '../shared/reports';
import { createTreatmentActivities } from './treatments';

export interface ActivityDeps {
  sql: Sql;
  /** Where letters and supervisor notifications go; default: the PostgreSQL outbox. */
  channels?: { letters?: ChannelProvider; notify?: ChannelProvider };
  /** A Temporal client and the cases' task queue, for the portfolio import's activities (which open cases). */
  intake?: Omit<IntakeDeps, 'sql'>;
  /** The gateway the relay sends `channel_outbox` through (RECOUP_CHANNEL_GATEWAY_URL); unset, messages wait there. */
  relayGateway?: ChannelProvider;
}

/** Every activity a worker registers: the case's, the Friday report's, the import's, the dispatchers'. */
type AllActivities = CaseActivities & ReportActivities & ImportActivities & EventActivities & RelayActivities;

/** Every activity the worker registers. */
export function createActivities(deps: ActivityDeps): AllActivities {
  const outbox = createOutboxProvider(deps.sql);
  const letters = deps.channels?.letters ?? outbox;
  const notify = deps.channels?.notify ?? outbox;
  const all: Omit<CaseActivities, 'writeLedger'> = {
    ...createLedgerActivities(deps),
    ...createContactActivities(deps),
    ...createNoticeActivities({ sql: deps.sql, letters }),
    ...createLegalActivities({ sql: deps.sql, letters, notify }),
    ...createTreatmentActivities(deps),
    ...createTeamActivities({ sql: deps.sql, notify }),
  };
  /** The ledger's writes, on a transaction (their own transactions become savepoints: db/index.ts atomically). */
  const writeOn = async (tx: Sql, writes: LedgerWrite[]) => {
    const legal = createLegalActivities({ sql: tx, letters, notify });
    const inTx: Pick<CaseActivities, LedgerWrite['fn']> = {
      ...createLedgerActivities({ sql: tx }),
      ...createContactActivities({ sql: tx }),
      ...createTreatmentActivities({ sql: tx }),
      recordLegalEvent: legal.recordLegalEvent,
      recordWriteOff: legal.recordWriteOff,
    };
    for (const w of writes) await (inTx[w.fn] as (arg: unknown) => Promise<unknown>)(w.arg);
  };
  const checkBatch = (writes: LedgerWrite[]) => {
    for (const w of writes) if (!BATCHED.has(w.fn)) throw ApplicationFailure.nonRetryable(`${w.fn} is not a ledger write`, 'InvalidInput');
  };
  /**
   * A contact step with the rows that follow from it (req.afterDone): the step and, once it is done,
   * its timeline entry (outcome: the step's reference) and the cases row, in one transaction.
   */
  const withRowsAfter =
    (fn: ContactStep) =>
    async (req: StepRequest): Promise<StepResult> => {
      const after = req.afterDone;
      if (!after) return all[fn](req);
      checkBatch(after);
      return deps.sql.begin(async (tx) => {
        const result = await createContactActivities({ sql: tx as unknown as Sql })[fn](req);
        if (result.status === 'done') {
          const reference = result.reference;
          await writeOn(
            tx as unknown as Sql,
            after.map((w) =>
              w.fn === 'recordTimeline'
                ? { ...w, arg: { ...w.arg, entries: w.arg.entries.map((e) => ({ ...e, outcome: reference })) } }
                : w,
            ),
          );
        }
        return result;
      });
    };
  return {
    ...all,
    ...createReportActivities({ sql: deps.sql, notify }),
    ...createImportActivities({ sql: deps.sql, ...(deps.intake ? { intake: deps.intake } : {}) }),
    ...createEventActivities({ sql: deps.sql }),
    ...createRelayActivities({ sql: deps.sql, ...(deps.relayGateway ? { gateway: deps.relayGateway } : {}) }),
    /** The reminder, then the rows that follow from it (req.afterDone): a notification is not transactional. */
    async remindSupervisor(req) {
      await all.remindSupervisor(req);
      const after = req.afterDone;
      if (after) {
        checkBatch(after);
        await deps.sql.begin((tx) => writeOn(tx as unknown as Sql, after));
      }
    },
    scheduleFieldVisit: withRowsAfter('scheduleFieldVisit'),
    placeCollectionCall: withRowsAfter('placeCollectionCall'),
    contactGuarantor: withRowsAfter('contactGuarantor'),
    /**
     * A case's ledger rows of one step, in one transaction: each write runs as its activity would
     * (idempotent on its key), in a savepoint of this transaction. Only ledger writes are batched.
     */
    async writeLedger({ writes, assign, assignedNote: note }) {
      checkBatch(writes);
      return deps.sql.begin(async (tx) => {
        await writeOn(tx as unknown as Sql, writes);
        if (!assign) return;
        // The case's routing at intake, after its row is written: in this transaction (db/index.ts atomically).
        const assignment = await createTeamActivities({ sql: tx as unknown as Sql, notify }).assignCase(assign);
        // Then the entry that says whom the case went to, in the words the case uses (cases since 'open-in-one-write').
        if (note) await writeOn(tx as unknown as Sql, [{ fn: 'recordTimeline', arg: assignedTimeline(assign, assignment, note) }]);
        return { assignment };
      });
    },
  };
}

type ContactStep = 'scheduleFieldVisit' | 'placeCollectionCall' | 'contactGuarantor';

const BATCHED = new Set<string>(BATCHED_WRITES);
