import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CreditGrade, Segment } from './case';

/**
 * What a playbook rule or an experiment matches at intake (issue 16, part 2; docs/experiments.md):
 * every condition given must hold. The balance is the missed instalment's amount, in [from, to).
 */
export const CaseMatch = z
  .object({
    segmentIn: z.array(Segment).min(1).max(50).optional(),
    creditGradeIn: z.array(CreditGrade).min(1).max(5).optional(),
    productIn: z.array(z.string().min(1).max(100)).min(1).max(50).optional(),
    balanceFromMinor: z.number().int().nonnegative().optional(),
    balanceToMinor: z.number().int().positive().optional(),
  })
  .strict()
  .refine((m) => m.balanceFromMinor === undefined || m.balanceToMinor === undefined || m.balanceFromMinor < m.balanceToMinor, {
    message: 'balanceFromMinor must be below balanceToMinor',
    path: ['balanceToMinor'],
  });
export type CaseMatch = z.infer<typeof CaseMatch>;

/** What intake knows of a new case when it chooses its playbook. */
export interface CaseFacts {
  accountId: string;
  segment?: string | undefined;
  creditGrade?: string | undefined;
  product?: string | undefined;
  balanceMinor: number;
}

export function matches(m: CaseMatch, f: CaseFacts): boolean {
  const within = <T>(list: readonly T[] | undefined, v: T | undefined) => list === undefined || (v !== undefined && list.includes(v));
  return (
    within(m.segmentIn, f.segment) &&
    within(m.creditGradeIn as readonly string[] | undefined, f.creditGrade) &&
    within(m.productIn, f.product) &&
    (m.balanceFromMinor === undefined || f.balanceMinor >= m.balanceFromMinor) &&
    (m.balanceToMinor === undefined || f.balanceMinor < m.balanceToMinor)
  );
}

export type Arm = 'champion' | 'challenger';

/**
 * The account's bucket in an experiment, 0–9,999: the first 32 bits of sha256("<experiment>:<account>")
 * mod 10,000. A function of the two ids only, so the same account lands in the same arm on every intake.
 */
export function bucketOf(experimentId: string, accountId: string): number {
  return createHash('sha256').update(`${experimentId}:${accountId}`).digest().readUInt32BE(0) % 10_000;
}

/** Challenger when the bucket is below the share (a percentage with up to two decimals). */
export function armOf(bucket: number, challengerPercent: number): Arm {
  return bucket < Math.round(challengerPercent * 100) ? 'challenger' : 'champion';
}
