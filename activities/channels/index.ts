/**
 * Outbound channel adapters: SMS, email and letters. (The phone channel is a call task in the
 * collector's queue, handled elsewhere.) A provider's send is idempotent on the message's
 * idempotency key, so a retried activity never sends a message twice.
 *
 * The shared types, failure types and the recipient check are in ./types; the providers in ./outbox
 * and ./http.
 */
export { ChannelErrors, validateRecipient, type ChannelProvider, type OutboundMessage } from './types';
export { createOutboxProvider } from './outbox';
export { createHttpProvider, signBody, verifySignature } from './http';
