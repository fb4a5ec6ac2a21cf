import { z } from 'zod';
import { AmountMinor, CurrencyCode } from './money';

/**
 * Contracts of the case workflow: its input, messages and their payloads.
 * Pure data and zod only: this file is bundled into the workflow sandbox.
 */
export const IsoDate = z.iso.date();
export const IsoInstant = z.iso.datetime({ offset: true });

export const Debtor = z.object({
  name: z.string().min(1).max(200),
  timeZone: z.string().min(1).default('Asia/Shanghai'),
});
export type Debtor = z.infer<typeof Debtor>;

export const MissedPayment = z.object({
  dueDate: IsoDate,
  amountMinor: AmountMinor,
  currency: CurrencyCode,
});
export type MissedPayment = z.infer<typeof MissedPayment>;

export const CaseInput = z.object({
  accountId: z.string().min(1).max(100),
  debtor: Debtor,
  currency: CurrencyCode,
  firstMissed: MissedPayment,
});
export type CaseInput = z.infer<typeof CaseInput>;

export const PaymentReceived = z.object({
  paymentId: z.string().min(1).max(100),
  amountMinor: AmountMinor,
  currency: CurrencyCode,
  paidAt: IsoInstant,
});
export type PaymentReceived = z.infer<typeof PaymentReceived>;

export type CaseStage = 'open' | 'paid';

export interface CaseState {
  accountId: string;
  stage: CaseStage;
  currency: string;
  missedMinor: number;
  paidMinor: number;
  outstandingMinor: number;
  missedPayments: MissedPayment[];
  payments: PaymentReceived[];
  openedAt: string;
  closedAt?: string;
}

export interface CaseResult {
  accountId: string;
  stage: CaseStage;
  paidMinor: number;
  closedAt: string;
}
