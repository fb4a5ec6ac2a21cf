import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { createApp } from '../api/app';
import { connectDb, type Sql } from '../db/index';
import { createCaseWorker } from '../worker/worker';

/** The real stack of one test file: Temporal client, a worker on its own task queue, the API, PostgreSQL. */
export interface Stack {
  client: Client;
  sql: Sql;
  apiUrl: string;
  taskQueue: string;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const address = inject('temporalAddress');
  const namespace = inject('temporalNamespace');
  const sql = connectDb(inject('databaseUrl'));
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const nativeConnection = await NativeConnection.connect({ address });
  // A task queue per test file keeps one file's workflows away from another file's worker.
  const taskQueue = `test-${randomUUID()}`;
  const worker: Worker = await createCaseWorker({ connection: nativeConnection, namespace, taskQueue, sql });
  const running = worker.run();
  const server = createApp({ client, taskQueue }).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    client,
    sql,
    apiUrl,
    taskQueue,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await sql.end();
    },
  };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export function uniqueAccountId(prefix = 'ACC'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
