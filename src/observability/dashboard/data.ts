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
import { pareto, ratio } from '../reports/summary.js';
import { budgetViews } from './budgets.js';

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
  cost: bigint;
  baseline: bigint;
  avoided: bigint;
  requests: number;
  input: number;
  output: number;
}
const zero = (): Cell => ({ cost: 0n, baseline: 0n, avoided: 0n, requests: 0, input: 0, output: 0 });
function add(c: Cell, r: AggregateRow): void {
  c.cost += r.costNanos;
  c.baseline += r.baselineCostNanos;
  c.avoided += r.avoidedCostNanos;
  c.requests += r.requests;
  c.input += r.inputTokens;
  c.output += r.outputTokens;
}

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
    add(cells[i]!, r);
  }
  return out;
}

const usd = (cells: Cell[], k: 'cost' | 'baseline' | 'avoided') => cells.map((c) => nanosToUsd(c[k]));
const sum = (cells: Cell[]) => cells.reduce((s, c) => s + c.cost, 0n);

export async function timeseries(store: LedgerStore, f: LedgerFilter, bucket: Bucket, by: SeriesBy, now = Date.now()) {
  const { since, until, starts } = bucketRange(bucket, f, now);
  const range = { ...f, since, until };
  const [totals, groups] = await Promise.all([grid(store, range, bucket, undefined, starts), by === 'none' ? undefined : grid(store, range, bucket, by, starts)]);
  const total = totals.get('total') ?? starts.map(zero);
  const ranked = [...(groups ?? new Map<string, Cell[]>())].sort((a, b) => {
    const d = sum(b[1]) - sum(a[1]);
    return d > 0n ? 1 : d < 0n ? -1 : a[0] < b[0] ? -1 : 1;
  });
  const shown = ranked.slice(0, MAX_SERIES);
  if (ranked.length > MAX_SERIES) {
    const other = starts.map(zero);
    for (const [, cells] of ranked.slice(MAX_SERIES)) cells.forEach((c, i) => {
      const o = other[i]!;
      o.cost += c.cost;
      o.requests += c.requests;
    });
    shown.push([OTHER, other]);
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
export async function drift(store: LedgerStore, f: LedgerFilter, bucket: Bucket, now = Date.now()) {
  const { since, until, starts } = bucketRange(bucket, f, now);
  const g = await grid(store, { ...f, since, until }, bucket, 'feature', starts);
  const busiest = [...g].map(([name, cells]) => ({ name, cells, n: cells.reduce((s, c) => s + c.requests, 0) })).sort((a, b) => b.n - a.n || (a.name < b.name ? -1 : 1)).slice(0, MAX_SERIES);
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

const LAYERS = ['exact', 'semantic', 'dedup'];

export interface OverviewDeps {
  ledger: LedgerStore;
  budgets: ResolvedBudget[];
  budgetStore: BudgetStore;
}

export async function overview(d: OverviewDeps, f: LedgerFilter, bucket: Bucket, now = Date.now()) {
  const { since, until } = bucketRange(bucket, f, now);
  const range = { ...f, since, until };
  const [totals, br, features, users, budgets, tokenDrift] = await Promise.all([
    d.ledger.aggregate(range, []),
    d.ledger.breakdown(range),
    pareto(d.ledger, range, 'feature'),
    pareto(d.ledger, range, 'user'),
    budgetViews(d.budgets, d.budgetStore, d.ledger, now).catch((e: Error) => ({ error: `budget store unavailable: ${e.message}` })),
    drift(d.ledger, f, bucket, now),
  ]);
  const t = totals[0];
  const requests = t?.requests ?? 0;
  const cost = t?.costNanos ?? 0n;
  const baseline = t?.baselineCostNanos ?? 0n;
  const byLayer = new Map(br.cache.map((c) => [c.status, c]));
  const paretoRows = (p: Awaited<ReturnType<typeof pareto>>, key: 'feature' | 'user') => ({
    groups: p.groups,
    groups_for_80: p.groupsFor80,
    cost_share_of_top_20: p.costShareOfTop20,
    rows: p.rows.slice(0, 10).map((r) => ({ name: r.group[key] ?? NONE, requests: r.requests, cost_usd: nanosToUsd(r.costNanos), share: r.costShare, cumulative_share: r.cumulativeShare })),
  });
  return {
    object: 'costgate.dashboard.overview',
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    totals: {
      requests,
      errors: t?.errors ?? 0,
      cost_usd: nanosToUsd(cost),
      baseline_cost_usd: nanosToUsd(baseline),
      saved_usd: nanosToUsd(baseline - cost),
      avoided_cost_usd: nanosToUsd(t?.avoidedCostNanos ?? 0n),
      input_tokens: t?.inputTokens ?? 0,
      output_tokens: t?.outputTokens ?? 0,
    },
    cache: {
      hit_rate: requests ? LAYERS.reduce((s, l) => s + (byLayer.get(l)?.requests ?? 0), 0) / requests : 0,
      layers: LAYERS.map((layer) => {
        const c = byLayer.get(layer);
        return { layer, hits: c?.requests ?? 0, hit_rate: requests ? (c?.requests ?? 0) / requests : 0, avoided_cost_usd: nanosToUsd(c?.avoidedCostNanos ?? 0n) };
      }),
      statuses: br.cache.map((c) => ({ status: c.status, requests: c.requests })),
    },
    errors: { requests: br.errors.requests, rate: requests ? br.errors.requests / requests : 0, cost_usd: nanosToUsd(br.errors.costNanos), share_of_cost: ratio(br.errors.costNanos, cost) },
    retries: { requests: br.retries.requests, attempts: br.retries.attempts, cost_usd: nanosToUsd(br.retries.costNanos), share_of_cost: ratio(br.retries.costNanos, cost) },
    pareto: { features: paretoRows(features, 'feature'), users: paretoRows(users, 'user') },
    budgets,
    drift: tokenDrift,
  };
}
