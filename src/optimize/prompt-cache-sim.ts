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
  | { kind: 'costgate'; ttls?: Ttl[] };

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

export function simulate(reqs: TraceRequest[], policy: Policy, prices?: CachePrices): SimTotals {
  const tot: SimTotals = { input: 0, cacheRead: 0, write5m: 0, write1h: 0, requests: reqs.length, perRequest: [] };
  const cache = new Map<number, { exp: number; ttl: Ttl }>();
  const next = policy.kind === 'oracle' ? nextUses(reqs) : undefined;
  const learner = policy.kind === 'costgate' ? new TtlPolicy({ prices, ttls: policy.ttls }) : undefined;
  reqs.forEach((r, j) => {
    const now = r.timestamp;
    tot.input += r.input_length;
    const before = [tot.cacheRead, tot.write5m, tot.write1h];
    try {
      step(r, j, now);
    } finally {
      tot.perRequest.push([r.input_length, tot.cacheRead - before[0]!, tot.write5m - before[1]!, tot.write1h - before[2]!]);
    }
  });
  return tot;

  function step(r: TraceRequest, j: number, now: number): void {
    if (policy.kind === 'none') return;
    let m = 0;
    for (const h of r.hash_ids) {
      const e = cache.get(h);
      if (e && e.exp >= now) m++;
      else break;
    }
    if (policy.kind === 'openai') {
      if (r.input_length >= 1024) {
        const read = m > 0 ? through(r, m - 1) : 0;
        tot.cacheRead += read >= 1024 ? read : 0;
        for (const h of r.hash_ids) cache.set(h, { exp: now + TTL_MS['5m'], ttl: '5m' });
      }
      return;
    }
    for (let i = 0; i < m; i++) {
      const e = cache.get(r.hash_ids[i]!)!;
      e.exp = Math.max(e.exp, now + TTL_MS[e.ttl]);
    }
    const read = m > 0 ? through(r, m - 1) : 0;
    tot.cacheRead += read;
    let writeTo = -1;
    let ttl: Ttl = '5m';
    if (policy.kind === 'write-all') {
      writeTo = r.hash_ids.length - 1;
      ttl = policy.ttl;
    } else if (policy.kind === 'oracle') {
      ttl = policy.ttl;
      for (let i = m; i < r.hash_ids.length; i++) if (next![j]![i]! - now <= TTL_MS[ttl]) writeTo = i;
    } else {
      const segs = segmentsOf(r);
      const plan = learner!.plan(now, segs);
      // The learner's belief of what is cached must match the provider's (same model): it is checked here.
      if (plan.cached !== m - 1) throw new Error(`policy believes ${plan.cached + 1} cached blocks, provider has ${m}`);
      if (plan.write) {
        writeTo = plan.write.index;
        ttl = plan.write.ttl;
      }
      learner!.commit(now, segs, plan);
    }
    if (writeTo >= m) {
      const w = through(r, writeTo) - read;
      if (ttl === '1h') tot.write1h += w;
      else tot.write5m += w;
      for (let i = m; i <= writeTo; i++) cache.set(r.hash_ids[i]!, { exp: now + TTL_MS[ttl], ttl });
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
