/**
 * The dashboard's data: spend over time per model/feature/user/team (with the baseline beside it), token drift per
 * feature, and the overview (totals, cache layers, error and retry cost, Pareto of features and users, budgets).
 * Sums come from the ledger's SQL aggregates in integer nano-dollars; they leave as exact decimal USD strings (the
 * page parses them to plot, and prints the strings themselves).
 */
import type { LedgerStore, LedgerFilter, GroupKey, AggregateRow } from '../../stores/ledger/types.js';
import type { BudgetStore } from '../../stores/budgets/types.js';
import type { ResolvedBudget } from '../../config/load.js';
import { GatewayError } from '../../pipeline/errors.js';
import { nanosToUsd } from '../../pricing/decimal.js';
import { ratio } from '../reports/summary.js';
import { budgetViews } from './budgets.js';
import { SERVED_FROM_CACHE } from '../../cache/served.js';

export type Bucket = 'hour' | 'day';
export const SERIES_BY = ['model', 'feature', 'user', 'team', 'provider', 'none'] as const;
export type SeriesBy = (typeof SERIES_BY)[number];

const STEP: Record<Bucket, number> = { hour: 3_600_000, day: 86_400_000 };
/** Default span when no `since` is given: two days of hours, thirty days of days. */
const DEFAULT_SPAN: Record<Bucket, number> = { hour: 48 * 3_600_000, day: 30 * 86_400_000 };
/** Most buckets one chart asks for (a year of days; 41 days of hours). */
export const MAX_BUCKETS = 1000;
/** Series drawn per chart; the rest is summed into `(other)`. */
export const MAX_SERIES = 8;
const NONE = '(none)';
const OTHER = '(other)';

export function parseBucket(v: string | undefined): Bucket {
  if (v === undefined || v === 'hour' || v === 'day') return v ?? 'hour';
  throw new GatewayError('invalid_value', "bucket: use 'hour' or 'day'", { param: 'bucket' });
}

export function parseSeriesBy(v: string | undefined): SeriesBy {
  if (v === undefined) return 'model';
  if ((SERIES_BY as readonly string[]).includes(v)) return v as SeriesBy;
  throw new GatewayError('invalid_value', `by: use one of ${SERIES_BY.join(', ')}`, { param: 'by' });
}

/** Bucket start instants (ms, UTC) covering [since, until); since/until default to the bucket's default span ending now. */
export function bucketRange(bucket: Bucket, f: LedgerFilter, now: number): { since: number; until: number; starts: number[] } {
  const step = STEP[bucket];
  const until = f.until ?? now;
  const since = Math.floor((f.since ?? until - DEFAULT_SPAN[bucket]) / step) * step;
  const n = Math.ceil((until - since) / step);
  if (n > MAX_BUCKETS) throw new GatewayError('invalid_value', `since/until: ${n} ${bucket} buckets asked for, at most ${MAX_BUCKETS}; narrow the range or use bucket=day`, { param: 'since' });
  return { since, until, starts: Array.from({ length: Math.max(0, n) }, (_, i) => since + i * step) };
}

/** `2025-03-15` / `2025-03-15T12:00` (the ledger's UTC bucket labels) → the bucket's start in ms. */
export function labelStart(label: string): number {
  return Date.parse(label.length === 10 ? `${label}T00:00:00Z` : `${label}:00Z`);
}

interface Cell {
  requests: number;
  errors: number;
  cost: bigint;
  baseline: bigint;
  avoided: bigint;
  input: number;
  output: number;
}
const zero = (): Cell => ({ requests: 0, errors: 0, cost: 0n, baseline: 0n, avoided: 0n, input: 0, output: 0 });
const cellOf = (r: AggregateRow): Cell => ({
  requests: r.requests, errors: r.errors, cost: r.costNanos, baseline: r.baselineCostNanos, avoided: r.avoidedCostNanos, input: r.inputTokens, output: r.outputTokens,
});
function add(c: Cell, x: Cell): Cell {
  c.requests += x.requests;
  c.errors += x.errors;
  c.cost += x.cost;
  c.baseline += x.baseline;
  c.avoided += x.avoided;
  c.input += x.input;
  c.output += x.output;
  return c;
}
/** Bucket-wise sums over groups (every row is in exactly one group, so over all groups this is the total). */
function columnSums(groups: Iterable<Cell[]>, n: number): Cell[] {
  const out = Array.from({ length: n }, zero);
  for (const cells of groups) cells.forEach((c, i) => add(out[i]!, c));
  return out;
}
const rowSum = (cells: Cell[]) => cells.reduce(add, zero());

/** Aggregate by [bucket, dimension] into per-group arrays of cells aligned with `starts`. */
async function grid(store: LedgerStore, f: LedgerFilter, bucket: Bucket, dim: GroupKey | undefined, starts: number[]): Promise<Map<string, Cell[]>> {
  const index = new Map(starts.map((t, i) => [t, i]));
  const rows = await store.aggregate(f, dim ? [bucket, dim] : [bucket]);
  const out = new Map<string, Cell[]>();
  for (const r of rows) {
    const i = index.get(labelStart(r.group[bucket]!));
    if (i === undefined) continue;
    const name = dim ? r.group[dim] ?? NONE : 'total';
    let cells = out.get(name);
    if (!cells) out.set(name, (cells = starts.map(zero)));
    add(cells[i]!, cellOf(r));
  }
  return out;
}

const usd = (cells: Cell[], k: 'cost' | 'baseline' | 'avoided') => cells.map((c) => nanosToUsd(c[k]));
const sum = (cells: Cell[]) => cells.reduce((s, c) => s + c.cost, 0n);

export async function timeseries(store: LedgerStore, f: LedgerFilter, bucket: Bucket, by: SeriesBy, now = Date.now()) {
  const { since, until, starts } = bucketRange(bucket, f, now);
  const range = { ...f, since, until };
  // One aggregate: the total per bucket is the sum over the groups.
  const g = await grid(store, range, bucket, by === 'none' ? undefined : by, starts);
  const total = columnSums(g.values(), starts.length);
  const ranked = [...(by === 'none' ? new Map<string, Cell[]>() : g)].sort((a, b) => {
    const d = sum(b[1]) - sum(a[1]);
    return d > 0n ? 1 : d < 0n ? -1 : a[0] < b[0] ? -1 : 1;
  });
  const shown = ranked.slice(0, MAX_SERIES);
  if (ranked.length > MAX_SERIES) {
    shown.push([OTHER, columnSums(ranked.slice(MAX_SERIES).map(([, cells]) => cells), starts.length)]);
  }
  return {
    object: 'costgate.dashboard.timeseries',
    bucket,
    by,
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    /** Bucket starts, seconds since the epoch (uPlot's x axis). */
    t: starts.map((s) => s / 1000),
    total: {
      cost_usd: usd(total, 'cost'),
      baseline_usd: usd(total, 'baseline'),
      saved_usd: total.map((c) => nanosToUsd(c.baseline - c.cost)),
      avoided_usd: usd(total, 'avoided'),
      requests: total.map((c) => c.requests),
      sum_cost_usd: nanosToUsd(sum(total)),
      sum_baseline_usd: nanosToUsd(total.reduce((s, c) => s + c.baseline, 0n)),
    },
    series: shown.map(([name, cells]) => ({ name, total_usd: nanosToUsd(sum(cells)), cost_usd: usd(cells, 'cost'), requests: cells.map((c) => c.requests) })),
  };
}

/** Average input and output tokens per request, per feature (the busiest MAX_SERIES), per bucket; null where a bucket had no requests. */
function drift(g: Map<string, Cell[]>, bucket: Bucket, starts: number[]) {
  const busiest = [...g].map(([name, cells]) => ({ name, cells, n: rowSum(cells).requests })).sort((a, b) => b.n - a.n || (a.name < b.name ? -1 : 1)).slice(0, MAX_SERIES);
  const avg = (x: number, n: number) => (n ? Math.round((x / n) * 10) / 10 : null);
  return {
    bucket,
    t: starts.map((s) => s / 1000),
    features: busiest.map(({ name, cells, n }) => ({
      name,
      requests: n,
      avg_input_tokens: cells.map((c) => avg(c.input, c.requests)),
      avg_output_tokens: cells.map((c) => avg(c.output, c.requests)),
    })),
  };
}

/** Which groups make 80 % of spend, and the share of the top 20 % (as `report pareto`), from per-group sums. */
function paretoOf(groups: [string, Cell][], total: bigint) {
  const rows = [...groups].sort((a, b) => (b[1].cost > a[1].cost ? 1 : b[1].cost < a[1].cost ? -1 : a[0] < b[0] ? -1 : 1));
  let cum = 0n;
  const withCum = rows.map(([name, c]) => {
    cum += c.cost;
    return { name, requests: c.requests, cost_usd: nanosToUsd(c.cost), share: ratio(c.cost, total), cumulative_share: ratio(cum, total) };
  });
  const i80 = withCum.findIndex((r) => r.cumulative_share >= 0.8);
  const top = rows.slice(0, Math.max(1, Math.ceil(rows.length * 0.2))).reduce((x, [, c]) => x + c.cost, 0n);
  return { groups: rows.length, groups_for_80: i80 === -1 ? rows.length : i80 + 1, cost_share_of_top_20: rows.length ? ratio(top, total) : 0, rows: withCum.slice(0, 10) };
}

const LAYERS = SERVED_FROM_CACHE;

export interface OverviewDeps {
  ledger: LedgerStore;
  budgets: ResolvedBudget[];
  budgetStore: BudgetStore;
}

export async function overview(d: OverviewDeps, f: LedgerFilter, bucket: Bucket, now = Date.now()) {
  const { since, until, starts } = bucketRange(bucket, f, now);
  const range = { ...f, since, until };
  // Four queries for the whole panel: [bucket, feature] gives the totals, the feature Pareto and the drift at once.
  const [byFeature, byUser, br, budgets] = await Promise.all([
    grid(d.ledger, range, bucket, 'feature', starts),
    d.ledger.aggregate(range, ['user']),
    d.ledger.breakdown(range),
    budgetViews(d.budgets, d.budgetStore, d.ledger, now).catch((e: Error) => ({ error: `budget store unavailable: ${e.message}` })),
  ]);
  const t = rowSum(columnSums(byFeature.values(), starts.length));
  const requests = t.requests;
  const byLayer = new Map(br.cache.map((c) => [c.status, c]));
  const features = paretoOf([...byFeature].map(([name, cells]) => [name, rowSum(cells)]), t.cost);
  const users = paretoOf(byUser.map((r) => [r.group.user ?? NONE, cellOf(r)]), t.cost);
  return {
    object: 'costgate.dashboard.overview',
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    totals: {
      requests,
      errors: t.errors,
      cost_usd: nanosToUsd(t.cost),
      baseline_cost_usd: nanosToUsd(t.baseline),
      saved_usd: nanosToUsd(t.baseline - t.cost),
      avoided_cost_usd: nanosToUsd(t.avoided),
      input_tokens: t.input,
      output_tokens: t.output,
    },
    cache: {
      hit_rate: requests ? LAYERS.reduce((s, l) => s + (byLayer.get(l)?.requests ?? 0), 0) / requests : 0,
      layers: LAYERS.map((layer) => {
        const c = byLayer.get(layer);
        return { layer, hits: c?.requests ?? 0, hit_rate: requests ? (c?.requests ?? 0) / requests : 0, avoided_cost_usd: nanosToUsd(c?.avoidedCostNanos ?? 0n) };
      }),
      statuses: br.cache.map((c) => ({ status: c.status, requests: c.requests })),
    },
    errors: { requests: br.errors.requests, rate: requests ? br.errors.requests / requests : 0, cost_usd: nanosToUsd(br.errors.costNanos), share_of_cost: ratio(br.errors.costNanos, t.cost) },
    retries: { requests: br.retries.requests, attempts: br.retries.attempts, cost_usd: nanosToUsd(br.retries.costNanos), share_of_cost: ratio(br.retries.costNanos, t.cost) },
    pareto: { features, users },
    budgets,
    drift: drift(byFeature, bucket, starts),
  };
}
