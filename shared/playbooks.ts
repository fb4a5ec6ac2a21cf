import { DEFAULT_PLAYBOOK, RECEIVABLES_PLAYBOOK } from './builtin-playbooks';
import type { Playbook } from './playbook';

/** Playbooks a case may be started with, by id. A case keeps the playbook it started with. */
export const PLAYBOOKS: Readonly<Record<string, Playbook>> = {
  [DEFAULT_PLAYBOOK.id]: DEFAULT_PLAYBOOK,
  [RECEIVABLES_PLAYBOOK.id]: RECEIVABLES_PLAYBOOK,
};
export const DEFAULT_PLAYBOOK_ID = DEFAULT_PLAYBOOK.id;

/** The playbook a case runs: the one in its input, or the built-in one its input names (same version only). */
export function resolvePlaybook(input: { playbook?: Playbook; playbookRef?: { id: string; version: number } }): Playbook | undefined {
  if (input.playbook) return input.playbook;
  const pb = input.playbookRef ? PLAYBOOKS[input.playbookRef.id] : undefined;
  return pb && pb.version === input.playbookRef!.version ? pb : undefined;
}
