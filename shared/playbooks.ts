import { DEFAULT_PLAYBOOK, RECEIVABLES_PLAYBOOK, type Playbook } from './playbook';

/** Playbooks a case may be started with, by id. A case keeps the playbook it started with. */
export const PLAYBOOKS: Readonly<Record<string, Playbook>> = {
  [DEFAULT_PLAYBOOK.id]: DEFAULT_PLAYBOOK,
  [RECEIVABLES_PLAYBOOK.id]: RECEIVABLES_PLAYBOOK,
};
export const DEFAULT_PLAYBOOK_ID = DEFAULT_PLAYBOOK.id;
