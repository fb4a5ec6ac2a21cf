import { ApplicationFailure } from '@temporalio/common';
import { signBody } from '../../shared/signature';
import { ChannelErrors, validateRecipient, type ChannelProvider, type DeliveryReceipt, type OutboundMessage } from './types';

const STATUSES: ReadonlySet<string> = new Set<DeliveryReceipt['status']>(['queued', 'sent', 'delivered']);
const EXCERPT_CHARS = 200;

export interface HttpProviderOptions {
  /** The gateway's endpoint: the message is POSTed to it as JSON. */
  url: string;
  /** Shared secret for the Recoup-Signature header. */
  secret: string;
  /** The receipt's provider name; 'http' by default. */
  name?: string;
  /** Per-request timeout, including reading the response; 10 s by default. */
  timeoutMs?: number;
  /** Clock for the signature's timestamp (epoch milliseconds); Date.now by default. */
  now?: () => number;
}

/**
 * A generic HTTP provider for real SMS, email and letter gateways. Each message is POSTed with an
 * Idempotency-Key header (the gateway deduplicates on it, so a retried activity sends once) and a
 * Stripe-style signature: `Recoup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 *
 * 2xx → receipt; 409 with an id → duplicate receipt; other 4xx → non-retryable ChannelRejected;
 * 5xx, 408, 429, timeouts and network errors → retryable ChannelUnavailable.
 */
export function createHttpProvider(opts: HttpProviderOptions): ChannelProvider {
  const name = opts.name ?? 'http';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const now = opts.now ?? Date.now;

  return {
    name,
    async send(m: OutboundMessage): Promise<DeliveryReceipt> {
      validateRecipient(m);
      const rawBody = JSON.stringify(m);
      const signature = signBody(opts.secret, Math.floor(now() / 1000), rawBody);
      const where = `${name} ${m.channel} ${m.idempotencyKey}`;

      let status: number;
      let text: string;
      let retryAfter: string | null;
      try {
        const res = await fetch(opts.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': m.idempotencyKey, 'Recoup-Signature': signature },
          body: rawBody,
          // Never re-send a signed message to wherever a redirect points.
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        text = await res.text(); // the timeout covers the body too
      } catch (err) {
        const reason = isTimeout(err) ? `no answer within ${timeoutMs} ms` : describe(err);
        throw ApplicationFailure.create({
          message: `${where}: gateway unreachable: ${reason}`,
          type: ChannelErrors.ChannelUnavailable,
          nonRetryable: false,
          cause: err instanceof Error ? err : undefined,
        });
      }

      const summary = `${where}: HTTP ${status}${text ? `: ${excerpt(text)}` : ''}`;
      if (status >= 200 && status < 300) {
        const body = parseJson(text);
        const id = body?.id;
        if (typeof id !== 'string' || id === '') {
          // Accepted, but without a reference; the Idempotency-Key makes a retry safe.
          throw ApplicationFailure.retryable(`${summary} (answer has no id)`, ChannelErrors.ChannelUnavailable);
        }
        return { provider: name, providerRef: id, status: toStatus(body?.status), duplicate: body?.duplicate === true };
      }
      if (status === 409) {
        const body = parseJson(text);
        const id = body?.id;
        if (typeof id === 'string' && id !== '') {
          return { provider: name, providerRef: id, status: toStatus(body?.status), duplicate: true };
        }
        // A 409 without an id: typically the same key still being processed; a retry will find it.
        throw ApplicationFailure.retryable(`${summary} (conflict without an id)`, ChannelErrors.ChannelUnavailable);
      }
      if (status === 408 || status === 429) {
        // Timeouts and rate limits are 4xx that a later attempt can get past.
        throw ApplicationFailure.create({
          message: summary,
          type: ChannelErrors.ChannelUnavailable,
          nonRetryable: false,
          nextRetryDelay: retryAfterMs(retryAfter, now()),
        });
      }
      if (status >= 400 && status < 500) {
        throw ApplicationFailure.nonRetryable(summary, ChannelErrors.ChannelRejected);
      }
      if (status >= 500) {
        throw ApplicationFailure.retryable(summary, ChannelErrors.ChannelUnavailable);
      }
      // 1xx/3xx: a misconfigured endpoint (e.g. a redirect), which retrying does not fix.
      throw ApplicationFailure.nonRetryable(`${summary} (unexpected status)`, ChannelErrors.ChannelRejected);
    },
  };
}

function toStatus(s: unknown): DeliveryReceipt['status'] {
  return typeof s === 'string' && STATUSES.has(s) ? (s as DeliveryReceipt['status']) : 'queued';
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici reports "fetch failed" and puts the socket error (ECONNREFUSED, …) in the cause.
  const cause = err.cause instanceof Error ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** Retry-After in seconds or as an HTTP date, as milliseconds (capped at 10 min); undefined when absent or unusable. */
function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - nowMs;
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return Math.min(ms, 600_000);
}

export { signBody, verifySignature } from '../../shared/signature';
