/**
 * SQL shared by the SQLite and Postgres ledgers: versioned migrations, and query/aggregate builders that differ only
 * in placeholders and time bucketing.
 */
import type { LedgerFilter, GroupKey, LedgerRow, AttemptRow, BodyRow, BodyQuery } from './types.js';
import { decodeCursor } from './cursor.js';

export type Dialect = 'sqlite' | 'postgres';

/** Migration N brings the schema from version N-1 to N. Append only; never edit a shipped migration. */
export function migrations(d: Dialect): string[] {
  const big = d === 'postgres' ? 'BIGINT' : 'INTEGER';
  const real = d === 'postgres' ? 'DOUBLE PRECISION' : 'REAL';
  return [
    `CREATE TABLE ledger_requests (
      uid TEXT PRIMARY KEY, request_id TEXT NOT NULL, ts ${big} NOT NULL, endpoint TEXT NOT NULL, surface TEXT NOT NULL,
      requested_model TEXT NOT NULL, model TEXT, provider TEXT, deployment TEXT, feature TEXT, user_id TEXT, team TEXT,
      api_key_id TEXT, priority TEXT, stream SMALLINT NOT NULL, status INTEGER NOT NULL, error_type TEXT, error_message TEXT,
      input_tokens ${big} NOT NULL, cache_read_tokens ${big} NOT NULL, cache_write_5m_tokens ${big} NOT NULL,
      cache_write_1h_tokens ${big} NOT NULL, output_tokens ${big} NOT NULL, reasoning_tokens ${big} NOT NULL,
      usage_estimated SMALLINT NOT NULL, cost_micros ${big} NOT NULL, baseline_model TEXT, baseline_cost_micros ${big} NOT NULL,
      price_source TEXT NOT NULL, batch SMALLINT NOT NULL, latency_ms ${real} NOT NULL, ttft_ms ${real}, cache_status TEXT NOT NULL,
      route_decision TEXT, route_reason TEXT, attempt_count INTEGER NOT NULL
    );
    CREATE INDEX ledger_requests_ts ON ledger_requests (ts);
    CREATE INDEX ledger_requests_feature_ts ON ledger_requests (feature, ts);
    CREATE INDEX ledger_requests_user_ts ON ledger_requests (user_id, ts);
    CREATE INDEX ledger_requests_request_id ON ledger_requests (request_id);
    CREATE TABLE ledger_attempts (
      uid TEXT NOT NULL, n INTEGER NOT NULL, ts ${big} NOT NULL, deployment TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
      status INTEGER NOT NULL, outcome TEXT NOT NULL, error_type TEXT, latency_ms ${real} NOT NULL,
      input_tokens ${big} NOT NULL, output_tokens ${big} NOT NULL, cost_micros ${big} NOT NULL, PRIMARY KEY (uid, n)
    );`,
    // 2: money in integer nano-dollars instead of micro-dollars (µ$ rounded a 10-token embedding call to $0).
    // Existing rows are converted exactly (×1000); their sub-µ$ part was lost when they were written.
    `ALTER TABLE ledger_requests RENAME COLUMN cost_micros TO cost_nanos;
    ALTER TABLE ledger_requests RENAME COLUMN baseline_cost_micros TO baseline_cost_nanos;
    ALTER TABLE ledger_attempts RENAME COLUMN cost_micros TO cost_nanos;
    UPDATE ledger_requests SET cost_nanos = cost_nanos * 1000, baseline_cost_nanos = baseline_cost_nanos * 1000;
    UPDATE ledger_attempts SET cost_nanos = cost_nanos * 1000;`,
    // 3: what a response-cache hit avoided paying (n$), and the governance decision taken on the call (load shedding,
    // queueing, token caps), with how long it waited in the priority queue.
    `ALTER TABLE ledger_requests ADD COLUMN avoided_cost_nanos ${big} NOT NULL DEFAULT 0;
    ALTER TABLE ledger_requests ADD COLUMN governance TEXT;
    ALTER TABLE ledger_requests ADD COLUMN queue_ms ${real};`,
    // 4: semantic-cache accounting: the similarity score of the entry a semantic lookup found (served, or in shadow
    // mode only recorded), and in shadow mode whether the real answer matched the entry that would have been served.
    `ALTER TABLE ledger_requests ADD COLUMN cache_score ${real};
    ALTER TABLE ledger_requests ADD COLUMN shadow_match SMALLINT;`,
    // 5: token optimization (context stage): decisions and lint findings, and the stable prefix's hash and tokens.
    `ALTER TABLE ledger_requests ADD COLUMN optimize TEXT;
    ALTER TABLE ledger_requests ADD COLUMN prefix_hash TEXT;
    ALTER TABLE ledger_requests ADD COLUMN prefix_tokens ${big};`,
    // 6: the request fingerprint (surface + requested model + the answer-relevant body, canonical), so duplicate calls
    // can be counted whether or not the response cache is on (the duplicate-share alert).
    `ALTER TABLE ledger_requests ADD COLUMN request_hash TEXT;
    CREATE INDEX ledger_requests_hash_ts ON ledger_requests (ts, request_hash);`,
    // 7: opt-in stored request/response bodies (ledger.storeBodies), redacted before they are queued; pruned by age.
    `CREATE TABLE ledger_bodies (
      request_id TEXT PRIMARY KEY, ts ${big} NOT NULL, feature TEXT, endpoint TEXT NOT NULL, surface TEXT NOT NULL,
      requested_model TEXT NOT NULL, model TEXT, status INTEGER NOT NULL, cache_status TEXT NOT NULL, stream SMALLINT NOT NULL,
      request TEXT NOT NULL, response TEXT, redactions TEXT
    );
    CREATE INDEX ledger_bodies_ts ON ledger_bodies (ts);
    CREATE INDEX ledger_bodies_feature_ts ON ledger_bodies (feature, ts);`,
  ];
}

export const REQUEST_COLUMNS = [
  'uid', 'request_id', 'ts', 'endpoint', 'surface', 'requested_model', 'model', 'provider', 'deployment', 'feature', 'user_id', 'team',
  'api_key_id', 'priority', 'stream', 'status', 'error_type', 'error_message', 'input_tokens', 'cache_read_tokens', 'cache_write_5m_tokens',
  'cache_write_1h_tokens', 'output_tokens', 'reasoning_tokens', 'usage_estimated', 'cost_nanos', 'baseline_model', 'baseline_cost_nanos',
  'price_source', 'batch', 'latency_ms', 'ttft_ms', 'cache_status', 'route_decision', 'route_reason', 'attempt_count',
  'avoided_cost_nanos', 'governance', 'queue_ms', 'cache_score', 'shadow_match', 'optimize', 'prefix_hash', 'prefix_tokens',
  'request_hash',
] as const;

export const ATTEMPT_COLUMNS = ['uid', 'n', 'ts', 'deployment', 'provider', 'model', 'status', 'outcome', 'error_type', 'latency_ms', 'input_tokens', 'output_tokens', 'cost_nanos'] as const;

export function requestValues(r: LedgerRow): unknown[] {
  return [
    r.uid, r.requestId, r.ts, r.endpoint, r.surface, r.requestedModel, r.model, r.provider, r.deployment, r.feature, r.user, r.team,
    r.apiKeyId, r.priority, r.stream ? 1 : 0, r.status, r.errorType, r.errorMessage, r.inputTokens, r.cacheReadTokens, r.cacheWrite5mTokens,
    r.cacheWrite1hTokens, r.outputTokens, r.reasoningTokens, r.usageEstimated ? 1 : 0, r.costNanos, r.baselineModel, r.baselineCostNanos,
    r.priceSource, r.batch ? 1 : 0, r.latencyMs, r.ttftMs, r.cacheStatus, r.routeDecision, r.routeReason, r.attemptCount,
    r.avoidedCostNanos, r.governance, r.queueMs, r.cacheScore, r.shadowMatch === null ? null : r.shadowMatch ? 1 : 0, r.optimize, r.prefixHash, r.prefixTokens,
    r.requestHash ?? null,
  ];
}

export function attemptValues(a: AttemptRow): unknown[] {
  return [a.uid, a.n, a.ts, a.deployment, a.provider, a.model, a.status, a.outcome, a.errorType, a.latencyMs, a.inputTokens, a.outputTokens, a.costNanos];
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export function rowFromDb(x: Record<string, unknown>): LedgerRow {
  return {
    uid: String(x.uid), requestId: String(x.request_id), ts: num(x.ts), endpoint: String(x.endpoint), surface: String(x.surface),
    requestedModel: String(x.requested_model), model: (x.model as string) ?? null, provider: (x.provider as string) ?? null,
    deployment: (x.deployment as string) ?? null, feature: (x.feature as string) ?? null, user: (x.user_id as string) ?? null,
    team: (x.team as string) ?? null, apiKeyId: (x.api_key_id as string) ?? null, priority: (x.priority as string) ?? null,
    stream: num(x.stream) === 1, status: num(x.status), errorType: (x.error_type as string) ?? null, errorMessage: (x.error_message as string) ?? null,
    inputTokens: num(x.input_tokens), cacheReadTokens: num(x.cache_read_tokens), cacheWrite5mTokens: num(x.cache_write_5m_tokens),
    cacheWrite1hTokens: num(x.cache_write_1h_tokens), outputTokens: num(x.output_tokens), reasoningTokens: num(x.reasoning_tokens),
    usageEstimated: num(x.usage_estimated) === 1, costNanos: num(x.cost_nanos), baselineModel: (x.baseline_model as string) ?? null,
    baselineCostNanos: num(x.baseline_cost_nanos), priceSource: String(x.price_source), batch: num(x.batch) === 1, latencyMs: num(x.latency_ms),
    ttftMs: x.ttft_ms === null || x.ttft_ms === undefined ? null : num(x.ttft_ms), cacheStatus: String(x.cache_status),
    routeDecision: (x.route_decision as string) ?? null, routeReason: (x.route_reason as string) ?? null, attemptCount: num(x.attempt_count),
    avoidedCostNanos: num(x.avoided_cost_nanos), governance: (x.governance as string) ?? null,
    queueMs: x.queue_ms === null || x.queue_ms === undefined ? null : num(x.queue_ms),
    cacheScore: x.cache_score === null || x.cache_score === undefined ? null : Number(x.cache_score),
    shadowMatch: x.shadow_match === null || x.shadow_match === undefined ? null : Number(x.shadow_match) === 1,
    optimize: (x.optimize as string) ?? null,
    prefixHash: (x.prefix_hash as string) ?? null,
    prefixTokens: x.prefix_tokens === null || x.prefix_tokens === undefined ? null : num(x.prefix_tokens),
    requestHash: (x.request_hash as string) ?? null,
  };
}

export function attemptFromDb(x: Record<string, unknown>): AttemptRow {
  return {
    uid: String(x.uid), n: num(x.n), ts: num(x.ts), deployment: String(x.deployment), provider: String(x.provider), model: String(x.model),
    status: num(x.status), outcome: String(x.outcome), errorType: (x.error_type as string) ?? null, latencyMs: num(x.latency_ms),
    inputTokens: num(x.input_tokens), outputTokens: num(x.output_tokens), costNanos: num(x.cost_nanos),
  };
}

/** WHERE clause for a filter; `p(i)` renders the i-th placeholder. */
export function whereClause(f: LedgerFilter, p: (i: number) => string, params: unknown[]): string {
  const parts: string[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    parts.push(sql.replace('?', p(params.length)));
  };
  if (f.since !== undefined) add('ts >= ?', f.since);
  if (f.until !== undefined) add('ts < ?', f.until);
  if (f.feature !== undefined) add('feature = ?', f.feature);
  if (f.user !== undefined) add('user_id = ?', f.user);
  if (f.team !== undefined) add('team = ?', f.team);
  if (f.apiKeyId !== undefined) add('api_key_id = ?', f.apiKeyId);
  if (f.model !== undefined) add('model = ?', f.model);
  if (f.provider !== undefined) add('provider = ?', f.provider);
  if (f.requestId !== undefined) add('request_id = ?', f.requestId);
  if (f.status === 'ok') parts.push('status < 400');
  if (f.status === 'error') parts.push('status >= 400');
  return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
}

/** SQL expression for a group key (time buckets in UTC). */
export function groupExpr(k: GroupKey, d: Dialect): string {
  const t = (fmtSqlite: string, fmtPg: string) =>
    d === 'sqlite' ? `strftime('${fmtSqlite}', ts / 1000, 'unixepoch')` : `to_char(to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC', '${fmtPg}')`;
  switch (k) {
    case 'day':
      return t('%Y-%m-%d', 'YYYY-MM-DD');
    case 'hour':
      return t('%Y-%m-%dT%H:00', 'YYYY-MM-DD"T"HH24:00');
    case 'month':
      return t('%Y-%m', 'YYYY-MM');
    case 'user':
      return 'user_id';
    case 'key':
      return 'api_key_id';
    default:
      return k;
  }
}

export function aggregateSql(f: LedgerFilter, by: GroupKey[], d: Dialect, p: (i: number) => string, params: unknown[]): string {
  const groups = by.map((k, i) => `${groupExpr(k, d)} AS g${i}`);
  const sum = (c: string) => `COALESCE(SUM(${c}), 0)`;
  const cols = [
    ...groups,
    'COUNT(*) AS requests',
    `${sum('CASE WHEN status >= 400 THEN 1 ELSE 0 END')} AS errors`,
    `${sum('input_tokens')} AS input_tokens`,
    `${sum('cache_read_tokens')} AS cached_tokens`,
    `${sum('output_tokens')} AS output_tokens`,
    `${sum('cost_nanos')} AS cost_nanos`,
    `${sum('baseline_cost_nanos')} AS baseline_cost_nanos`,
    `${sum("CASE WHEN cache_status IN ('exact','semantic','dedup') THEN 1 ELSE 0 END")} AS cache_hits`,
    `${sum('usage_estimated')} AS estimated`,
    `${sum('avoided_cost_nanos')} AS avoided_cost_nanos`,
  ];
  const group = by.length ? `GROUP BY ${by.map((_, i) => `g${i}`).join(', ')}` : '';
  return `SELECT ${cols.join(', ')} FROM ledger_requests ${whereClause(f, p, params)} ${group} ORDER BY cost_nanos DESC`;
}

/** Rows with a fingerprint in the filter, and how many distinct fingerprints they have (duplicates = n - distinct). */
export function duplicatesSql(f: LedgerFilter, p: (i: number) => string, params: unknown[]): string {
  const where = whereClause(f, p, params);
  return `SELECT COUNT(request_hash) AS n, COUNT(DISTINCT request_hash) AS d FROM ledger_requests ${where ? `${where} AND` : 'WHERE'} request_hash IS NOT NULL`;
}

export const BODY_COLUMNS = ['request_id', 'ts', 'feature', 'endpoint', 'surface', 'requested_model', 'model', 'status', 'cache_status', 'stream', 'request', 'response', 'redactions'] as const;

export function bodyValues(b: BodyRow): unknown[] {
  return [b.requestId, b.ts, b.feature, b.endpoint, b.surface, b.requestedModel, b.model, b.status, b.cacheStatus, b.stream ? 1 : 0, b.request, b.response, b.redactions];
}

export function bodyFromDb(x: Record<string, unknown>): BodyRow {
  return {
    requestId: String(x.request_id), ts: num(x.ts), feature: (x.feature as string) ?? null, endpoint: String(x.endpoint), surface: String(x.surface),
    requestedModel: String(x.requested_model), model: (x.model as string) ?? null, status: num(x.status), cacheStatus: String(x.cache_status),
    stream: num(x.stream) === 1, request: String(x.request), response: (x.response as string) ?? null, redactions: (x.redactions as string) ?? null,
  };
}

/** SELECT for a page of stored bodies, oldest first, keyset-paginated on (ts, request_id). */
export function bodiesSql(q: BodyQuery, limit: number, p: (i: number) => string, params: unknown[], table = 'ledger_bodies'): string {
  // The rows' own filter for the columns the two tables share (ts, feature), then the keyset condition.
  let where = whereClause({ since: q.since, until: q.until, feature: q.feature }, p, params);
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    params.push(c.ts, c.ts, c.uid);
    const n = params.length;
    where += `${where ? ' AND' : 'WHERE'} (ts > ${p(n - 2)} OR (ts = ${p(n - 1)} AND request_id > ${p(n)}))`;
  }
  return `SELECT * FROM ${table} ${where} ORDER BY ts ASC, request_id ASC LIMIT ${limit + 1}`;
}
