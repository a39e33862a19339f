/**
 * Online prompt-cache write policy: for each request, which stable prefix (if any) to write to the provider's prompt
 * cache, and with which TTL (5 minutes or 1 hour), learnt from the reuse intervals the gateway has observed.
 *
 * The math (per token of a prefix segment, prices as multiples of the model's input price):
 * - not writing costs 1 now (the segment is fresh input) and saves nothing later;
 * - writing with TTL T costs `w_T` now (Anthropic: 1.25 for 5 m, 2 for 1 h), i.e. `w_T - 1` more than not writing, and
 *   every later request that reuses the prefix within T of the previous use (reads refresh the TTL) pays `r` (0.1)
 *   instead of 1, saving `1 - r`.
 * - With `p_T` the observed probability that a segment like this one is reused within T, and the reuses forming a
 *   chain (each further reuse again within T with the same probability), the expected number of reads is
 *   `E_T = p_T / (1 - p_T)`, so the expected value of writing is `V_T = (1 - r)·E_T - (w_T - 1)`.
 * The policy writes through the deepest segment whose cumulative token-weighted `V_T` is largest and positive, at the
 * TTL with the larger value; when no write has positive value it writes nothing. A write float bounds the damage of
 * wrong estimates: a write is made only when its premium fits in `float` + the policy's realized net saving so far
 * (reads' saving − writes' premium, as its own belief of the cache tells it), so at every point of any traffic the
 * policy's cumulative input bill is at most the no-cache bill + `float` token-equivalents (a read only lowers the
 * bill; a write is bounded by what is left of the float).
 *
 * `p_T` is estimated per bucket of segment features (distance from the end of the prompt, seen before, whether the
 * request continues an earlier one) by `ReuseEstimator`, from resolved sightings only: a sighting is counted as a
 * reuse when the same segment is seen again within T, and as a miss only once T has passed without that. (An earlier
 * version counted every sighting as a miss from the moment it was made; that biased p_5m low and under-wrote: 78.0 % of
 * the oracle's saving on Mooncake's synthetic trace, now 88.1 %.) For the 1 h TTL both outcomes wait the full hour, so
 * the estimate cannot be inflated by early reuses (see the constructor). The prior sits below break-even, so a cold
 * policy writes nothing and costs exactly the no-cache bill until reuse is observed.
 */

import { ReuseEstimator } from './reuse-estimator.js';

export type Ttl = '5m' | '1h';

export const TTL_MS: Record<Ttl, number> = { '5m': 300_000, '1h': 3_600_000 };

/** Cache prices as multiples of the model's input price. */
export interface CachePrices {
  read: number;
  write5m: number;
  write1h: number;
}

export const ANTHROPIC_MULTIPLIERS: CachePrices = { read: 0.1, write5m: 1.25, write1h: 2 };

/** A prefix boundary: the hash of everything up to it, and the tokens of the segment ending there. */
export interface Segment {
  key: string;
  tokens: number;
}

export interface WriteDecision {
  /** Index of the last segment to write (the breakpoint goes at its end). */
  index: number;
  ttl: Ttl;
  /** Expected value of the write, in input-token equivalents (positive). */
  value: number;
}

export interface Plan {
  /** Deepest segment believed to be in the provider's cache (a read breakpoint belongs there), or -1. */
  cached: number;
  cachedTtl?: Ttl;
  write?: WriteDecision;
}

/** Expected reads of a reusable segment, from the probability of reuse within the TTL (chained, capped). */
export function expectedReads(p: number, cap = 20): number {
  if (p <= 0) return 0;
  if (p >= 1) return cap;
  return Math.min(p / (1 - p), cap);
}

/** Expected value, per token, of writing a segment with TTL `ttl` when it is reused within the TTL with probability `p`. */
export function writeValue(p: number, ttl: Ttl, prices: CachePrices): number {
  return readsValue(expectedReads(p), ttl, prices);
}

/** Expected value, per token, of a write with TTL `ttl` expected to earn `reads` cache reads. */
export function readsValue(reads: number, ttl: Ttl, prices: CachePrices): number {
  const w = ttl === '1h' ? prices.write1h : prices.write5m;
  return (1 - prices.read) * reads - (w - 1);
}

/** The TTL with the larger expected value for reuse probabilities p5 (within 5 m) and p60 (within 1 h), or none. */
export function chooseTtl(p5: number, p60: number, prices: CachePrices): { ttl: Ttl; value: number } | undefined {
  const v5 = writeValue(p5, '5m', prices);
  const v60 = writeValue(p60, '1h', prices);
  if (v5 <= 0 && v60 <= 0) return undefined;
  return v60 > v5 ? { ttl: '1h', value: v60 } : { ttl: '5m', value: v5 };
}

/** A Map bounded to `max` entries, oldest insertion dropped first (hashes of arbitrary client prompts). */
class Bounded<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(k: string, v: V): this {
    if (!this.has(k) && this.size >= this.max) this.delete(this.keys().next().value!);
    return super.set(k, v);
  }
}

export interface TtlPolicyOptions {
  prices?: CachePrices;
  /** Prior reuse probabilities, worth `priorWeight` observations (before anything is learnt; default below break-even). */
  prior5m?: number;
  prior1h?: number;
  priorWeight?: number;
  /** Which TTLs may be chosen (e.g. only '5m'). */
  ttls?: Ttl[];
  /** Bound on remembered prefix hashes. */
  maxKeys?: number;
  /**
   * Write float, in input-token equivalents (tokens × the model's input price): the writes' premium may exceed the
   * saving of the reads the policy has had so far by at most this much, so the policy's cumulative bill never exceeds
   * the no-cache bill by more (default `DEFAULT_FLOAT`).
   */
  float?: number;
}

/**
 * Default write float: 80,000 input-token equivalents (320k tokens written at 5 m; $0.24 at claude-sonnet-4-5's $3/M).
 * Chosen from the trade-off measured on Mooncake's synthetic trace, whose writes pay back only ~5 minutes after they
 * are made (README, "Savings simulation on the Mooncake traces"): 16k → 61.5 % of the oracle's saving, 64k → 80.0 %,
 * 80k → 81.5 %, 256k → 84.2 %.
 */
export const DEFAULT_FLOAT = 80_000;

export class TtlPolicy {
  readonly prices: CachePrices;
  /** Segment key → last time seen. */
  private readonly last: Bounded<number>;
  /** What the policy believes the provider has cached: key → expiry and TTL. */
  private readonly shadow: Bounded<{ exp: number; ttl: Ttl }>;
  private readonly est: ReuseEstimator;
  private readonly ttls: Ttl[];
  private readonly float: number;
  /** Realized so far, in input-token equivalents: saved by reads of what the policy wrote, and paid extra for writes. */
  private earned = 0;
  private spent = 0;

  constructor(o: TtlPolicyOptions = {}) {
    this.prices = o.prices ?? ANTHROPIC_MULTIPLIERS;
    this.ttls = o.ttls ?? ['5m', '1h'];
    this.float = o.float ?? DEFAULT_FLOAT;
    const max = o.maxKeys ?? 200_000;
    this.last = new Bounded(max);
    this.shadow = new Bounded(max);
    // Below break-even (p5 ≈ 0.217 at Anthropic prices): nothing is written until reuse has been observed.
    this.est = new ReuseEstimator({ prior5m: o.prior5m ?? 0.15, prior1h: o.prior1h ?? 0.3, priorWeight: o.priorWeight ?? 4, maxKeys: max });
  }

  /** Reuse probabilities of a bucket (Kaplan–Meier over observed gaps, with the prior). */
  probabilities(bucket: string): { p5: number; p60: number } {
    return this.est.probabilities(bucket);
  }

  /**
   * A 1 h write costs 0.75 more than a 5 m one and only pays for reuses 5–60 min apart: it is chosen only for buckets
   * whose sightings have been followed for the full hour (before that, p_1h rests on the prior and on reuses within
   * 5 m, which the 5 m TTL serves cheaper).
   */
  private hourKnown(bucket: string): boolean {
    return this.est.hourKnown(bucket) >= 8;
  }

  /** Features of segment i of n: distance from the end, seen before, and whether the request continues an earlier one. */
  private bucket(i: number, n: number, seen: number): string {
    const d = Math.min(n - 1 - i, 2);
    return `${d}|${i < seen ? 1 : 0}|${seen >= 2 ? 1 : 0}`;
  }

  private seenPrefix(segs: Segment[]): number {
    let s = 0;
    for (const g of segs) {
      if (this.last.has(g.key)) s++;
      else break;
    }
    return s;
  }

  /** Deepest leading segment the policy believes is cached at the provider. */
  cachedPrefix(now: number, segs: Segment[]): { index: number; ttl?: Ttl } {
    let index = -1;
    let ttl: Ttl | undefined;
    for (let i = 0; i < segs.length; i++) {
      const e = this.shadow.get(segs[i]!.key);
      if (!e || e.exp < now) break;
      index = i;
      ttl = e.ttl;
    }
    return { index, ttl };
  }

  /** Decide for a request's segments at time `now`. Does not record anything: call `commit` with the plan used. */
  plan(now: number, segs: Segment[], minTokens = 0): Plan {
    this.est.tick(now);
    const { index: cached, ttl: cachedTtl } = this.cachedPrefix(now, segs);
    const seen = this.seenPrefix(segs);
    let best: WriteDecision | undefined;
    let cum = 0;
    for (let i = 0; i <= cached; i++) cum += segs[i]!.tokens;
    // What is left of the float: never negative (a write is made only when its premium fits), so spent − earned ≤ float.
    const budget = this.float + this.earned - this.spent;
    for (const ttl of this.ttls) {
      const extra = (ttl === '1h' ? this.prices.write1h : this.prices.write5m) - 1;
      let acc = 0;
      let tokens = cum;
      for (let i = cached + 1; i < segs.length; i++) {
        const t = segs[i]!.tokens;
        tokens += t;
        const b = this.bucket(i, segs.length, seen);
        const { p5, p60 } = this.probabilities(b);
        acc += (ttl === '1h' && !this.hourKnown(b) ? -Infinity : writeValue(ttl === '1h' ? p60 : p5, ttl, this.prices)) * t;
        if (acc > 0 && tokens >= minTokens && (tokens - cum) * extra <= budget && (!best || acc > best.value)) best = { index: i, ttl, value: acc };
      }
    }
    return { cached, cachedTtl, write: best };
  }

  /**
   * Record a request: its segments were seen at `now`; the cached prefix was read (refreshing it) and the plan's
   * write (if any) is now cached.
   */
  commit(now: number, segs: Segment[], plan: Plan): void {
    const seen = this.seenPrefix(segs);
    for (let i = 0; i <= plan.cached; i++) {
      const e = this.shadow.get(segs[i]!.key);
      if (e) e.exp = Math.max(e.exp, now + TTL_MS[e.ttl]);
      this.earned += (1 - this.prices.read) * segs[i]!.tokens;
    }
    if (plan.write) {
      const extra = (plan.write.ttl === '1h' ? this.prices.write1h : this.prices.write5m) - 1;
      for (let i = plan.cached + 1; i <= plan.write.index; i++) {
        this.shadow.set(segs[i]!.key, { exp: now + TTL_MS[plan.write.ttl], ttl: plan.write.ttl });
        this.spent += extra * segs[i]!.tokens;
      }
    }
    for (let i = 0; i < segs.length; i++) {
      const k = segs[i]!.key;
      const b = this.bucket(i, segs.length, seen);
      this.est.sight(k, b, now);
      this.last.set(k, now);
    }
  }

  /** Reuse probabilities learnt so far, per bucket with resolved sightings (for reports and tests). */
  snapshot(buckets: string[]): Record<string, { resolved: number; p5: number; p60: number }> {
    const out: Record<string, { resolved: number; p5: number; p60: number }> = {};
    for (const b of buckets) out[b] = { resolved: this.est.resolved(b), ...this.probabilities(b) };
    return out;
  }
}
