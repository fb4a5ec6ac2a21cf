// The payload codec: every payload Recoup's clients and workers send to Temporal (workflow input, update
// and query answers, activity arguments and results, memos, summaries, failure details) is encrypted
// with AES-256-GCM before it leaves the process. Temporal stores and shows ciphertext; the codec server
// (api/codec.ts) decodes for the Temporal UI and the CLI. Search attributes are not payloads the codec
// sees: they stay readable, so they must hold no personal data (shared/search-attributes.ts).
// Not workflow code: the workflow sandbox never imports this module.
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto'; // CommonJS: its namespaces are on the default export
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, randomFillSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import type { Config } from './config';

/** The metadata Temporal's samples and tools use for an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const FORMAT_VERSION = 1;
const FLAG_DEFLATE = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Payloads from this size are deflated before encryption, when that makes them smaller. */
const COMPRESS_FROM_BYTES = 256;
/**
 * Deflate as the codec runs it: fast (level 1) with a 4 KiB window, which is most of a payload and a
 * quarter of what zlib sets up by default for each call. Any raw-deflate reader inflates it.
 */
const DEFLATE = { level: 1, windowBits: 12, memLevel: 7 };
/** IVs are cut from a pool of random bytes, refilled when used up: one call to the RNG per 512 payloads. */
const IV_POOL_BYTES = IV_BYTES * 512;

const KeyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash or underscore (at most 64)');
const KeyMaterial = z
  .string()
  .refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === 32, '32 bytes, base64 (openssl rand -base64 32)');

/** A key ring file (RECOUP_CODEC_KEYS_FILE): every key still readable, the one new payloads use. */
export const KeyRingFile = z
  .object({
    active: KeyId,
    keys: z.record(KeyId, KeyMaterial).refine((k) => Object.keys(k).length > 0, 'at least one key'),
  })
  .strict()
  .refine((f) => f.active in f.keys, { message: 'the active key must be one of keys', path: ['active'] });
export type KeyRingFile = z.infer<typeof KeyRingFile>;

export interface KeyRing {
  active: string;
  keys: ReadonlyMap<string, Buffer>;
}

export class CodecKeyError extends Error {
  override name = 'CodecKeyError';
}

function ringOf(file: KeyRingFile): KeyRing {
  return { active: file.active, keys: new Map(Object.entries(file.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')])) };
}

function issuesOf(e: z.ZodError): string {
  return e.issues.map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`).join('\n');
}

/** Reads and checks a key ring file. */
export function readKeyRingFile(file: string): KeyRing {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CodecKeyError(`codec key ring ${file}: ${(e as Error).message}`);
  }
  const parsed = KeyRingFile.safeParse(json);
  if (!parsed.success) throw new CodecKeyError(`codec key ring ${file} is not valid:\n${issuesOf(parsed.error)}`);
  return ringOf(parsed.data);
}

/**
 * Reads a key ring from RECOUP_CODEC_KEYS ("id=base64,id2=base64") and RECOUP_CODEC_ACTIVE_KEY
 * (default: the last key listed).
 */
export function parseKeyRingEnv(keys: string, active?: string): KeyRing {
  const entries = keys
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const at = s.indexOf('=');
      return at < 0 ? [s, ''] : [s.slice(0, at), s.slice(at + 1)];
    });
  const parsed = KeyRingFile.safeParse({ active: active ?? entries.at(-1)?.[0] ?? '', keys: Object.fromEntries(entries) });
  if (!parsed.success) throw new CodecKeyError(`RECOUP_CODEC_KEYS / RECOUP_CODEC_ACTIVE_KEY are not valid:\n${issuesOf(parsed.error)}`);
  return ringOf(parsed.data);
}

/** A new key ring file with one random key (mode 0600), unless the file is there; returns its ring. */
export function ensureKeyRingFile(file: string, keyId = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): KeyRing {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    const ring: KeyRingFile = { active: keyId, keys: { [keyId]: randomBytes(32).toString('base64') } };
    writeFileSync(file, `${JSON.stringify(ring, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  return readKeyRingFile(file);
}

/** AES-256-GCM over the whole payload (metadata and data), deflated first when that pays. */
export class EncryptionCodec implements PayloadCodec {
  /** The ring's keys as key objects, made once (a raw key is imported again on every cipher made with it). */
  private readonly keyObjects: ReadonlyMap<string, KeyObject>;
  private ivPool = Buffer.alloc(0);
  private ivAt = 0;

  constructor(private readonly ring: KeyRing) {
    if (!ring.keys.has(ring.active)) throw new CodecKeyError(`the active key ${ring.active} is not in the key ring`);
    this.keyObjects = new Map([...ring.keys].map(([id, key]) => [id, createSecretKey(key)]));
  }

  /** A fresh random IV (never one handed out before: the pool is refilled, not reused). */
  private nextIv(): Buffer {
    if (this.ivAt + IV_BYTES > this.ivPool.length) {
      this.ivPool = randomFillSync(Buffer.allocUnsafe(IV_POOL_BYTES));
      this.ivAt = 0;
    }
    const iv = this.ivPool.subarray(this.ivAt, this.ivAt + IV_BYTES);
    this.ivAt += IV_BYTES;
    return iv;
  }

  get activeKeyId(): string {
    return this.ring.active;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encodeOne(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decodeOne(p));
  }

  encodeOne(payload: Payload): Payload {
    const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    let flags = 0;
    let body: Uint8Array = plain;
    if (plain.length >= COMPRESS_FROM_BYTES) {
      const deflated = deflateRawSync(plain, DEFLATE);
      if (deflated.length < plain.length) {
        body = deflated;
        flags |= FLAG_DEFLATE;
      }
    }
    const keyId = this.ring.active;
    const iv = this.nextIv();
    const header = Buffer.from([FORMAT_VERSION, flags]);
    const cipher = createCipheriv('aes-256-gcm', this.keyObjects.get(keyId)!, iv);
    cipher.setAAD(Buffer.concat([header, Buffer.from(keyId)]));
    const data = Buffer.concat([header, iv, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(keyId) },
      data,
    };
  }

  /** An encrypted payload decrypted; any other (written before encryption was on) as it is. */
  decodeOne(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString() : undefined;
    if (encoding !== ENCRYPTED_ENCODING) return payload;
    const keyId = payload.metadata?.[KEY_ID_METADATA] ? Buffer.from(payload.metadata[KEY_ID_METADATA]).toString() : '';
    const key = this.keyObjects.get(keyId);
    if (!key)
      throw new CodecKeyError(
        `payload encrypted with key "${keyId}", which is not in the key ring (keys: ${[...this.ring.keys.keys()].join(', ')})`,
      );
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < 2 + IV_BYTES + TAG_BYTES || data[0] !== FORMAT_VERSION) {
      throw new CodecKeyError(`encrypted payload in an unknown format (version ${data[0]})`);
    }
    const header = data.subarray(0, 2);
    const iv = data.subarray(2, 2 + IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.concat([header, Buffer.from(keyId)]));
    decipher.setAuthTag(tag);
    let body: Buffer;
    try {
      body = Buffer.concat([decipher.update(data.subarray(2 + IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CodecKeyError(`encrypted payload (key "${keyId}") failed authentication: altered, or another key under that id`);
    }
    const plain = header[1]! & FLAG_DEFLATE ? inflateRawSync(body) : body;
    const decoded = proto.temporal.api.common.v1.Payload.decode(plain);
    return { metadata: decoded.metadata ?? {}, data: decoded.data ?? new Uint8Array() };
  }
}

/**
 * The data converter of every Recoup client and worker. Failure messages are not payloads: they stay
 * readable (like search attributes) and carry ids, never a debtor's particulars; their details are
 * payloads and are encrypted.
 */
export function dataConverterFor(codec: PayloadCodec | undefined): { payloadCodecs?: PayloadCodec[] } {
  return codec ? { payloadCodecs: [codec] } : {};
}

/**
 * The codec the configuration asks for: the key ring from RECOUP_CODEC_KEYS_FILE or RECOUP_CODEC_KEYS;
 * none when encryption is off. Encryption on without keys is refused: nothing personal goes out in clear
 * by omission.
 */
export function codecFromConfig(c: Config['codec']): EncryptionCodec | undefined {
  if (!c.encryption) return undefined;
  if (c.keysFile) return new EncryptionCodec(readKeyRingFile(c.keysFile));
  if (c.keys) return new EncryptionCodec(parseKeyRingEnv(c.keys, c.activeKey));
  throw new CodecKeyError(
    'payloads are encrypted (RECOUP_PAYLOAD_ENCRYPTION) but no key ring is configured: set RECOUP_CODEC_KEYS_FILE ' +
      '(create one with `npm run codec-key -- add <file>`) or RECOUP_CODEC_KEYS, or RECOUP_PAYLOAD_ENCRYPTION=false',
  );
}
