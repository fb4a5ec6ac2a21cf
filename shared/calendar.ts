/**
 * Local dates and times in the debtor's time zone, from Intl alone (no Temporal import, no
 * library), so the workflow sandbox and plain Node compute the same instants.
 * A local date is 'YYYY-MM-DD'; a local time is 'HH:MM'.
 */
const MS_PER_DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * Recent answers of partsAt: formatToParts is the costliest call here, and a case asks about the same
 * few instants many times in one wake. Pure (same instant and zone, same parts), so safe to share
 * between workflows in one sandbox; emptied when full.
 */
const recentParts = new Map<string, Parts>();
const RECENT_PARTS_MAX = 4096;

function partsAt(instantMs: number, timeZone: string): Parts {
  const key = `${timeZone}|${instantMs}`;
  const known = recentParts.get(key);
  if (known) return known;
  const p: Record<string, number> = {};
  for (const { type, value } of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (type !== 'literal') p[type] = Number(value);
  }
  const parts = { year: p.year!, month: p.month!, day: p.day!, hour: p.hour! % 24, minute: p.minute!, second: p.second! };
  if (recentParts.size >= RECENT_PARTS_MAX) recentParts.clear();
  recentParts.set(key, Object.freeze(parts));
  return parts;
}

/** Offset of the zone from UTC at an instant, in ms (Asia/Shanghai: +8 h). */
function offsetAt(instantMs: number, timeZone: string): number {
  const p = partsAt(instantMs, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/** The local calendar date at an instant. */
export function localDate(instantMs: number, timeZone: string): string {
  const p = partsAt(instantMs, timeZone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** The local wall-clock time 'HH:MM' at an instant. */
export function localTime(instantMs: number, timeZone: string): string {
  const p = partsAt(instantMs, timeZone);
  return `${pad(p.hour)}:${pad(p.minute)}`;
}

/**
 * The instant at which the local clock in `timeZone` shows `date` `time`. In a daylight-saving gap
 * the time does not exist: the instant is the one just after the gap (02:30 → 03:30 wall time).
 * In an overlap, the earlier instant.
 */
export function instantOf(date: string, time: string, timeZone: string): number {
  const key = `${date} ${time} ${timeZone}`;
  let instant = instants.get(key);
  if (instant === undefined) {
    if (instants.size >= 10_000) instants.clear(); // bounded: the ladder asks about a few days at a time
    instant = computeInstantOf(date, time, timeZone);
    instants.set(key, instant);
  }
  return instant;
}

/** instantOf is pure, and the decision core asks it the same questions many times. */
const instants = new Map<string, number>();

function computeInstantOf(date: string, time: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  // Offsets in force around that wall time (zones change offset at most once within a day).
  const before = offsetAt(wall - 14 * 3_600_000, timeZone);
  const after = offsetAt(wall + 14 * 3_600_000, timeZone);
  const shows = (t: number) => localDate(t, timeZone) === date && localTime(t, timeZone) === time;
  const candidates = [wall - before, wall - after].filter(shows);
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before; // in the gap: the offset before the change moves the time past the gap
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d) + days * MS_PER_DAY);
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

/** Whole calendar days from `a` to `b` (b − a). */
export function daysBetween(a: string, b: string): number {
  const [ay, am, ad] = a.split('-').map(Number) as [number, number, number];
  const [by, bm, bd] = b.split('-').map(Number) as [number, number, number];
  return Math.round((Date.UTC(by, bm - 1, bd) - Date.UTC(ay, am - 1, ad)) / MS_PER_DAY);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
