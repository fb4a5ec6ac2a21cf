import type { Sql } from '../../db/index';
import { validateRecipient, type ChannelProvider, type DeliveryReceipt, type OutboundMessage } from './types';

const PROVIDER = 'outbox';
const STATUSES: ReadonlySet<string> = new Set<DeliveryReceipt['status']>(['queued', 'sent', 'delivered']);

/**
 * The default provider: writes the message to `channel_outbox`, from which a dispatcher relays it
 * to a gateway. Idempotent on the message's key: the unique constraint takes the first write, and
 * a retry reads back the first row's receipt (duplicate: true) instead of queueing it twice.
 */
export function createOutboxProvider(sql: Sql): ChannelProvider {
  return {
    name: PROVIDER,
    async send(m: OutboundMessage): Promise<DeliveryReceipt> {
      validateRecipient(m);
      // The document's metadata travels with the message; its PDF bytes are kept in `notices`, not here.
      const document = m.document
        ? { kind: m.document.kind, language: m.document.language, reference: m.document.reference, contentHash: m.document.contentHash }
        : null;
      const payload = { subject: m.subject ?? null, body: m.body, document };
      const recipient = {
        name: m.recipient.name,
        ...(m.recipient.phone !== undefined && { phone: m.recipient.phone }),
        ...(m.recipient.email !== undefined && { email: m.recipient.email }),
        ...(m.recipient.address !== undefined && { address: m.recipient.address }),
      };

      const [inserted] = await sql<{ id: number; status: string }[]>`
        insert into channel_outbox (idempotency_key, channel, case_key, account_id, recipient, payload, provider)
        values (${m.idempotencyKey}, ${m.channel}, ${m.caseKey}, ${m.accountId},
                ${sql.json(recipient as never)}, ${sql.json(payload as never)}, ${PROVIDER})
        on conflict (idempotency_key) do nothing
        returning id, status`;
      if (inserted) return receipt(inserted, false);

      // An earlier attempt (or a concurrent one, now committed) holds the key: answer with its row.
      const [existing] = await sql<{ id: number; status: string }[]>`
        select id, status from channel_outbox where idempotency_key = ${m.idempotencyKey}`;
      if (!existing) throw new Error(`channel_outbox: no row for idempotency key ${m.idempotencyKey} after a conflict`);
      return receipt(existing, true);
    },
  };
}

function receipt(row: { id: number; status: string }, duplicate: boolean): DeliveryReceipt {
  const status = STATUSES.has(row.status) ? (row.status as DeliveryReceipt['status']) : 'queued';
  return { provider: PROVIDER, providerRef: `${PROVIDER}#${row.id}`, status, duplicate };
}
