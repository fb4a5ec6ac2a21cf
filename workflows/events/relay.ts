import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { RelayActivities } from '../../shared/events';

const acts = proxyActivities<RelayActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const ROUNDS_PER_RUN = 200;

/**
 * The relay of `channel_outbox` through the configured gateway (issue 15, part 2): one per task queue,
 * started by a worker that has a gateway (RECOUP_CHANNEL_GATEWAY_URL), running as long as it does.
 */
export async function outboxRelay(): Promise<never> {
  for (let i = 0; i < ROUNDS_PER_RUN; i++) await acts.relayOutbox();
  return continueAsNew<typeof outboxRelay>();
}
