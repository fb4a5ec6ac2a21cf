import { z } from 'zod';

/**
 * Money is an integer count of the currency's minor unit (fen, cents), never a float.
 * The upper bound keeps every amount exact in a JavaScript number and in a PostgreSQL bigint.
 */
export const AmountMinor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as CNY or USD');

export const Money = z.object({ amountMinor: AmountMinor, currency: CurrencyCode });
export type Money = z.infer<typeof Money>;
