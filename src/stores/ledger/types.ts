/** The ledger: one row per client request and one per upstream attempt, behind one store interface. */

export interface LedgerRow {
  /** Unique row id (the gateway's, distinct from a client-supplied request id). */
  uid: string;
  requestId: string;
  ts: number;
  endpoint: string;
  surface: string;
  requestedModel: string;
  model: string | null;
  provider: string | null;
  deployment: string | null;
  feature: string | null;
  user: string | null;
  team: string | null;
  apiKeyId: string | null;
  priority: string | null;
  stream: boolean;
  status: number;
  errorType: string | null;
  errorMessage: string | null;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  usageEstimated: boolean;
  /** Integer nano-dollars (10^-9 USD). */
  costNanos: number;
  baselineModel: string | null;
  baselineCostNanos: number;
  /** Where the price came from (`genai-prices:openai/gpt-4o`, `config`, or `unpriced`). */
  priceSource: string;
  batch: boolean;
  latencyMs: number;
  ttftMs: number | null;
  cacheStatus: string;
  routeDecision: string | null;
  routeReason: string | null;
  attemptCount: number;
  /** What a response-cache hit avoided paying upstream (n$): the served model's price for the usage replayed; 0 otherwise. */
  avoidedCostNanos: number;
  /**
   * The governance decision taken on this call, when one was: `shed:<reason>` (rejected by load shedding),
   * `queued:<reason>` (waited in the priority queue), `capped:max_tokens=<n>` / `default:max_tokens=<n>`; several are
   * joined with `;`. Null when nothing intervened.
   */
  governance: string | null;
  /** Similarity score of the semantic-cache entry found for this call (served, or in shadow mode recorded only). */
  cacheScore: number | null;
  /** Shadow mode: whether the real answer matched the entry that would have been served (null otherwise). */
  shadowMatch: boolean | null;
  /** Milliseconds the call waited in the priority queue (null when it did not queue). */
  queueMs: number | null;
  /**
   * Token-optimization decisions and findings, `;`-separated: `pc:write=5m@3/4` (prompt-cache write through boundary
   * 3 of 4), `pc:nowrite`, `pc:cached@2/4`, `pc:bp@2:5m` (breakpoint added), `pc:prompt_cache_key`,
   * `pc:affinity=<deployment>`, `lint:<kind>` (volatile prefix content), `summarize:made|reused,turns=A>B,tokens=A>B,key=…`,
   * `summarize:call` (costgate's own summary call), `summarize:failed=<code>`, `trim:docs=N>K,tokens=A>B`, `tools:A>B`,
   * `compress:…`, `instructions`. Null when none.
   */
  optimize: string | null;
  /** Hash of the stable prefix (tools + system prompt) and its tokens, when the context stage looked at the call. */
  prefixHash: string | null;
  prefixTokens: number | null;
  /**
   * Request fingerprint: sha256 (first 32 hex) of the client surface, requested model and the answer-relevant body in
   * canonical form (src/pipeline/stages/fingerprint.ts). Null when fingerprinting is off (it is on with the
   * duplicate-share alert) or the call was refused before it was parsed.
   */
  requestHash: string | null;
}

export interface AttemptRow {
  uid: string;
  n: number;
  ts: number;
  deployment: string;
  provider: string;
  model: string;
  status: number;
  outcome: string;
  errorType: string | null;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  costNanos: number;
}

/**
 * A stored (redacted) request/response pair (`ledger.storeBodies`), keyed by request id. Self-contained: it carries
 * what the fine-tuning export and report select on (status, cache status, models) so no join with the rows is needed.
 */
export interface BodyRow {
  requestId: string;
  ts: number;
  feature: string | null;
  endpoint: string;
  surface: string;
  requestedModel: string;
  model: string | null;
  status: number;
  cacheStatus: string;
  stream: boolean;
  /** The client's request body as JSON text, redacted. */
  request: string;
  /** The response body as JSON text, redacted; for a stream, the assembled text in a minimal response; null when not kept. */
  response: string | null;
  /** Redactions made, `kind=n` joined by `,` (null when none). */
  redactions: string | null;
}

export interface BodyQuery {
  since?: number;
  until?: number;
  feature?: string;
  limit?: number;
  /** Opaque cursor from a previous page (oldest first). */
  cursor?: string;
}

export interface LedgerFilter {
  since?: number;
  until?: number;
  feature?: string;
  user?: string;
  team?: string;
  apiKeyId?: string;
  model?: string;
  provider?: string;
  requestId?: string;
  status?: 'ok' | 'error';
}

export interface LedgerQuery extends LedgerFilter {
  limit?: number;
  /** Opaque cursor from a previous page (newest first). */
  cursor?: string;
}

export const GROUP_KEYS = ['feature', 'model', 'provider', 'user', 'team', 'key', 'day', 'hour', 'month', 'requested_model', 'endpoint'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export interface AggregateRow {
  group: Record<string, string | null>;
  requests: number;
  errors: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  /** Sums of money are bigint: 2^53 nano-dollars is only about $9 million. */
  costNanos: bigint;
  baselineCostNanos: bigint;
  cacheHits: number;
  estimated: number;
  /** What response-cache hits avoided paying upstream. */
  avoidedCostNanos: bigint;
}

/** Where the money of a filtered slice of the ledger went besides answers: cache layers, errors, retries. */
export interface LedgerBreakdown {
  /** One entry per `cacheStatus` seen (`miss`, `exact`, `semantic`, `dedup`, `bypass`, …). */
  cache: { status: string; requests: number; avoidedCostNanos: bigint }[];
  /** Requests answered with status >= 400, and what they cost (failed attempts before them included). */
  errors: { requests: number; costNanos: bigint };
  /**
   * Failed upstream attempts that were followed by another attempt of the same request (the cost of retries and
   * fallbacks, as `costgate_retry_cost_dollars_total` counts it), and how many requests needed more than one.
   */
  retries: { requests: number; attempts: number; costNanos: bigint };
}

export interface LedgerStore {
  readonly kind: 'sqlite' | 'postgres' | 'memory';
  /** Create or migrate the schema (versioned migrations). */
  init(): Promise<void>;
  /** One transaction for the batch (stored bodies, when given, in the same transaction). */
  write(rows: LedgerRow[], attempts: AttemptRow[], bodies?: BodyRow[]): Promise<void>;
  /** Stored bodies, oldest first (`limit` 1–1000, default 100). */
  bodies(q: BodyQuery): Promise<{ rows: BodyRow[]; nextCursor?: string }>;
  /** Delete stored bodies older than `before` (ms); resolves with how many were deleted. */
  pruneBodies(before: number): Promise<number>;
  query(q: LedgerQuery): Promise<{ rows: LedgerRow[]; nextCursor?: string }>;
  attempts(uid: string): Promise<AttemptRow[]>;
  aggregate(filter: LedgerFilter, by: GroupKey[]): Promise<AggregateRow[]>;
  count(filter?: LedgerFilter): Promise<number>;
  /** Cache layers, error and retry cost over the rows the filter selects (the dashboard's overview). */
  breakdown(filter: LedgerFilter): Promise<LedgerBreakdown>;
  /** Rows with a request fingerprint in the filter, and their distinct fingerprints (the duplicate-share alert). */
  duplicates(filter: LedgerFilter): Promise<{ requests: number; distinct: number }>;
  close(): Promise<void>;
}
