/** A database aggregate row → AggregateRow (drivers return BIGINT sums as strings or bigints). */
import type { AggregateRow, GroupKey } from './types.js';

export function toAggregate(r: Record<string, unknown>, by: GroupKey[]): AggregateRow {
  const n = (v: unknown) => Number(v ?? 0);
  const group: Record<string, string | null> = {};
  by.forEach((k, i) => (group[k] = r[`g${i}`] === null || r[`g${i}`] === undefined ? null : String(r[`g${i}`])));
  return {
    group,
    requests: n(r.requests),
    errors: n(r.errors),
    inputTokens: n(r.input_tokens),
    cachedTokens: n(r.cached_tokens),
    outputTokens: n(r.output_tokens),
    costMicros: n(r.cost_micros),
    baselineCostMicros: n(r.baseline_cost_micros),
    cacheHits: n(r.cache_hits),
    estimated: n(r.estimated),
  };
}
