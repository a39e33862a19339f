/**
 * `costgate report waste`: per feature, where tokens are spent without need, and what each fix would save (catalog
 * prices at each row's model, exact nano-dollars):
 * - system-prompt share: Σ stable-prefix tokens (tools + system, recorded by the context stage) / Σ input tokens;
 * - uncached repeated prefix: on calls whose prefix (≥ 1,024 tokens) the feature had sent before, the prefix tokens not
 *   read from the provider cache; fix = prompt caching, saving those tokens × (input − cache-read rate);
 * - output length: p50 / p90 of output tokens, and drift = p50 of the later half of the calls ÷ p50 of the earlier
 *   half (in time); fix = a max_tokens ceiling at the p90, saving Σ (output − p90, when over) × output rate;
 * - retry waste: the cost of failed upstream attempts on calls that needed more than one (attempt rows) and of
 *   structured-output repair calls (`structured:repair-call` rows); costgate's summary calls (`summarize:call`) are
 *   shown apart.
 */
import type { LedgerFilter, LedgerRow, LedgerStore } from '../../stores/ledger/types.js';
import type { PriceCatalog } from '../../pricing/catalog.js';
import { rateAt, type ModelRates } from '../../pricing/rates.js';
import { roundScaled } from '../../pricing/decimal.js';
import { MIN_CACHEABLE } from './prompt-cache.js';
import { pages } from '../../stores/ledger/cursor.js';

export interface WasteRow {
  feature: string | null;
  requests: number;
  inputTokens: number;
  prefixTokens: number;
  systemShare: number;
  uncachedRepeatTokens: number;
  cachingSavesNanos: bigint;
  outputP50: number;
  outputP90: number;
  outputDrift: number | null;
  capSavesNanos: bigint;
  retryWasteNanos: number;
  summaryCallNanos: number;
}

const quantile = (xs: number[], q: number) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]!; // nearest rank
};

export async function wasteReport(store: LedgerStore, catalog: PriceCatalog, filter: LedgerFilter = {}): Promise<WasteRow[]> {
  const byFeature = new Map<string, LedgerRow[]>();
  for await (const rows of pages((cursor) => store.query({ ...filter, limit: 1000, cursor }))) {
    for (const r of rows) {
      const k = r.feature ?? '\u0000';
      (byFeature.get(k) ?? byFeature.set(k, []).get(k)!).push(r);
    }
  }
  const rateCache = new Map<string, ModelRates | undefined>();
  const ratesOf = (m: string) => (rateCache.has(m) ? rateCache.get(m) : rateCache.set(m, catalog.rates(m)).get(m));

  const out: WasteRow[] = [];
  for (const [k, rows] of byFeature) {
    rows.sort((a, b) => a.ts - b.ts);
    const own = (r: LedgerRow) => (r.optimize ?? '').split(';').find((x) => x === 'summarize:call' || x.startsWith('structured:repair-call'));
    const calls = rows.filter((r) => !own(r));
    const w: WasteRow = { feature: k === '\u0000' ? null : k, requests: calls.length, inputTokens: 0, prefixTokens: 0, systemShare: 0, uncachedRepeatTokens: 0, cachingSavesNanos: 0n, outputP50: 0, outputP90: 0, outputDrift: null, capSavesNanos: 0n, retryWasteNanos: 0, summaryCallNanos: 0 };
    for (const r of rows) {
      const k = own(r);
      if (k === 'summarize:call') w.summaryCallNanos += r.costNanos;
      else if (k) w.retryWasteNanos += r.costNanos; // a structured-output repair is a retry, made cheap
    }
    const seen = new Set<string>();
    let exCache = 0n;
    let exCap = 0n;
    const ok = calls.filter((r) => r.status === 200);
    const outs = ok.map((r) => r.outputTokens);
    w.outputP50 = quantile(outs, 0.5);
    w.outputP90 = quantile(outs, 0.9);
    const half = Math.floor(outs.length / 2);
    if (half >= 5) {
      const a = quantile(outs.slice(0, half), 0.5);
      w.outputDrift = a > 0 ? quantile(outs.slice(half), 0.5) / a : null;
    }
    for (const r of calls) {
      w.inputTokens += r.inputTokens;
      w.prefixTokens += r.prefixTokens ?? 0;
      const rates = ratesOf(r.model ?? r.requestedModel);
      if (r.prefixHash && (r.prefixTokens ?? 0) >= MIN_CACHEABLE) {
        if (seen.has(r.prefixHash)) {
          const missed = Math.max(0, r.prefixTokens! - r.cacheReadTokens);
          w.uncachedRepeatTokens += missed;
          if (rates) exCache += BigInt(missed) * (rateAt(rates.input, r.inputTokens) - rateAt(rates.cacheRead ?? rates.input, r.inputTokens));
        }
        seen.add(r.prefixHash);
      }
      if (rates && r.status === 200 && r.outputTokens > w.outputP90) exCap += BigInt(r.outputTokens - w.outputP90) * rateAt(rates.output, r.inputTokens);
      if (r.attemptCount > 1) {
        for (const a of await store.attempts(r.uid)) if (a.status !== 200) w.retryWasteNanos += a.costNanos;
      }
    }
    w.systemShare = w.inputTokens ? w.prefixTokens / w.inputTokens : 0;
    w.cachingSavesNanos = roundScaled(exCache, 3);
    w.capSavesNanos = roundScaled(exCap, 3);
    out.push(w);
  }
  return out.sort((a, b) => b.inputTokens - a.inputTokens);
}
