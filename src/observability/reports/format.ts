/** Report output: aligned text tables, CSV and JSON. Money printed from integer nano-dollars, exactly. */
import { nanosToUsd } from '../../pricing/decimal.js';
import type { Summary, SummaryRow } from './summary.js';

/** Decimals a dollar amount needs: cents from $100 up; below that 6, or 9 when the nano-dollar digits are not zero. */
function decimalsFor(nanos: number | bigint): 2 | 6 | 9 {
  const abs = nanos < 0 ? -BigInt(nanos) : BigInt(nanos);
  if (abs >= 100_000_000_000n) return 2;
  return abs % 1000n === 0n ? 6 : 9;
}

/** Nano-dollars → "$1.234567" with `decimals` digits; to the cent it rounds half to even (display only). */
function usdWith(nanos: number | bigint, decimals: 2 | 6 | 9): string {
  const n = BigInt(nanos);
  const sign = n < 0n ? '-' : '';
  const abs = n < 0n ? -n : n;
  const unit = 10n ** BigInt(9 - decimals);
  let q = abs / unit;
  const r2 = (abs % unit) * 2n;
  if (r2 > unit || (r2 === unit && q % 2n === 1n)) q += 1n;
  const scale = 10n ** BigInt(decimals);
  return `${sign}$${q / scale}.${String(q % scale).padStart(decimals, '0')}`;
}

/** One amount, as precise as it needs: `$123.46`, `$0.290400`, `$0.000000040`. */
export const usd = (nanos: number | bigint): string => usdWith(nanos, decimalsFor(nanos));

/**
 * A column of amounts at one precision, so they line up: the finest any of them needs (display only — CSV and JSON
 * carry every nano-dollar).
 */
export function usdColumn(values: (number | bigint)[]): string[] {
  const d = Math.max(2, ...values.map(decimalsFor)) as 2 | 6 | 9;
  return values.map((v) => usdWith(v, d));
}
export const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');

type Column = [string, (r: SummaryRow) => string] | [string, (r: SummaryRow) => bigint, 'usd'];

const COLUMNS: Column[] = [
  ['requests', (r) => int(r.requests)],
  ['input tok', (r) => int(r.inputTokens)],
  ['cached', (r) => pct(r.inputTokens ? r.cachedTokens / r.inputTokens : 0)],
  ['output tok', (r) => int(r.outputTokens)],
  ['cost', (r) => r.costNanos, 'usd'],
  ['share', (r) => pct(r.costShare)],
  ['saved', (r) => r.savedNanos, 'usd'],
  ['cache hit', (r) => pct(r.cacheHitRate)],
  ['avoided', (r) => r.avoidedCostNanos, 'usd'],
  ['errors', (r) => pct(r.errorRate)],
  ['avg out', (r) => r.avgOutputTokens.toFixed(1)],
  ['$/1k req', (r) => r.costPer1kNanos, 'usd'],
];

/** Columns of cells → rows; money columns formatted together (see usdColumn). */
function cells(rows: SummaryRow[]): string[][] {
  const cols = COLUMNS.map((c) => (c.length === 3 ? usdColumn(rows.map(c[1])) : rows.map(c[1])));
  return rows.map((_, i) => cols.map((col) => col[i]!));
}

/** An aligned text table: the first `labelColumns` columns left-aligned, the rest (numbers) right-aligned. */
export function table(headers: string[], rows: string[][], labelColumns = 1): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cs: string[]) => cs.map((c, i) => (i < labelColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function summaryTable(s: Summary): string {
  const labels = s.by.length ? s.by : ['all'];
  const all = s.by.length ? [...s.rows, s.total] : s.rows;
  const body = cells(all);
  const rows = all.map((r, i) => [
    ...(s.by.length ? s.by.map((k, j) => (r === s.total ? (j === 0 ? 'TOTAL' : '') : r.group[k] ?? '(none)')) : ['all']),
    ...body[i]!,
  ]);
  return table([...labels, ...COLUMNS.map(([h]) => h)], rows, labels.length);
}

export function summaryCsv(s: Summary): string {
  const head = [...s.by, 'requests', 'errors', 'input_tokens', 'cached_tokens', 'output_tokens', 'cost_usd', 'baseline_cost_usd', 'saved_usd', 'cache_hit_rate', 'error_rate', 'avg_output_tokens', 'cost_per_1k_requests_usd', 'cache_hits', 'avoided_cost_usd'];
  const esc = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rows = s.rows.map((r) =>
    [
      ...s.by.map((k) => r.group[k] ?? ''),
      r.requests, r.errors, r.inputTokens, r.cachedTokens, r.outputTokens,
      nanosToUsd(r.costNanos), nanosToUsd(r.baselineCostNanos), nanosToUsd(r.savedNanos),
      r.cacheHitRate.toFixed(4), r.errorRate.toFixed(4), r.avgOutputTokens.toFixed(2), nanosToUsd(r.costPer1kNanos), r.cacheHits, nanosToUsd(r.avoidedCostNanos),
    ].map((v) => esc(String(v))).join(','),
  );
  return [head.join(','), ...rows].join('\n') + '\n';
}

/**
 * JSON with money as exact decimal USD strings next to integer nano-dollars, which are also strings here: a report's
 * sums can pass 2^53 n$ (~$9 million), beyond what a JSON number reliably carries.
 */
export const summaryRowJson = <T extends SummaryRow>(r: T) => ({
  ...r,
  costNanos: String(r.costNanos),
  baselineCostNanos: String(r.baselineCostNanos),
  savedNanos: String(r.savedNanos),
  costPer1kNanos: String(r.costPer1kNanos),
  avoidedCostNanos: String(r.avoidedCostNanos),
  avoidedCostUsd: nanosToUsd(r.avoidedCostNanos),
  costUsd: nanosToUsd(r.costNanos),
  baselineCostUsd: nanosToUsd(r.baselineCostNanos),
  savedUsd: nanosToUsd(r.savedNanos),
});

export function summaryJson(s: Summary): unknown {
  return { by: s.by, filter: s.filter, rows: s.rows.map(summaryRowJson), total: summaryRowJson(s.total) };
}
