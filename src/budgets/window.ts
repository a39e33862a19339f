/**
 * Budget windows. A window maps an instant to a *bucket* (an integer) and the range of buckets that count:
 * - calendar (`day`, `week` (ISO, Monday), `month`) in an IANA time zone: one bucket per window, numbered by the
 *   window's start (ms since epoch); only the current bucket counts; it resets at the next window's start.
 * - rolling (`rolling: 24h`): the window is split in ROLLING_BUCKETS buckets of window/ROLLING_BUCKETS; the last
 *   ROLLING_BUCKETS buckets count, so spend leaves the window at most one bucket (1/24 of it) late, never early.
 */
export type WindowSpec = { kind: 'calendar'; unit: 'day' | 'week' | 'month'; tz: string } | { kind: 'rolling'; ms: number };

export const ROLLING_BUCKETS = 24;

export interface WindowAt {
  /** The bucket spend is added to now. */
  bucket: number;
  /** The oldest bucket that still counts. */
  minBucket: number;
  /** When the budget next resets (calendar: the next window's start; rolling: when the oldest counted bucket leaves). */
  resetsAt: number;
  /** How long a bucket must be kept (ms from now). */
  keepMs: number;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `24h`, `30m`, `7d`, `90s` → ms; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+)\s*([smhd])$/.exec(s.trim());
  if (!m) return undefined;
  const v = Number(m[1]) * UNITS[m[2]!]!;
  return v > 0 ? v : undefined;
}

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function fmt(tz: string): Intl.DateTimeFormat {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    fmtCache.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of an instant in a zone. */
export function zonedParts(t: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const p: Record<string, number> = {};
  for (const x of fmt(tz).formatToParts(new Date(t))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return { y: p.year!, mo: p.month!, d: p.day!, h: p.hour! % 24, mi: p.minute!, s: p.second! };
}

function offsetAt(t: number, tz: string): number {
  const p = zonedParts(t, tz);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - Math.floor(t / 1000) * 1000;
}

/** The instant of a local midnight (y, month 1-12, d may overflow) in a zone. */
export function zonedMidnight(y: number, mo: number, d: number, tz: string): number {
  const wall = Date.UTC(y, mo - 1, d);
  let t = wall - offsetAt(wall, tz);
  t = wall - offsetAt(t, tz);
  return t;
}

/** Start and end of the calendar window containing `t`. */
export function calendarRange(unit: 'day' | 'week' | 'month', tz: string, t: number): { start: number; end: number } {
  const p = zonedParts(t, tz);
  if (unit === 'day') return { start: zonedMidnight(p.y, p.mo, p.d, tz), end: zonedMidnight(p.y, p.mo, p.d + 1, tz) };
  if (unit === 'month') return { start: zonedMidnight(p.y, p.mo, 1, tz), end: zonedMidnight(p.y, p.mo + 1, 1, tz) };
  const dow = (new Date(Date.UTC(p.y, p.mo - 1, p.d)).getUTCDay() + 6) % 7; // Monday = 0
  return { start: zonedMidnight(p.y, p.mo, p.d - dow, tz), end: zonedMidnight(p.y, p.mo, p.d - dow + 7, tz) };
}

export function windowAt(w: WindowSpec, t: number): WindowAt {
  if (w.kind === 'calendar') {
    const { start, end } = calendarRange(w.unit, w.tz, t);
    return { bucket: start, minBucket: start, resetsAt: end, keepMs: end - t + 86_400_000 };
  }
  const size = Math.max(1, Math.ceil(w.ms / ROLLING_BUCKETS));
  const bucket = Math.floor(t / size);
  const minBucket = bucket - ROLLING_BUCKETS + 1;
  return { bucket, minBucket, resetsAt: (minBucket + ROLLING_BUCKETS) * size, keepMs: w.ms + 2 * size };
}

export function describeWindow(w: WindowSpec): string {
  return w.kind === 'calendar' ? `${w.unit} (${w.tz})` : `rolling ${Math.round(w.ms / 1000)}s`;
}
