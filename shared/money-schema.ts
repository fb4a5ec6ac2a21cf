import { z } from 'zod';

// zod schemas for money at the edges (API, playbooks); kept apart from shared/money.ts,
// which the workflow bundle imports and which must not drag zod in.

/**
 * Money is an integer count of the currency's minor unit (fen, cents), never a float.
 * The upper bound keeps every amount exact in a JavaScript number and in a PostgreSQL bigint.
 */
export const AmountMinor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** The ISO 4217 codes this runtime knows (ICU's list): 'XYZ' is three capitals, and no currency. */
const ISO_4217: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));
export const CurrencyCode = z
  .string()
  .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as CNY or USD')
  .refine((c) => ISO_4217.has(c), 'an ISO 4217 currency code such as CNY or USD (this is none)');

export const Money = z.object({ amountMinor: AmountMinor, currency: CurrencyCode });
export type Money = z.infer<typeof Money>;
