// The one place a workflow calls the SDK's patched(): everything else asks ctx.patched (docs/versioning.md).
// eslint-disable-next-line no-restricted-imports
import { patched, workflowInfo } from '@temporalio/workflow';

/**
 * Every patch of the case workflow (docs/versioning.md), in the order they were made. A new patch is
 * added at the end, and asked for with `ctx.patched(id)`.
 */
const PATCHES = [
  'end-cancels-step',
  'final-projection-on-close',
  'payment-ledger-first',
  'record-step-failure',
  'lean-case',
  'per-instalment-accrual',
  'payment-one-write',
  'step-one-write',
  'treatments',
  'teams',
  'payment-settles-first',
  'close-in-a-task-of-its-own',
  'open-and-assign-in-one-write',
  'start-attributes',
  'open-in-one-write',
] as const;
export type PatchId = (typeof PATCHES)[number];

/**
 * A patch generation: one marker that stands for every patch made before it. `patched(id)` records a
 * marker and upserts the TemporalChangeVersion search attribute for each patch a run takes, seven of
 * them in a new case's first workflow task and two more at its first payment: each upsert is a
 * visibility write on the server. A run that begins with the generation's marker has all of them
 * without asking: one marker and one upsert. A run without it (begun before the generation) asks for
 * each patch as before, so its history replays unchanged.
 *
 * A patch made after the generation is not in it: it is asked for itself until a later generation
 * lists it. Never add a patch to an existing generation: runs that began with it did not take it.
 */
export const GENERATIONS: readonly { id: string; patches: ReadonlySet<PatchId> }[] = [
  // Every patch up to 'start-attributes' (2026-11-29).
  { id: 'generation-1', patches: new Set<PatchId>(PATCHES.slice(0, 14)) },
  // And 'open-in-one-write' (2026-11-29).
  { id: 'generation-2', patches: new Set<PatchId>(PATCHES.slice(0, 15)) },
];

/**
 * `patched` for one run; to be made first thing in the run, before any other command.
 *
 * `vouched`: the generation the run's starter names in its input (`CaseInput.generation`, intake's
 * CASE_GENERATION). A run that begins under a generation this worker knows takes its patches with no
 * marker at all: no marker, and no TemporalChangeVersion upsert (a visibility write), in a new case's
 * first workflow task. Its input says what it took, and the input is in its history.
 *
 * A run's history decides, though. A worker older than this (or one that does not know the generation
 * named) asks for its newest generation by its marker, as before; a run it began has that marker, and a
 * replay follows the marker. On replay, asking for a generation whose marker is not in the history
 * records nothing and answers false (the SDK's rule for a patch a history predates), so looking for a
 * marker there is safe; on a fresh run asking would record one, so a vouched run does not ask.
 */
export function patchesOf(vouched?: string): (id: PatchId) => boolean {
  const has = new Set<PatchId>();
  // Newest first: a run begun under generation N took every earlier one's patches too.
  const newestFirst = [...GENERATIONS].reverse();
  const named = newestFirst.find((g) => g.id === vouched);
  const taken = workflowInfo().unsafe.isReplaying
    ? (newestFirst.find((g) => patched(g.id)) ?? named)
    : (named ?? newestFirst.find((g) => patched(g.id)));
  for (const p of taken?.patches ?? []) has.add(p);
  return (id) => has.has(id) || patched(id);
}
