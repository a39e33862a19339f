/** FNV-1a 32-bit: a fast, dependency-free, stable hash for feature buckets and hash-fixed data splits. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Lower-cased word tokens (letters, digits, apostrophes); symbols that signal maths/code kept as their own tokens. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9']+|[=+*/^<>{}();$\\]/g) ?? [];
}

/**
 * A cheap local embedding: signed hashed bag of words and word bigrams, L2-normalised. No semantics beyond shared
 * words — good enough for "is this prompt like these examples" rules, and sub-millisecond.
 */
export function hashedEmbedding(text: string, dims = 256): Float32Array {
  const v = new Float32Array(dims);
  const ws = words(text);
  for (let i = 0; i < ws.length; i++) {
    const h = fnv1a(ws[i]!);
    v[h % dims]! += h & 0x80000000 ? 1 : -1;
    if (i > 0) {
      const b = fnv1a(ws[i - 1] + ' ' + ws[i]);
      v[b % dims]! += (b & 0x80000000 ? 1 : -1) * 0.5;
    }
  }
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < dims; i++) v[i]! /= n;
  return v;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
