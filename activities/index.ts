import type { Sql } from '../db/index';
import type { CaseActivities } from '../shared/activities';
import { createLedgerActivities } from './ledger';

export interface ActivityDeps {
  sql: Sql;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps): CaseActivities {
  return { ...createLedgerActivities(deps) };
}
