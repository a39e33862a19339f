/**
 * Prompt-cache savings simulation over prefix-block traces (Mooncake's format: `timestamp` ms, `input_length`,
 * `output_length`, `hash_ids` = chained hashes of the prompt's 512-token blocks). The provider model:
 * - a request reads the longest leading run of its blocks that is cached and unexpired; reads refresh the TTL;
 * - Anthropic-style: tokens after the read prefix up to the write breakpoint are written at the breakpoint's TTL
 *   (5 m or 1 h), the rest is fresh input; a breakpoint can sit at any block boundary (Anthropic's lookback finds the
 *   earlier cached prefix);
 * - OpenAI-style: automatic, prompts of 1,024+ tokens, every prefix cached for free, reads at the catalog's cached rate.
 * Only input is compared (output tokens are the same in every policy). Money is exact integer nano-dollars.
 */
import { TtlPolicy, TTL_MS, type Segment, type Ttl, type CachePrices } from './ttl-policy.js';
import type { Usage } from '../providers/usage.js';
import { costOf } from '../pricing/cost.js';
import { rateAt, type ModelRates, type Rate } from '../pricing/rates.js';

export interface TraceRequest {
  timestamp: number;
  input_length: number;
  output_length: number;
  hash_ids: number[];
}

export const BLOCK_TOKENS = 512;

export function parseTrace(text: string): TraceRequest[] {
  const out: TraceRequest[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as TraceRequest;
    if (!Array.isArray(r.hash_ids) || typeof r.input_length !== 'number' || typeof r.timestamp !== 'number') throw new Error(`bad trace line: ${line.slice(0, 80)}`);
    out.push(r);
  }
  return out;
}

/** Tokens of a request through block i (the last block may be partial). */
const through = (r: TraceRequest, i: number) => Math.min((i + 1) * BLOCK_TOKENS, r.input_length);

export interface SimTotals {
  input: number;
  cacheRead: number;
  write5m: number;
  write1h: number;
  requests: number;
  /** Per request: [input, cacheRead, write5m, write1h] (priced one by one: long-context tiers apply per call). */
  perRequest: [number, number, number, number][];
}

export type Policy =
  | { kind: 'none' }
  | { kind: 'openai' }
  | { kind: 'write-all'; ttl: Ttl }
  | { kind: 'oracle'; ttl: Ttl }
  | { kind: 'costgate'; ttls?: Ttl[]; minTokens?: number; float?: number };

/** For each request and block: when the same block is next seen (Infinity when never). For the oracle only. */
function nextUses(reqs: TraceRequest[]): Float64Array[] {
  const next = reqs.map((r) => new Float64Array(r.hash_ids.length).fill(Infinity));
  const last = new Map<number, number>();
  for (let j = reqs.length - 1; j >= 0; j--) {
    const r = reqs[j]!;
    r.hash_ids.forEach((h, i) => {
      const t = last.get(h);
      if (t !== undefined) next[j]![i] = t;
      last.set(h, r.timestamp);
    });
  }
  return next;
}

export function segmentsOf(r: TraceRequest): Segment[] {
  return r.hash_ids.map((h, i) => ({ key: String(h), tokens: through(r, i) - (i === 0 ? 0 : through(r, i - 1)) }));
}

/** What one request read from and wrote to the provider's prompt cache, in tokens. */
export interface CacheStep {
  read: number;
  write5m: number;
  write1h: number;
}

/** A write decision given the deepest cached segment (-1 for none): the last segment to write and its TTL. */
export type WriteChoice = (cached: number) => { index: number; ttl: Ttl } | undefined;

/**
 * The provider's prompt cache over a request's prefix segments (one model of it for the Mooncake eval and the what-if
 * simulator's prompt-cache lever, so both give the same number for the same trace and policy):
 * - Anthropic-style (`anthropic`): a request reads the longest leading run of its segments that is cached and
 *   unexpired; reads refresh the TTL; the segments after the read prefix through the chosen write breakpoint are written
 *   at its TTL (a breakpoint can sit at any segment boundary: Anthropic's lookback finds the earlier cached prefix).
 * - OpenAI-style (`openai`): automatic, prompts of `minTokens`+ tokens, every prefix cached for free for 5 minutes;
 *   the cached run is read when it is at least `minTokens` long.
 */
export class ProviderCache {
  private readonly entries = new Map<string, { exp: number; ttl: Ttl }>();

  /** Number of leading segments cached and unexpired at `now`. */
  private run(now: number, segs: Segment[]): number {
    let m = 0;
    for (const s of segs) {
      const e = this.entries.get(s.key);
      if (e && e.exp >= now) m++;
      else break;
    }
    return m;
  }

  anthropic(now: number, segs: Segment[], choose: WriteChoice): CacheStep {
    const m = this.run(now, segs);
    let read = 0;
    for (let i = 0; i < m; i++) {
      const e = this.entries.get(segs[i]!.key)!;
      e.exp = Math.max(e.exp, now + TTL_MS[e.ttl]);
      read += segs[i]!.tokens;
    }
    const out: CacheStep = { read, write5m: 0, write1h: 0 };
    const w = choose(m - 1);
    if (w && w.index >= m) {
      let tokens = 0;
      for (let i = m; i <= w.index; i++) {
        this.entries.set(segs[i]!.key, { exp: now + TTL_MS[w.ttl], ttl: w.ttl });
        tokens += segs[i]!.tokens;
      }
      if (w.ttl === '1h') out.write1h = tokens;
      else out.write5m = tokens;
    }
    return out;
  }

  openai(now: number, segs: Segment[], inputTokens: number, minTokens: number): CacheStep {
    if (inputTokens < minTokens) return { read: 0, write5m: 0, write1h: 0 };
    const m = this.run(now, segs);
    let read = 0;
    for (let i = 0; i < m; i++) read += segs[i]!.tokens;
    for (const s of segs) this.entries.set(s.key, { exp: now + TTL_MS['5m'], ttl: '5m' });
    return { read: read >= minTokens ? read : 0, write5m: 0, write1h: 0 };
  }
}

/**
 * A trace through `ProviderCache` under a policy. `costgate` runs the gateway's `TtlPolicy` online, asked with the
 * minimum cacheable length as the gateway asks it (`minTokens`, default 0), and checks its belief of what is cached
 * against the provider on every request.
 */
export function simulate(reqs: TraceRequest[], policy: Policy, prices?: CachePrices): SimTotals {
  const tot: SimTotals = { input: 0, cacheRead: 0, write5m: 0, write1h: 0, requests: reqs.length, perRequest: [] };
  const cache = new ProviderCache();
  const next = policy.kind === 'oracle' ? nextUses(reqs) : undefined;
  const learner = policy.kind === 'costgate' ? new TtlPolicy({ prices, ttls: policy.ttls, float: policy.float }) : undefined;
  reqs.forEach((r, j) => {
    const now = r.timestamp;
    tot.input += r.input_length;
    const s = step(r, j, now);
    tot.cacheRead += s.read;
    tot.write5m += s.write5m;
    tot.write1h += s.write1h;
    tot.perRequest.push([r.input_length, s.read, s.write5m, s.write1h]);
  });
  return tot;

  function step(r: TraceRequest, j: number, now: number): CacheStep {
    const segs = segmentsOf(r);
    switch (policy.kind) {
      case 'none':
        return { read: 0, write5m: 0, write1h: 0 };
      case 'openai':
        return cache.openai(now, segs, r.input_length, 1024);
      case 'write-all':
        return cache.anthropic(now, segs, () => ({ index: segs.length - 1, ttl: policy.ttl }));
      case 'oracle':
        return cache.anthropic(now, segs, (cached) => {
          let index = -1;
          for (let i = cached + 1; i < segs.length; i++) if (next![j]![i]! - now <= TTL_MS[policy.ttl]) index = i;
          return index >= 0 ? { index, ttl: policy.ttl } : undefined;
        });
      case 'costgate': {
        const plan = learner!.plan(now, segs, policy.minTokens ?? 0);
        const s = cache.anthropic(now, segs, (cached) => {
          // The learner's belief of what is cached must match the provider's (same model): it is checked here.
          if (plan.cached !== cached) throw new Error(`policy believes ${plan.cached + 1} cached blocks, provider has ${cached + 1}`);
          return plan.write;
        });
        learner!.commit(now, segs, plan);
        return s;
      }
    }
  }
}

/** Input cost of a simulation's totals at a model's catalog rates (integer nano-dollars). */
export function priceTotals(t: SimTotals, rates: ModelRates): bigint {
  let sum = 0n;
  for (const [input, read, w5, w1] of t.perRequest) {
    const u: Usage = { inputTokens: input, cacheReadTokens: read, cacheWrite5mTokens: w5, cacheWrite1hTokens: w1, outputTokens: 0, reasoningTokens: 0, estimated: false };
    sum += BigInt(costOf(u, rates).nanos);
  }
  return sum;
}

/** Exact multipliers (read, 5 m write, 1 h write) of a model's rates relative to its input rate. */
export function multipliersOf(rates: ModelRates): CachePrices {
  // The base tier (prompts under a long-context threshold): the multipliers are the same in every tier.
  const unit = (r: Rate | undefined) => (r === undefined ? undefined : rateAt(r, 0));
  const inp = unit(rates.input);
  if (!inp) throw new Error(`${rates.model}: no input rate`);
  const x = (r: Rate | undefined, d: number) => {
    const v = unit(r);
    return v === undefined ? d : Number((v * 1_000_000n) / inp) / 1_000_000;
  };
  return { read: x(rates.cacheRead, 1), write5m: x(rates.cacheWrite5m, 1.25), write1h: x(rates.cacheWrite1h, 2) };
}
