/**
 * `costgate report prompt-cache`: per feature and stable-prefix hash (tools + system prompt) — requests, cacheable
 * tokens, hit rate, dollars saved by prompt caching (net of write premiums), and dollars lost to misses and, of those,
 * to volatile prefixes (calls the prefix lint flagged). Priced per row at its model's catalog rates.
 *
 * - cacheable tokens: the stable prefix's tokens on calls where it reaches the 1,024-token minimum most models need;
 * - hit rate: calls that read any cached tokens / calls;
 * - saved: Σ cache reads × (input − cache-read rate) − Σ cache writes × (write − input rate) — negative when writes
 *   were paid for prefixes never read again;
 * - lost to misses: Σ (cacheable − cache read, when positive) × (input − cache-read rate): what reading the stable
 *   prefix from cache would have saved; lost to volatile prefixes is the part of that on lint-flagged calls.
 */
import type { LedgerFilter, LedgerRow, LedgerStore } from '../../stores/ledger/types.js';
import type { PriceCatalog } from '../../pricing/catalog.js';
import { rateAt, type ModelRates } from '../../pricing/rates.js';
import { roundScaled } from '../../pricing/decimal.js';
import { pages } from '../../stores/ledger/cursor.js';

export const MIN_CACHEABLE = 1024;

export interface PromptCacheReportRow {
  feature: string | null;
  prefixHash: string;
  requests: number;
  cacheableTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  hits: number;
  hitRate: number;
  savedNanos: bigint;
  missLostNanos: bigint;
  volatileLostNanos: bigint;
  /** Lint findings seen on this prefix, e.g. `timestamp`, `uuid`. */
  volatile: string[];
}

const nanos = (exact: bigint) => roundScaled(exact, 3);

export async function promptCacheReport(store: LedgerStore, catalog: PriceCatalog, filter: LedgerFilter = {}): Promise<PromptCacheReportRow[]> {
  const groups = new Map<string, PromptCacheReportRow & { exSaved: bigint; exMiss: bigint; exVol: bigint }>();
  const rateCache = new Map<string, ModelRates | undefined>();
  for await (const rows of pages((cursor) => store.query({ ...filter, limit: 1000, cursor }))) for (const r of rows) add(r);

  function add(r: LedgerRow): void {
    if (!r.prefixHash) return;
    const k = `${r.feature ?? ''}\u0000${r.prefixHash}`;
    let g = groups.get(k);
    if (!g) {
      g = { feature: r.feature, prefixHash: r.prefixHash, requests: 0, cacheableTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, hits: 0, hitRate: 0, savedNanos: 0n, missLostNanos: 0n, volatileLostNanos: 0n, volatile: [], exSaved: 0n, exMiss: 0n, exVol: 0n };
      groups.set(k, g);
    }
    const cacheable = (r.prefixTokens ?? 0) >= MIN_CACHEABLE ? r.prefixTokens! : 0;
    const writes = r.cacheWrite5mTokens + r.cacheWrite1hTokens;
    g.requests++;
    g.cacheableTokens += cacheable;
    g.cacheReadTokens += r.cacheReadTokens;
    g.cacheWriteTokens += writes;
    if (r.cacheReadTokens > 0) g.hits++;
    const kinds = (r.optimize ?? '').split(';').filter((x) => x.startsWith('lint:')).map((x) => x.slice(5));
    for (const kd of kinds) if (!g.volatile.includes(kd)) g.volatile.push(kd);
    const model = r.model ?? r.requestedModel;
    if (!rateCache.has(model)) rateCache.set(model, catalog.rates(model));
    const rates = rateCache.get(model);
    if (!rates) return;
    const at = (x: typeof rates.input | undefined) => rateAt(x ?? rates.input, r.inputTokens);
    const input = at(rates.input);
    const read = at(rates.cacheRead);
    g.exSaved += BigInt(r.cacheReadTokens) * (input - read);
    g.exSaved -= BigInt(r.cacheWrite5mTokens) * (at(rates.cacheWrite5m) - input) + BigInt(r.cacheWrite1hTokens) * (at(rates.cacheWrite1h ?? rates.cacheWrite5m) - input);
    const missed = Math.max(0, cacheable - r.cacheReadTokens);
    const lost = BigInt(missed) * (input - read);
    g.exMiss += lost;
    if (kinds.length) g.exVol += lost;
  }

  const out: PromptCacheReportRow[] = [];
  for (const g of groups.values()) {
    const { exSaved, exMiss, exVol, ...row } = g;
    row.savedNanos = nanos(exSaved);
    row.missLostNanos = nanos(exMiss);
    row.volatileLostNanos = nanos(exVol);
    row.hitRate = row.requests ? row.hits / row.requests : 0;
    out.push(row);
  }
  return out.sort((a, b) => (b.missLostNanos > a.missLostNanos ? 1 : b.missLostNanos < a.missLostNanos ? -1 : b.requests - a.requests));
}
