/** A database aggregate row → AggregateRow (drivers return BIGINT sums as strings or bigints). */
import type { AggregateRow, GroupKey } from './types.js';

/**
 * Sums arrive as strings (pg NUMERIC), bigints or numbers. Beyond 2^53 a JS number cannot hold them exactly, so such a
 * sum is an error rather than a silently rounded amount of money (2^53 µ$ is about $9 billion: narrow the filter).
 */
function exact(v: unknown): number {
  const x = Number(v ?? 0);
  if (!Number.isSafeInteger(x)) throw new RangeError(`ledger: a sum of ${String(v)} is beyond 2^53 and cannot be represented exactly; narrow the filter`);
  return x;
}

export function toAggregate(r: Record<string, unknown>, by: GroupKey[]): AggregateRow {
  const group: Record<string, string | null> = {};
  by.forEach((k, i) => (group[k] = r[`g${i}`] === null || r[`g${i}`] === undefined ? null : String(r[`g${i}`])));
  return {
    group,
    requests: exact(r.requests),
    errors: exact(r.errors),
    inputTokens: exact(r.input_tokens),
    cachedTokens: exact(r.cached_tokens),
    outputTokens: exact(r.output_tokens),
    costMicros: exact(r.cost_micros),
    baselineCostMicros: exact(r.baseline_cost_micros),
    cacheHits: exact(r.cache_hits),
    estimated: exact(r.estimated),
  };
}
