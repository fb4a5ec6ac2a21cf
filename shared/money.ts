/**
 * Money arithmetic: integers in minor units, never floating point. Pure; used by the workflow.
 */
/** The parts of an overdue balance, each in minor units. */
export interface Balance {
  principalMinor: number;
  penaltyMinor: number;
  feesMinor: number;
}
export type BalancePart = 'fees' | 'penalty' | 'principal';
const FIELD: Record<BalancePart, keyof Balance> = { fees: 'feesMinor', penalty: 'penaltyMinor', principal: 'principalMinor' };

export function totalOf(b: Balance): number {
  return b.principalMinor + b.penaltyMinor + b.feesMinor;
}

/**
 * The one rounding rule for money: a day's penalty interest is principal × bps / 10,000,
 * rounded half up to a whole minor unit, computed in BigInt so no product loses precision.
 */
export function dailyPenaltyMinor(principalMinor: number, bpsPerDay: number): number {
  if (principalMinor <= 0 || bpsPerDay <= 0) return 0;
  const scaled = BigInt(principalMinor) * BigInt(bpsPerDay);
  return Number((scaled + 5_000n) / 10_000n);
}

/** Accrues `days` days of penalty interest, each on the principal outstanding that day. */
export function accruePenalty(b: Balance, days: number, bpsPerDay: number): Balance {
  let penalty = b.penaltyMinor;
  for (let i = 0; i < days; i++) penalty += dailyPenaltyMinor(b.principalMinor, bpsPerDay);
  return { ...b, penaltyMinor: penalty };
}

export interface Allocation {
  feesMinor: number;
  penaltyMinor: number;
  principalMinor: number;
  /** Paid beyond the whole balance: owed back to the debtor, reported to finance. */
  excessMinor: number;
}

/** Splits a payment over the balance's parts in the playbook's order. */
export function allocatePayment(b: Balance, amountMinor: number, order: readonly BalancePart[]): { allocation: Allocation; balance: Balance } {
  const balance = { ...b };
  const allocation: Allocation = { feesMinor: 0, penaltyMinor: 0, principalMinor: 0, excessMinor: 0 };
  let left = amountMinor;
  for (const part of order) {
    const field = FIELD[part];
    const take = Math.min(left, balance[field]);
    balance[field] -= take;
    allocation[field] += take;
    left -= take;
  }
  allocation.excessMinor = left;
  return { allocation, balance };
}
