/**
 * Load, validate and resolve config. Errors name the field (`providers.openai.baseUrl: Invalid URL`) and the file.
 * With no file, providers come from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY), and with
 * none of those the built-in simulator serves every model, so a fresh machine works with no network.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigSchema, TimeoutsSchema, SimulatorOptionsSchema, type BudgetConfig, type FeatureConfig, type LimitsConfig, type PrioritiesConfig, type OptimizeConfig, type RateConfig, type Config, type ProviderConfig, type SimulatorOptions, type Timeouts } from './schema.js';
import { parseDuration, type WindowSpec } from '../budgets/window.js';
import { usdToNanos } from '../budgets/money.js';
import { ADAPTERS } from '../providers/registry.js';
import type { ProviderAdapter, ProviderType } from '../providers/adapter.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ResolvedProvider {
  name: string;
  type: ProviderType;
  adapter: ProviderAdapter;
  /** Undefined only for an in-process simulator until the gateway starts it. */
  baseUrl: string | undefined;
  /** Never logged, never stored, never echoed: see README "Security". */
  apiKey: string | undefined;
  headers: Record<string, string>;
  models: string[];
  timeouts: Timeouts;
  connections: number;
  simulator?: SimulatorOptions;
}

export interface Deployment {
  name: string;
  provider: ResolvedProvider;
  model: string;
  headers: Record<string, string>;
}

export interface ResolvedBudget {
  name: string;
  scope: BudgetConfig['scope'];
  value?: string;
  window: WindowSpec;
  limitNanos: bigint;
  mode: 'hard' | 'soft';
  status: 402 | 429;
  /** Priorities this budget counts but never refuses. */
  exemptPriorities: ('critical' | 'important' | 'optional')[];
}

/** A rate limit as the limits stage applies it: per tier (scope `user`, only for calls of that tier) or per scope. */
export interface ResolvedRateLimit {
  name: string;
  scope: 'global' | 'feature' | 'team' | 'user' | 'key' | 'model';
  value?: string;
  /** Applies only to calls of this tier (tier limits). */
  tier?: string;
  rate: RateConfig;
}

export interface ResolvedLimits extends Omit<LimitsConfig, 'rateLimits'> {
  /** Tier limits first (one per tier), then `rateLimits` in order. */
  rules: ResolvedRateLimit[];
}

function resolveBudgets(cfg: Config, source: string): ResolvedBudget[] {
  const seen = new Set<string>();
  return cfg.budgets.map((b, i) => {
    const window: WindowSpec = typeof b.window === 'string' ? { kind: 'calendar', unit: b.window, tz: b.timezone } : { kind: 'rolling', ms: parseDuration(b.window.rolling)! };
    const name = b.name ?? [b.scope, b.value, typeof b.window === 'string' ? b.window : `rolling-${b.window.rolling}`].filter(Boolean).join(':');
    if (seen.has(name)) throw new ConfigError(`invalid config (${source}):\n  budgets.${i}.name: two budgets are named "${name}" (give one a name)`);
    seen.add(name);
    return { name, scope: b.scope, value: b.value, window, limitNanos: usdToNanos(b.amount), mode: b.mode, status: b.status, exemptPriorities: b.exemptPriorities };
  });
}

function resolveLimits(cfg: Config, source: string): ResolvedLimits {
  const { rateLimits, ...rest } = cfg.limits;
  const rules: ResolvedRateLimit[] = Object.entries(cfg.limits.tiers).map(([tier, rate]) => ({ name: `tier:${tier}`, scope: 'user', tier, rate }));
  const seen = new Set(rules.map((r) => r.name));
  rateLimits.forEach((r, i) => {
    const { name: n, scope, value, ...rate } = r;
    const name = n ?? [scope, value].filter(Boolean).join(':');
    if (seen.has(name)) throw new ConfigError(`invalid config (${source}):\n  limits.rateLimits.${i}.name: two limits are named "${name}" (give one a name)`);
    seen.add(name);
    rules.push({ name, scope, value, rate });
  });
  return { ...rest, rules };
}

export interface ResolvedConfig {
  server: Config['server'];
  retries: Config['retries'];
  circuitBreaker: Config['circuitBreaker'];
  providers: Map<string, ResolvedProvider>;
  deployments: Map<string, Deployment>;
  aliases: Map<string, string[]>;
  /** Alias → baseline model for savings. */
  baselines: Map<string, string>;
  pricing: Config['pricing'];
  ledger: Config['ledger'] & { resolvedUrl?: string };
  budgets: ResolvedBudget[];
  budgetStore: Config['budgetStore'] & { resolvedUrl: string };
  limits: ResolvedLimits;
  auth: Config['auth'] & { admin?: string; viewer?: string };
  features: Record<string, FeatureConfig>;
  priorities: PrioritiesConfig;
  /** The response cache, durations in ms, the store's URL resolved. */
  cache: ResolvedCache;
  optimize: OptimizeConfig;
  batch: Config['batch'] & { webhookSecretValue?: string };
  /** `GET /metrics`. */
  metrics: Config['metrics'];
  routing: Config['routing'];
  alerts: Config['alerts'];
  /** OpenTelemetry; header values `env:NAME` resolved. */
  otel: Config['otel'];
  /** Where the config came from, for the start-up banner. */
  source: string;
}

const DEFAULT_MODEL_GLOBS: Record<ProviderType, string[]> = {
  openai: ['gpt-*', 'o1*', 'o3*', 'o4*', 'chatgpt-*', 'text-embedding-*', 'omni-*'],
  anthropic: ['claude-*'],
  gemini: ['gemini-*', 'gemma-*'],
  'openai-compatible': [],
  simulator: ['*'],
};

function formatIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((i) => {
    const path = i.path.length ? i.path.join('.') : '(root)';
    const keys = (i as { keys?: string[] }).keys;
    const msg = i.code === 'unrecognized_keys' && keys ? `unknown key(s) ${keys.map((k) => `"${k}"`).join(', ')}` : i.message;
    return `  ${path}: ${msg}`;
  });
  return `invalid config (${source}):\n${lines.join('\n')}`;
}

/** Parse a config object (already read from YAML/JSON). Throws ConfigError naming each bad field. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const r = ConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new ConfigError(formatIssues(r.error, source));
  return r.data;
}

export function readConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  const cfg = parseConfig(raw, path);
  // A simulator's quality table is named relative to the config file, wherever the gateway is started from.
  for (const p of Object.values(cfg.providers)) {
    const q = p.simulator?.quality;
    if (q?.file !== undefined) q.file = resolvePath(dirname(path), q.file);
  }
  if (cfg.secretsFile !== undefined) cfg.secretsFile = resolvePath(dirname(path), cfg.secretsFile);
  return cfg;
}

/** Providers implied by the environment when no config file names any. */
export function envProviders(env: NodeJS.ProcessEnv): Config['providers'] {
  const out: Config['providers'] = {};
  const add = (name: string, type: ProviderType) => {
    out[name] = { type, headers: {}, connections: 256 } as ProviderConfig;
  };
  if (env.OPENAI_API_KEY) add('openai', 'openai');
  if (env.ANTHROPIC_API_KEY) add('anthropic', 'anthropic');
  if (env.GEMINI_API_KEY) add('gemini', 'gemini');
  if (Object.keys(out).length === 0) add('simulator', 'simulator');
  return out;
}

/** A config value given as `env:NAME` is that environment variable (undefined when unset); any other is itself. */
function envValue(v: string, env: NodeJS.ProcessEnv): string | undefined {
  return v.startsWith('env:') ? env[v.slice(4)] : v;
}

/** `NAME=value` lines (blank lines and `#` comments skipped, optional quotes); mode must deny group and others. */
export function readSecretsFile(path: string, source: string): Record<string, string> {
  let text: string;
  try {
    const st = statSync(path);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new ConfigError(`invalid config (${source}):\n  secretsFile: ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`invalid config (${source}):\n  secretsFile: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(l);
    // The line number only: a malformed line may be a secret.
    if (!m) throw new ConfigError(`invalid config (${source}):\n  secretsFile: line ${i + 1} of ${path} is not NAME=value`);
    let v = m[2]!;
    if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) v = v.slice(1, -1);
    out[m[1]!] = v;
  });
  return out;
}

export function resolveConfig(cfg: Config, env: NodeJS.ProcessEnv = process.env, source = 'defaults'): ResolvedConfig {
  if (cfg.secretsFile !== undefined) env = { ...readSecretsFile(cfg.secretsFile, source), ...env };
  const providerCfgs = Object.keys(cfg.providers).length ? cfg.providers : envProviders(env);
  const providers = new Map<string, ResolvedProvider>();
  for (const [name, p] of Object.entries(providerCfgs)) {
    const adapter = ADAPTERS[p.type];
    const keyEnv = p.apiKeyEnv ?? adapter.defaultKeyEnv;
    const baseUrl = (p.baseUrl ?? adapter.defaultBaseUrl)?.replace(/\/+$/, '');
    if (!baseUrl && p.type !== 'simulator') throw new ConfigError(`invalid config (${source}):\n  providers.${name}.baseUrl: required for type ${p.type}`);
    if (p.apiKeyEnv && env[p.apiKeyEnv] === undefined) {
      throw new ConfigError(`invalid config (${source}):\n  providers.${name}.apiKeyEnv: environment variable ${p.apiKeyEnv} is not set`);
    }
    providers.set(name, {
      name,
      type: p.type,
      adapter,
      baseUrl,
      apiKey: keyEnv ? env[keyEnv] : undefined,
      headers: p.headers ?? {},
      models: p.models ?? DEFAULT_MODEL_GLOBS[p.type],
      timeouts: TimeoutsSchema.parse(p.timeouts ?? {}),
      connections: p.connections ?? 256,
      simulator: p.type === 'simulator' ? SimulatorOptionsSchema.parse(p.simulator ?? {}) : undefined,
    });
  }
  const deployments = new Map<string, Deployment>();
  cfg.deployments.forEach((d, i) => {
    const provider = providers.get(d.provider);
    if (!provider) throw new ConfigError(`invalid config (${source}):\n  deployments.${i}.provider: no provider named "${d.provider}"`);
    const name = d.name ?? `${d.provider}/${d.model}`;
    if (deployments.has(name)) throw new ConfigError(`invalid config (${source}):\n  deployments.${i}.name: duplicate deployment "${name}"`);
    deployments.set(name, { name, provider, model: d.model, headers: d.headers ?? {} });
  });
  const aliases = new Map<string, string[]>();
  const baselines = new Map<string, string>();
  for (const [alias, a] of Object.entries(cfg.models)) {
    if (a.baseline) baselines.set(alias, a.baseline);
    a.deployments.forEach((ref, i) => {
      if (deployments.has(ref)) return;
      const slash = ref.indexOf('/');
      if (slash > 0 && providers.has(ref.slice(0, slash))) return;
      throw new ConfigError(`invalid config (${source}):\n  models.${alias}.deployments.${i}: no deployment or provider/model named "${ref}"`);
    });
    aliases.set(alias, a.deployments);
  }
  const resolvedUrl = envValue(cfg.ledger.url, env);
  if (cfg.ledger.store === 'postgres' && !resolvedUrl) {
    throw new ConfigError(`invalid config (${source}):\n  ledger.url: no Postgres URL (${cfg.ledger.url} is not set)`);
  }
  return {
    server: cfg.server,
    retries: cfg.retries,
    circuitBreaker: cfg.circuitBreaker,
    providers,
    deployments,
    aliases,
    baselines,
    pricing: cfg.pricing,
    ledger: { ...cfg.ledger, resolvedUrl },
    budgets: resolveBudgets(cfg, source),
    budgetStore: { ...cfg.budgetStore, resolvedUrl: envValue(cfg.budgetStore.url, env) || 'redis://127.0.0.1:6379' },
    limits: resolveLimits(cfg, source),
    auth: { ...cfg.auth, admin: envValue(cfg.auth.adminKey, env) || undefined, viewer: envValue(cfg.auth.viewerKey, env) || undefined },
    features: cfg.features,
    priorities: cfg.priorities,
    cache: resolveCache(cfg, env),
    optimize: cfg.optimize,
    batch: { ...cfg.batch, webhookSecretValue: envValue(cfg.batch.webhookSecret, env) || undefined },
    metrics: cfg.metrics,
    routing: cfg.routing,
    alerts: cfg.alerts,
    otel: { ...cfg.otel, headers: Object.fromEntries(Object.entries(cfg.otel.headers).map(([k, v]) => [k, envValue(v, env) ?? ''])) },
    source,
  };
}

export interface ResolvedCachePolicy {
  enabled?: boolean;
  ttlMs?: number;
  nonDeterministic?: boolean;
  dedup?: boolean;
  semantic?: 'off' | 'on' | 'shadow';
  threshold?: number;
  semanticWithTools?: boolean;
}

export interface ResolvedCache {
  enabled: boolean;
  ttlMs: number;
  nonDeterministic: boolean;
  dedup: boolean;
  semantic: 'off' | 'on' | 'shadow';
  threshold?: number;
  semanticWithTools: boolean;
  semanticLayer: Config['cache']['semanticLayer'] & { apiKeyValue?: string };
  maxEntryBytes: number;
  dedupWaitMs: number;
  store: Config['cache']['store'] & { resolvedUrl?: string };
  routes: Record<string, ResolvedCachePolicy>;
  features: Record<string, ResolvedCachePolicy>;
}

const toMs = (v: number | string): number => (typeof v === 'number' ? v : parseDuration(v)!);

function resolveCache(cfg: Config, env: NodeJS.ProcessEnv): ResolvedCache {
  const c = cfg.cache;
  const pol = (p: Config['cache']['routes'][string]): ResolvedCachePolicy => {
    const { ttl, ...rest } = p;
    return { ...rest, ...(ttl !== undefined ? { ttlMs: toMs(ttl) } : {}) };
  };
  const store = c.store.kind === 'redis' ? { ...c.store, resolvedUrl: envValue(c.store.url, env) || 'redis://127.0.0.1:6379' } : c.store;
  return {
    enabled: c.enabled,
    ttlMs: toMs(c.ttl),
    nonDeterministic: c.nonDeterministic,
    dedup: c.dedup,
    semantic: c.semantic,
    threshold: c.threshold,
    semanticWithTools: c.semanticWithTools,
    semanticLayer: { ...c.semanticLayer, ...(c.semanticLayer.embedder.kind === 'openai' && c.semanticLayer.embedder.apiKey ? { apiKeyValue: envValue(c.semanticLayer.embedder.apiKey, env) } : {}) },
    maxEntryBytes: c.maxEntryBytes,
    dedupWaitMs: c.dedupWaitMs,
    store,
    routes: Object.fromEntries(Object.entries(c.routes).map(([k, v]) => [k, pol(v)])),
    features: Object.fromEntries(Object.entries(c.features).map(([k, v]) => [k, pol(v)])),
  };
}

/** Load from a file (YAML or JSON) or, with no path, from defaults and the environment. */
export function loadConfig(path?: string, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const cfg = path ? readConfigFile(path) : parseConfig({}, 'defaults');
  return resolveConfig(cfg, env, path ?? (Object.keys(envProviders(env)).includes('simulator') ? 'defaults (built-in simulator)' : 'defaults (provider keys from environment)'));
}
