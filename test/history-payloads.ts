import type { Payload } from '@temporalio/common';
import type proto from '@temporalio/proto';
import { ENCRYPTED_ENCODING, type EncryptionCodec } from '../shared/codec';

type History = proto.temporal.api.history.v1.IHistory;
export type Located = Payload & { where?: string };

/** Every payload in a history, wherever it sits (input, results, markers, summaries, search attributes), with its path. */
export function payloadsIn(node: unknown, out: Located[] = [], where = ''): Located[] {
  if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return out;
  const o = node as Record<string, unknown>;
  if (o.metadata && typeof o.metadata === 'object' && 'data' in o) {
    Object.defineProperty(o, 'where', { value: where, enumerable: false, configurable: true });
    out.push(o as Payload);
  }
  for (const [k, v] of Object.entries(o)) payloadsIn(v, out, /^\d+$/.test(k) ? where : `${where}.${k}`);
  return out;
}

export const metadataOf = (p: Payload, k: string): string => Buffer.from(p.metadata?.[k] ?? []).toString();

/** The history with every encrypted payload replaced, in place, by what the codec makes of it. */
export function decodeHistoryPayloads<H extends History>(h: H, codec: EncryptionCodec): H {
  for (const p of payloadsIn(h)) {
    if (metadataOf(p, 'encoding') !== ENCRYPTED_ENCODING) continue;
    const d = codec.decodeOne(p);
    p.metadata = d.metadata;
    p.data = d.data;
  }
  return h;
}
