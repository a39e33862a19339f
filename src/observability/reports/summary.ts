/**
 * Cost reports over the ledger, grouped by any of feature, model, provider, user, team, key, day, hour, month:
 * requests, tokens, cost, savings vs baseline, cache hit rate, error rate, average output tokens and cost per 1k
 * requests. Sums come from the database (integer nano-dollars); derived ratios are computed once here.
 */
import type { LedgerStore, LedgerFilter, GroupKey, AggregateRow } from '../../stores/ledger/types.js';
import { GROUP_KEYS } from '../../stores/ledger/types.js';
import { GatewayError } from '../../pipeline/errors.js';

export interface SummaryRow {
  group: Record<string, string | null>;
  requests: number;
  errors: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costNanos: bigint;
  baselineCostNanos: bigint;
  savedNanos: bigint;
  cacheHitRate: number;
  /** Response-cache hits, and what they avoided paying upstream. */
  cacheHits: number;
  avoidedCostNanos: bigint;
  errorRate: number;
  avgOutputTokens: number;
  costPer1kNanos: bigint;
  /** Share of the report's total cost. */
  costShare: number;
}

export interface Summary {
  by: GroupKey[];
  filter: LedgerFilter;
  rows: SummaryRow[];
  total: SummaryRow;
}

export function parseGroupBy(v: string | undefined): GroupKey[] {
  if (!v) return [];
  const keys = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of keys) {
    if (!(GROUP_KEYS as readonly string[]).includes(k)) {
      throw new GatewayError('invalid_value', `by: unknown group '${k}' (use ${GROUP_KEYS.join(', ')})`, { param: 'by' });
    }
  }
  return keys as GroupKey[];
}

/** a ÷ b for bigints, as a ratio (money shares do not need more than double precision). */
export const ratio = (a: bigint, b: bigint): number => (b === 0n ? 0 : Number(a) / Number(b));

/** Integer division rounded half to even. */
function divRound(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const q = a / b;
  const r2 = (a % b) * 2n;
  return r2 > b || (r2 === b && q % 2n !== 0n) ? q + 1n : q;
}

function derive(a: AggregateRow, totalCost: bigint): SummaryRow {
  const per = (x: number) => (a.requests ? x / a.requests : 0);
  return {
    group: a.group,
    requests: a.requests,
    errors: a.errors,
    inputTokens: a.inputTokens,
    cachedTokens: a.cachedTokens,
    outputTokens: a.outputTokens,
    costNanos: a.costNanos,
    baselineCostNanos: a.baselineCostNanos,
    savedNanos: a.baselineCostNanos - a.costNanos,
    cacheHitRate: per(a.cacheHits),
    cacheHits: a.cacheHits,
    avoidedCostNanos: a.avoidedCostNanos ?? 0n,
    errorRate: per(a.errors),
    avgOutputTokens: per(a.outputTokens),
    costPer1kNanos: divRound(a.costNanos * 1000n, BigInt(a.requests)),
    costShare: ratio(a.costNanos, totalCost),
  };
}

export async function summarize(store: LedgerStore, filter: LedgerFilter, by: GroupKey[]): Promise<Summary> {
  const [rows, totals] = await Promise.all([store.aggregate(filter, by), store.aggregate(filter, [])]);
  const t = totals[0] ?? { group: {}, requests: 0, errors: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costNanos: 0n, baselineCostNanos: 0n, cacheHits: 0, estimated: 0, avoidedCostNanos: 0n };
  const sorted = by.some((k) => k === 'day' || k === 'hour' || k === 'month')
    ? rows.sort((x, y) => JSON.stringify(by.map((k) => x.group[k])).localeCompare(JSON.stringify(by.map((k) => y.group[k]))))
    : rows;
  return { by, filter, rows: sorted.map((r) => derive(r, t.costNanos)), total: derive(t, t.costNanos) };
}

export interface ParetoResult {
  by: GroupKey;
  groups: number;
  /** Smallest number of groups that make up 80 % of cost, and their share of all groups. */
  groupsFor80: number;
  topShareOfGroups: number;
  /** Share of cost driven by the top 20 % of groups. */
  costShareOfTop20: number;
  rows: (SummaryRow & { cumulativeShare: number })[];
}

/** Which 20 % of groups (features by default, or requests' own rows via `by: 'key'` etc.) drive what share of cost. */
export async function pareto(store: LedgerStore, filter: LedgerFilter, by: GroupKey = 'feature'): Promise<ParetoResult> {
  const s = await summarize(store, filter, [by]);
  const rows = [...s.rows].sort((a, b) => (b.costNanos > a.costNanos ? 1 : b.costNanos < a.costNanos ? -1 : 0));
  let cum = 0n;
  const withCum = rows.map((r) => {
    cum += r.costNanos;
    return { ...r, cumulativeShare: ratio(cum, s.total.costNanos) };
  });
  const idx80 = withCum.findIndex((r) => r.cumulativeShare >= 0.8);
  const groupsFor80 = idx80 === -1 ? withCum.length : idx80 + 1;
  const top20 = Math.max(1, Math.ceil(rows.length * 0.2));
  const topCost = rows.slice(0, top20).reduce((x, r) => x + r.costNanos, 0n);
  return {
    by,
    groups: rows.length,
    groupsFor80,
    topShareOfGroups: rows.length ? groupsFor80 / rows.length : 0,
    costShareOfTop20: rows.length ? ratio(topCost, s.total.costNanos) : 0,
    rows: withCum,
  };
}

/** Per-request Pareto: what share of cost the most expensive 20 % of calls drive (from the ledger rows). */
export async function callPareto(store: LedgerStore, filter: LedgerFilter, maxRows = 200_000): Promise<{ calls: number; costShareOfTop20: number; callsFor80: number }> {
  const costs: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({ ...filter, limit: 1000, cursor });
    for (const r of page.rows) costs.push(r.costNanos);
    cursor = page.nextCursor;
  } while (cursor && costs.length < maxRows);
  costs.sort((a, b) => b - a);
  // Per-row costs are safe integers; their sums are bigint so a large window stays exact.
  const total = costs.reduce((a, b) => a + BigInt(b), 0n);
  const top = costs.slice(0, Math.max(1, Math.ceil(costs.length * 0.2))).reduce((a, b) => a + BigInt(b), 0n);
  let cum = 0n;
  let callsFor80 = costs.length;
  for (let i = 0; i < costs.length; i++) {
    cum += BigInt(costs[i]!);
    if (total && cum * 10n >= total * 8n) {
      callsFor80 = i + 1;
      break;
    }
  }
  return { calls: costs.length, costShareOfTop20: ratio(top, total), callsFor80 };
}
