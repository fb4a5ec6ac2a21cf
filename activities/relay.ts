import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Sql } from '../db/index';
import type { RelayActivities } from '../shared/events';
import { ChannelErrors, type ChannelProvider, type OutboundMessage } from './channels/index';

const BATCH = 50;
const IDLE_POLL_MS = 10_000;
const ROUND_MS = 60_000;

interface Queued {
  id: string;
  idempotency_key: string;
  channel: OutboundMessage['channel'];
  case_key: string;
  account_id: string;
  recipient: OutboundMessage['recipient'];
  payload: { subject: string | null; body: string; document: Omit<NonNullable<OutboundMessage['document']>, 'pdfBase64'> | null };
}

/**
 * The relay of `channel_outbox` (issue 15, part 2): the messages the case's steps queued (letters with
 * their PDF from `notices`, SMS, email, supervisors' notifications) sent through the configured gateway,
 * oldest first, by the same kind of dispatcher as the events. A gateway that refuses a message (4xx) marks
 * it `rejected` with why; one that is down fails the round, retried with backoff by Temporal.
 */
export function createRelayActivities(deps: { sql: Sql; gateway?: ChannelProvider }): RelayActivities {
  const { sql } = deps;
  return {
    async relayOutbox() {
      const gateway = deps.gateway;
      if (!gateway) throw ApplicationFailure.nonRetryable('no channel gateway is configured (RECOUP_CHANNEL_GATEWAY_URL)', 'NotConfigured');
      const ctx = Context.current();
      const started = Date.now();
      let sent = 0;
      for (;;) {
        const rows = await sql<Queued[]>`
          select id, idempotency_key, channel, case_key, account_id, recipient, payload from channel_outbox
          where status = 'queued' order by id limit ${BATCH}`;
        if (rows.length === 0) {
          if (Date.now() - started >= ROUND_MS || ctx.cancellationSignal.aborted) return { sent };
          await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
          ctx.heartbeat();
          continue;
        }
        for (const r of rows) {
          if (ctx.cancellationSignal.aborted) await ctx.cancelled;
          let pdfBase64: string | undefined;
          if (r.payload.document) {
            const [n] = await sql<{ document: Buffer }[]>`select document from notices where idempotency_key = ${r.idempotency_key}`;
            pdfBase64 = n?.document.toString('base64');
          }
          const message: OutboundMessage = {
            idempotencyKey: r.idempotency_key,
            channel: r.channel,
            caseKey: r.case_key,
            accountId: r.account_id,
            recipient: r.recipient,
            ...(r.payload.subject !== null ? { subject: r.payload.subject } : {}),
            body: r.payload.body,
            ...(r.payload.document ? { document: { ...r.payload.document, ...(pdfBase64 ? { pdfBase64 } : {}) } } : {}),
          };
          try {
            const receipt = await gateway.send(message);
            await sql.begin(async (tx) => {
              await tx`update channel_outbox set status = ${receipt.status === 'queued' ? 'sent' : receipt.status},
                       provider = ${receipt.provider}, provider_ref = ${receipt.providerRef}, sent_at = now(), last_error = null
                       where id = ${r.id}`;
              await tx`update notices set delivery_status = ${receipt.status}, provider_ref = ${receipt.providerRef}
                       where idempotency_key = ${r.idempotency_key}`;
            });
            sent++;
            ctx.heartbeat();
          } catch (e) {
            const type = e instanceof ApplicationFailure ? e.type : undefined;
            const why = (e as Error).message;
            if (type === ChannelErrors.ChannelRejected || type === ChannelErrors.InvalidRecipient) {
              await sql`update channel_outbox set status = 'rejected', last_error = ${why}, attempts = attempts + 1 where id = ${r.id}`;
              continue;
            }
            await sql`update channel_outbox set last_error = ${why}, attempts = attempts + 1 where id = ${r.id}`;
            throw e;
          }
        }
        if (Date.now() - started >= ROUND_MS) return { sent };
      }
    },
  };
}
