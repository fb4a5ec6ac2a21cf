import { BUILTIN_PLAYBOOKS, DEFAULT_PLAYBOOK } from './builtin-playbooks';
import type { Playbook } from './playbook';

export const DEFAULT_PLAYBOOK_ID = DEFAULT_PLAYBOOK.id;

/**
 * The playbook a case runs: the one in its input (a published version, whole), or the built-in version
 * its input names (playbooks/*.yaml, compiled into the bundle; same version only). A case keeps the
 * playbook it started with.
 */
export function resolvePlaybook(input: { playbook?: Playbook; playbookRef?: { id: string; version: number } }): Playbook | undefined {
  if (input.playbook) return input.playbook;
  const ref = input.playbookRef;
  return ref ? BUILTIN_PLAYBOOKS.find((p) => p.id === ref.id && p.version === ref.version) : undefined;
}
