import { guard } from './guards.js';
import { dot, hashedEmbedder } from './hashed.js';
import type { Embedder, SemanticLayer } from './types.js';

export interface SemanticLayerOptions {
  embedder?: Embedder;
  /** Cosine similarity a hit needs (conservative default). */
  threshold?: number;
  /** Entries kept per scope (oldest dropped). */
  maxPerScope?: number;
  guards?: boolean;
}

interface Item { text: string; key: string; vec: Float32Array }

/** Exact-cosine semantic layer, per scope (an ANN index is not built yet). */
export function createSemanticLayer(o: SemanticLayerOptions = {}): SemanticLayer & { embedder: Embedder } {
  const embedder = o.embedder ?? hashedEmbedder();
  const scopes = new Map<string, Item[]>();
  const max = o.maxPerScope ?? 10_000;
  return {
    embedder,
    async lookup(scope, text, opt) {
      const items = scopes.get(scope);
      if (!items?.length) return undefined;
      const [q] = await embedder.embed([text]);
      const th = opt.threshold ?? o.threshold ?? 0.9;
      const ranked = items.map((it) => ({ it, score: dot(q!, it.vec) })).filter((r) => r.score >= th).sort((a, b) => b.score - a.score);
      for (const r of ranked) if (o.guards === false || guard(text, r.it.text).ok) return { key: r.it.key, score: r.score, text: r.it.text };
      return undefined;
    },
    async insert(scope, text, key) {
      const [vec] = await embedder.embed([text]);
      let items = scopes.get(scope);
      if (!items) scopes.set(scope, (items = []));
      items.push({ text, key, vec: vec! });
      if (items.length > max) items.shift();
    },
    async close() { scopes.clear(); await embedder.close(); },
  };
}

/** Shadow mode: did the real answer match the cached one (embedding similarity + the same guards)? */
export async function answersMatch(a: string, b: string, o: { embedder?: Embedder; threshold?: number } = {}): Promise<{ match: boolean; score: number; reason?: string }> {
  const e = o.embedder ?? hashedEmbedder();
  const [va, vb] = await e.embed([a, b]);
  const score = dot(va!, vb!);
  const g = guard(a, b, 0.5);
  return { match: score >= (o.threshold ?? 0.85) && g.ok, score, ...(g.ok ? {} : { reason: g.reason }) };
}
