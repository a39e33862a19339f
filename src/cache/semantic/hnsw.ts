/**
 * Vector indexes for the semantic layer, over unit vectors (score = dot product = cosine).
 *
 * - `ExactIndex`: a scan; exact, and the fastest below a few thousand entries.
 * - `Hnsw`: a small Hierarchical Navigable Small World graph (Malkov & Yashunin 2016, algorithms 1–4 with the simple
 *   neighbour selection), used by a scope once it outgrows `annAbove` entries. `usearch` would do this natively but
 *   needs Node 22; this is ~150 lines of TS. Removal marks a tombstone (skipped in results, still used for routing);
 *   the layer rebuilds an index whose tombstones outnumber its live entries.
 */
import { dot } from './hashed.js';

export interface Scored { id: number; score: number }

export interface VectorIndex {
  add(id: number, v: Float32Array): void;
  remove(id: number): void;
  /** Up to `k` live entries, best first. */
  search(q: Float32Array, k: number): Scored[];
  readonly size: number;
}

export class ExactIndex implements VectorIndex {
  readonly vecs = new Map<number, Float32Array>();
  add(id: number, v: Float32Array): void { this.vecs.set(id, v); }
  remove(id: number): void { this.vecs.delete(id); }
  get size(): number { return this.vecs.size; }
  search(q: Float32Array, k: number): Scored[] {
    const out: Scored[] = [];
    for (const [id, v] of this.vecs) out.push({ id, score: dot(q, v) });
    return out.sort((a, b) => b.score - a.score).slice(0, k);
  }
}

export interface HnswOptions {
  /** Links per node per layer (layer 0 keeps 2M). */
  M?: number;
  efConstruction?: number;
  efSearch?: number;
  /** Deterministic level draws (tests). */
  random?: () => number;
}

interface Node { id: number; v: Float32Array; links: number[][]; dead: boolean }

export class Hnsw implements VectorIndex {
  private readonly nodes = new Map<number, Node>();
  private entry: Node | undefined;
  private top = -1;
  private live = 0;
  private readonly M: number;
  private readonly efC: number;
  private readonly ef: number;
  private readonly mL: number;
  private readonly random: () => number;

  constructor(o: HnswOptions = {}) {
    this.M = o.M ?? 16;
    this.efC = o.efConstruction ?? 100;
    this.ef = o.efSearch ?? 64;
    this.mL = 1 / Math.log(this.M);
    this.random = o.random ?? Math.random;
  }

  get size(): number { return this.live; }
  get tombstones(): number { return this.nodes.size - this.live; }

  remove(id: number): void {
    const n = this.nodes.get(id);
    if (n && !n.dead) {
      n.dead = true;
      this.live--;
    }
  }

  add(id: number, v: Float32Array): void {
    if (this.nodes.has(id)) throw new Error(`hnsw: id ${id} already present`);
    const level = Math.floor(-Math.log(Math.max(this.random(), 1e-12)) * this.mL);
    const node: Node = { id, v, links: Array.from({ length: level + 1 }, () => []), dead: false };
    this.nodes.set(id, node);
    this.live++;
    if (!this.entry) {
      this.entry = node;
      this.top = level;
      return;
    }
    let ep = this.entry;
    for (let l = this.top; l > level; l--) ep = this.greedy(v, ep, l);
    for (let l = Math.min(level, this.top); l >= 0; l--) {
      const cand = this.layer(v, [ep], this.efC, l);
      const max = l === 0 ? this.M * 2 : this.M;
      const chosen = cand.slice(0, this.M);
      node.links[l] = chosen.map((c) => c.id);
      for (const c of chosen) {
        const other = this.nodes.get(c.id)!;
        const ls = other.links[l]!;
        ls.push(id);
        if (ls.length > max) {
          // Keep the other node's closest links.
          const ranked = ls.map((x) => ({ x, s: dot(other.v, this.nodes.get(x)!.v) })).sort((a, b) => b.s - a.s);
          other.links[l] = ranked.slice(0, max).map((r) => r.x);
        }
      }
      ep = this.nodes.get(cand[0]!.id)!;
    }
    if (level > this.top) {
      this.top = level;
      this.entry = node;
    }
  }

  search(q: Float32Array, k: number): Scored[] {
    if (!this.entry) return [];
    let ep = this.entry;
    for (let l = this.top; l > 0; l--) ep = this.greedy(q, ep, l);
    return this.layer(q, [ep], Math.max(this.ef, k), 0).filter((c) => !this.nodes.get(c.id)!.dead).slice(0, k);
  }

  /** Greedy walk to the closest node on layer `l`. */
  private greedy(q: Float32Array, ep: Node, l: number): Node {
    let best = ep;
    let bs = dot(q, ep.v);
    for (let moved = true; moved; ) {
      moved = false;
      for (const id of best.links[l] ?? []) {
        const n = this.nodes.get(id)!;
        const s = dot(q, n.v);
        if (s > bs) {
          bs = s;
          best = n;
          moved = true;
        }
      }
    }
    return best;
  }

  /** Beam search of width `ef` on layer `l`; results best first (dead nodes included: they still route). */
  private layer(q: Float32Array, eps: Node[], ef: number, l: number): Scored[] {
    const seen = new Set<number>(eps.map((e) => e.id));
    const found: Scored[] = eps.map((e) => ({ id: e.id, score: dot(q, e.v) }));
    const frontier = [...found];
    found.sort((a, b) => b.score - a.score);
    while (frontier.length) {
      // Pop the frontier's best (small arrays: a linear scan beats a heap at these sizes).
      let bi = 0;
      for (let i = 1; i < frontier.length; i++) if (frontier[i]!.score > frontier[bi]!.score) bi = i;
      const c = frontier.splice(bi, 1)[0]!;
      if (found.length >= ef && c.score < found[found.length - 1]!.score) break;
      for (const id of this.nodes.get(c.id)!.links[l] ?? []) {
        if (seen.has(id)) continue;
        seen.add(id);
        const s = dot(q, this.nodes.get(id)!.v);
        if (found.length < ef || s > found[found.length - 1]!.score) {
          const item = { id, score: s };
          frontier.push(item);
          let i = found.length;
          found.push(item);
          while (i > 0 && found[i - 1]!.score < s) {
            found[i] = found[i - 1]!;
            i--;
          }
          found[i] = item;
          if (found.length > ef) found.pop();
        }
      }
    }
    return found;
  }
}
