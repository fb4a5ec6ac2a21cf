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
export function allocatePayment(
  b: Balance,
  amountMinor: number,
  order: readonly BalancePart[],
): { allocation: Allocation; balance: Balance } {
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

/** Minor-unit digits of the currencies that differ from the default of 2 (ISO 4217). */
const MINOR_DIGITS: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

/**
 * An amount in minor units as a person reads it, in integer arithmetic only, with the currency's
 * digits and thousands grouped: 100450 CNY → '1,004.50', 5000 JPY → '5,000'. Throws RangeError for
 * anything but a safe integer and an ISO 4217 code.
 */
export function formatMinor(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`an amount must be a safe integer of minor units, got ${String(minor)}`);
  if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError(`not an ISO 4217 currency code: ${JSON.stringify(currency)}`);
  const digits = MINOR_DIGITS[currency] ?? 2;
  const raw = BigInt(Math.abs(minor))
    .toString()
    .padStart(digits + 1, '0');
  const whole = raw.slice(0, raw.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${minor < 0 ? '-' : ''}${digits > 0 ? `${whole}.${raw.slice(raw.length - digits)}` : whole}`;
}

/** '1,004.50 CNY': what the Temporal UI, the timeline and the ledger's text fields show. */
export function formatAmount(minor: number, currency: string): string {
  return `${formatMinor(minor, currency)} ${currency}`;
}
