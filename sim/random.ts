import { createHash } from 'node:crypto';

/**
 * The simulation's randomness: every draw is a pure function of the seed, the account, what is being
 * decided and its key (a day, a contact), never of the order in which cases ask. So two runs with the
 * same inputs draw the same numbers whatever the concurrency, and two playbooks run over the same
 * accounts meet the same debtors (common random numbers).
 */
export function draw(seed: number, accountId: string, what: string, key: string | number = ''): number {
  const h = createHash('sha256').update(`${seed}\u0000${accountId}\u0000${what}\u0000${key}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** A value in [lo, hi] at the position `u` in [0, 1). */
export const within = ([lo, hi]: readonly [number, number], u: number): number => lo + (hi - lo) * u;

/** A whole number in [lo, hi] at the position `u` in [0, 1). */
export const wholeWithin = ([lo, hi]: readonly [number, number], u: number): number =>
  lo + Math.min(hi - lo, Math.floor(u * (hi - lo + 1)));

/** The key of `weights` (non-negative, not all zero) whose share of the total holds `u`. */
export function pick<K extends string>(weights: Readonly<Record<K, number>>, u: number): K {
  const entries = (Object.entries(weights) as Array<[K, number]>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = u * total;
  for (const [k, w] of entries) {
    if (x < w) return k;
    x -= w;
  }
  return entries.filter(([, w]) => w > 0).at(-1)![0];
}
