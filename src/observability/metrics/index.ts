/**
 * `GET /metrics`: Prometheus text format via prom-client, fed by the meter's record sink (one private registry per
 * gateway, so two gateways in one process never mix their numbers).
 *
 * Cardinality is bounded: model and feature labels keep at most `metrics.maxLabelValues` distinct values each (the first
 * seen); later values are counted under `_other`. Provider comes from config; status is a class (2xx/4xx/5xx); cache and
 * error-code labels are closed sets. Money is summed exactly as bigint nano-dollars and converted to dollars only when
 * scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestRecord } from '../../pipeline/record.js';
import type { Priced } from '../../pricing/pricer.js';
import type { ResolvedBudget } from '../../config/load.js';
import type { BudgetStore } from '../../stores/budgets/types.js';
import { windowAt } from '../../budgets/window.js';
import type { MetricsConfig } from '../../config/schema.js';

export const OTHER = '_other';
const NONE = 'none';
const MAX_VALUE_LEN = 128;

/** First-come bounded label values: the first `max` distinct values pass, the rest become `_other`. */
export class LabelBound {
  private readonly seen = new Set<string>();
  constructor(readonly max: number) {}

  value(v: string | undefined): string {
    if (v === undefined || v === '') return NONE;
    const s = v.length > MAX_VALUE_LEN ? v.slice(0, MAX_VALUE_LEN) : v;
    if (this.seen.has(s)) return s;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(s);
    return s;
  }
}

const CACHE_LAYERS = new Set(['exact', 'semantic', 'dedup', 'miss', 'shadow']);
const statusClass = (s: number) => (s >= 100 && s < 600 ? `${Math.floor(s / 100)}xx` : 'other');
const ERROR_CODE = /^[a-z_]{1,48}$/;

/** Exact money counter: bigint nano-dollars per label set, exported in dollars. */
class MoneyCounter {
  private readonly sums = new Map<string, { labels: Record<string, string>; nanos: bigint }>();
  readonly counter: Counter<string>;

  constructor(registry: Registry, name: string, help: string, labelNames: string[]) {
    const sums = this.sums;
    this.counter = new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, nanos } of sums.values()) this.inc(labels, Number(nanos) / 1e9);
      },
    });
  }

  add(labels: Record<string, string>, nanos: number | bigint): void {
    const n = BigInt(nanos);
    if (n <= 0n) return;
    const k = JSON.stringify(labels);
    const e = this.sums.get(k);
    if (e) e.nanos += n;
    else this.sums.set(k, { labels, nanos: n });
  }
}

export interface MetricsOptions {
  config: MetricsConfig;
  budgets?: ResolvedBudget[];
  budgetStore?: BudgetStore;
  inFlight?: () => number;
  now?: () => number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly models: LabelBound;
  private readonly features: LabelBound;
  private readonly requests: Counter<string>;
  private readonly tokens: Counter<string>;
  private readonly cost: MoneyCounter;
  private readonly baseline: MoneyCounter;
  private readonly savings: MoneyCounter;
  private readonly avoided: MoneyCounter;
  private readonly retryCost: MoneyCounter;
  private readonly cacheHits: Counter<string>;
  private readonly latency: Histogram<string>;
  private readonly ttft: Histogram<string>;
  private readonly upstreamErrors: Counter<string>;

  constructor(private readonly o: MetricsOptions) {
    const c = o.config;
    const r = this.registry;
    this.models = new LabelBound(c.maxLabelValues);
    this.features = new LabelBound(c.maxLabelValues);
    if (c.processMetrics) collectDefaultMetrics({ register: r, prefix: 'costgate_process_' });
    const base = ['model', 'provider', 'feature'];
    this.requests = new Counter({ name: 'costgate_requests_total', help: 'Client requests metered, by served model, provider, feature, endpoint, status class and cache outcome.', labelNames: [...base, 'endpoint', 'status', 'cache'], registers: [r] });
    this.tokens = new Counter({ name: 'costgate_tokens_total', help: 'Tokens by kind (input includes cache_read; output includes reasoning).', labelNames: [...base, 'kind'], registers: [r] });
    this.cost = new MoneyCounter(r, 'costgate_cost_dollars_total', 'Spend in US dollars (what the calls cost, retries included).', base);
    this.baseline = new MoneyCounter(r, 'costgate_baseline_cost_dollars_total', 'What the same calls would have cost on the baseline model, US dollars.', base);
    this.savings = new MoneyCounter(r, 'costgate_savings_dollars_total', 'Savings vs baseline (baseline minus actual, where positive) plus cache-avoided spend, US dollars.', base);
    this.avoided = new MoneyCounter(r, 'costgate_cache_avoided_dollars_total', 'Spend a response-cache hit avoided, US dollars, by layer.', [...base, 'layer']);
    this.retryCost = new MoneyCounter(r, 'costgate_retry_cost_dollars_total', 'Cost of failed upstream attempts that were retried, US dollars.', base);
    this.cacheHits = new Counter({ name: 'costgate_cache_lookups_total', help: 'Response-cache outcomes by layer (exact, semantic, dedup, miss, shadow).', labelNames: ['model', 'feature', 'layer'], registers: [r] });
    this.latency = new Histogram({ name: 'costgate_request_duration_seconds', help: 'End-to-end request latency (to the last byte of a stream).', labelNames: ['model', 'provider', 'endpoint'], buckets: c.latencyBuckets, registers: [r] });
    this.ttft = new Histogram({ name: 'costgate_time_to_first_token_seconds', help: 'Streaming requests: time to the first content byte.', labelNames: ['model', 'provider'], buckets: c.latencyBuckets, registers: [r] });
    this.upstreamErrors = new Counter({ name: 'costgate_upstream_errors_total', help: 'Failed upstream attempts, by provider, model and error code.', labelNames: ['model', 'provider', 'code'], registers: [r] });
    if (o.inFlight) {
      const inFlight = o.inFlight;
      new Gauge({ name: 'costgate_in_flight_requests', help: 'Requests whose response has not finished.', registers: [r], collect() { this.set(inFlight()); } });
    }
    const budgets = (o.budgets ?? []).filter((b) => b.scope === 'global' || b.value !== undefined);
    if (budgets.length && o.budgetStore) {
      const store = o.budgetStore;
      const now = o.now ?? Date.now;
      const read = async () => {
        const t = now();
        const items = budgets.map((b) => ({ key: `${b.name}|${b.scope === 'global' ? '*' : b.value}`, minBucket: windowAt(b.window, t).minBucket }));
        return store.usage(items, t);
      };
      const labels = (b: ResolvedBudget) => ({ budget: b.name, scope: b.scope, mode: b.mode });
      new Gauge({
        name: 'costgate_budget_remaining_dollars',
        help: 'Budgets with a fixed scope value (or global): limit minus window spend and open reservations, US dollars (negative when over).',
        labelNames: ['budget', 'scope', 'mode'],
        registers: [r],
        async collect() {
          const u = await read();
          budgets.forEach((b, i) => this.set(labels(b), Number(b.limitNanos - u[i]!.spent - u[i]!.reserved) / 1e9));
        },
      });
      new Gauge({
        name: 'costgate_budget_limit_dollars',
        help: 'Budget limits, US dollars.',
        labelNames: ['budget', 'scope', 'mode'],
        registers: [r],
        collect() {
          for (const b of budgets) this.set(labels(b), Number(b.limitNanos) / 1e9);
        },
      });
    }
  }

  /** The meter's record sink. */
  readonly sink = (rec: RequestRecord, priced: Priced): void => {
    const model = this.models.value(rec.model ?? rec.requestedModel);
    const provider = rec.provider ?? NONE;
    const feature = this.features.value(rec.feature);
    const base = { model, provider, feature };
    const cache = rec.cacheStatus && CACHE_LAYERS.has(rec.cacheStatus) ? rec.cacheStatus : NONE;
    this.requests.inc({ ...base, endpoint: rec.endpoint, status: statusClass(rec.status), cache });
    const u = rec.usage;
    if (u) {
      const add = (kind: string, n: number) => n > 0 && this.tokens.inc({ ...base, kind }, n);
      add('input', u.inputTokens);
      add('output', u.outputTokens);
      add('cache_read', u.cacheReadTokens);
      add('cache_write', u.cacheWrite5mTokens + u.cacheWrite1hTokens);
      add('reasoning', u.reasoningTokens);
    }
    this.cost.add(base, priced.costNanos);
    this.baseline.add(base, priced.baselineCostNanos);
    const avoided = priced.avoidedCostNanos ?? 0;
    const routed = priced.baselineModel !== null && avoided === 0 ? Math.max(0, priced.baselineCostNanos - priced.costNanos) : 0;
    this.savings.add(base, routed + avoided);
    if (rec.cacheStatus && CACHE_LAYERS.has(rec.cacheStatus)) {
      this.cacheHits.inc({ model, feature, layer: rec.cacheStatus });
      this.avoided.add({ ...base, layer: rec.cacheStatus }, avoided);
    }
    const last = rec.attempts.length - 1;
    rec.attempts.forEach((a, i) => {
      if (a.outcome !== 'error') return;
      const code = a.errorCode && ERROR_CODE.test(a.errorCode) ? a.errorCode : 'other';
      this.upstreamErrors.inc({ model: this.models.value(a.model), provider: a.provider || NONE, code });
      if (i < last) this.retryCost.add(base, priced.attemptCosts[i] ?? 0);
    });
    if (rec.attempts.length > 0 || (cache !== NONE && cache !== 'miss')) {
      this.latency.observe({ model, provider, endpoint: rec.endpoint }, rec.latencyMs / 1000);
      if (rec.stream && rec.ttftMs !== undefined) this.ttft.observe({ model, provider }, rec.ttftMs / 1000);
    }
  };

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
