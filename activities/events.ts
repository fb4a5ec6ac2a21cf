import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Sql } from '../db/index';
import type { EventActivities, OutboundEvent } from '../shared/events';
import { signBody } from '../shared/signature';

/** A subscriber that has answered nothing but failures for this long is paused, not retried for ever. */
const PAUSE_AFTER_MS = 24 * 3_600_000;
const POST_TIMEOUT_MS = 10_000;
/** An activity returns after this long (busy or idle), so the workflow's history shows progress. */
const ROUND_MS = 60_000;
/** Without a notification, the outbox is looked at this often anyway. */
const IDLE_POLL_MS = 10_000;
const BATCH = 50;

interface Pending {
  event_row: string;
  event_id: string;
  type: OutboundEvent['type'];
  occurred_at: Date;
  case_key: string;
  account_id: string;
  data: Record<string, unknown>;
}

/**
 * The dispatcher's side effects (issue 15, part 2): a subscription's outbox POSTed in order, signed like
 * inbound webhooks (`Recoup-Signature: t=…,v1=HMAC-SHA256(secret, "<t>.<body>")`), each attempt logged.
 * A 2xx delivers; 410 pauses the subscription; anything else (or no answer) stops the round, and the
 * activity is retried with backoff, the same event first: a case's events never overtake each other.
 */
export function createEventActivities(deps: { sql: Sql; pauseAfterMs?: number; now?: () => number }): EventActivities {
  const { sql } = deps;
  const now = deps.now ?? Date.now;
  const pauseAfterMs = deps.pauseAfterMs ?? PAUSE_AFTER_MS;
  // One LISTEN per worker: a committed event wakes every idle round at once.
  const waiters = new Set<() => void>();
  let listening: Promise<unknown> | undefined;
  const nextEvent = (ms: number) => {
    listening ??= sql
      .listen('recoup_events', () => {
        for (const w of [...waiters]) w();
      })
      .catch(() => (listening = undefined));
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  };

  const pause = (subscriptionId: string, reason: string) =>
    sql`update event_subscriptions set status = 'paused', paused_at = now(), paused_reason = ${reason}
        where subscription_id = ${subscriptionId} and status = 'active'`;

  return {
    async deliverEvents({ subscriptionId }) {
      const ctx = Context.current();
      const started = now();
      let delivered = 0;
      for (;;) {
        const [sub] = await sql<{ url: string; secret: string; status: string }[]>`
          select url, secret, status from event_subscriptions where subscription_id = ${subscriptionId}`;
        if (!sub) throw ApplicationFailure.nonRetryable(`no subscription ${subscriptionId}`, 'NotFound');
        if (sub.status === 'paused') return { delivered, paused: true };
        const rows = await sql<Pending[]>`
          select d.event_row, e.event_id, e.type, e.occurred_at, e.case_key, e.account_id, e.data
          from event_deliveries d join case_events e on e.id = d.event_row
          where d.subscription_id = ${subscriptionId} and d.status = 'pending' order by d.event_row limit ${BATCH}`;
        if (rows.length === 0) {
          if (now() - started >= ROUND_MS || ctx.cancellationSignal.aborted) return { delivered, paused: false };
          await nextEvent(IDLE_POLL_MS);
          ctx.heartbeat();
          continue;
        }
        for (const r of rows) {
          if (ctx.cancellationSignal.aborted) await ctx.cancelled;
          const event: OutboundEvent = {
            id: r.event_id,
            type: r.type,
            occurredAt: r.occurred_at.toISOString(),
            caseKey: r.case_key,
            accountId: r.account_id,
            data: r.data,
          };
          const answer = await post(sub, event, now);
          await sql`insert into event_attempts (subscription_id, event_row, http_status, error, duration_ms)
                    values (${subscriptionId}, ${r.event_row}, ${answer.status ?? null}, ${answer.error ?? null}, ${answer.ms})`;
          if (answer.status !== undefined && answer.status >= 200 && answer.status < 300) {
            await sql`update event_deliveries set status = 'delivered', attempts = attempts + 1, last_status = ${answer.status},
                      last_error = null, last_attempt_at = now(), delivered_at = now()
                      where subscription_id = ${subscriptionId} and event_row = ${r.event_row}`;
            await sql`update event_subscriptions set failing_since = null
                      where subscription_id = ${subscriptionId} and failing_since is not null`;
            delivered++;
            ctx.heartbeat();
            continue;
          }
          const what = answer.status !== undefined ? `HTTP ${answer.status}` : answer.error!;
          await sql`update event_deliveries set attempts = attempts + 1, last_status = ${answer.status ?? null},
                    last_error = ${answer.error ?? null}, last_attempt_at = now()
                    where subscription_id = ${subscriptionId} and event_row = ${r.event_row}`;
          if (answer.status === 410) {
            await pause(subscriptionId, `the subscriber answered 410 Gone for ${event.id}`);
            return { delivered, paused: true };
          }
          const [f] = await sql<{ failing_since: Date }[]>`
            update event_subscriptions set failing_since = coalesce(failing_since, now())
            where subscription_id = ${subscriptionId} returning failing_since`;
          if (f && now() - f.failing_since.getTime() >= pauseAfterMs) {
            await pause(subscriptionId, `no delivery since ${f.failing_since.toISOString()}; last: ${what}`);
            return { delivered, paused: true };
          }
          throw ApplicationFailure.retryable(`${sub.url} did not take ${event.id} (${event.type}): ${what}`, 'SubscriberUnavailable');
        }
        if (now() - started >= ROUND_MS) return { delivered, paused: false };
      }
    },
  };
}

async function post(
  sub: { url: string; secret: string },
  event: OutboundEvent,
  now: () => number,
): Promise<{ status?: number; error?: string; ms: number }> {
  const body = JSON.stringify(event);
  const t0 = Date.now();
  try {
    const res = await fetch(sub.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Recoup-Events/1',
        'recoup-event-id': event.id,
        'recoup-event-type': event.type,
        'recoup-signature': signBody(sub.secret, Math.floor(now() / 1000), body),
      },
      body,
      // A signed event never follows a redirect to wherever it points.
      redirect: 'manual',
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status, ms: Date.now() - t0 };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    const error = (e as Error).name === 'TimeoutError' ? `no answer within ${POST_TIMEOUT_MS} ms` : (cause ?? (e as Error).message);
    return { error, ms: Date.now() - t0 };
  }
}
