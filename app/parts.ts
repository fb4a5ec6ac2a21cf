import type { Worker } from '@temporalio/worker';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createApp, type ApiDeps } from '../api/app';
import { createCaseWorker, type CaseWorkerOptions } from '../worker/worker';

/** How long requests in flight may take to finish when the API stops. */
const API_STOP_GRACE_MS = 5_000;

export interface RunningWorker {
  worker: Worker;
  /** Shuts the worker down and waits for it; rejects with the error it stopped with, if any. */
  stop(): Promise<void>;
}

/**
 * The case worker, created and running. `onError` hears of a worker that stops with an error
 * before stop() is called (without it, that rejection is the caller's, as with worker.run()).
 */
export async function runCaseWorker(opts: CaseWorkerOptions, onError?: (e: unknown) => void): Promise<RunningWorker> {
  const worker = await createCaseWorker(opts);
  const running = worker.run();
  if (onError) running.catch(onError);
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

export interface RunningApi {
  server: Server;
  /** http://<host>:<port>, with the port it listens on (a port of 0 picks a free one). */
  url: string;
  /** Stops taking requests: idle keep-alive connections close now, requests in flight get API_STOP_GRACE_MS. */
  stop(): Promise<void>;
}

/** The HTTP API, listening on `port` (all interfaces, or `host`). */
export async function serveApi(deps: ApiDeps, opts: { port: number; host?: string; logger?: Logger }): Promise<RunningApi> {
  const app = createApp(deps, ...(opts.logger ? [opts.logger] : []));
  const server: Server = await new Promise((resolve, reject) => {
    const s = opts.host === undefined ? app.listen(opts.port) : app.listen(opts.port, opts.host);
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const url = `http://${opts.host ?? 'localhost'}:${typeof addr === 'object' && addr ? addr.port : opts.port}`;
  return {
    server,
    url,
    // One request waiting on a Temporal server that is already gone must not hold the stop.
    stop: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), API_STOP_GRACE_MS);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
