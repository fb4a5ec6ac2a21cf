import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { auditAdmin } from '../../activities/audit';
import { deliveryWorkflowId, EVENT_TYPES } from '../../shared/events';
import type { ApiDeps } from '../deps';
import { HttpProblem } from '../errors';
import { route } from '../registry';

const SubscriptionBody = z
  .object({
    /** Where events are POSTed: https, or http for a host on this network. */
    url: z.url({ protocol: /^https?$/ }).max(2_000),
    /** The event types wanted, or ['*'] for all. */
    eventTypes: z
      .array(z.enum([...EVENT_TYPES, '*']))
      .min(1)
      .max(EVENT_TYPES.length + 1)
      .refine((t) => new Set(t).size === t.length, 'each type once'),
    description: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
const SubscriptionParams = z.object({
  subscriptionId: z.string().regex(/^sub-[0-9a-f]{12}$/, 'a subscription id such as sub-0123456789ab'),
});
const DeliveriesQuery = z
  .object({
    status: z.enum(['pending', 'delivered']).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
const Reason = z.object({ reason: z.string().trim().min(3).max(500) }).strict();

const SubscriptionView = z.object({
  subscriptionId: z.string(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string().nullable(),
  status: z.enum(['active', 'paused']),
  pausedAt: z.string().nullable(),
  pausedReason: z.string().nullable(),
  failingSince: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  /** Events waiting for this subscriber, and delivered to it. */
  pending: z.number(),
  delivered: z.number(),
});

/**
 * Subscriptions to case events (issue 15, part 2; docs/events.md), for admins: made, read, paused and
 * resumed, each with its delivery log. A subscription gets the events that happen after it is made.
 */
export function subscriptionRoutes(d: ApiDeps) {
  const view = async (subscriptionId: string): Promise<z.infer<typeof SubscriptionView>> => {
    const [s] = await d.sql<
      {
        subscription_id: string;
        url: string;
        event_types: string[];
        description: string | null;
        status: 'active' | 'paused';
        paused_at: Date | null;
        paused_reason: string | null;
        failing_since: Date | null;
        created_by: string;
        created_at: Date;
        pending: number;
        delivered: number;
      }[]
    >`select s.*,
        (select count(*)::int from event_deliveries d where d.subscription_id = s.subscription_id and d.status = 'pending') as pending,
        (select count(*)::int from event_deliveries d where d.subscription_id = s.subscription_id and d.status = 'delivered') as delivered
      from event_subscriptions s where subscription_id = ${subscriptionId}`;
    if (!s) throw new HttpProblem(404, 'Not found', `no subscription ${subscriptionId}`);
    return {
      subscriptionId: s.subscription_id,
      url: s.url,
      eventTypes: s.event_types,
      description: s.description,
      status: s.status,
      pausedAt: s.paused_at?.toISOString() ?? null,
      pausedReason: s.paused_reason,
      failingSince: s.failing_since?.toISOString() ?? null,
      createdBy: s.created_by,
      createdAt: s.created_at.toISOString(),
      pending: s.pending,
      delivered: s.delivered,
    };
  };
  /** The subscription's dispatcher: one workflow, kept if it runs. */
  const dispatch = (subscriptionId: string) =>
    d.client.workflow.start('eventDelivery', {
      workflowId: deliveryWorkflowId(subscriptionId),
      taskQueue: d.taskQueue,
      args: [{ subscriptionId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `Event deliveries of subscription ${subscriptionId}`,
    });
  const audited = (actor: string, action: string, subscriptionId: string, detail: Record<string, unknown>) =>
    auditAdmin(d.sql, actor, action, { subscriptionId, ...detail });
  const access = { roles: ['admin'] } as const;

  return [
    route({
      method: 'post',
      path: '/v1/subscriptions',
      tag: 'events',
      summary: "Subscribe a URL to case events: each POSTed, signed with the subscription's secret (shown once, in this answer)",
      access,
      body: SubscriptionBody,
      responses: {
        201: { description: 'Subscribed; `secret` signs every delivery', schema: SubscriptionView.extend({ secret: z.string() }) },
      },
      async handler({ body, principal }) {
        const subscriptionId = `sub-${randomBytes(6).toString('hex')}`;
        const secret = `whsec_${randomBytes(24).toString('base64url')}`;
        await d.sql`insert into event_subscriptions (subscription_id, url, secret, event_types, description, created_by)
                    values (${subscriptionId}, ${body.url}, ${secret}, ${body.eventTypes}, ${body.description ?? null},
                            ${principal!.subject})`;
        await audited(principal!.subject, 'subscription-created', subscriptionId, { url: body.url, eventTypes: body.eventTypes });
        await dispatch(subscriptionId);
        return { status: 201, body: { ...(await view(subscriptionId)), secret } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/subscriptions',
      tag: 'events',
      summary: 'Every subscription, with what is pending and delivered',
      access,
      responses: { 200: { description: 'Subscriptions', schema: z.object({ subscriptions: z.array(SubscriptionView) }) } },
      async handler() {
        const ids = await d.sql<{ subscription_id: string }[]>`select subscription_id from event_subscriptions order by created_at`;
        return { status: 200, body: { subscriptions: await Promise.all(ids.map((s) => view(s.subscription_id))) } };
      },
    }),
    route({
      method: 'get',
      path: '/v1/subscriptions/:subscriptionId',
      tag: 'events',
      summary: 'A subscription',
      access,
      params: SubscriptionParams,
      responses: { 200: { description: 'The subscription', schema: SubscriptionView }, 404: { description: 'No such subscription' } },
      async handler({ params }) {
        return { status: 200, body: await view(params.subscriptionId) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/subscriptions/:subscriptionId/deliveries',
      tag: 'events',
      summary: "The delivery log: the subscription's events, newest first, each with its attempts and the subscriber's last answer",
      access,
      params: SubscriptionParams,
      query: DeliveriesQuery,
      responses: {
        200: { description: 'Deliveries', schema: z.object({ deliveries: z.array(z.record(z.string(), z.unknown())) }) },
        404: { description: 'No such subscription' },
      },
      async handler({ params, query }) {
        await view(params.subscriptionId);
        const rows = await d.sql<
          {
            event_id: string;
            type: string;
            case_key: string;
            account_id: string;
            occurred_at: Date;
            status: string;
            attempts: number;
            last_status: number | null;
            last_error: string | null;
            last_attempt_at: Date | null;
            delivered_at: Date | null;
          }[]
        >`select e.event_id, e.type, e.case_key, e.account_id, e.occurred_at, d.status, d.attempts, d.last_status, d.last_error,
                 d.last_attempt_at, d.delivered_at
          from event_deliveries d join case_events e on e.id = d.event_row
          where d.subscription_id = ${params.subscriptionId}
            and (${query.status ?? null}::text is null or d.status = ${query.status ?? null})
          order by d.event_row desc limit ${query.limit}`;
        return {
          status: 200,
          body: {
            deliveries: rows.map((r) => ({
              eventId: r.event_id,
              type: r.type,
              caseKey: r.case_key,
              accountId: r.account_id,
              occurredAt: r.occurred_at.toISOString(),
              status: r.status,
              attempts: r.attempts,
              lastStatus: r.last_status,
              lastError: r.last_error,
              lastAttemptAt: r.last_attempt_at?.toISOString() ?? null,
              deliveredAt: r.delivered_at?.toISOString() ?? null,
            })),
          },
        };
      },
    }),
    route({
      method: 'post',
      path: '/v1/subscriptions/:subscriptionId/pause',
      tag: 'events',
      summary: 'Pause deliveries: events still queue for the subscription, and go out when it is resumed',
      access,
      params: SubscriptionParams,
      body: Reason,
      responses: { 200: { description: 'Paused', schema: SubscriptionView }, 404: { description: 'No such subscription' } },
      async handler({ params, body, principal }) {
        await view(params.subscriptionId);
        const reason = `by ${principal!.subject}: ${body.reason}`;
        await d.sql`update event_subscriptions set status = 'paused', paused_at = now(), paused_reason = ${reason}
                    where subscription_id = ${params.subscriptionId} and status = 'active'`;
        await audited(principal!.subject, 'subscription-paused', params.subscriptionId, { reason: body.reason });
        return { status: 200, body: await view(params.subscriptionId) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/subscriptions/:subscriptionId/resume',
      tag: 'events',
      summary: 'Resume a paused subscription (by an admin, a 410, or failing for a day): its queued events go out, oldest first',
      access,
      params: SubscriptionParams,
      body: Reason,
      responses: { 200: { description: 'Active again', schema: SubscriptionView }, 404: { description: 'No such subscription' } },
      async handler({ params, body, principal }) {
        await view(params.subscriptionId);
        await d.sql`update event_subscriptions set status = 'active', paused_at = null, paused_reason = null, failing_since = null
                    where subscription_id = ${params.subscriptionId}`;
        await audited(principal!.subject, 'subscription-resumed', params.subscriptionId, { reason: body.reason });
        await dispatch(params.subscriptionId);
        return { status: 200, body: await view(params.subscriptionId) };
      },
    }),
  ];
}
