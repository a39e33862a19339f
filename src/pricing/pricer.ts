/**
 * Prices a finished request: its cost on the model that served it, and what the same usage would have cost on the
 * baseline model (the model the client asked for, or the alias's configured baseline), so every row knows its savings.
 * A response-cache hit costs nothing upstream; its baseline is the full price of the call it avoided.
 */
import type { RequestRecord } from '../pipeline/record.js';
import type { Usage } from '../providers/usage.js';
import { PriceCatalog } from './catalog.js';
import { costOf } from './cost.js';
import type { ModelRates } from './rates.js';
import { servedFromCache } from '../cache/served.js';

export interface Priced {
  costNanos: number;
  baselineModel: string | null;
  baselineCostNanos: number;
  priceSource: string;
  /** Cost of each upstream attempt, in order (failed attempts that reported no usage cost 0). */
  attemptCosts: number[];
  /** What a response-cache hit avoided paying: the served model's price for the replayed usage (0 when not a hit). */
  avoidedCostNanos?: number;
}

export interface PricerOptions {
  catalog: PriceCatalog;
  /** Provider name → provider type (to pick the right catalog provider). */
  providerType: (name: string | undefined) => string | undefined;
  /** Alias → baseline model. */
  aliasBaseline: (alias: string) => string | undefined;
  /** Fallback baseline when the requested name is not a priceable model. */
  defaultBaseline?: string;
}

export class Pricer {
  constructor(private readonly o: PricerOptions) {}

  rates(model: string | undefined | null, provider?: string, at?: Date): ModelRates | undefined {
    if (!model) return undefined;
    return this.o.catalog.rates(model, this.o.providerType(provider), at);
  }

  cost(usage: Usage, model: string | undefined | null, provider?: string, at?: Date, batch = false): { nanos: number; source: string } | undefined {
    const r = this.rates(model, provider, at);
    return r ? { nanos: costOf(usage, r, { batch }).nanos, source: r.source } : undefined;
  }

  price(rec: RequestRecord): Priced {
    const at = new Date(rec.ts);
    const usage = rec.usage;
    const batch = rec.batch === true;
    // Attempts are priced like the request (batch rates for a batch), so attempt costs add up to the row's cost.
    const n = rec.attempts.length;
    const attemptCosts = new Array<number>(n);
    // Retries cost money too: an earlier attempt that reported usage before failing (input billed, then the stream
    // broke) is part of what this request cost. The last attempt's usage is the row's own usage, priced below.
    let earlier = 0;
    for (let i = 0; i < n; i++) {
      const a = rec.attempts[i]!;
      const c = a.usage ? this.cost(a.usage, a.model, a.provider, at, batch)?.nanos ?? 0 : 0;
      attemptCosts[i] = c;
      if (i < n - 1) earlier += c;
    }
    if (!usage) return { costNanos: earlier + (n ? attemptCosts[n - 1]! : 0), baselineModel: null, baselineCostNanos: 0, priceSource: 'no-usage', attemptCosts };
    const servedRates = this.rates(rec.model, rec.provider, at);
    const servedNanos = servedRates ? costOf(usage, servedRates, { batch }).nanos : undefined;
    const hit = servedFromCache(rec.cacheStatus);
    const costNanos = (hit ? 0 : servedNanos ?? 0) + earlier;
    // The baseline is what this call would have cost without costgate: synchronous, uncached by the gateway.
    const aliasBaseline = this.o.aliasBaseline(rec.requestedModel);
    const requestedRates = aliasBaseline === undefined ? this.rates(rec.requestedModel, undefined, at) : undefined;
    let baselineModel: string | null | undefined = aliasBaseline ?? (requestedRates ? rec.requestedModel : this.o.defaultBaseline);
    const baseRates = requestedRates ?? (baselineModel ? this.rates(baselineModel, undefined, at) : undefined);
    let baselineCostNanos: number;
    if (baseRates) {
      // Usually the model asked for is the model that served (the same cached rates): priced once.
      baselineCostNanos = baseRates === servedRates && !batch ? servedNanos! : costOf(usage, baseRates).nanos;
    } else {
      baselineModel = rec.model ?? null;
      baselineCostNanos = servedNanos ?? 0;
    }
    const source = servedRates?.source;
    return { costNanos, baselineModel: baselineModel ?? null, baselineCostNanos, priceSource: hit ? `cache:${source ?? 'unpriced'}` : source ?? 'unpriced', attemptCosts, avoidedCostNanos: hit ? servedNanos ?? 0 : 0 };
  }
}
