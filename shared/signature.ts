import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Recoup's request signature, the scheme Stripe uses for webhooks: header
 * `Recoup-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Recoup signs what it
 * sends to channel gateways with it and checks payment webhooks with it. Node only (not for workflows).
 */
/** The Recoup-Signature header value for a body sent at `timestampSeconds`: `t=<t>,v1=<hex HMAC-SHA256>`. */
export function signBody(secret: string, timestampSeconds: number, rawBody: string): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`signature timestamp must be whole unix seconds, got ${timestampSeconds}`);
  }
  return `t=${timestampSeconds},v1=${hmacHex(secret, timestampSeconds, rawBody)}`;
}

/**
 * Checks a Recoup-Signature header against the raw body, in constant time. False on a malformed
 * header, a timestamp more than `toleranceSeconds` from `nowSeconds` (either way), or no v1 that
 * matches. Several v1 entries are allowed (one per secret, while a secret is being rotated).
 */
export function verifySignature(header: string, rawBody: string, secret: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (typeof header !== 'string' || typeof rawBody !== 'string') return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return false;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,15}$/.test(value)) return false;
      timestamp = Number(value);
    } else if (key === 'v1') {
      candidates.push(value);
    } // other schemes (v0, …) are ignored, as Stripe does
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  if (!Number.isFinite(nowSeconds) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;

  const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), 'hex');
  let ok = false;
  for (const candidate of candidates) {
    if (!/^[0-9a-fA-F]+$/.test(candidate) || candidate.length !== expected.length * 2) continue;
    const given = Buffer.from(candidate, 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

function hmacHex(secret: string, timestampSeconds: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`, 'utf8').digest('hex');
}
