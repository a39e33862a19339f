/**
 * The breakdown query (cache layers, error cost, retry cost) shared by the SQLite and Postgres ledgers: three small
 * aggregates over the same filter, so the dashboard never pulls rows into JS to count them.
 */
import type { LedgerBreakdown, LedgerFilter } from './types.js';
import { whereClause } from './sql.js';
import { money, exact } from './aggregate.js';

export interface BreakdownSql {
  cache: string;
  errors: string;
  retries: string;
}

/** `t(name)` qualifies a table (Postgres schema); each statement gets its own copy of the filter's parameters. */
export function breakdownSql(f: LedgerFilter, p: (i: number) => string, t: (name: string) => string): { sql: BreakdownSql; params: unknown[][] } {
  const params: unknown[][] = [[], [], []];
  const where = (i: number) => whereClause(f, p, params[i]!);
  const cache = `SELECT cache_status AS status, COUNT(*) AS requests, COALESCE(SUM(avoided_cost_nanos), 0) AS avoided FROM ${t('ledger_requests')} ${where(0)} GROUP BY cache_status ORDER BY requests DESC, status`;
  const w1 = where(1);
  const errors = `SELECT COUNT(*) AS requests, COALESCE(SUM(cost_nanos), 0) AS cost FROM ${t('ledger_requests')} ${w1 ? `${w1} AND` : 'WHERE'} status >= 400`;
  // A failed attempt is a retry's cost when the same request made a later attempt (as the metric counts it: the
  // last one is the answer or the final error). The filter applies to request rows, so it selects uids first.
  const retries =
    `SELECT COUNT(DISTINCT a.uid) AS requests, COUNT(*) AS attempts, COALESCE(SUM(a.cost_nanos), 0) AS cost FROM ${t('ledger_attempts')} a ` +
    `WHERE a.uid IN (SELECT uid FROM ${t('ledger_requests')} ${where(2)}) AND a.outcome = 'error' ` +
    `AND a.n < (SELECT MAX(b.n) FROM ${t('ledger_attempts')} b WHERE b.uid = a.uid)`;
  return { sql: { cache, errors, retries }, params };
}

export function toBreakdown(cache: Record<string, unknown>[], errors: Record<string, unknown>, retries: Record<string, unknown>): LedgerBreakdown {
  return {
    cache: cache.map((r) => ({ status: String(r.status), requests: exact(r.requests), avoidedCostNanos: money(r.avoided) })),
    errors: { requests: exact(errors.requests), costNanos: money(errors.cost) },
    retries: { requests: exact(retries.requests), attempts: exact(retries.attempts), costNanos: money(retries.cost) },
  };
}
