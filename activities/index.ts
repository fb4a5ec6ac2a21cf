import type { Sql } from '../db/index';
import type { CaseActivities } from '../shared/activities';
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
  return {
    ...createLedgerActivities(deps),
    ...createContactActivities(deps),
    ...createNoticeActivities({ sql: deps.sql, letters }),
    ...createLegalActivities({ sql: deps.sql, letters, notify }),
  };
}
