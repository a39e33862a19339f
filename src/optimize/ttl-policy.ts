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
 * TTL with the larger value; when no write has positive value it writes nothing (and can never cost more than not
 * caching by more than the writes it expected to pay back).
 *
 * `p_T` is estimated per bucket of segment features (distance from the end of the prompt, seen before, whether the
 * request continues an earlier one), from resolved observations only: a segment seen at t is counted as reused within
 * T the moment it is seen again (before t + T), and every observation counts in the denominator from the moment it is
 * made — so an observation still inside its window counts as "not reused yet". That is what an online gateway can
 * know (no future information), and errs low: the policy under-writes rather than over-writes, most of all for the
 * 1 h TTL whose window is long. The prior sits below break-even, so a cold policy writes nothing and costs exactly
 * the no-cache bill until reuse is observed.
 */

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
  const w = ttl === '1h' ? prices.write1h : prices.write5m;
  return (1 - prices.read) * expectedReads(p) - (w - 1);
}

/** The TTL with the larger expected value for reuse probabilities p5 (within 5 m) and p60 (within 1 h), or none. */
export function chooseTtl(p5: number, p60: number, prices: CachePrices): { ttl: Ttl; value: number } | undefined {
  const v5 = writeValue(p5, '5m', prices);
  const v60 = writeValue(p60, '1h', prices);
  if (v5 <= 0 && v60 <= 0) return undefined;
  return v60 > v5 ? { ttl: '1h', value: v60 } : { ttl: '5m', value: v5 };
}

interface Obs {
  t: number;
  bucket: string;
  /** Counted for the 5 m / 1 h estimate already. */
  done5?: boolean;
  done60?: boolean;
}

interface Counts {
  n5: number;
  r5: number;
  n60: number;
  r60: number;
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
}

export class TtlPolicy {
  readonly prices: CachePrices;
  private readonly stats = new Map<string, Counts>();
  private readonly last: Bounded<Obs>;
  /** What the policy believes the provider has cached: key → expiry and TTL. */
  private readonly shadow: Bounded<{ exp: number; ttl: Ttl }>;
  private readonly prior5: number;
  private readonly prior60: number;
  private readonly priorWeight: number;
  private readonly ttls: Ttl[];

  constructor(o: TtlPolicyOptions = {}) {
    this.prices = o.prices ?? ANTHROPIC_MULTIPLIERS;
    // Below break-even (p5 ≈ 0.217 at Anthropic prices): nothing is written until reuse has been observed.
    this.prior5 = o.prior5m ?? 0.15;
    this.prior60 = o.prior1h ?? 0.3;
    this.priorWeight = o.priorWeight ?? 4;
    this.ttls = o.ttls ?? ['5m', '1h'];
    const max = o.maxKeys ?? 200_000;
    this.last = new Bounded(max);
    this.shadow = new Bounded(max);
  }

  private counts(b: string): Counts {
    let c = this.stats.get(b);
    if (!c) this.stats.set(b, (c = { n5: 0, r5: 0, n60: 0, r60: 0 }));
    return c;
  }

  /** A segment observed earlier was seen again `gap` ms later: a reuse within each TTL it fits (counted once). */
  private reused(o: Obs, gap: number): void {
    const c = this.counts(o.bucket);
    if (!o.done5 && gap <= TTL_MS['5m']) c.r5++;
    if (!o.done60 && gap <= TTL_MS['1h']) c.r60++;
    o.done5 = o.done60 = true;
  }

  /** Reuse probabilities of a bucket (Beta prior). */
  probabilities(bucket: string): { p5: number; p60: number } {
    const c = this.stats.get(bucket) ?? { n5: 0, r5: 0, n60: 0, r60: 0 };
    const w = this.priorWeight;
    return { p5: (c.r5 + this.prior5 * w) / (c.n5 + w), p60: (c.r60 + this.prior60 * w) / (c.n60 + w) };
  }

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
    const { index: cached, ttl: cachedTtl } = this.cachedPrefix(now, segs);
    const seen = this.seenPrefix(segs);
    let best: WriteDecision | undefined;
    let cum = 0;
    for (let i = 0; i <= cached; i++) cum += segs[i]!.tokens;
    for (const ttl of this.ttls) {
      let acc = 0;
      let tokens = cum;
      for (let i = cached + 1; i < segs.length; i++) {
        const { p5, p60 } = this.probabilities(this.bucket(i, segs.length, seen));
        const t = segs[i]!.tokens;
        tokens += t;
        acc += writeValue(ttl === '1h' ? p60 : p5, ttl, this.prices) * t;
        if (acc > 0 && tokens >= minTokens && (!best || acc > best.value)) best = { index: i, ttl, value: acc };
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
    }
    if (plan.write) {
      for (let i = plan.cached + 1; i <= plan.write.index; i++) this.shadow.set(segs[i]!.key, { exp: now + TTL_MS[plan.write.ttl], ttl: plan.write.ttl });
    }
    for (let i = 0; i < segs.length; i++) {
      const k = segs[i]!.key;
      const prev = this.last.get(k);
      if (prev) this.reused(prev, now - prev.t);
      const o: Obs = { t: now, bucket: this.bucket(i, segs.length, seen) };
      this.last.set(k, o);
      const c = this.counts(o.bucket);
      c.n5++;
      c.n60++;
    }
  }

  /** Reuse statistics learnt so far (for reports and tests). */
  snapshot(): Record<string, Counts & { p5: number; p60: number }> {
    const out: Record<string, Counts & { p5: number; p60: number }> = {};
    for (const [b, c] of this.stats) out[b] = { ...c, ...this.probabilities(b) };
    return out;
  }
}
