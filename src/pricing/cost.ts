/**
 * Cost of one call, exactly. Input is split into its disjoint parts — fresh input, cache reads, 5-minute and 1-hour
 * cache writes — each billed once at its own rate (the industry bugs this prevents: cache writes counted twice,
 * cache reads billed as fresh input, OpenAI cached tokens billed at full rate). Reasoning tokens are part of output
 * and billed at the reasoning rate when the catalog has one. The sum is rounded once, half to even, to integer nano-dollars (n$).
 */
import type { Usage } from '../providers/usage.js';
import { rateAt, type ModelRates, type Rate } from './rates.js';
import { roundScaled } from './decimal.js';

export interface CostBreakdown {
  /** Integer nano-dollars (n$ = 10^-9 USD): the ledger's unit. */
  nanos: number;
  /** Exact cost in µ$ × 10^12, before rounding (for tests and sums that must not drift). */
  exact: bigint;
  parts: { input: bigint; cacheRead: bigint; cacheWrite5m: bigint; cacheWrite1h: bigint; output: bigint; reasoning: bigint };
  /** The long-context tier applied (its `start`), if any. */
  tier?: number;
  batch: boolean;
}

export interface CostOptions {
  /** Priced at batch rates (Batch APIs). */
  batch?: boolean;
}

function tierOf(r: Rate | undefined, inputTokens: number): number | undefined {
  if (!r || typeof r === 'bigint') return undefined;
  let t: number | undefined;
  for (const x of r.tiers) if (inputTokens > x.start) t = x.start;
  return t;
}

export function costOf(u: Usage, rates: ModelRates, opts: CostOptions = {}): CostBreakdown {
  const total = u.inputTokens;
  const writes = u.cacheWrite5mTokens + u.cacheWrite1hTokens;
  const fresh = Math.max(0, total - u.cacheReadTokens - writes);
  const batch = opts.batch === true;
  const inputRate = batch && rates.batchInput !== undefined ? rates.batchInput : rates.input;
  const outputRate = batch && rates.batchOutput !== undefined ? rates.batchOutput : rates.output;
  // Batch discounts scale every input-side rate alike; the ratio comes from the batch input rate when known.
  const batchRatio = (r: Rate | undefined, fallback: Rate): bigint => {
    const base = rateAt(r ?? fallback, total);
    if (!batch || rates.batchInput === undefined) return base;
    const full = rateAt(rates.input, total);
    return full === 0n ? base : (base * rateAt(rates.batchInput, total)) / full;
  };
  const at = (r: Rate) => rateAt(r, total);
  const reasoning = Math.min(u.reasoningTokens, u.outputTokens);
  const outRate = at(outputRate);
  // In batch, a separate reasoning rate takes the output discount; a free list output (0) leaves it undiscounted.
  const listOut = at(rates.output);
  const reasoningRate = rates.reasoning === undefined ? outRate : batch && listOut !== 0n ? (at(rates.reasoning) * outRate) / listOut : at(rates.reasoning);
  const parts = {
    input: BigInt(fresh) * at(inputRate),
    cacheRead: BigInt(u.cacheReadTokens) * batchRatio(rates.cacheRead, rates.input),
    cacheWrite5m: BigInt(u.cacheWrite5mTokens) * batchRatio(rates.cacheWrite5m, rates.input),
    cacheWrite1h: BigInt(u.cacheWrite1hTokens) * batchRatio(rates.cacheWrite1h ?? rates.cacheWrite5m, rates.input),
    output: BigInt(u.outputTokens - reasoning) * outRate,
    reasoning: BigInt(reasoning) * reasoningRate,
  };
  const exact = parts.input + parts.cacheRead + parts.cacheWrite5m + parts.cacheWrite1h + parts.output + parts.reasoning;
  return { nanos: Number(roundScaled(exact, 3)), exact, parts, tier: tierOf(rates.input, total), batch };
}
