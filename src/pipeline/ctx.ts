/**
 * The typed request context every stage reads and extends. Each stage's additions are declared here as a
 * named group (RouteVars, DispatchVars, ...) so there is no string-keyed bag.
 */
import type { Operation, Wire, Json } from '../providers/adapter.js';
import type { Usage } from '../providers/usage.js';
import type { Deployment } from '../config/load.js';
import type { ErrorCode, GatewayError } from './errors.js';
import { uuid7 } from '../util/uuid7.js';

export type Endpoint = 'chat' | 'messages' | 'embeddings';

/** A client-chosen request id (`x-costgate-request-id`, `metadata.request_id`): 1–128 of `A-Za-z0-9._:-`. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id a response carries: the client's own when it is a valid one, else a new time-ordered `cg-…` id. */
export function requestIdFor(clientId?: string): string {
  return clientId && REQUEST_ID.test(clientId) ? clientId : `cg-${uuid7()}`;
}

/** A request as it enters the gateway, from HTTP or from the in-process library. */
export interface GatewayRequest {
  endpoint: Endpoint;
  /** Parsed JSON body. */
  body: unknown;
  /** The original bytes, forwarded untouched when the gateway changes nothing. */
  raw?: Buffer;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /**
   * Set by the HTTP surface for a request refused before its body could be used (malformed JSON, wrong method or
   * content type): handle() answers this error and records the call, like any other rejection.
   */
  rejected?: GatewayError;
  /** Never defer this call (the batcher's own synchronous fallback). */
  noDefer?: boolean;
  /** The gateway's own summary call (conversation summarisation): never summarised itself. Not settable over HTTP. */
  summaryCall?: boolean;
  /** The gateway's own structured-output repair call, and the ledger note it carries (wasted tokens). */
  repairCall?: string;
}

/** A response: a whole body, or a stream of SSE text/bytes. */
export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  stream?: AsyncIterable<string | Uint8Array>;
  /** For streams: HTTP trailers computed after the last chunk (e.g. the call's cost, known only at the end). */
  trailers?: () => Record<string, string>;
}

export type Priority = 'critical' | 'important' | 'optional';

/** Who and what a request is for (attribution). */
export interface RequestMeta {
  requestId: string;
  feature?: string;
  user?: string;
  team?: string;
  priority?: Priority;
  apiKeyId?: string;
  /** The verified virtual key the call was made with (its governance: models, budget, limits). */
  key?: import('../keys/service.js').VirtualKey;
}

/** Added by the route stage. */
export interface RouteVars {
  /** Deployments to try in order: primary, then fallbacks. */
  deployments: Deployment[];
  decision: string;
  reason: string;
  /** Which router decided (rule, task, tier, learned, cascade, default); absent when only aliases/fallbacks applied. */
  kind?: string;
  /** A cascade: the weak deployments above go first; these serve when the weak answer fails verification. */
  cascade?: { model: string; deployments: Deployment[] };
}

/** One upstream attempt (retries and fallbacks cost money too). */
export interface AttemptRecord {
  n: number;
  deployment: string;
  provider: string;
  model: string;
  startedAt: number;
  latencyMs: number;
  /** HTTP status, or 0 when no response arrived (timeout, connection error, circuit open). */
  status: number;
  /** `rejected`: an answer the cascade's verifier turned down (it was paid for; the strong model answered instead). */
  outcome: 'ok' | 'error' | 'skipped' | 'rejected';
  errorCode?: ErrorCode | 'circuit_open' | 'stream_cut' | 'cascade_rejected';
  errorMessage?: string;
  /** Usage reported for this attempt (only the successful one normally has any). */
  usage?: Usage;
}

/** Final outcome of the request, settled exactly once when the response (or stream) is over. */
export interface Outcome {
  status: number;
  errorCode?: string;
  errorMessage?: string;
  provider?: string;
  deployment?: string;
  /** Model that actually served the request (as configured for the deployment). */
  model?: string;
  /** Model name reported by the upstream in its response. */
  upstreamModel?: string;
  usage?: Usage;
  ttftMs?: number;
  latencyMs: number;
  streamed: boolean;
  /** The client disconnected before the end. */
  clientAborted?: boolean;
  /** How a response cache served it (the cache issue fills this); a hit costs nothing upstream. */
  cacheStatus?: 'miss' | 'exact' | 'semantic' | 'dedup' | 'shadow';
  /** Semantic cache: the score of the entry found (served, or shadow only). */
  cacheScore?: number;
  /** Shadow mode: did the real answer match the entry that would have been served. */
  shadowMatch?: boolean;
  /** Priced at Batch API rates. */
  batch?: boolean;
  /** Accepted for later (202 + job id): the job's own ledger row is written when its result lands. */
  deferred?: boolean;
}

export interface Ctx {
  readonly id: string;
  readonly req: GatewayRequest;
  readonly endpoint: Endpoint;
  /** The client's wire format. */
  readonly surface: Wire;
  readonly op: Operation;
  /** Wall clock at arrival (ms since epoch) and a monotonic origin for latencies. */
  readonly startedAt: number;
  readonly t0: number;
  /** Request body, validated; stages that change it replace it and set `bodyChanged`. */
  body: Json;
  bodyChanged: boolean;
  readonly model: string;
  readonly stream: boolean;
  /** The client asked for a usage chunk on its stream. */
  readonly clientWantsUsage: boolean;
  meta: RequestMeta;
  route?: RouteVars;
  attempts: AttemptRecord[];
  /** Governance decisions taken on the call (`shed:…`, `queued:…`, `capped:max_tokens=…`), recorded in the ledger. */
  governance: string[];
  /** Milliseconds the call waited in the priority queue. */
  queueMs?: number;
  /** Added by the context stage: the prompt-cache plan for the primary deployment's wire. */
  promptCache?: { wire: Wire; deployment: string; plan: import('../providers/adapter.js').PromptCachePlan };
  /** Token-optimization decisions and findings (`pc:…`, `lint:…`), recorded in the ledger's `optimize` column. */
  optimize: string[];
  /**
   * Set by the context stage (`optimize.structured` with `native`): an OpenAI-surface json_schema request may use the
   * serving provider's native schema mode (the adapter's `structured` hook, applied per deployment by dispatch).
   */
  structuredNative?: boolean;
  /** The request's stable prefix (tools + system): hash and tokens, for the prompt-cache report. */
  prefix?: { hash: string; tokens: number };
  /** Set by the fingerprint stage (when on): the client request's fingerprint, for duplicate-call accounting. */
  requestHash?: string;
  /** Called by the meter with the priced call once it has settled (budget settlement). */
  afterPriced?: ((p: import('../pricing/pricer.js').Priced) => void)[];
  /** Resolves once with the outcome, when the whole response (including a stream) has been delivered or failed. */
  readonly settled: Promise<Outcome>;
  settle(o: Outcome): void;
  readonly isSettled: boolean;
  /** The outcome, once settled (synchronously readable, e.g. to put the cost in response headers). */
  readonly outcome: Outcome | undefined;
}

export function createCtx(req: GatewayRequest, body: Json, id: string): Ctx {
  let resolve!: (o: Outcome) => void;
  const settled = new Promise<Outcome>((r) => (resolve = r));
  let done = false;
  let outcome: Outcome | undefined;
  const endpoint = req.endpoint;
  const stream = endpoint !== 'embeddings' && body.stream === true;
  return {
    id,
    req,
    endpoint,
    surface: endpoint === 'messages' ? 'anthropic' : 'openai',
    op: endpoint === 'embeddings' ? 'embeddings' : 'chat',
    startedAt: Date.now(),
    t0: performance.now(),
    body,
    bodyChanged: false,
    model: String(body.model),
    stream,
    clientWantsUsage: endpoint === 'messages' ? stream : body.stream_options?.include_usage === true,
    meta: { requestId: id },
    attempts: [],
    governance: [],
    optimize: [],
    settled,
    settle(o) {
      if (done) return;
      done = true;
      outcome = o;
      resolve(o);
    },
    get isSettled() {
      return done;
    },
    get outcome() {
      return outcome;
    },
  };
}

export const elapsed = (ctx: Ctx): number => Math.round((performance.now() - ctx.t0) * 1000) / 1000;
