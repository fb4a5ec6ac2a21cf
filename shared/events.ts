/**
 * Events out (issue 15, part 2; docs/events.md): what a subscriber is sent, and the dispatcher's
 * contract. The events themselves are written by the ledger's triggers (db/migrations/014_events.sql).
 */
export const EVENT_TYPES = [
  'case.opened',
  'case.stage_changed',
  'case.closed',
  'promise.made',
  'promise.kept',
  'promise.broken',
  'plan.made',
  'plan.kept',
  'plan.broken',
  'legal.referred',
  'debtor.blacklisted',
] as const;
type EventType = (typeof EVENT_TYPES)[number];

/** The JSON body of a delivery: POSTed, signed with the subscription's secret (Recoup-Signature). */
export interface OutboundEvent {
  /** Deliveries are at least once: deduplicate on this. */
  id: string;
  type: EventType;
  occurredAt: string;
  caseKey: string;
  accountId: string;
  data: Record<string, unknown>;
}

export interface EventActivities {
  /**
   * Delivers the subscription's pending events in order, one at a time, until none is left (then waits
   * up to a minute for more). Fails (to be retried with backoff) at the first event the subscriber does
   * not take; answers `paused` when the subscription is paused (by an admin, a 410, or failing too long).
   */
  deliverEvents(req: { subscriptionId: string }): Promise<{ delivered: number; paused: boolean }>;
}

export const deliveryWorkflowId = (subscriptionId: string) => `events-${subscriptionId}`;

export interface RelayActivities {
  /** Sends the queued `channel_outbox` messages through the gateway, oldest first; fails at a gateway that is down. */
  relayOutbox(): Promise<{ sent: number }>;
}

/** The one relay of `channel_outbox` per namespace and task queue. */
export const RELAY_WORKFLOW_ID = 'channel-outbox-relay';
