import { describe, expect, it } from 'vitest';
import { accruePenalty, allocatePayment, dailyPenaltyMinor, totalOf, type Balance, type BalancePart } from '../shared/money';

/** Reference rounding: principal × bps / 10,000, half up, in BigInt. */
function reference(principalMinor: number, bps: number): number {
  const scaled = BigInt(principalMinor) * BigInt(bps);
  const q = scaled / 10_000n;
  const r = scaled % 10_000n;
  return Number(r * 2n >= 10_000n ? q + 1n : q);
}

describe('dailyPenaltyMinor', () => {
  it('is exact when the product divides evenly', () => {
    expect(dailyPenaltyMinor(1_000_000, 5)).toBe(500);
    expect(dailyPenaltyMinor(10_000, 5)).toBe(5);
    expect(dailyPenaltyMinor(20_000, 10_000)).toBe(20_000); // 100 % a day: the whole principal
  });

  it('rounds half up to a whole minor unit', () => {
    expect(dailyPenaltyMinor(12_345, 5)).toBe(6); // 6.1725 → 6
    expect(dailyPenaltyMinor(1, 5_000)).toBe(1); // 0.5 → 1
    expect(dailyPenaltyMinor(3, 5_000)).toBe(2); // 1.5 → 2
    expect(dailyPenaltyMinor(1, 4_999)).toBe(0); // 0.4999 → 0
    expect(dailyPenaltyMinor(1_000, 5)).toBe(1); // 0.5 → 1
    expect(dailyPenaltyMinor(999, 5)).toBe(0); // 0.4995 → 0
    expect(dailyPenaltyMinor(19_999, 5)).toBe(10); // 9.9995 → 10
    expect(dailyPenaltyMinor(18_999, 5)).toBe(9); // 9.4995 → 9
    expect(dailyPenaltyMinor(19_000, 5)).toBe(10); // 9.5 → 10
  });

  it('is zero for zero or negative principal and for zero bps', () => {
    expect(dailyPenaltyMinor(0, 5)).toBe(0);
    expect(dailyPenaltyMinor(-1_000_000, 5)).toBe(0);
    expect(dailyPenaltyMinor(1_000_000, 0)).toBe(0);
  });

  it('is exact for amounts whose product is beyond 2^53', () => {
    const max = Number.MAX_SAFE_INTEGER; // 9,007,199,254,740,991
    expect(dailyPenaltyMinor(max, 5)).toBe(4_503_599_627_370); // 4,503,599,627,370.4955
    expect(dailyPenaltyMinor(max, 5)).toBe(reference(max, 5));
    expect(dailyPenaltyMinor(max, 5_000)).toBe(4_503_599_627_370_496); // x.5 → up
    expect(dailyPenaltyMinor(max, 5_000)).toBe(reference(max, 5_000));
    expect(dailyPenaltyMinor(max - 1, 5_000)).toBe(4_503_599_627_370_495); // exactly half of an even number
    expect(dailyPenaltyMinor(max, 10_000)).toBe(max);
    for (const p of [max, max - 1, max - 2, max - 12_345, 2 ** 53 - 7_777, 123_456_789_012_345, 987_654_321_987_654]) {
      for (const bps of [1, 3, 5, 7, 33, 4_999, 5_000, 5_001, 9_999]) {
        expect(dailyPenaltyMinor(p, bps), `${p} at ${bps} bps`).toBe(reference(p, bps));
      }
    }
  });
});

describe('accruePenalty', () => {
  it('adds one day’s penalty per day on the principal, leaving the other parts and the input alone', () => {
    const b: Balance = { principalMinor: 1_000_000, penaltyMinor: 7, feesMinor: 300 };
    const after = accruePenalty(b, 3, 5);
    expect(after).toEqual({ principalMinor: 1_000_000, penaltyMinor: 7 + 1_500, feesMinor: 300 });
    expect(b).toEqual({ principalMinor: 1_000_000, penaltyMinor: 7, feesMinor: 300 });
  });

  it('rounds each day on its own (6 a day for 12,345 at 5 bps, not 6.1725 × days)', () => {
    expect(accruePenalty({ principalMinor: 12_345, penaltyMinor: 0, feesMinor: 0 }, 4, 5).penaltyMinor).toBe(24);
  });

  it('adds nothing for zero days', () => {
    expect(accruePenalty({ principalMinor: 1_000_000, penaltyMinor: 0, feesMinor: 0 }, 0, 5).penaltyMinor).toBe(0);
  });
});

describe('allocatePayment', () => {
  const balance: Balance = { principalMinor: 100_000, penaltyMinor: 2_500, feesMinor: 1_000 };

  it('pays fees, then penalty, then principal', () => {
    const { allocation, balance: after } = allocatePayment(balance, 3_000, ['fees', 'penalty', 'principal']);
    expect(allocation).toEqual({ feesMinor: 1_000, penaltyMinor: 2_000, principalMinor: 0, excessMinor: 0 });
    expect(after).toEqual({ principalMinor: 100_000, penaltyMinor: 500, feesMinor: 0 });
    expect(balance).toEqual({ principalMinor: 100_000, penaltyMinor: 2_500, feesMinor: 1_000 }); // input untouched
  });

  it('pays principal first when the playbook says so', () => {
    const { allocation, balance: after } = allocatePayment(balance, 100_700, ['principal', 'penalty', 'fees']);
    expect(allocation).toEqual({ feesMinor: 0, penaltyMinor: 700, principalMinor: 100_000, excessMinor: 0 });
    expect(after).toEqual({ principalMinor: 0, penaltyMinor: 1_800, feesMinor: 1_000 });
  });

  it('pays penalty, then principal, then fees', () => {
    const { allocation, balance: after } = allocatePayment(balance, 102_600, ['penalty', 'principal', 'fees']);
    expect(allocation).toEqual({ feesMinor: 100, penaltyMinor: 2_500, principalMinor: 100_000, excessMinor: 0 });
    expect(after).toEqual({ principalMinor: 0, penaltyMinor: 0, feesMinor: 900 });
  });

  it('covers every order: the parts taken always sum to the payment, in order', () => {
    const orders: BalancePart[][] = [
      ['fees', 'penalty', 'principal'],
      ['fees', 'principal', 'penalty'],
      ['penalty', 'fees', 'principal'],
      ['penalty', 'principal', 'fees'],
      ['principal', 'fees', 'penalty'],
      ['principal', 'penalty', 'fees'],
    ];
    const field = { fees: 'feesMinor', penalty: 'penaltyMinor', principal: 'principalMinor' } as const;
    for (const order of orders) {
      const { allocation, balance: after } = allocatePayment(balance, 2_000, order);
      // 2,000 goes entirely to the first part, which holds at least 1,000: fill it, then the next.
      const first = balance[field[order[0]!]];
      const expected = { feesMinor: 0, penaltyMinor: 0, principalMinor: 0, excessMinor: 0 };
      expected[field[order[0]!]] = Math.min(2_000, first);
      expected[field[order[1]!]] = 2_000 - Math.min(2_000, first);
      expect(allocation, order.join('>')).toEqual(expected);
      expect(totalOf(after), order.join('>')).toBe(totalOf(balance) - 2_000);
    }
  });

  it('records what is paid beyond the whole balance as excess', () => {
    const { allocation, balance: after } = allocatePayment(balance, 110_000, ['fees', 'penalty', 'principal']);
    expect(allocation).toEqual({ feesMinor: 1_000, penaltyMinor: 2_500, principalMinor: 100_000, excessMinor: 6_500 });
    expect(after).toEqual({ principalMinor: 0, penaltyMinor: 0, feesMinor: 0 });
    expect(totalOf(after)).toBe(0);
  });

  it('pays exactly the balance with no excess', () => {
    const { allocation, balance: after } = allocatePayment(balance, 103_500, ['fees', 'penalty', 'principal']);
    expect(allocation.excessMinor).toBe(0);
    expect(totalOf(after)).toBe(0);
  });

  it('totals the parts', () => {
    expect(totalOf(balance)).toBe(103_500);
  });
});
