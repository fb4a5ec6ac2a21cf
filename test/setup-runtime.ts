import { DefaultLogger, Runtime } from '@temporalio/worker';
import { freePort } from './ports';

// Workers log every state change at INFO; tests only want warnings and errors. The SDK's Prometheus
// metrics on a free port, as RECOUP_METRICS_ADDRESS gives the engine: /metrics of a test stack includes them.
const port = await freePort();
Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } },
});
process.env.RECOUP_TEST_SDK_METRICS_URL = `http://127.0.0.1:${port}/metrics`;
