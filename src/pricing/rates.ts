/**
 * A model's rates for one moment, resolved from catalog data: every rate is µ$/token scaled by 10^12 (see decimal.ts),
 * and any rate may be tiered by the request's total input tokens (above a tier's `start`, its rate applies to ALL
 * tokens of that kind — e.g. Claude Sonnet 4.5 above 200k input tokens).
 */
import { toScaled } from './decimal.js';

export interface Tiered {
  base: bigint;
  tiers: { start: number; rate: bigint }[];
}

export type Rate = bigint | Tiered;

export interface ModelRates {
  /** Which catalog and entry these rates came from (shown in reports and tests). */
  source: string;
  model: string;
  input: Rate;
  output: Rate;
  cacheRead?: Rate;
  cacheWrite5m?: Rate;
  cacheWrite1h?: Rate;
  reasoning?: Rate;
  /** Batch API rates (50 % at OpenAI/Anthropic), when known. */
  batchInput?: Rate;
  batchOutput?: Rate;
}

type RawPrice = number | { base: number; tiers: { start: number; price: number }[] } | undefined;

export function rateFrom(raw: RawPrice, shift = 0): Rate | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number') return toScaled(raw, shift);
  return {
    base: toScaled(raw.base, shift),
    tiers: [...raw.tiers].sort((a, b) => a.start - b.start).map((t) => ({ start: t.start, rate: toScaled(t.price, shift) })),
  };
}

/** The rate that applies for a request with `inputTokens` total input tokens. */
export function rateAt(r: Rate, inputTokens: number): bigint {
  if (typeof r === 'bigint') return r;
  let v = r.base;
  for (const t of r.tiers) if (inputTokens > t.start) v = t.rate;
  return v;
}

/** Multiply a rate by a ratio (e.g. batch = 1/2), exactly when the result is representable. */
export function scaleRate(r: Rate, num: bigint, den: bigint): Rate {
  if (typeof r === 'bigint') return (r * num) / den;
  return { base: (r.base * num) / den, tiers: r.tiers.map((t) => ({ start: t.start, rate: (t.rate * num) / den })) };
}
