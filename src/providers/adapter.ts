/**
 * What a provider adapter is: pure transforms, no I/O. The dispatch stage owns HTTP, retries and timeouts and asks
 * the adapter where to send a request, how to authenticate, which wire format a model speaks and what an error means.
 */
export type Wire = 'openai' | 'anthropic';
export type Operation = 'chat' | 'embeddings';
export type ProviderType = 'openai' | 'anthropic' | 'gemini' | 'openai-compatible' | 'simulator';

export type Json = Record<string, any>;

export interface ErrorClass {
  /** Worth another attempt (same deployment after backoff, or the next deployment). */
  retryable: boolean;
  message: string;
}

export interface ProviderAdapter {
  readonly type: ProviderType;
  /** Base URL used when config gives none (ends before the operation path, e.g. `https://api.openai.com/v1`). */
  readonly defaultBaseUrl?: string;
  /** Environment variable read for the API key when config names none. */
  readonly defaultKeyEnv?: string;
  /** The wire format this provider speaks for `model`. */
  wire(model: string): Wire;
  /** Path appended to the base URL for an operation in a wire format; undefined when unsupported. */
  path(op: Operation, wire: Wire): string | undefined;
  /** Authentication and version headers. */
  authHeaders(apiKey: string | undefined, wire: Wire): Record<string, string>;
  /** Provider quirks applied to a body already in the provider's wire format. Must not mutate its input. */
  prepare?(body: Json, op: Operation, wire: Wire): Json;
  /** Provider prompt caching (the context stage plans, the adapter writes the provider's own request fields). */
  promptCache?: PromptCacheHook;
  /** The provider's native JSON-schema mode for translated OpenAI `response_format: json_schema` requests. */
  structured?: StructuredHook;
}

/**
 * Native structured output for an OpenAI-surface request with `response_format: {type: "json_schema"}` served on a
 * wire that has no such field (Anthropic: a forced tool). Dispatch translates the request without its
 * `response_format`, lets the hook add the native mode, and gives every response of that call to the hook, which
 * turns it back into a plain answer whose text is the JSON (as the client asked). Pure transforms, no I/O.
 */
export interface StructuredHook {
  /** The body (already in `wire`) with the native mode for `responseFormat`; undefined when it does not apply. */
  request(body: Json, responseFormat: Json, wire: Wire): { body: Json; mode: string; state: Json } | undefined;
  /** A whole response body in `wire` → the same response with the structured answer as its text. */
  response(json: Json, state: Json): Json;
  /** A rewriter for one stream's parsed events in `wire` (each event in, the events to relay instead out). */
  stream(state: Json): (type: string, data: Json) => { type: string; data: Json }[];
}

/** One stable-prefix boundary of a request in the provider's wire format (see providers/anthropic/prompt-cache.ts). */
export interface CacheBoundary {
  key: string;
  tokens: number;
  clientMarked: boolean;
}

/** What the context stage asks a provider to do for prompt caching, decided on the primary deployment's wire body. */
export interface PromptCachePlan {
  /** Breakpoints to add (boundary indices into `boundaries()` of the same body), most important first. */
  breakpoints?: { boundary: number; ttl: '5m' | '1h' }[];
  /** A routing key for the provider's automatic cache, set only when the client set none. */
  cacheKey?: string;
}

export interface PromptCacheHook {
  /** Whether this wire caches at explicit breakpoints (then `boundaries` applies). */
  usesBreakpoints?(wire: Wire): boolean;
  /** Breakpoint-style caching (explicit markers) on this wire: the request's boundaries. */
  boundaries?(body: Json, wire: Wire): CacheBoundary[] | undefined;
  /** Minimum cacheable prompt length for a model (breakpoint-style caching). */
  minTokens?(model: string, overrides: Record<string, number>): number;
  /** Apply a plan to a body in this wire format; returns the new body (input not mutated) and what was done. */
  apply(body: Json, plan: PromptCachePlan, wire: Wire): { body: Json; applied: string[] };
}

/** Error classification shared by every adapter: the HTTP status decides retryability, the body gives the message. */
export function classifyUpstreamError(status: number, bodyText: string): ErrorClass {
  let message = `upstream returned HTTP ${status}`;
  try {
    const j = JSON.parse(bodyText);
    const m = j?.error?.message ?? j?.message;
    if (typeof m === 'string' && m) message = m;
  } catch {
    /* non-JSON error body: keep the status message */
  }
  const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
  return { retryable, message };
}
