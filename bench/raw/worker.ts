// The raw Temporal worker of `npm run bench` (bench/stack.ts starts it in its own process): the
// workflows of ./workflows.ts and the one activity of ./activities.ts on RAW_TASK_QUEUE, with the SDK's defaults, and nothing of Recoup's.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createRawActivities } from './activities';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
const maxCached = process.env.RECOUP_MAX_CACHED_WORKFLOWS;
if (!process.env.DATABASE_URL) throw new Error('raw worker: DATABASE_URL is not set');
const raw = await createRawActivities(process.env.DATABASE_URL);
const worker = await Worker.create({
  connection,
  namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  taskQueue: process.env.RAW_TASK_QUEUE ?? 'bench-raw',
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  activities: raw.activities,
  ...(maxCached ? { maxCachedWorkflows: Number(maxCached) } : {}),
});
// The bench signals the whole process group (tsx and this process): shut down once.
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  worker.shutdown();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(`raw worker polling task queue "${process.env.RAW_TASK_QUEUE ?? 'bench-raw'}"`);
await worker.run();
await connection.close();
await raw.close();
