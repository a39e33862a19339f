/** Report output: aligned text tables, CSV and JSON. Money printed from integer nano-dollars, exactly. */
import { nanosToUsd } from '../../pricing/decimal.js';
import type { Summary, SummaryRow } from './summary.js';

export const usd = (nanos: number | bigint): string => {
  const s = nanosToUsd(nanos);
  const sign = s.startsWith('-') ? '-' : '';
  const [i, f] = s.replace('-', '').split('.');
  // Cents from $100 up; below that 6 decimals, or all 9 when the nano-dollar digits are not zero.
  const abs = nanos < 0 ? -BigInt(nanos) : BigInt(nanos);
  if (abs >= 100_000_000_000n) {
    // Rounded to the cent, half to even (display only: exports keep every nano-dollar).
    let cents = abs / 10_000_000n;
    const r2 = (abs % 10_000_000n) * 2n;
    if (r2 > 10_000_000n || (r2 === 10_000_000n && cents % 2n === 1n)) cents += 1n;
    return `${sign}$${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
  }
  return `${sign}$${i}.${f!.endsWith('000') ? f!.slice(0, 6) : f}`;
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');

const COLUMNS: [string, (r: SummaryRow) => string][] = [
  ['requests', (r) => int(r.requests)],
  ['input tok', (r) => int(r.inputTokens)],
  ['output tok', (r) => int(r.outputTokens)],
  ['cost', (r) => usd(r.costNanos)],
  ['share', (r) => pct(r.costShare)],
  ['saved', (r) => usd(r.savedNanos)],
  ['cache hit', (r) => pct(r.cacheHitRate)],
  ['errors', (r) => pct(r.errorRate)],
  ['avg out', (r) => r.avgOutputTokens.toFixed(1)],
  ['$/1k req', (r) => usd(r.costPer1kNanos)],
];

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < headers.length - COLUMNS.length && headers.length > COLUMNS.length ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function summaryTable(s: Summary): string {
  const groupHeaders = s.by.length ? s.by : ['all'];
  const rows = s.rows.map((r) => [...(s.by.length ? s.by.map((k) => r.group[k] ?? '(none)') : ['all']), ...COLUMNS.map(([, f]) => f(r))]);
  if (s.by.length) rows.push([...s.by.map((_, i) => (i === 0 ? 'TOTAL' : '')), ...COLUMNS.map(([, f]) => f(s.total))]);
  return table([...groupHeaders, ...COLUMNS.map(([h]) => h)], rows);
}

export function summaryCsv(s: Summary): string {
  const head = [...s.by, 'requests', 'errors', 'input_tokens', 'cached_tokens', 'output_tokens', 'cost_usd', 'baseline_cost_usd', 'saved_usd', 'cache_hit_rate', 'error_rate', 'avg_output_tokens', 'cost_per_1k_requests_usd'];
  const esc = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rows = s.rows.map((r) =>
    [
      ...s.by.map((k) => r.group[k] ?? ''),
      r.requests, r.errors, r.inputTokens, r.cachedTokens, r.outputTokens,
      nanosToUsd(r.costNanos), nanosToUsd(r.baselineCostNanos), nanosToUsd(r.savedNanos),
      r.cacheHitRate.toFixed(4), r.errorRate.toFixed(4), r.avgOutputTokens.toFixed(2), nanosToUsd(r.costPer1kNanos),
    ].map((v) => esc(String(v))).join(','),
  );
  return [head.join(','), ...rows].join('\n') + '\n';
}

/**
 * JSON with money as exact decimal USD strings next to integer nano-dollars, which are also strings here: a report's
 * sums can pass 2^53 n$ (~$9 million), beyond what a JSON number reliably carries.
 */
export function summaryJson(s: Summary): unknown {
  const conv = (r: SummaryRow) => ({
    ...r,
    costNanos: String(r.costNanos),
    baselineCostNanos: String(r.baselineCostNanos),
    savedNanos: String(r.savedNanos),
    costPer1kNanos: String(r.costPer1kNanos),
    costUsd: nanosToUsd(r.costNanos),
    baselineCostUsd: nanosToUsd(r.baselineCostNanos),
    savedUsd: nanosToUsd(r.savedNanos),
  });
  return { by: s.by, filter: s.filter, rows: s.rows.map(conv), total: conv(s.total) };
}
