/**
 * The breakdown query (cache layers, error cost, retry cost) shared by the SQLite and Postgres ledgers: two small
 * aggregates over the same filter, so the dashboard never pulls rows into JS to count them.
 */
import type { LedgerBreakdown, LedgerFilter } from './types.js';
import { whereClause } from './sql.js';
import { money, exact } from './aggregate.js';

export interface BreakdownSql {
  /** Per cache status: requests, avoided cost, and the errors among them with their cost (one scan for both). */
  cache: string;
  retries: string;
}

/** `t(name)` qualifies a table (Postgres schema); each statement gets its own copy of the filter's parameters. */
export function breakdownSql(f: LedgerFilter, p: (i: number) => string, t: (name: string) => string): { sql: BreakdownSql; params: unknown[][] } {
  const params: unknown[][] = [[], []];
  const where = (i: number) => whereClause(f, p, params[i]!);
  const cache =
    `SELECT cache_status AS status, COUNT(*) AS requests, COALESCE(SUM(avoided_cost_nanos), 0) AS avoided, ` +
    `COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS errors, COALESCE(SUM(CASE WHEN status >= 400 THEN cost_nanos ELSE 0 END), 0) AS error_cost ` +
    `FROM ${t('ledger_requests')} ${where(0)} GROUP BY cache_status ORDER BY requests DESC, status`;
  // A failed attempt is a retry's cost when the same request made a later attempt (as the metric counts it: the
  // last one is the answer or the final error). The scan starts from failed attempts (few) and checks each one's
  // request against the filter: the filter's unqualified columns resolve to the request row in the EXISTS (every
  // one of them is a ledger_requests column). Starting from the filtered requests instead did one index lookup per
  // request (1.2 s over 200,000 rows).
  const w = where(1);
  const retries =
    `SELECT COUNT(DISTINCT a.uid) AS requests, COUNT(*) AS attempts, COALESCE(SUM(a.cost_nanos), 0) AS cost FROM ${t('ledger_attempts')} a ` +
    `WHERE a.outcome = 'error' AND EXISTS (SELECT 1 FROM ${t('ledger_requests')} r WHERE r.uid = a.uid${w ? ` AND ${w.slice('WHERE '.length)}` : ''}) ` +
    `AND a.n < (SELECT MAX(b.n) FROM ${t('ledger_attempts')} b WHERE b.uid = a.uid)`;
  return { sql: { cache, retries }, params };
}

export function toBreakdown(cache: Record<string, unknown>[], retries: Record<string, unknown>): LedgerBreakdown {
  let errors = 0;
  let errorCost = 0n;
  for (const r of cache) {
    errors += exact(r.errors);
    errorCost += money(r.error_cost);
  }
  return {
    cache: cache.map((r) => ({ status: String(r.status), requests: exact(r.requests), avoidedCostNanos: money(r.avoided) })),
    errors: { requests: errors, costNanos: errorCost },
    retries: { requests: exact(retries.requests), attempts: exact(retries.attempts), costNanos: money(retries.cost) },
  };
}
