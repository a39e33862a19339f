/**
 * The gateway as a library: one pipeline, used by the HTTP server and in-process alike.
 *
 * @example
 * const gw = await createGateway();                       // built-in simulator when no provider key is set
 * const res = await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', messages: [...] }, headers: {} });
 * await gw.close();
 */
import { compose, type Stage } from './pipeline/compose.js';
import { createCtx, requestIdFor, type Ctx, type GatewayRequest, type GatewayResponse, type Endpoint } from './pipeline/ctx.js';
import { GatewayError, renderError, toGatewayError } from './pipeline/errors.js';
import { auth, keyFingerprint } from './pipeline/stages/auth.js';
import { route } from './pipeline/stages/route.js';
import { dispatch } from './pipeline/stages/dispatch.js';
import { meter } from './pipeline/stages/meter.js';
import { budget, type SoftBudgetEvent } from './pipeline/stages/budget.js';
import { limits } from './pipeline/stages/limits.js';
import { admission } from './pipeline/stages/admission.js';
import { cache } from './pipeline/stages/cache.js';
import { openCacheStore } from './stores/cache/index.js';
import type { CacheStore, SemanticLayer } from './cache/types.js';
import { semanticLayerFromConfig, semanticWanted } from './cache/semantic/from-config.js';
import { context } from './pipeline/stages/context.js';
import { defer as deferStage } from './pipeline/stages/defer.js';
import { Batcher, deferredView } from './batch/batcher.js';
import type { Job } from './batch/store.js';
import { existsSync } from 'node:fs';
import { streams } from './pipeline/stages/streams.js';
import { checkShape } from './pipeline/shape.js';
import { Admission } from './governance/admission.js';
import { KeyService } from './keys/service.js';
import { openKeyStore } from './stores/keys/index.js';
import { MemoryKeyStore } from './stores/keys/sql.js';
import type { KeyStore } from './stores/keys/types.js';
import { MemoryBudgetStore } from './stores/budgets/memory.js';
import type { BudgetStore } from './stores/budgets/types.js';
import type { RecordSink, RequestRecord } from './pipeline/record.js';
import { loadConfig, parseConfig, resolveConfig, type ResolvedConfig } from './config/load.js';
import type { ConfigInput } from './config/schema.js';
import { Agents } from './upstream/agents.js';
import { CircuitBreakers } from './upstream/breaker.js';
import { createResolver } from './routing/resolve.js';
import { RoutingEngine } from './routing/engine.js';
import { budgetPressure } from './routing/budget-pressure.js';
import { llmClassifier } from './routing/llm-classifier.js';
import { cascade } from './pipeline/stages/cascade.js';
// Types only: the simulator (and, through it, the tokenizer's tables) is imported when a config runs one in-process.
import type { Simulator, SimulatorServerOptions } from './providers/simulator/server.js';
import { findSimModel, SIM_MODELS } from './providers/simulator/catalog.js';
import { validateChat, validateEmbeddings } from './surface/openai.js';
import { validateMessages } from './surface/anthropic.js';
import { createFetch } from './library/fetch.js';
import { PriceCatalog } from './pricing/catalog.js';
import { Pricer } from './pricing/pricer.js';
import { rateAt } from './pricing/rates.js';
import type { Json } from './providers/adapter.js';
import { summaryPrompt } from './optimize/summarize.js';
import { openLedgerStore } from './stores/ledger/index.js';
import { LedgerWriter } from './stores/ledger/writer.js';
import { toRows } from './stores/ledger/rows.js';
import { BodyCapture } from './stores/ledger/bodies.js';
import { Redactor } from './stores/ledger/redact.js';
import type { AttemptRow, GroupKey, LedgerFilter, LedgerQuery, LedgerRow, LedgerStore } from './stores/ledger/types.js';
import { summarize, type Summary } from './observability/reports/summary.js';
import { GatewayMetrics } from './observability/metrics/index.js';
import { fingerprint } from './pipeline/stages/fingerprint.js';
import type { AlertManager } from './observability/alerts/manager.js';
import type { Channel } from './observability/alerts/channels.js';
import type { AlertStore } from './stores/alerts/types.js';
import type { OtelHandle, OtelTestHooks } from './observability/otel/index.js';

export interface GatewayOptions {
  /** A config file path, a config object (validated), or an already resolved config. Default: environment. */
  config?: string | ConfigInput | ResolvedConfig;
  env?: NodeJS.ProcessEnv;
  /** Extra record sinks (tests, custom exporters). */
  sinks?: RecordSink[];
  /** Options for in-process simulators (answer hooks for evaluations). */
  simulator?: SimulatorServerOptions;
  /** Deterministic jitter for tests. */
  random?: () => number;
  /** Use this ledger store instead of the one config names (it is initialised, and closed with the gateway). */
  ledgerStore?: LedgerStore;
  /** Use this key store instead of the one beside the ledger (initialised, and closed with the gateway). */
  keyStore?: KeyStore;
  /** Use this budget store instead of the one `budgetStore` names (closed with the gateway). */
  budgetStore?: BudgetStore;
  /** A soft budget was crossed (also logged, and published on diagnostics_channel `costgate:budget`). */
  onBudgetEvent?: (e: SoftBudgetEvent) => void;
  /** Use this response-cache store instead of the one `cache.store` names (closed with the gateway). */
  cacheStore?: CacheStore;
  /** The semantic cache layer (consulted after an exact miss where a route's `semantic` is on or shadow). */
  semantic?: SemanticLayer;
  /** Clock of the response cache (TTL tests). */
  cacheNow?: () => number;
  /** Alerts (when `alerts.enabled`): a state store instead of the one beside the ledger, channels instead of config's, a clock. */
  alerts?: { store?: AlertStore; channels?: Channel[]; now?: () => number; log?: (line: string) => void };
  /** OpenTelemetry (when `otel.enabled`): exporters/readers instead of OTLP (in-memory tests). */
  otel?: OtelTestHooks;
}

export interface Gateway {
  readonly config: ResolvedConfig;
  /** Run one request through the pipeline. Never throws: errors come back as OpenAI/Anthropic error responses. */
  handle(req: GatewayRequest): Promise<GatewayResponse>;
  /** A fetch-compatible function serving the gateway's HTTP surface in-process (for SDK clients). */
  fetch: typeof globalThis.fetch;
  /** The last 1,000 request records in memory, as the meter saw them (before pricing); the ledger has them all. */
  recent(): RequestRecord[];
  /**
   * The ledger, newest first (the library equivalent of `GET /v1/costgate/requests`): same filters, `limit` 1–1000
   * (default 100) and `cursor` from the previous page's `nextCursor`. Queued rows are flushed first, so a call that
   * just finished is there.
   */
  requests(q?: LedgerQuery): Promise<{ rows: LedgerRow[]; nextCursor?: string }>;
  /** One request's ledger row(s) with every upstream attempt (`GET /v1/costgate/requests/{id}`); [] when unknown. */
  request(requestId: string): Promise<(LedgerRow & { attempts: AttemptRow[] })[]>;
  /** A cost summary over the ledger (`GET /v1/costgate/report`), grouped by `by`. */
  report(filter?: LedgerFilter, by?: GroupKey[]): Promise<Summary>;
  /** Model list for `GET /v1/models`. */
  models(): { object: 'list'; data: { id: string; object: 'model'; created: number; owned_by: string }[] };
  /** Requests whose response (or stream) has not finished yet. */
  inFlight(): number;
  /** The ledger: its store (queries, reports) and the batching writer. */
  readonly ledger: { store: LedgerStore; writer: LedgerWriter };
  readonly pricer: Pricer;
  readonly budgetStore: BudgetStore;
  /** Virtual keys (create, verify, revoke, rotate, list). */
  readonly keys: KeyService;
  /** The response cache's store, when the cache is enabled anywhere in config. */
  readonly cacheStore?: CacheStore;
  /** The semantic cache layer (passed in, or built from `cache.semanticLayer` where a policy turns it on). */
  readonly semantic?: SemanticLayer;
  /**
   * Defer a chat/messages request (`x-costgate-defer`): it is queued and sent in a provider batch at batch prices.
   * `accepted` is the 202 (or the error, e.g. a streaming request); `result()` resolves when the job has ended with
   * the response the synchronous call would have returned.
   */
  defer(req: Omit<GatewayRequest, 'headers'> & { headers?: GatewayRequest['headers'] }, opts: { deadline: string; webhook?: string }): Promise<DeferredHandle>;
  /** A deferred job as `GET /v1/costgate/deferred/{id}` shows it; undefined when unknown. */
  deferred(id: string): Promise<Record<string, any> | undefined>;
  /** The batcher (queue, flush/poll loop). */
  readonly batcher: Batcher;
  /** Prometheus metrics (`GET /metrics`), unless `metrics.enabled` is false. */
  readonly metrics?: GatewayMetrics;
  /** Alert rules, state and channels (`GET /v1/costgate/alerts`), when `alerts.enabled`. */
  readonly alerts?: AlertManager;
  /** The OpenTelemetry exporter, when `otel.enabled`. */
  readonly otel?: OtelHandle;
  close(): Promise<void>;
}

export interface DeferredHandle {
  /** The job id (the request id). */
  id: string;
  /** The gateway's answer to the deferral: 202, or an error response. */
  accepted: GatewayResponse;
  /** The ended job: `status` 'completed' | 'failed', `response_status`, `response` (the body), `via`, `cost_usd`. */
  result(): Promise<Record<string, any>>;
}

const VALIDATORS: Record<Endpoint, (b: unknown) => void> = {
  chat: validateChat,
  messages: validateMessages,
  embeddings: validateEmbeddings,
};

const RECENT_RECORDS = 1000;

/** The last `capacity` items, oldest first: a fixed array and a cursor, so a push never shifts or reallocates. */
export class RecentRing<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.size < this.capacity) this.size++;
  }

  get length(): number {
    return this.size;
  }

  /** A copy, oldest first. */
  toArray(): T[] {
    const out = new Array<T>(this.size);
    const start = this.size < this.capacity ? 0 : this.next;
    for (let i = 0; i < this.size; i++) out[i] = this.items[(start + i) % this.capacity] as T;
    return out;
  }
}

/** `metadata.request_id` (or its header-style spellings, as the auth stage reads them) for SDKs that cannot set headers. */
function metadataRequestId(body: unknown): string | undefined {
  const md = body && typeof body === 'object' ? (body as { metadata?: unknown }).metadata : undefined;
  if (!md || typeof md !== 'object' || Array.isArray(md)) return undefined;
  const m = md as Record<string, unknown>;
  const v = m.request_id ?? m['x-costgate-request-id'] ?? m.costgate_request_id;
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

function resolveOptions(o: GatewayOptions): ResolvedConfig {
  const env = o.env ?? process.env;
  if (o.config === undefined) return loadConfig(undefined, env);
  if (typeof o.config === 'string') return loadConfig(o.config, env);
  if ((o.config as ResolvedConfig).providers instanceof Map) return o.config as ResolvedConfig;
  return resolveConfig(parseConfig(o.config, 'options.config'), env, 'options.config');
}

export async function createGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const config = resolveOptions(options);
  const simulators: Simulator[] = [];
  for (const p of config.providers.values()) {
    if (p.type === 'simulator' && !p.baseUrl) {
      const { startSimulator } = await import('./providers/simulator/server.js');
      const sim = await startSimulator({ ...p.simulator, ...options.simulator });
      simulators.push(sim);
      p.baseUrl = sim.baseUrl;
    }
  }
  const agents = new Agents();
  const breakers = new CircuitBreakers(config.circuitBreaker.failureThreshold, config.circuitBreaker.cooldownMs);
  const recentRecords = new RecentRing<RequestRecord>(RECENT_RECORDS);
  const keepRecent: RecordSink = (r) => recentRecords.push(r);
  const store = options.ledgerStore ?? (await openLedgerStore(config.ledger));
  if (options.ledgerStore) await store.init();
  const writer = new LedgerWriter(store, {
    flushIntervalMs: config.ledger.flushIntervalMs,
    batchSize: config.ledger.batchSize,
    onError: (e) => process.emitWarning(`costgate: ledger write failed (will retry): ${(e as Error).message}`),
    ...(config.ledger.storeBodies.enabled ? { bodyRetentionMs: config.ledger.storeBodies.retentionDays * 86_400_000 } : {}),
  });
  const sb = config.ledger.storeBodies;
  // Opt-in stored bodies: redacted (patterns, and every secret costgate holds) before they are queued on the writer.
  const bodyCapture = sb.enabled
    ? new BodyCapture(
        sb,
        new Redactor(sb.redact, [...[...config.providers.values()].map((p) => p.apiKey), config.auth.admin, config.auth.viewer, config.cache.semanticLayer.apiKeyValue]),
        (b) => writer.pushBody(b),
        (e) => process.emitWarning(`costgate: storing a request body failed: ${(e as Error).message}`),
      )
    : undefined;
  const pricer = new Pricer({
    catalog: new PriceCatalog(config.pricing.models),
    providerType: (name) => (name ? config.providers.get(name)?.type : undefined),
    aliasBaseline: (alias) => config.baselines.get(alias),
    defaultBaseline: config.pricing.baselineModel,
  });
  const ledgerSink: RecordSink = (rec, priced) => {
    const { row, attempts } = toRows(rec, priced);
    writer.push(row, attempts);
  };
  const keyStore = options.keyStore ?? (options.ledgerStore ? new MemoryKeyStore() : openKeyStore(config.ledger));
  await keyStore.init();
  const keys = new KeyService(keyStore, config.auth.cacheTtlMs);
  let budgetStore = options.budgetStore;
  if (!budgetStore) {
    if (config.budgetStore.kind === 'redis') {
      const { RedisBudgetStore } = await import('./stores/budgets/redis.js');
      budgetStore = new RedisBudgetStore(config.budgetStore.resolvedUrl, config.budgetStore.prefix);
    } else budgetStore = new MemoryBudgetStore();
  }
  const pr = config.priorities;
  const admissionGate = pr.maxInFlight > 0 ? new Admission({ maxInFlight: pr.maxInFlight, optionalShedAt: pr.optionalShedAt, queueMax: pr.queue.maxSize, queueTimeoutMs: pr.queue.timeoutMs }) : undefined;
  const cc = config.cache;
  const cacheOn = cc.enabled || [...Object.values(cc.routes), ...Object.values(cc.features)].some((p) => p.enabled === true);
  const cacheStore = cacheOn ? (options.cacheStore ?? (await openCacheStore(cc))) : undefined;
  // The configured semantic layer, unless one is passed in. Its model loads in a worker: start never waits for it.
  const semantic = options.semantic ?? (cacheStore && semanticWanted(cc) ? semanticLayerFromConfig(cc) : undefined);
  let handleRef: (req: GatewayRequest) => Promise<GatewayResponse> = async () => ({ status: 503, headers: {}, body: '' });
  const bs = config.batch.store;
  const batchPath = config.batch.path ?? (bs === 'memory' || (bs === 'auto' && (config.ledger.store === 'memory' || options.ledgerStore)) ? ':memory:' : `${config.ledger.path}.batch.db`);
  // The queue follows the ledger: Postgres when the ledger is Postgres (shared by every replica), else SQLite.
  const pgQueue = (bs === 'auto' || bs === 'postgres') && config.ledger.store === 'postgres' && !options.ledgerStore ? { url: config.ledger.resolvedUrl!, schema: config.ledger.schema } : undefined;
  if (bs === 'postgres' && !pgQueue) throw new Error('batch.store: postgres needs ledger.store: postgres (the queue uses the ledger database)');
  const batcher = new Batcher({ config, pricer, ledger: { store, writer }, handle: (r) => handleRef(r), storePath: batchPath, postgres: pgQueue });
  let inFlight = 0;
  const metrics = config.metrics.enabled ? new GatewayMetrics({ config: config.metrics, budgets: config.budgets, budgetStore, inFlight: () => inFlight }) : undefined;
  const extraSinks: RecordSink[] = [...(metrics ? [metrics.sink] : []), ...(options.sinks ?? [])];
  const routing = config.routing.enabled ? new RoutingEngine(config.routing) : undefined;
  const rc = config.routing.classifier;
  const llmTierFn = routing && rc.mode === 'llm' ? llmClassifier((r) => handleRef(r), (rc.model ?? config.routing.tiers.simple ?? config.routing.weak)!, rc.timeoutMs) : undefined;
  const al = config.alerts;
  let alerts: AlertManager | undefined;
  if (al.enabled) {
    const { AlertManager } = await import('./observability/alerts/manager.js');
    const { openAlertStore } = await import('./stores/alerts/index.js');
    const { MemoryAlertStore } = await import('./stores/alerts/memory.js');
    const alertStore = options.alerts?.store ?? (options.ledgerStore ? new MemoryAlertStore() : await openAlertStore(config));
    await alertStore.init();
    alerts = new AlertManager({ config: al, ledger: store, store: alertStore, budgets: config.budgets, cacheOn, channels: options.alerts?.channels, now: options.alerts?.now, log: options.alerts?.log, env: options.env, beforeEvaluate: () => writer.flushNow() });
    alerts.start((f) => writer.onWritten(f));
  }
  // Zero cost when off: the SDK is not even loaded.
  const otel = config.otel.enabled ? await (await import('./observability/otel/index.js')).startOtel(config.otel, options.otel, (n) => config.providers.get(n)?.type) : undefined;
  const upstream = dispatch({ retries: config.retries, agents, breakers, random: options.random });
  const stages: Stage[] = [
    meter({
      pricer,
      sinks: [ledgerSink, keepRecent, ...extraSinks],
      onSinkError: (e) => process.emitWarning(`costgate: record sink failed: ${(e as Error).message}`),
      ...(bodyCapture ? { capture: (ctx: Ctx, res: GatewayResponse) => bodyCapture.capture(ctx, res) } : {}),
    }),
    ...(al.enabled && al.rules.duplicateShare.enabled ? [fingerprint()] : []),
    auth({ mode: config.auth.mode, keys }),
    streams({ maxStreamsPerKey: config.server.maxStreamsPerKey }),
    limits({ config, store: budgetStore, reservationTtlMs: config.budgetStore.reservationTtlMs }),
    route({ resolve: createResolver(config), engine: routing, budgetUsed: routing?.cfg.budget.preferWeakAt !== undefined ? budgetPressure(config.budgets, budgetStore) : undefined, llmTier: llmTierFn }),
    ...(cacheStore ? [cache({ config: cc, store: cacheStore, semantic, now: options.cacheNow })] : []),
    context({ optimize: config.optimize, summarize: summaryCall, internalChat }),
    budget({ budgets: config.budgets, store: budgetStore, pricer, reservationTtlMs: config.budgetStore.reservationTtlMs, shedFractions: config.priorities.budgetFraction, onSoftCrossed: options.onBudgetEvent }),
    deferStage(batcher, config.priorities.deferOptional),
    ...(admissionGate ? [admission({ admission: admissionGate, retryAfterSec: config.priorities.retryAfterSec })] : []),
    // Only the routing engine sends calls to a cascade: without it, dispatch runs unwrapped.
    routing ? cascade(upstream, config.routing.cascade) : upstream,
  ];
  const pipeline = compose(stages);

  /** The cheapest configured deployment model by catalog input price (summaries; `optimize.summarize.model` overrides). */
  function cheapestModel(): string | undefined {
    let best: { model: string; price: bigint } | undefined;
    // Deployments, and the exact (non-glob) model names providers list.
    const cands: [string, string][] = [...config.deployments.values()].map((d) => [d.model, d.provider.name]);
    for (const p of config.providers.values()) for (const m of p.models) if (!/[*?[]/.test(m)) cands.push([m, p.name]);
    for (const [model, provider] of cands) {
      const r = pricer.rates(model, provider);
      if (!r) continue;
      const price = rateAt(r.input, 0);
      if (!best || price < best.price) best = { model, price };
    }
    return best?.model;
  }

  /**
   * A summary is an ordinary call through this same pipeline (its own ledger row, the client's key, feature and
   * budgets), marked so that it is never summarised itself.
   */
  async function summaryCall(r: { model?: string; transcript: string; maxTokens: number; headers: Record<string, string | undefined> }): Promise<string> {
    return ownChat(r.model, summaryPrompt(r.transcript, r.maxTokens), r.headers, { summaryCall: true });
  }

  /** A structured-output repair: the same kind of own call, carrying its ledger note (wasted tokens). */
  async function internalChat(r: { model?: string; body: Json; headers: Record<string, string | undefined>; note: string }): Promise<string> {
    return ownChat(r.model, r.body, r.headers, { repairCall: r.note });
  }

  async function ownChat(m: string | undefined, prompt: Json, hdrs: Record<string, string | undefined>, mark: Partial<GatewayRequest>): Promise<string> {
    const model = m ?? cheapestModel();
    if (!model) throw new GatewayError('invalid_value', 'optimize: no priced model for costgate\'s own calls (set optimize.summarize.model / optimize.structured.model)');
    const pass = ['authorization', 'x-api-key', 'x-costgate-feature', 'x-costgate-user', 'x-costgate-team', 'x-costgate-priority'];
    const headers = Object.fromEntries(pass.filter((h) => hdrs[h] !== undefined).map((h) => [h, hdrs[h]]));
    const res = await handle({ endpoint: 'chat', body: { model, ...prompt }, headers, ...mark });
    const text = res.status === 200 && res.body ? (JSON.parse(String(typeof res.body === 'string' ? res.body : Buffer.from(res.body))) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content : undefined;
    if (typeof text !== 'string' || !text) throw new GatewayError('upstream_error', `summary call failed (${res.status})`);
    return text;
  }
  batcher.resumeIfPresent(pgQueue !== undefined || (batchPath !== ':memory:' && existsSync(batchPath)));
  const sync = config.ledger.durability === 'sync';

  async function handle(req: GatewayRequest): Promise<GatewayResponse> {
    const surface = req.endpoint === 'messages' ? 'anthropic' : 'openai';
    const hid = req.headers['x-costgate-request-id'] ?? metadataRequestId(req.body);
    const id = requestIdFor(hid);
    let ctxCreated = false;
    try {
      if (req.rejected) throw req.rejected;
      if (hid !== undefined && hid !== id) throw new GatewayError('invalid_value', 'x-costgate-request-id must be 1-128 characters of A-Z a-z 0-9 . _ : -', { param: 'x-costgate-request-id' });
      checkShape(req.body, req.endpoint, config.server, req.raw?.length);
      VALIDATORS[req.endpoint](req.body);
      const ctx = createCtx(req, req.body as Record<string, any>, id);
      ctxCreated = true;
      inFlight++;
      ctx.settled.then(() => inFlight--);
      const res = await pipeline(ctx);
      res.headers['x-costgate-request-id'] = id;
      if (sync && ctx.isSettled) await writer.flushNow();
      return res;
    } catch (e) {
      const err = toGatewayError(e);
      if (err.code === 'internal_error') process.emitWarning(`costgate: internal error: ${(err.cause as Error)?.stack ?? err.cause}`);
      if (!ctxCreated) recordRejected(req, id, err);
      const r = renderError(err, surface);
      return { status: r.status, headers: { ...r.headers, 'x-costgate-request-id': id }, body: r.body };
    }
  }

  /** A request refused before the pipeline (malformed, invalid) is still a ledger row: every call is accounted. */
  function recordRejected(req: GatewayRequest, id: string, err: GatewayError): void {
    const body = req.body as Record<string, unknown> | null;
    const model = body && typeof body === 'object' && typeof body.model === 'string' ? body.model.slice(0, 256) : '';
    // Attributed from the headers (the body may be unreadable): a feature's rejected calls count in its error rate.
    const attr = (k: string) => {
      const v = req.headers[k];
      return typeof v === 'string' && v !== '' && v.length <= 256 ? v : undefined;
    };
    const rec: RequestRecord = {
      id,
      ts: Date.now(),
      endpoint: req.endpoint,
      surface: req.endpoint === 'messages' ? 'anthropic' : 'openai',
      requestedModel: model,
      feature: attr('x-costgate-feature'),
      user: attr('x-costgate-user'),
      team: attr('x-costgate-team'),
      apiKeyId: keyFingerprint(req.headers),
      stream: false,
      status: err.status,
      errorCode: err.code,
      errorMessage: err.message,
      latencyMs: 0,
      clientAborted: false,
      attempts: [],
    };
    const priced = { costNanos: 0, baselineModel: null, baselineCostNanos: 0, priceSource: 'rejected', attemptCosts: [] };
    for (const sink of [ledgerSink, keepRecent, ...extraSinks]) {
      try {
        sink(rec, priced);
      } catch {
        /* metering never breaks a response */
      }
    }
  }

  function models() {
    const ids = new Map<string, string>();
    for (const a of config.aliases.keys()) ids.set(a, 'costgate');
    for (const d of config.deployments.values()) ids.set(d.model, d.provider.name);
    for (const p of config.providers.values()) {
      if (p.type === 'simulator') for (const m of SIM_MODELS) if (!ids.has(m.id)) ids.set(m.id, `${p.name} (${findSimModel(m.id)?.owned_by})`);
    }
    return { object: 'list' as const, data: [...ids].map(([id, owned_by]) => ({ id, object: 'model' as const, created: 1_700_000_000, owned_by })) };
  }

  const gw: Gateway = {
    config,
    handle,
    fetch: undefined as unknown as typeof fetch,
    recent: () => recentRecords.toArray(),
    async requests(q = {}) {
      await writer.flushNow();
      return store.query({ limit: 100, ...q });
    },
    async request(requestId) {
      await writer.flushNow();
      const { rows } = await store.query({ requestId, limit: 100 });
      return Promise.all(rows.map(async (r) => ({ ...r, attempts: await store.attempts(r.uid) })));
    },
    async report(filter = {}, by = []) {
      await writer.flushNow();
      return summarize(store, filter, by);
    },
    models,
    inFlight: () => inFlight,
    ledger: { store, writer },
    pricer,
    batcher,
    async defer(req, opts) {
      const accepted = await handle({ ...req, headers: { ...(req.headers ?? {}), 'x-costgate-defer': opts.deadline, ...(opts.webhook ? { 'x-costgate-defer-webhook': opts.webhook } : {}) } });
      const id = accepted.headers['x-costgate-deferred-id'] ?? accepted.headers['x-costgate-request-id']!;
      return {
        id,
        accepted,
        async result() {
          if (accepted.status !== 202) throw new Error(`deferral refused: HTTP ${accepted.status}: ${String(accepted.body)}`);
          return deferredView(await batcher.wait(id));
        },
      };
    },
    async deferred(id) {
      const j: Job | undefined = await (await batcher.store()).get(id);
      return j ? deferredView(j) : undefined;
    },
    budgetStore,
    keys,
    cacheStore,
    semantic,
    metrics,
    alerts,
    otel,
    async close() {
      await alerts?.close();
      await otel?.shutdown();
      await batcher.close();
      await agents.close();
      await writer.close();
      await store.close();
      await budgetStore.close();
      await keyStore.close();
      await cacheStore?.close();
      await semantic?.close();
      await Promise.all(simulators.map((s) => s.close()));
    },
  };
  handleRef = handle;
  gw.fetch = createFetch(gw);
  return gw;
}
