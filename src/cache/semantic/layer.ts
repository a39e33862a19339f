/**
 * The semantic layer the cache stage calls: per scope (system prompt + tools + conversation so far, see
 * src/cache/key.ts `semanticParts`), a vector index of earlier questions → the exact-cache key of their answer.
 *
 * - Index: exact cosine scan up to `annAbove` entries in a scope, then an HNSW graph (hnsw.ts).
 * - Decision: decide.ts (cosine threshold AND guards); the best `candidates` neighbours are tried in order.
 * - An embedder that is still loading (`ready()` false) makes a lookup a miss instead of a wait; inserts made
 *   meanwhile are embedded once it is ready. Inserts run in the background (`idle()` waits for them), so storing an
 *   answer never delays the response it came with.
 */
import { decide, DEFAULT_DECISION, type DecisionOptions } from './decide.js';
import { features, guard, type Features } from './guards.js';
import { hashedEmbedder, dot } from './hashed.js';
import { ExactIndex, Hnsw, type HnswOptions, type VectorIndex } from './hnsw.js';
import type { Embedder, SemanticLayer } from './types.js';

export interface SemanticLayerOptions {
  /** Default: the hashed bag-of-words fallback (tests); `costgate start` installs the configured embedder. */
  embedder?: Embedder & { ready?(): boolean; whenReady?(): Promise<void> };
  /** Cosine a hit needs (overrides `decision.threshold`); a route's threshold overrides both. */
  threshold?: number;
  decision?: Partial<DecisionOptions>;
  /** Entries kept per scope (oldest dropped). */
  maxPerScope?: number;
  /** A scope switches from the exact scan to HNSW above this many entries. */
  annAbove?: number;
  hnsw?: HnswOptions;
  /** Off: cosine only (evaluation baselines). */
  guards?: boolean;
  /** Longer texts are neither looked up nor stored (a long prompt is rarely a paraphrase, and slow to embed). */
  maxChars?: number;
  /** Nearest neighbours checked against the guards. */
  candidates?: number;
  /** Background inserts waiting for the embedder beyond this are dropped. */
  maxPendingInserts?: number;
  onError?: (e: unknown) => void;
}

interface Item { id: number; text: string; key: string; f: Features; vec: Float32Array }
interface Scope { items: Map<number, Item>; byText: Map<string, number>; index: VectorIndex }

export type Layer = SemanticLayer & { embedder: Embedder; idle(): Promise<void>; size(scope?: string): number; indexKind(scope: string): 'exact' | 'hnsw' | undefined };

export function createSemanticLayer(o: SemanticLayerOptions = {}): Layer {
  const embedder = o.embedder ?? hashedEmbedder();
  const dec: DecisionOptions = { ...DEFAULT_DECISION, ...o.decision, ...(o.threshold !== undefined ? { threshold: o.threshold } : {}), ...(o.guards === false ? { guards: false } : {}) };
  const scopes = new Map<string, Scope>();
  const max = o.maxPerScope ?? 10_000;
  const annAbove = o.annAbove ?? 2_000;
  const maxChars = o.maxChars ?? 2_000;
  const k = o.candidates ?? 8;
  const maxPending = o.maxPendingInserts ?? 1_000;
  const pending = new Set<Promise<void>>();
  let nextId = 1;
  let closed = false;
  const ready = () => !embedder.ready || embedder.ready();

  function rebuild(s: Scope, ann: boolean): void {
    s.index = ann ? new Hnsw(o.hnsw) : new ExactIndex();
    for (const it of s.items.values()) s.index.add(it.id, it.vec);
  }

  function add(scope: string, text: string, key: string, vec: Float32Array): void {
    let s = scopes.get(scope);
    if (!s) scopes.set(scope, (s = { items: new Map(), byText: new Map(), index: new ExactIndex() }));
    const old = s.byText.get(text);
    if (old !== undefined) {
      s.items.get(old)!.key = key;
      return;
    }
    const it: Item = { id: nextId++, text, key, f: features(text), vec };
    s.items.set(it.id, it);
    s.byText.set(text, it.id);
    s.index.add(it.id, vec);
    if (s.items.size > max) {
      const oldest = s.items.values().next().value!;
      s.items.delete(oldest.id);
      s.byText.delete(oldest.text);
      s.index.remove(oldest.id);
      if (s.index instanceof Hnsw && s.index.tombstones > s.index.size) rebuild(s, true);
    }
    if (s.items.size > annAbove && s.index instanceof ExactIndex) rebuild(s, true);
  }

  return {
    embedder,
    async lookup(scope, text, opt) {
      const s = scopes.get(scope);
      if (!s?.items.size || text.length > maxChars) return undefined;
      if (!ready()) {
        void embedder.whenReady?.().catch(() => {});
        return undefined;
      }
      const [q] = await embedder.embed([text]);
      const d = opt.threshold !== undefined ? { ...dec, threshold: opt.threshold } : dec;
      const fq = features(text);
      for (const c of s.index.search(q!, k)) {
        if (c.score < d.threshold) break;
        const it = s.items.get(c.id);
        if (it && decide(fq, it.f, c.score, d).hit) return { key: it.key, score: c.score, text: it.text };
      }
      return undefined;
    },
    async insert(scope, text, key) {
      if (text.length > maxChars || pending.size >= maxPending) return;
      const p = (async () => {
        if (!ready()) await embedder.whenReady?.();
        const [vec] = await embedder.embed([text]);
        add(scope, text, key, vec!);
      })()
        .catch((e) => {
          if (closed) return;
          if (o.onError) o.onError(e);
          else process.emitWarning(`costgate: semantic insert failed: ${(e as Error)?.message ?? e}`);
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async idle() {
      while (pending.size) await Promise.all([...pending]);
    },
    size: (scope) => (scope === undefined ? [...scopes.values()].reduce((n, s) => n + s.items.size, 0) : (scopes.get(scope)?.items.size ?? 0)),
    indexKind: (scope) => {
      const s = scopes.get(scope);
      return s ? (s.index instanceof Hnsw ? 'hnsw' : 'exact') : undefined;
    },
    async close() {
      closed = true;
      // The embedder first: inserts still waiting for a model that is loading fail instead of holding close() up.
      await embedder.close();
      await Promise.allSettled([...pending]);
      scopes.clear();
    },
  };
}

/** Shadow mode: did the real answer match the cached one (embedding similarity + the same guards)? */
export async function answersMatch(a: string, b: string, o: { embedder?: Embedder; threshold?: number } = {}): Promise<{ match: boolean; score: number; reason?: string }> {
  const e = o.embedder ?? hashedEmbedder();
  const [va, vb] = await e.embed([a, b]);
  const score = dot(va!, vb!);
  // The guards first: an answer with another number is a mismatch whatever the score says.
  const g = guard(a, b, 0.5);
  if (!g.ok) return { match: false, score, reason: g.reason };
  const d = decide(a, b, score, { ...DEFAULT_DECISION, threshold: o.threshold ?? 0.85, maxContentDiff: 0.5, maxUnmatched: Infinity, perUnmatched: 0, maxRare: Infinity, allowSwaps: true });
  return { match: d.hit, score, ...(d.hit ? {} : { reason: d.reason }) };
}
