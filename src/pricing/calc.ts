/**
 * The cost calculator behind `costgate calc`: a workload (tokens per call, calls per day or month, the shares of input
 * served from a prompt cache, of calls sent through a Batch API, of calls with a long context) priced on each model
 * with the same catalog and the same cost function as the ledger. Every share is exact decimal text; costs are summed
 * exactly (µ$ scaled by 10^12, see decimal.ts) and rounded once, to nano-dollars, at the end. A month is 30 days.
 */
import type { PriceCatalog } from './catalog.js';
import { costOf } from './cost.js';
import { emptyUsage } from '../providers/usage.js';
import { nanosToUsd } from './decimal.js';

export interface Workload {
  inputTokens: number;
  outputTokens: number;
  /** Calls per month (a month = 30 days). */
  callsPerMonth: bigint;
  /** Share of input tokens read from a prompt cache (0–1 decimal text). */
  cachedShare?: string;
  /** Share of calls sent as batch (provider Batch API rates). */
  batchShare?: string;
  /** Share of calls with a long context of `longInputTokens` input tokens instead of `inputTokens`. */
  longShare?: string;
  longInputTokens?: number;
}

export interface ModelCost {
  model: string;
  source: string;
  /** Exact cost of one average call, and of the day and the month, in nano-dollars (rounded half up once). */
  perCallNanos: bigint;
  perDayNanos: bigint;
  perMonthNanos: bigint;
}

const SHARE_SCALE = 1_000_000_000n;

/** `0.3` → 300000000 / 10^9 exactly; a share must be between 0 and 1 with at most 9 decimals. */
export function parseShare(s: string | undefined, name: string): bigint {
  if (s === undefined) return 0n;
  const m = /^(0|1)(?:\.(\d{1,9}))?$|^\.(\d{1,9})$/.exec(s.trim());
  if (!m) throw new Error(`${name}: a share from 0 to 1, e.g. 0.3 (got '${s}')`);
  const int = m[1] ?? '0';
  const frac = (m[2] ?? m[3] ?? '').padEnd(9, '0');
  const v = BigInt(int) * SHARE_SCALE + BigInt(frac || '0');
  if (v > SHARE_SCALE) throw new Error(`${name}: a share from 0 to 1 (got '${s}')`);
  return v;
}

/** Exact scaled cost (10^-18 $ units) of one call of this shape. */
function callExact(catalog: PriceCatalog, model: string, input: number, output: number, cachedShare: bigint, batch: boolean): { exact: bigint; source: string } {
  const rates = catalog.rates(model);
  if (!rates) throw new Error(`no price for model '${model}' (give it one with --price ${model}=IN/OUT, $ per million tokens)`);
  const cached = Number((BigInt(input) * cachedShare) / SHARE_SCALE);
  const u = { ...emptyUsage(), inputTokens: input, cacheReadTokens: cached, outputTokens: output };
  return { exact: costOf(u, rates, { batch }).exact, source: rates.source };
}

/** Scaled (µ$ × 10^12 = 10^-18 $) over `den` → nano-dollars (10^9 scaled units), rounded half up. */
const toNanos = (scaled: bigint, den: bigint): bigint => {
  const d = 1_000_000_000n * den;
  return (scaled + d / 2n) / d;
};

/** The average call's exact cost × SHARE_SCALE² (the long and batch shares multiply: independent). */
function averageCall(catalog: PriceCatalog, model: string, w: Workload): { avg: bigint; source: string } {
  const cached = parseShare(w.cachedShare, 'cached share');
  const batch = parseShare(w.batchShare, 'batch share');
  const long = parseShare(w.longShare, 'long-context share');
  if (long > 0n && !w.longInputTokens) throw new Error("a long-context share needs the long calls' input tokens (--long-input N)");
  let source = '';
  let avg = 0n;
  for (const isLong of [false, true]) {
    const pl = isLong ? long : SHARE_SCALE - long;
    if (pl === 0n) continue;
    for (const isBatch of [false, true]) {
      const pb = isBatch ? batch : SHARE_SCALE - batch;
      if (pb === 0n) continue;
      const c = callExact(catalog, model, isLong ? w.longInputTokens! : w.inputTokens, w.outputTokens, cached, isBatch);
      source = c.source;
      avg += c.exact * pl * pb;
    }
  }
  return { avg, source };
}

function costs(model: string, source: string, avg: bigint, den: bigint, calls: bigint): ModelCost {
  return { model, source, perCallNanos: toNanos(avg, den), perDayNanos: toNanos(avg * calls, den * 30n), perMonthNanos: toNanos(avg * calls, den) };
}

export function priceWorkload(catalog: PriceCatalog, model: string, w: Workload): ModelCost {
  const { avg, source } = averageCall(catalog, model, w);
  return costs(model, source, avg, SHARE_SCALE * SHARE_SCALE, w.callsPerMonth);
}

/** A mix of models by share of calls (e.g. 60/30/10 across tiers), priced exactly as one workload. */
export function priceMix(catalog: PriceCatalog, mix: { model: string; share: string }[], w: Workload): ModelCost & { parts: ModelCost[] } {
  const shares = mix.map((m) => parseShare(m.share, `share of ${m.model}`));
  const total = shares.reduce((a, b) => a + b, 0n);
  if (total !== SHARE_SCALE) throw new Error(`the mix's shares add up to ${Number(total) / 1e9}, not 1`);
  let avg = 0n;
  const parts = mix.map((m, i) => {
    const a = averageCall(catalog, m.model, w);
    avg += a.avg * shares[i]!;
    return costs(m.model, a.source, a.avg, SHARE_SCALE * SHARE_SCALE, w.callsPerMonth);
  });
  const mixed = costs(mix.map((m) => `${m.model} ×${m.share}`).join(' + '), 'mix', avg, SHARE_SCALE ** 3n, w.callsPerMonth);
  return { ...mixed, parts };
}

/**
 * Self-hosting: $ per million tokens at a sustained throughput, and the monthly volume above which a GPU running all
 * month (a fixed cost) is cheaper than an API model's per-token price for the same tokens.
 */
export function selfHost(o: { usdPerGpuHour: number; gpus: number; tokensPerSec: number; utilization: number }) {
  if (!(o.usdPerGpuHour > 0) || !(o.tokensPerSec > 0) || !(o.utilization > 0 && o.utilization <= 1) || !(o.gpus >= 1)) throw new Error('gpu-hour, tokens-per-sec > 0, utilization in (0, 1], gpus ≥ 1');
  const tokensPerHour = o.tokensPerSec * 3600 * o.utilization;
  const usdPerMTok = ((o.usdPerGpuHour * o.gpus) / tokensPerHour) * 1e6;
  const monthlyUsd = o.usdPerGpuHour * o.gpus * 24 * 30;
  const monthlyCapacityTokens = tokensPerHour * 24 * 30;
  return { usdPerMTok, monthlyUsd, monthlyCapacityTokens };
}

/** `$4950.00`, `$0.000165`: exact (nano-dollar) digits, trailing zeros trimmed to cents. */
export function fmtUsd(n: bigint): string {
  return `$${nanosToUsd(n).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
}
