// The one place a workflow calls the SDK's patched(): everything else asks ctx.patched (docs/versioning.md).
// eslint-disable-next-line no-restricted-imports
import { patched } from '@temporalio/workflow';

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
];

/** `patched` for one run; to be made first thing in the run, before any other command. */
export function patchesOf(): (id: PatchId) => boolean {
  const has = new Set<PatchId>();
  // Newest first: a run begun under generation N took every earlier one's patches too.
  for (const g of [...GENERATIONS].reverse()) {
    if (patched(g.id)) {
      for (const p of g.patches) has.add(p);
      break;
    }
  }
  return (id) => has.has(id) || patched(id);
}
