import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { dataConverterFor } from '../shared/codec';

/**
 * Temporal connection settings by Temporal's own conventions: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and the TOML config file
 * (TEMPORAL_CONFIG_FILE). Unset, it is the local dev server: localhost:7233, namespace "default".
 */
function temporalSettings() {
  const cfg = loadClientConnectConfig();
  return {
    connectionOptions: { ...cfg.connectionOptions, address: cfg.connectionOptions.address ?? 'localhost:7233' },
    namespace: cfg.namespace ?? 'default',
  };
}

/** A client whose payloads go through `codec` (shared/codec.ts) when there is one. */
export async function connectClient(codec?: PayloadCodec): Promise<{ client: Client; connection: Connection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings();
  const connection = await Connection.connect(connectionOptions);
  return { client: new Client({ connection, namespace, dataConverter: dataConverterFor(codec) }), connection, namespace };
}

export async function connectWorkerConnection(): Promise<{ connection: NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = temporalSettings();
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}
