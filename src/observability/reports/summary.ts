/**
 * Cost reports over the ledger, grouped by any of feature, model, provider, user, team, key, day, hour, month:
 * requests, tokens, cost, savings vs baseline, cache hit rate, error rate, average output tokens and cost per 1k
 * requests. Sums come from the database (integer µ$); derived ratios are computed once here.
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
  costMicros: number;
  baselineCostMicros: number;
  savedMicros: number;
  cacheHitRate: number;
  errorRate: number;
  avgOutputTokens: number;
  costPer1kMicros: number;
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

function derive(a: AggregateRow, totalCost: number): SummaryRow {
  const per = (x: number) => (a.requests ? x / a.requests : 0);
  return {
    group: a.group,
    requests: a.requests,
    errors: a.errors,
    inputTokens: a.inputTokens,
    cachedTokens: a.cachedTokens,
    outputTokens: a.outputTokens,
    costMicros: a.costMicros,
    baselineCostMicros: a.baselineCostMicros,
    savedMicros: a.baselineCostMicros - a.costMicros,
    cacheHitRate: per(a.cacheHits),
    errorRate: per(a.errors),
    avgOutputTokens: per(a.outputTokens),
    costPer1kMicros: Math.round(per(a.costMicros) * 1000),
    costShare: totalCost ? a.costMicros / totalCost : 0,
  };
}

export async function summarize(store: LedgerStore, filter: LedgerFilter, by: GroupKey[]): Promise<Summary> {
  const [rows, totals] = await Promise.all([store.aggregate(filter, by), store.aggregate(filter, [])]);
  const t = totals[0] ?? { group: {}, requests: 0, errors: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costMicros: 0, baselineCostMicros: 0, cacheHits: 0, estimated: 0 };
  const sorted = by.some((k) => k === 'day' || k === 'hour' || k === 'month')
    ? rows.sort((x, y) => JSON.stringify(by.map((k) => x.group[k])).localeCompare(JSON.stringify(by.map((k) => y.group[k]))))
    : rows;
  return { by, filter, rows: sorted.map((r) => derive(r, t.costMicros)), total: derive(t, t.costMicros) };
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
  const rows = [...s.rows].sort((a, b) => b.costMicros - a.costMicros);
  let cum = 0;
  const withCum = rows.map((r) => {
    cum += r.costMicros;
    return { ...r, cumulativeShare: s.total.costMicros ? cum / s.total.costMicros : 0 };
  });
  const idx80 = withCum.findIndex((r) => r.cumulativeShare >= 0.8);
  const groupsFor80 = idx80 === -1 ? withCum.length : idx80 + 1;
  const top20 = Math.max(1, Math.ceil(rows.length * 0.2));
  const topCost = rows.slice(0, top20).reduce((x, r) => x + r.costMicros, 0);
  return {
    by,
    groups: rows.length,
    groupsFor80,
    topShareOfGroups: rows.length ? groupsFor80 / rows.length : 0,
    costShareOfTop20: s.total.costMicros && rows.length ? topCost / s.total.costMicros : 0,
    rows: withCum,
  };
}

/** Per-request Pareto: what share of cost the most expensive 20 % of calls drive (from the ledger rows). */
export async function callPareto(store: LedgerStore, filter: LedgerFilter, maxRows = 200_000): Promise<{ calls: number; costShareOfTop20: number; callsFor80: number }> {
  const costs: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({ ...filter, limit: 1000, cursor });
    for (const r of page.rows) costs.push(r.costMicros);
    cursor = page.nextCursor;
  } while (cursor && costs.length < maxRows);
  costs.sort((a, b) => b - a);
  const total = costs.reduce((a, b) => a + b, 0);
  const top = costs.slice(0, Math.max(1, Math.ceil(costs.length * 0.2))).reduce((a, b) => a + b, 0);
  let cum = 0;
  let callsFor80 = costs.length;
  for (let i = 0; i < costs.length; i++) {
    cum += costs[i]!;
    if (total && cum / total >= 0.8) {
      callsFor80 = i + 1;
      break;
    }
  }
  return { calls: costs.length, costShareOfTop20: total ? top / total : 0, callsFor80 };
}
