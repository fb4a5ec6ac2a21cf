import { DEFAULT_PLAYBOOK, DEFAULT_PLAYBOOK_V1, RECEIVABLES_PLAYBOOK } from './builtin-playbooks';
import type { Playbook } from './playbook';

/** Playbooks a new case may be started with, by id: each one's latest version. A case keeps the playbook it started with. */
export const PLAYBOOKS: Readonly<Record<string, Playbook>> = {
  [DEFAULT_PLAYBOOK.id]: DEFAULT_PLAYBOOK,
  [RECEIVABLES_PLAYBOOK.id]: RECEIVABLES_PLAYBOOK,
};
/** Every version a running case may name (older ones for the cases started with them). */
const VERSIONS: readonly Playbook[] = [DEFAULT_PLAYBOOK_V1, DEFAULT_PLAYBOOK, RECEIVABLES_PLAYBOOK];
export const DEFAULT_PLAYBOOK_ID = DEFAULT_PLAYBOOK.id;

/** The playbook a case runs: the one in its input, or the built-in one its input names (same version only). */
export function resolvePlaybook(input: { playbook?: Playbook; playbookRef?: { id: string; version: number } }): Playbook | undefined {
  if (input.playbook) return input.playbook;
  const ref = input.playbookRef;
  return ref ? VERSIONS.find((p) => p.id === ref.id && p.version === ref.version) : undefined;
}
