import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { EventActivities } from '../../shared/events';

const acts = proxyActivities<EventActivities>({
  // An idle subscription's activity waits up to a minute for events, heartbeating.
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  // A subscriber that is down: retried with backoff, forever; the activity pauses a subscription failing too long.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** Activities per run: an idle subscription continues as new about every 3 hours. */
const ROUNDS_PER_RUN = 200;

/**
 * The dispatcher of one subscription (issue 15, part 2): delivers its outbox in order, at least once,
 * until the subscription is paused. Started when the subscription is made or resumed.
 */
export async function eventDelivery(input: { subscriptionId: string }): Promise<{ paused: true }> {
  for (let i = 0; i < ROUNDS_PER_RUN; i++) {
    const r = await acts.deliverEvents(input);
    if (r.paused) return { paused: true };
  }
  return continueAsNew<typeof eventDelivery>(input);
}
