import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger, loggedPath, maskPii } from '../api/logging';

/** What the API's logger writes, parsed: one object per line. */
function capture() {
  const lines: string[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(line) });
  return { log, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('the API log masks PII by field', () => {
  it('never alters a request id, nor ids in a path or a message (1,000 random UUIDs)', () => {
    const { log, records } = capture();
    const ids = Array.from({ length: 1_000 }, () => randomUUID());
    for (const id of ids) log.info({ requestId: id, method: 'GET', path: `/v1/cases/ACC-${id}`, status: 200, ms: 1.5 }, `request ${id}`);
    const written = records();
    expect(written.map((r) => r.requestId)).toEqual(ids);
    expect(written.map((r) => r.path)).toEqual(ids.map((id) => `/v1/cases/ACC-${id}`));
    expect(written.map((r) => r.msg)).toEqual(ids.map((id) => `request ${id}`));
  });

  it('still masks phone and ID numbers standing in free text: paths, messages, error details', () => {
    const { log, records } = capture();
    log.info(
      { requestId: 'r-1', path: '/v1/cases/+86 138 1234 5678', err: { message: 'no debtor 110108199001011234 at 13812345678' } },
      'call +1 415-555-0100 now',
    );
    const [r] = records();
    expect(r!.requestId).toBe('r-1');
    expect(r!.path).toBe('/v1/cases/*************5678');
    expect(r!.err).toMatchObject({ message: 'no debtor **************1234 at *******5678' });
    expect(r!.msg).toBe('call ***********0100 now');
  });

  it("withholds the Temporal UI's codec token from a logged path", () => {
    const token = 'AxkvCuQarYeZW9Jdxwb6wRa8PMLGOwl_';
    expect(loggedPath(`/v1/codec/ui/${token}/decode`)).toBe('/v1/codec/ui/***/decode');
    expect(loggedPath(`/v1/codec/ui/${token}`)).toBe('/v1/codec/ui/***');
    expect(loggedPath('/v1/codec/decode')).toBe('/v1/codec/decode');
  });

  it('maskPii leaves digits inside identifiers alone', () => {
    expect(maskPii('f7b6ab20-2144-4083-8e48-0ae75238fcef')).toBe('f7b6ab20-2144-4083-8e48-0ae75238fcef');
    expect(maskPii('ML-2026-11-28-000123456')).toBe('ML-2026-11-28-000123456');
    expect(maskPii('tel 138 1234 5678.')).toBe('tel *********5678.');
  });
});
