/** The response cache as a config resolves it, one line each (`costgate config-check`). */
import type { ResolvedCache, ResolvedCachePolicy } from '../config/load.js';
import { semanticWanted } from './semantic/from-config.js';

function policy(p: ResolvedCachePolicy): string {
  const parts: string[] = [];
  if (p.enabled !== undefined) parts.push(p.enabled ? 'on' : 'off');
  if (p.ttlMs !== undefined) parts.push(`ttl ${p.ttlMs} ms`);
  if (p.nonDeterministic !== undefined) parts.push(`sampled requests ${p.nonDeterministic ? 'cached' : 'bypass'}`);
  if (p.dedup !== undefined) parts.push(`dedup ${p.dedup ? 'on' : 'off'}`);
  if (p.semantic !== undefined) parts.push(`semantic ${p.semantic}`);
  if (p.threshold !== undefined) parts.push(`threshold ${p.threshold}`);
  if (p.semanticWithTools !== undefined) parts.push(`semantic with tools ${p.semanticWithTools ? 'on' : 'off'}`);
  return parts.join(', ') || '(defaults)';
}

export function cacheLines(c: ResolvedCache): string[] {
  const s = c.store;
  const store = s.kind === 'memory' ? `memory LRU ≤ ${s.maxBytes} bytes` : s.kind === 'sqlite' ? `sqlite ${s.path} ≤ ${s.maxBytes} bytes` : `redis (prefix ${s.prefix})`;
  const out = [
    `cache: ${c.enabled ? 'on' : 'off'} by default; ttl ${c.ttlMs} ms; sampled requests ${c.nonDeterministic ? 'cached' : 'bypass'}; dedup ${c.dedup ? `on (wait ≤ ${c.dedupWaitMs} ms)` : 'off'}; semantic ${c.semantic}${c.threshold !== undefined ? ` (threshold ${c.threshold})` : ''}; entries ≤ ${c.maxEntryBytes} bytes; store ${store}`,
  ];
  if (semanticWanted(c)) {
    const l = c.semanticLayer;
    const e = l.embedder;
    const emb = e.kind === 'use-lite' ? 'use-lite (USE-Lite 512-d, local, worker thread)' : e.kind === 'openai' ? `openai-compatible ${e.model} at ${e.baseUrl}${e.apiKey ? ` (key ${e.apiKey})` : ''}` : 'hashed bag of words (FALLBACK: no semantics)';
    out.push(`cache semantic layer: embedder ${emb}; threshold ${l.threshold} + guards (≤ ${l.maxUnmatched} unmatched words, +${l.perUnmatched} each, rare ≤ ${l.maxRare}, swaps ${l.allowSwaps ? 'allowed' : 'refused'}); exact scan ≤ ${l.annAbove} per scope, then HNSW (M ${l.hnsw.M}); ≤ ${l.maxPerScope} per scope; tools ${c.semanticWithTools ? 'included' : 'excluded'}`);
  }
  for (const [k, p] of Object.entries(c.routes)) out.push(`cache route ${k}: ${policy(p)}`);
  for (const [k, p] of Object.entries(c.features)) out.push(`cache feature ${k}: ${policy(p)}`);
  return out;
}
