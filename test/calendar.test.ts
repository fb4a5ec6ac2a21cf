import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, instantOf, isValidTimeZone, localDate, localTime } from '../shared/calendar';

const SH = 'Asia/Shanghai';
const NY = 'America/New_York';
const iso = (ms: number) => new Date(ms).toISOString();

describe('instantOf / localDate / localTime in Asia/Shanghai (UTC+8, no DST)', () => {
  it('maps local wall time to the instant 8 hours earlier', () => {
    expect(iso(instantOf('2026-03-02', '09:00', SH))).toBe('2026-03-02T01:00:00.000Z');
    expect(iso(instantOf('2026-03-02', '00:00', SH))).toBe('2026-03-01T16:00:00.000Z');
    expect(iso(instantOf('2026-03-02', '23:59', SH))).toBe('2026-03-02T15:59:00.000Z');
    expect(iso(instantOf('2026-07-15', '18:00', SH))).toBe('2026-07-15T10:00:00.000Z'); // same offset all year
  });

  it('reads the local date and time at an instant, across the UTC date line', () => {
    expect(localDate(Date.parse('2026-03-02T01:00:00Z'), SH)).toBe('2026-03-02');
    expect(localTime(Date.parse('2026-03-02T01:00:00Z'), SH)).toBe('09:00');
    expect(localDate(Date.parse('2026-03-01T15:59:59Z'), SH)).toBe('2026-03-01');
    expect(localTime(Date.parse('2026-03-01T15:59:59Z'), SH)).toBe('23:59');
    expect(localDate(Date.parse('2026-03-01T16:00:00Z'), SH)).toBe('2026-03-02');
    expect(localTime(Date.parse('2026-03-01T16:00:00Z'), SH)).toBe('00:00');
    expect(localDate(Date.parse('2026-12-31T16:30:00Z'), SH)).toBe('2027-01-01');
    expect(localTime(Date.parse('2026-12-31T16:30:00Z'), SH)).toBe('00:30');
  });

  it('round-trips every half hour of a day', () => {
    for (let h = 0; h < 24; h++) {
      for (const m of ['00', '30']) {
        const time = `${String(h).padStart(2, '0')}:${m}`;
        const t = instantOf('2026-03-02', time, SH);
        expect(localDate(t, SH)).toBe('2026-03-02');
        expect(localTime(t, SH)).toBe(time);
      }
    }
  });
});

describe('instantOf / localDate / localTime in America/New_York (DST)', () => {
  it('uses EST (UTC−5) in winter and EDT (UTC−4) in summer', () => {
    expect(iso(instantOf('2026-01-15', '09:00', NY))).toBe('2026-01-15T14:00:00.000Z');
    expect(iso(instantOf('2026-07-15', '09:00', NY))).toBe('2026-07-15T13:00:00.000Z');
    expect(localTime(Date.parse('2026-01-15T14:00:00Z'), NY)).toBe('09:00');
    expect(localTime(Date.parse('2026-07-15T13:00:00Z'), NY)).toBe('09:00');
    expect(localDate(Date.parse('2026-07-16T03:59:00Z'), NY)).toBe('2026-07-15');
    expect(localTime(Date.parse('2026-07-16T03:59:00Z'), NY)).toBe('23:59');
    expect(localDate(Date.parse('2026-07-16T04:00:00Z'), NY)).toBe('2026-07-16');
  });

  it('around the spring-forward gap (2026-03-08 02:00 → 03:00)', () => {
    expect(iso(instantOf('2026-03-08', '01:59', NY))).toBe('2026-03-08T06:59:00.000Z'); // EST
    expect(iso(instantOf('2026-03-08', '03:00', NY))).toBe('2026-03-08T07:00:00.000Z'); // EDT
    expect(iso(instantOf('2026-03-08', '09:00', NY))).toBe('2026-03-08T13:00:00.000Z');
    expect(iso(instantOf('2026-03-08', '00:00', NY))).toBe('2026-03-08T05:00:00.000Z');
    expect(localTime(Date.parse('2026-03-08T06:59:00Z'), NY)).toBe('01:59');
    expect(localTime(Date.parse('2026-03-08T07:00:00Z'), NY)).toBe('03:00');
  });

  it('maps a time inside the gap to the instant just after it (02:30 → 03:30 EDT)', () => {
    const t = instantOf('2026-03-08', '02:30', NY);
    expect(iso(t)).toBe('2026-03-08T07:30:00.000Z');
    expect(localDate(t, NY)).toBe('2026-03-08');
    expect(localTime(t, NY)).toBe('03:30');
    expect(iso(instantOf('2026-03-08', '02:00', NY))).toBe('2026-03-08T07:00:00.000Z'); // 03:00 EDT
  });

  it('around the fall-back overlap (2026-11-01 02:00 → 01:00) takes the earlier instant', () => {
    const t = instantOf('2026-11-01', '01:30', NY);
    expect(iso(t)).toBe('2026-11-01T05:30:00.000Z'); // 01:30 EDT, not 06:30Z (01:30 EST)
    expect(localTime(t, NY)).toBe('01:30');
    expect(localTime(Date.parse('2026-11-01T06:30:00Z'), NY)).toBe('01:30'); // the later one shows the same
    expect(iso(instantOf('2026-11-01', '00:59', NY))).toBe('2026-11-01T04:59:00.000Z');
    expect(iso(instantOf('2026-11-01', '02:00', NY))).toBe('2026-11-01T07:00:00.000Z'); // EST
    expect(iso(instantOf('2026-11-01', '09:00', NY))).toBe('2026-11-01T14:00:00.000Z');
    expect(iso(instantOf('2026-10-31', '09:00', NY))).toBe('2026-10-31T13:00:00.000Z');
  });
});

describe('isValidTimeZone', () => {
  it('accepts IANA zones and refuses nonsense', () => {
    expect(isValidTimeZone(SH)).toBe(true);
    expect(isValidTimeZone(NY)).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('addDays', () => {
  it('crosses month and year ends', () => {
    expect(addDays('2026-03-01', 1)).toBe('2026-03-02');
    expect(addDays('2026-03-02', 30)).toBe('2026-04-01');
    expect(addDays('2026-01-31', 1)).toBe('2026-02-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31');
    expect(addDays('2026-03-02', 0)).toBe('2026-03-02');
  });

  it('knows the leap years (2028 and 2000 are, 2026 and 2100 are not)', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2028-02-29', 1)).toBe('2028-03-01');
    expect(addDays('2000-02-28', 1)).toBe('2000-02-29');
    expect(addDays('2100-02-28', 1)).toBe('2100-03-01');
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
    expect(addDays('2028-01-01', 366)).toBe('2029-01-01');
  });

  it('is not shifted by a DST change (dates have no time zone)', () => {
    expect(addDays('2026-03-07', 1)).toBe('2026-03-08');
    expect(addDays('2026-03-08', 1)).toBe('2026-03-09');
    expect(addDays('2026-10-31', 2)).toBe('2026-11-02');
  });
});

describe('daysBetween', () => {
  it('counts whole calendar days, signed', () => {
    expect(daysBetween('2026-03-02', '2026-03-02')).toBe(0);
    expect(daysBetween('2026-03-02', '2026-04-01')).toBe(30);
    expect(daysBetween('2026-04-01', '2026-03-02')).toBe(-30);
    expect(daysBetween('2026-02-01', '2026-03-01')).toBe(28);
    expect(daysBetween('2028-02-01', '2028-03-01')).toBe(29);
    expect(daysBetween('2026-01-01', '2027-01-01')).toBe(365);
    expect(daysBetween('2028-01-01', '2029-01-01')).toBe(366);
    expect(daysBetween('2026-03-01', '2026-11-30')).toBe(274);
  });

  it('is the inverse of addDays', () => {
    for (const n of [-400, -1, 0, 1, 27, 28, 29, 365, 366, 1000]) {
      expect(daysBetween('2028-02-28', addDays('2028-02-28', n))).toBe(n);
    }
  });
});
