/** Time arguments for reports and queries: `7d`, `24h`, `30m`, `2w`, an ISO date/time, or epoch milliseconds. */
import { GatewayError } from '../../pipeline/errors.js';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

export function parseTime(v: string, now = Date.now(), param = 'since'): number {
  const rel = /^(\d+(?:\.\d+)?)([mhdw])$/.exec(v.trim());
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (/^\d{10,}$/.test(v)) return Number(v);
  // Only ISO 8601 dates and times: Date.parse alone guesses at free text ('7' is July 2001, 'x 2025' is 1 January
  // 2025) and rolls impossible dates over ('2025-02-30' is 2 March), silently reporting on the wrong window.
  const iso = /^(\d{4})-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?)?)?$/.exec(v.trim());
  const t = iso ? Date.parse(v.trim()) : NaN;
  const [, y, mo, d = '01', h = '00', mi = '00', sec = '00'] = iso ?? [];
  const calendar = iso ? new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))) : undefined;
  const valid = calendar && calendar.getUTCMonth() === Number(mo) - 1 && calendar.getUTCDate() === Number(d) && Number(h) < 24 && Number(mi) < 60 && Number(sec) < 60;
  if (!valid || !Number.isFinite(t)) throw new GatewayError('invalid_value', `${param}: expected 7d / 24h / 30m / an ISO date / epoch ms, got '${v}'`, { param });
  return t;
}

/** UTC month boundaries [start, end) for `YYYY-MM`, or for the month containing `now`. */
export function monthRange(month?: string, now = new Date()): { start: number; end: number; label: string } {
  let y = now.getUTCFullYear();
  let m = now.getUTCMonth();
  if (month) {
    const mm = /^(\d{4})-(\d{2})$/.exec(month);
    if (!mm || Number(mm[2]) < 1 || Number(mm[2]) > 12) throw new GatewayError('invalid_value', `month: expected YYYY-MM, got '${month}'`, { param: 'month' });
    y = Number(mm[1]);
    m = Number(mm[2]) - 1;
  }
  const start = Date.UTC(y, m, 1);
  const end = Date.UTC(y, m + 1, 1);
  return { start, end, label: `${y}-${String(m + 1).padStart(2, '0')}` };
}
