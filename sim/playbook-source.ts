import { readFile } from 'node:fs/promises';
import type { Playbook } from '../shared/playbook';
import { formatIssues, parsePlaybookText } from '../shared/playbook-file';
import { BUILTIN_PLAYBOOKS } from '../shared/builtin-playbooks';

/** A playbook to simulate, and where it came from (a file, or a built-in id). */
export interface PlaybookSource {
  playbook: Playbook;
  source: string;
}

/** The latest version of a built-in playbook (shared/builtin-playbooks.ts, from playbooks/*.yaml). */
export function builtInPlaybook(id: string): Playbook | undefined {
  return BUILTIN_PLAYBOOKS.filter((p) => p.id === id).sort((a, b) => b.version - a.version)[0];
}

/** The ids of the built-in playbooks. */
const builtInIds = (): string[] => [...new Set(BUILTIN_PLAYBOOKS.map((p) => p.id))].sort();

/** A playbook argument that names no usable playbook. */
class PlaybookSourceError extends Error {}

/**
 * A playbook for `recoup simulate --playbook`: a YAML or JSON file validated with the `Playbook` schema
 * (its defaults filled in), or the id of a built-in playbook (shared/playbooks.ts) when no such file
 * exists.
 */
export async function loadPlaybook(ref: string): Promise<PlaybookSource> {
  let text: string;
  try {
    text = await readFile(ref, 'utf8');
  } catch (e) {
    const builtIn = builtInPlaybook(ref);
    if (builtIn) return { playbook: builtIn, source: 'built in' };
    const code = (e as NodeJS.ErrnoException).code;
    throw new PlaybookSourceError(
      code === 'ENOENT'
        ? `no playbook file ${ref}, and no built-in playbook of that id (built in: ${builtInIds().join(', ')})`
        : `cannot read ${ref}: ${(e as Error).message}`,
    );
  }
  // Validated as `recoup playbook validate` does: each problem at its line and field.
  const r = parsePlaybookText(text, ref);
  if (!r.ok) throw new PlaybookSourceError(`${ref} is not a playbook (docs/playbooks.md):\n${formatIssues(ref, r.issues).join('\n')}`);
  return { playbook: r.playbook, source: ref };
}
