// The payload codec alone: AES-256-GCM over the whole payload, a key ring, compression where it pays.
import { defaultPayloadConverter } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CodecKeyError,
  codecFromConfig,
  EncryptionCodec,
  ENCRYPTED_ENCODING,
  ensureKeyRingFile,
  KEY_ID_METADATA,
  parseKeyRingEnv,
  readKeyRingFile,
  type KeyRing,
} from '../shared/codec';

const key = () => randomBytes(32);
const ring = (active: string, ...ids: string[]): KeyRing => ({ active, keys: new Map(ids.map((id) => [id, KEYS[id]!])) });
const KEYS: Record<string, Buffer> = { k1: key(), k2: key() };
const DEBTOR = { name: '王建国', idNumber: '110101199003071234', phones: ['+86 138 0000 0000'], address: '北京市海淀区中关村大街1号' };
const meta = (p: { metadata?: Record<string, Uint8Array> | null }, k: string) => Buffer.from(p.metadata?.[k] ?? []).toString();

describe('EncryptionCodec', () => {
  it('round-trips a payload, metadata and all, and leaves nothing of it readable', async () => {
    const codec = new EncryptionCodec(ring('k1', 'k1'));
    const plain = defaultPayloadConverter.toPayload(DEBTOR);
    const [enc] = await codec.encode([plain]);
    expect(meta(enc!, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(enc!, KEY_ID_METADATA)).toBe('k1');
    const bytes = Buffer.from(enc!.data!);
    for (const s of [DEBTOR.name, DEBTOR.idNumber, DEBTOR.phones[0]!, DEBTOR.address, 'json/plain']) {
      expect(bytes.includes(Buffer.from(s))).toBe(false);
    }
    const [dec] = await codec.decode([enc!]);
    expect(defaultPayloadConverter.fromPayload(dec!)).toEqual(DEBTOR);
    expect(meta(dec!, 'encoding')).toBe('json/plain');
  });

  it('deflates a large payload before encrypting it, and not a small one', async () => {
    const codec = new EncryptionCodec(ring('k1', 'k1'));
    const big = defaultPayloadConverter.toPayload({ timeline: Array.from({ length: 200 }, (_, i) => `day ${i}: call placed`) });
    const [enc] = await codec.encode([big]);
    expect(enc!.data!.length).toBeLessThan(big.data!.length / 3);
    expect(enc!.data![1]).toBe(1); // the deflate flag
    const [small] = await codec.encode([defaultPayloadConverter.toPayload('ok')]);
    expect(small!.data![1]).toBe(0);
    expect(defaultPayloadConverter.fromPayload((await codec.decode([enc!]))[0]!)).toEqual(defaultPayloadConverter.fromPayload(big));
  });

  it('uses a fresh IV each time: the same value never encrypts the same way twice', async () => {
    const codec = new EncryptionCodec(ring('k1', 'k1'));
    const p = defaultPayloadConverter.toPayload(DEBTOR);
    const [a, b] = await codec.encode([p, p]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('reads payloads under every key of the ring and writes under the active one (rotation)', async () => {
    const old = new EncryptionCodec(ring('k1', 'k1'));
    const rotated = new EncryptionCodec(ring('k2', 'k1', 'k2'));
    const [underK1] = await old.encode([defaultPayloadConverter.toPayload(DEBTOR)]);
    const [underK2] = await rotated.encode([defaultPayloadConverter.toPayload(DEBTOR)]);
    expect(meta(underK2!, KEY_ID_METADATA)).toBe('k2');
    for (const p of await rotated.decode([underK1!, underK2!])) expect(defaultPayloadConverter.fromPayload(p)).toEqual(DEBTOR);
    // A ring that dropped k1 says which key it lacks.
    await expect(new EncryptionCodec(ring('k2', 'k2')).decode([underK1!])).rejects.toThrow(/key "k1", which is not in the key ring/);
  });

  it('refuses an altered payload, and a key swapped under the same id', async () => {
    const codec = new EncryptionCodec(ring('k1', 'k1'));
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload(DEBTOR)]);
    const tampered = Buffer.from(enc!.data!);
    tampered[20] = tampered[20]! ^ 1;
    await expect(codec.decode([{ ...enc!, data: tampered }])).rejects.toThrow(CodecKeyError);
    const impostor = new EncryptionCodec({ active: 'k1', keys: new Map([['k1', key()]]) });
    await expect(impostor.decode([enc!])).rejects.toThrow(/failed authentication/);
  });

  it('passes through payloads written before encryption was on', async () => {
    const codec = new EncryptionCodec(ring('k1', 'k1'));
    const plain = defaultPayloadConverter.toPayload({ stage: 'open' });
    expect(await codec.decode([plain])).toEqual([plain]);
  });
});

describe('key ring configuration', () => {
  it('reads RECOUP_CODEC_KEYS, the last key active unless named', () => {
    const a = KEYS.k1!.toString('base64');
    const b = KEYS.k2!.toString('base64');
    expect(parseKeyRingEnv(`k1=${a},k2=${b}`).active).toBe('k2');
    expect(parseKeyRingEnv(`k1=${a},k2=${b}`, 'k1').active).toBe('k1');
    expect(() => parseKeyRingEnv(`k1=${a}`, 'k9')).toThrow(/active key must be one of keys/);
    expect(() => parseKeyRingEnv('k1=c2hvcnQ=')).toThrow(/32 bytes, base64/);
    expect(() => parseKeyRingEnv(`bad id=${a}`)).toThrow(/letters, digits/);
  });

  it('creates a key ring file once (mode 0600) and reads it back; a broken file is named with its problems', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'recoup-codec-'));
    const file = path.join(dir, 'keys.json');
    const r1 = ensureKeyRingFile(file, 'k1');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = ensureKeyRingFile(file, 'other');
    expect(again.active).toBe('k1');
    expect(again.keys.get('k1')!.equals(r1.keys.get('k1')!)).toBe(true);
    writeFileSync(file, JSON.stringify({ active: 'k1', keys: { k1: 'too short' } }));
    expect(() => readKeyRingFile(file)).toThrow(/keys\.k1: 32 bytes, base64/);
    expect(readFileSync(file, 'utf8')).toContain('too short');
  });

  it('refuses to run encrypted without keys, and runs in clear only when told', () => {
    expect(() => codecFromConfig({ encryption: true, corsOrigins: [] })).toThrow(/no key ring is configured/);
    expect(codecFromConfig({ encryption: false, corsOrigins: [] })).toBeUndefined();
    const keys = `k1=${KEYS.k1!.toString('base64')}`;
    expect(codecFromConfig({ encryption: true, keys, corsOrigins: [] })?.activeKeyId).toBe('k1');
  });
});
