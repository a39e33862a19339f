/** A database aggregate row → AggregateRow (drivers return BIGINT sums as strings or bigints). */
import type { AggregateRow, GroupKey } from './types.js';

/**
 * Sums arrive as strings (pg NUMERIC), bigints (SQLite with safeIntegers) or numbers. Money sums stay bigint (2^53
 * nano-dollars is only about $9 million); counts beyond 2^53 cannot be held exactly, so they are an error rather than
 * a silently rounded number.
 */
export function exact(v: unknown): number {
  const x = Number(v ?? 0);
  if (!Number.isSafeInteger(x)) throw new RangeError(`ledger: a sum of ${String(v)} is beyond 2^53 and cannot be represented exactly; narrow the filter`);
  return x;
}

export function money(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`ledger: a sum of ${v} nano-dollars arrived as an inexact number`);
    return BigInt(v);
  }
  return BigInt(String(v));
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
    costNanos: money(r.cost_nanos),
    baselineCostNanos: money(r.baseline_cost_nanos),
    cacheHits: exact(r.cache_hits),
    estimated: exact(r.estimated),
    avoidedCostNanos: money(r.avoided_cost_nanos),
  };
}
