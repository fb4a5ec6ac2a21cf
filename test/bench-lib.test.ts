import { describe, expect, it } from 'vitest';
import { zoneAtLocalHour } from '../bench/lib';
import { localTime } from '../shared/calendar';

describe('bench: zoneAtLocalHour', () => {
  it('names a zone whose local hour is the one asked, at every UTC hour of the day', () => {
    const day = Date.parse('2026-12-06T00:20:00Z');
    for (let h = 0; h < 24; h++) {
      const now = day + h * 3_600_000;
      for (const want of [2, 12, 13]) {
        const zone = zoneAtLocalHour(want, now);
        expect(localTime(now, zone).slice(0, 2), `${zone} at ${new Date(now).toISOString()}`).toBe(String(want).padStart(2, '0'));
      }
    }
  });
});
