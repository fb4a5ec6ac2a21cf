// The raw Temporal worker of `npm run bench` (bench/stack.ts starts it in its own process): the
// workflows of ./workflows.ts on RAW_TASK_QUEUE, with the SDK's defaults, and nothing of Recoup's.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';

Runtime.install({ logger: new DefaultLogger('ERROR') });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
const maxCached = process.env.RECOUP_MAX_CACHED_WORKFLOWS;
const worker = await Worker.create({
  connection,
  namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  taskQueue: process.env.RAW_TASK_QUEUE ?? 'bench-raw',
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
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
