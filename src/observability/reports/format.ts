/** Report output: aligned text tables, CSV and JSON. Money printed from integer µ$, exactly. */
import { microsToUsd } from '../../pricing/decimal.js';
import type { Summary, SummaryRow } from './summary.js';

export const usd = (micros: number): string => {
  const s = microsToUsd(micros);
  const [i, f] = s.split('.');
  // Show cents for large amounts, full µ$ precision for small ones.
  return Math.abs(micros) >= 100_000_000 ? `$${i}.${f!.slice(0, 2)}` : `$${i}.${f}`;
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');

const COLUMNS: [string, (r: SummaryRow) => string][] = [
  ['requests', (r) => int(r.requests)],
  ['input tok', (r) => int(r.inputTokens)],
  ['output tok', (r) => int(r.outputTokens)],
  ['cost', (r) => usd(r.costMicros)],
  ['share', (r) => pct(r.costShare)],
  ['saved', (r) => usd(r.savedMicros)],
  ['cache hit', (r) => pct(r.cacheHitRate)],
  ['errors', (r) => pct(r.errorRate)],
  ['avg out', (r) => r.avgOutputTokens.toFixed(1)],
  ['$/1k req', (r) => usd(r.costPer1kMicros)],
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
      microsToUsd(r.costMicros), microsToUsd(r.baselineCostMicros), microsToUsd(r.savedMicros),
      r.cacheHitRate.toFixed(4), r.errorRate.toFixed(4), r.avgOutputTokens.toFixed(2), microsToUsd(r.costPer1kMicros),
    ].map((v) => esc(String(v))).join(','),
  );
  return [head.join(','), ...rows].join('\n') + '\n';
}

/** JSON with money as exact decimal strings (USD) next to integer µ$. */
export function summaryJson(s: Summary): unknown {
  const conv = (r: SummaryRow) => ({ ...r, costUsd: microsToUsd(r.costMicros), baselineCostUsd: microsToUsd(r.baselineCostMicros), savedUsd: microsToUsd(r.savedMicros) });
  return { by: s.by, filter: s.filter, rows: s.rows.map(conv), total: conv(s.total) };
}
