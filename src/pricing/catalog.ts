/**
 * The price catalog: config overrides and custom models first (including self-hosted models priced from GPU-hours),
 * then Pydantic's genai-prices catalog (`@pydantic/genai-prices`, MIT, bundled data), with batch discounts from LiteLLM's
 * catalog (data/litellm-prices, MIT) because genai-prices does not model them; where neither has a batch rate, OpenAI
 * and Anthropic models get their documented 50 %. LiteLLM's batch price is used as a ratio to its own list price and
 * applied to genai-prices' rates, never as an absolute rate: LiteLLM's batch prices are flat (no long-context tier)
 * and undated, and its list price can differ from genai-prices' (then an absolute batch rate would not be 50 %).
 * Date-conditional prices (price changes, off-peak windows) resolve against the call's own timestamp; what is cached
 * per model is only what no timestamp changes (the constraints, parsed, and each price entry's rates, parsed to BigInt).
 *
 * An override of a model the catalog knows is merged with the catalog entry field by field (see `mergeOverride`);
 * only a model no catalog knows (a custom model) is priced from the override alone.
 */
import { calcPrice, type ModelInfo, type ModelPrice } from '@pydantic/genai-prices';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rateFrom, scaleRate, type ModelRates, type Rate } from './rates.js';
import { toScaled } from './decimal.js';

/** Config: $ per million tokens, or a self-hosted deployment's GPU cost. */
export interface PriceOverride {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite5m?: number;
  cacheWrite1h?: number;
  reasoning?: number;
  batchInput?: number;
  batchOutput?: number;
  selfHosted?: { usdPerGpuHour: number; gpus: number; outputTokensPerSec: number; inputTokensPerSec: number; utilization: number };
}

type LiteEntry = Record<string, number | string>;

const LITELLM_PATH = fileURLToPath(new URL('../../../data/litellm-prices/prices-subset.json', import.meta.url));
let litellm: Record<string, LiteEntry> | undefined;

export function litellmPrices(): Record<string, LiteEntry> {
  if (!litellm) {
    try {
      litellm = (JSON.parse(readFileSync(LITELLM_PATH, 'utf8')) as { models: Record<string, LiteEntry> }).models;
    } catch {
      litellm = {};
    }
  }
  return litellm;
}

/** genai-prices provider id for a model served by a provider of `providerType`. */
export function catalogProvider(providerType: string | undefined, model: string): string | undefined {
  if (providerType === 'openai') return 'openai';
  if (providerType === 'anthropic') return 'anthropic';
  if (providerType === 'gemini') return 'google';
  if (model.startsWith('claude')) return 'anthropic';
  if (model.startsWith('gemini') || model.startsWith('gemma')) return 'google';
  if (/^(gpt-|o\d|text-embedding|chatgpt|davinci|babbage)/.test(model)) return 'openai';
  return undefined;
}

/**
 * A constraint's "HH:MM:SS" with its UTC offset ("Z", "+08:00") → seconds after UTC midnight; NaN if malformed
 * (the constraint then never matches). The offset must be applied: "09:00:00+08:00" is 01:00 UTC.
 */
export function timeOfDayUtc(s: string): number {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|([+-])(\d\d):?(\d\d))?$/.exec(s.trim());
  if (!m) return NaN;
  const local = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  const offset = m[4] ? (m[4] === '+' ? 1 : -1) * (Number(m[5]) * 3600 + Number(m[6]) * 60) : 0;
  return (((local - offset) % 86400) + 86400) % 86400;
}

/** One entry of a conditional price list with its constraint pre-parsed (the dates and times never change). */
interface CompiledPrice {
  /** 0: unconditional, 1: from `startMs` on, 2: daily window [startS, endS) in UTC seconds, 3: never matches. */
  kind: 0 | 1 | 2 | 3;
  startMs: number;
  startS: number;
  endS: number;
  prices: ModelPrice;
}

const compiledPrices = new WeakMap<ModelInfo, CompiledPrice[]>();

function compile(info: ModelInfo): CompiledPrice[] {
  let out = compiledPrices.get(info);
  if (!out) {
    out = (info.prices as Exclude<ModelInfo['prices'], ModelPrice>).map((p): CompiledPrice => {
      const c = p.constraint as { type?: string; start_date?: string; start_time?: string; end_time?: string } | undefined;
      const e: CompiledPrice = { kind: 3, startMs: NaN, startS: NaN, endS: NaN, prices: p.prices };
      if (!c) e.kind = 0;
      else if (c.type === 'start_date' || c.start_date) {
        e.kind = 1;
        e.startMs = new Date(c.start_date!).getTime(); // NaN (never) when missing or malformed
      } else if (c.start_time && c.end_time) {
        e.kind = 2;
        e.startS = timeOfDayUtc(c.start_time);
        e.endS = timeOfDayUtc(c.end_time);
      }
      return e;
    });
    compiledPrices.set(info, out);
  }
  return out;
}

/**
 * Resolve genai-prices' conditional price list for a timestamp (the last matching constraint wins). The constraints
 * are parsed once per model; which one applies is decided for every call, at the call's own time.
 */
export function activePrices(info: ModelInfo, at: Date): ModelPrice {
  if (!Array.isArray(info.prices)) return info.prices;
  const list = compile(info);
  const ms = at.getTime();
  const secs = at.getUTCHours() * 3600 + at.getUTCMinutes() * 60 + at.getUTCSeconds();
  for (let i = list.length - 1; i >= 0; i--) {
    const p = list[i]!;
    if (p.kind === 0) return p.prices;
    if (p.kind === 1) {
      if (ms >= p.startMs) return p.prices;
    } else if (p.kind === 2) {
      const s = p.startS;
      const e = p.endS;
      if (e < s ? secs >= s || secs < e : secs >= s && secs < e) return p.prices;
    }
  }
  return info.prices[0]!.prices;
}

/** LiteLLM's batch discount for a model as [batch, list] ratios ($ per token, scaled), when it lists both. */
function litellmBatchRatio(model: string): { input?: [bigint, bigint]; output?: [bigint, bigint] } {
  const e = litellmPrices()[model];
  if (!e) return {};
  const ratio = (batchKey: string, listKey: string): [bigint, bigint] | undefined => {
    const b = e[batchKey];
    const l = e[listKey];
    return typeof b === 'number' && typeof l === 'number' && l > 0 ? [toScaledRate(b), toScaledRate(l)] : undefined;
  };
  return { input: ratio('input_cost_per_token_batches', 'input_cost_per_token'), output: ratio('output_cost_per_token_batches', 'output_cost_per_token') };
}

// LiteLLM prices are $ per token; ×10^6 gives $ per million tokens = µ$ per token, our rate unit.
const toScaledRate = (perToken: number): bigint => toScaled(perToken, 6);

/** A set override field with the catalog's base rate it replaces: the ratio that rates derived from it keep. */
interface Rebase {
  to: bigint;
  from: bigint;
}

const baseOf = (r: Rate): bigint => (typeof r === 'bigint' ? r : r.base);

/** `r` with a new base rate; its long-context tiers keep their ratio to the base (or stay as they are if the base was 0). */
function rebase(r: Rate | undefined, base: bigint): Rate {
  if (r === undefined || typeof r === 'bigint') return base;
  return r.base === 0n ? { base, tiers: r.tiers } : scaleRate(r, base, r.base);
}

/**
 * A config override merged with the catalog entry it overrides (the entry active at the call's time). What an
 * override means, field by field:
 * - A set field is that rate's base (the rate up to the first long-context threshold); the catalog's tiers of the
 *   same rate keep their ratio to it (claude-sonnet-4-5 at `input: 2.4` → 4.8 above 200k, like 3 → 6). It applies at
 *   every moment: the catalog's dated price changes and off-peak windows no longer move an overridden rate.
 * - An unset input-side rate (cache read, 5 m and 1 h cache writes, batch input) is inherited, scaled by
 *   override input ÷ catalog input, because providers price them as multiples of the input rate (a cache read is
 *   50 % of input at OpenAI's gpt-4o, 10 % at Anthropic) and a batch rate is a discount on it: an override 20 % below
 *   list makes cache reads and batch 20 % cheaper too. Likewise reasoning and batch output follow `output`.
 * - Unset rates derived from no set field are the catalog's own, date conditions included.
 * So an override at the catalog's own price changes nothing. Scaling truncates below 10^-12 µ$ per token.
 */
function mergeOverride(cat: ModelRates, o: PriceOverride): ModelRates {
  const side = (v: number | undefined, r: Rate): Rebase | undefined => (v === undefined ? undefined : { to: toScaled(v), from: baseOf(r) });
  const inSide = side(o.input, cat.input);
  const outSide = side(o.output, cat.output);
  const derive = (r: Rate | undefined, s: Rebase | undefined) => (r === undefined || !s || s.from === 0n ? r : scaleRate(r, s.to, s.from));
  const field = (v: number | undefined, derived: Rate | undefined) => (v === undefined ? derived : rebase(derived, toScaled(v)));
  return {
    source: `config+${cat.source}`,
    model: cat.model,
    input: field(o.input, cat.input)!,
    output: field(o.output, cat.output)!,
    cacheRead: field(o.cacheRead, derive(cat.cacheRead, inSide)),
    cacheWrite5m: field(o.cacheWrite5m, derive(cat.cacheWrite5m, inSide)),
    cacheWrite1h: field(o.cacheWrite1h, derive(cat.cacheWrite1h, inSide)),
    reasoning: field(o.reasoning, derive(cat.reasoning, outSide)),
    batchInput: field(o.batchInput, derive(cat.batchInput, inSide)),
    batchOutput: field(o.batchOutput, derive(cat.batchOutput, outSide)),
  };
}

/** A custom model (or a self-hosted one) priced from its override alone. */
function fromOverride(model: string, o: PriceOverride): ModelRates {
  if (o.selfHosted) {
    const s = o.selfHosted;
    // $/hour ÷ (tokens/s × 3600 × utilization) = $ per token; ×10^6 → $ per Mtok. Rounded to 12 decimals of µ$.
    const perM = (tps: number) => Math.round(((s.usdPerGpuHour * s.gpus) / (tps * 3600 * s.utilization)) * 1e6 * 1e9) / 1e9;
    return { source: 'config:self-hosted', model, input: toScaled(perM(s.inputTokensPerSec)), output: toScaled(perM(s.outputTokensPerSec)) };
  }
  const r = (v: number | undefined) => (v === undefined ? undefined : toScaled(v));
  return {
    source: 'config',
    model,
    input: toScaled(o.input ?? 0),
    output: toScaled(o.output ?? 0),
    cacheRead: r(o.cacheRead),
    cacheWrite5m: r(o.cacheWrite5m),
    cacheWrite1h: r(o.cacheWrite1h),
    reasoning: r(o.reasoning),
    batchInput: r(o.batchInput),
    batchOutput: r(o.batchOutput),
  };
}

/** A cached resolution: rates never change for a price entry, so they are parsed once and shared (frozen). */
interface Resolved {
  info: ModelInfo;
  providerId: string;
  /** Rates per price entry of `info` (one entry unless the catalog lists date- or time-conditional prices). */
  rates: Map<ModelPrice, ModelRates>;
  /** The same with the config override merged in, when the model has one. */
  merged: Map<ModelPrice, ModelRates>;
}

const MAX_CACHED_MODELS = 5000;

function freezeRates(r: ModelRates): ModelRates {
  for (const v of Object.values(r)) {
    if (v && typeof v === 'object') {
      for (const t of (v as { tiers: object[] }).tiers) Object.freeze(t);
      Object.freeze((v as { tiers: object[] }).tiers);
      Object.freeze(v);
    }
  }
  return Object.freeze(r);
}

export class PriceCatalog {
  /** providerType ('' when none) → requested model → its catalog entry (null: unknown to every catalog). */
  private readonly resolved = new Map<string, Map<string, Resolved | null>>();
  private resolvedCount = 0;
  private readonly overrideRates = new Map<string, ModelRates>();

  constructor(private readonly overrides: Record<string, PriceOverride> = {}) {}

  private lookup(providerType: string | undefined, model: string): Resolved | null {
    let byModel = this.resolved.get(providerType ?? '');
    let v = byModel?.get(model);
    if (v === undefined) {
      const providerId = catalogProvider(providerType, model);
      let r = null;
      try {
        r = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, providerId ? { providerId } : {});
        if (!r && providerId) r = calcPrice({ input_tokens: 1, output_tokens: 1 }, model);
      } catch {
        r = null;
      }
      v = r ? { info: r.model, providerId: r.provider.id, rates: new Map(), merged: new Map() } : null;
      // Bounded: clients name arbitrary models, and unknown names must not grow the cache forever.
      if (this.resolvedCount < MAX_CACHED_MODELS) {
        if (!byModel) this.resolved.set(providerType ?? '', (byModel = new Map()));
        byModel.set(model, v);
        this.resolvedCount++;
      }
    }
    return v;
  }

  /**
   * Rates for a model at a moment; undefined when no catalog knows the model and no override prices it. The returned
   * object is shared and frozen: which price entry applies is resolved at `at` on every call, its parsed rates (with
   * the model's override merged in) are cached.
   */
  rates(model: string, providerType?: string, at: Date = new Date()): ModelRates | undefined {
    // Own keys only: a model named "constructor" is not an override.
    const o = Object.hasOwn(this.overrides, model) ? this.overrides[model] : undefined;
    const found = o?.selfHosted ? null : this.lookup(providerType, model);
    if (!found) {
      if (!o) return undefined;
      let r = this.overrideRates.get(model);
      if (!r) this.overrideRates.set(model, (r = freezeRates(fromOverride(model, o))));
      return r;
    }
    const p = activePrices(found.info, at);
    let r = found.rates.get(p);
    if (!r) found.rates.set(p, (r = freezeRates(this.parse(found, p as Record<string, any>, model))));
    if (!o) return r;
    let m = found.merged.get(p);
    if (!m) found.merged.set(p, (m = freezeRates(mergeOverride(r, o))));
    return m;
  }

  private parse(found: Resolved, p: Record<string, any>, model: string): ModelRates {
    const input = rateFrom(p.input_mtok) ?? 0n;
    const output = rateFrom(p.output_mtok) ?? 0n;
    const lb = litellmBatchRatio(found.info.id);
    const ratio = lb.input ? lb : litellmBatchRatio(model);
    const halfPrice = found.providerId === 'openai' || found.providerId === 'anthropic';
    const batch = (r: Rate, x: [bigint, bigint] | undefined) => (x ? scaleRate(r, x[0], x[1]) : halfPrice ? scaleRate(r, 1n, 2n) : undefined);
    return {
      source: `genai-prices:${found.providerId}/${found.info.id}`,
      model: found.info.id,
      input,
      output,
      cacheRead: rateFrom(p.cache_read_mtok),
      cacheWrite5m: rateFrom(p.cache_write_5m_mtok ?? p.cache_write_mtok),
      cacheWrite1h: rateFrom(p.cache_write_1h_mtok),
      reasoning: rateFrom(p.output_reasoning_mtok),
      batchInput: batch(input, ratio.input),
      batchOutput: batch(output, ratio.output),
    };
  }
}
