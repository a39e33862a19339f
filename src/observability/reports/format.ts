/** Report output: aligned text tables, CSV and JSON. Money printed from integer nano-dollars, exactly. */
import { nanosToUsd } from '../../pricing/decimal.js';
import type { Summary, SummaryRow } from './summary.js';

export const usd = (nanos: number | bigint): string => {
  const s = nanosToUsd(nanos);
  const [i, f] = s.split('.');
  // Cents from $100 up; below that at least 6 decimals, and the nano-dollar digits only when they are not zero.
  return (nanos < 0 ? -BigInt(nanos) : BigInt(nanos)) >= 100_000_000_000n ? `$${i}.${f!.slice(0, 2)}` : `$${i}.${f!.replace(/0{1,3}$/, '')}`;
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
