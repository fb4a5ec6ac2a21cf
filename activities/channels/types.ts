import { ApplicationFailure } from '@temporalio/common';

/**
 * What every channel provider shares: the message, the receipt, the provider's interface, the
 * failure types and the recipient check. The providers (./outbox, ./http) import these from here,
 * never from ./index, which only gathers them.
 */
type MessageChannel = 'sms' | 'email' | 'letter';

export interface OutboundMessage {
  idempotencyKey: string;
  channel: MessageChannel;
  caseKey: string;
  accountId: string;
  recipient: { name: string; phone?: string; email?: string; address?: string };
  subject?: string;
  body: string;
  document?: { kind: string; language: string; reference: string; contentHash: string; pdfBase64?: string };
}

export interface DeliveryReceipt {
  provider: string;
  providerRef: string;
  status: 'queued' | 'sent' | 'delivered';
  /** True when the provider had already taken a message with this idempotency key. */
  duplicate: boolean;
}

export interface ChannelProvider {
  readonly name: string;
  send(message: OutboundMessage): Promise<DeliveryReceipt>;
}

/** ApplicationFailure types raised by channel providers; retry policies match on them. */
export const ChannelErrors = {
  /** The message lacks the address its channel needs (non-retryable). */
  InvalidRecipient: 'InvalidRecipient',
  /** The gateway refused the message with a 4xx; retrying cannot help (non-retryable). */
  ChannelRejected: 'ChannelRejected',
  /** The gateway failed (5xx), timed out or could not be reached (retryable). */
  ChannelUnavailable: 'ChannelUnavailable',
} as const;

const REQUIRED_FIELD = { sms: 'phone', email: 'email', letter: 'address' } as const satisfies Record<MessageChannel, string>;

/** An SMS needs a phone, an email an email address, a letter a postal address; else a non-retryable InvalidRecipient. */
export function validateRecipient(m: OutboundMessage): void {
  const field = (REQUIRED_FIELD as Record<string, 'phone' | 'email' | 'address' | undefined>)[m.channel];
  if (!field) {
    throw ApplicationFailure.nonRetryable(
      `message ${m.idempotencyKey}: unknown channel '${String(m.channel)}'`,
      ChannelErrors.InvalidRecipient,
    );
  }
  const value = m.recipient?.[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw ApplicationFailure.nonRetryable(
      `message ${m.idempotencyKey}: a ${m.channel} needs the recipient's ${field}`,
      ChannelErrors.InvalidRecipient,
    );
  }
}
