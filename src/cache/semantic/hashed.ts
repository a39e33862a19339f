import { createHash } from 'node:crypto';
import type { Embedder } from './types.js';

/**
 * FALLBACK ONLY: hashed bag of words + character trigrams. No semantics (synonyms do not match);
 * used when no model embedder is configured. Deterministic, dependency-free.
 */
export function hashedEmbedder(dims = 512): Embedder {
  const slot = (t: string) => createHash('md5').update(t).digest().readUInt32LE(0);
  return {
    name: `hashed-bow-${dims} (fallback)`,
    async embed(texts) {
      return texts.map((text) => {
        const v = new Float32Array(dims);
        const ws = text.toLowerCase().match(/[a-z0-9']+/g) ?? [];
        for (const w of ws) {
          const h = slot('w:' + w); v[h % dims]! += (h & 0x80000000) ? 1 : -1;
          const p = `#${w}#`;
          for (let i = 0; i + 3 <= p.length; i++) { const g = slot('g:' + p.slice(i, i + 3)); v[g % dims]! += ((g & 0x80000000) ? 1 : -1) * 0.3; }
        }
        return normalize(v);
      });
    },
    async close() {},
  };
}

export function normalize(v: Float32Array): Float32Array {
  let n = 0; for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

export function dot(a: Float32Array, b: Float32Array): number { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; }
