/**
 * Provider prompt-cache behaviour, as documented by the providers:
 * - OpenAI: automatic for prompts ≥ 1024 tokens; the cached share is the longest previously seen prefix,
 *   in 128-token increments from 1024; entries live ~5–10 minutes (5 here).
 * - Anthropic: only prefixes ending at a `cache_control` breakpoint, at least the model's minimum length; a hit reads
 *   the longest cached breakpoint prefix, and the tokens from there to the last breakpoint are written, with the
 *   breakpoint's TTL (5m default, or 1h).
 */
import { createHash } from 'node:crypto';

export class PrefixStore {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  has(key: string): boolean {
    const exp = this.seen.get(key);
    if (exp === undefined) return false;
    if (exp < this.now()) {
      this.seen.delete(key);
      return false;
    }
    return true;
  }

  put(key: string, ttlMs: number): void {
    const exp = this.now() + ttlMs;
    if ((this.seen.get(key) ?? 0) < exp) this.seen.set(key, exp);
    if (this.seen.size > 100_000) this.seen.delete(this.seen.keys().next().value!);
  }
}

const h = (s: string) => createHash('sha1').update(s).digest('base64');

/** OpenAI automatic caching over a token sequence. Returns cached tokens and records the prefixes. */
export function openaiCachedTokens(store: PrefixStore, model: string, tokens: number[]): number {
  if (tokens.length < 1024) return 0;
  let cached = 0;
  const keys: string[] = [];
  for (let len = 1024; len <= tokens.length; len += 128) {
    const key = `${model}:${len}:${h(tokens.slice(0, len).join(','))}`;
    keys.push(key);
    if (store.has(key)) cached = len;
  }
  for (const k of keys) store.put(k, 5 * 60_000);
  return cached;
}

export interface Breakpoint {
  /** Tokens from the start of the prompt through the block carrying cache_control. */
  tokens: number;
  /** Hash of that prefix's content. */
  key: string;
  ttl: '5m' | '1h';
}

export interface AnthropicCacheResult {
  read: number;
  write5m: number;
  write1h: number;
}

export function anthropicCache(store: PrefixStore, model: string, bps: Breakpoint[], minTokens: number): AnthropicCacheResult {
  const eligible = bps.filter((b) => b.tokens >= minTokens);
  if (!eligible.length) return { read: 0, write5m: 0, write1h: 0 };
  let read = 0;
  for (const b of eligible) if (store.has(`${model}:${b.key}`)) read = Math.max(read, b.tokens);
  const last = eligible[eligible.length - 1]!;
  let write5m = 0;
  let write1h = 0;
  if (last.tokens > read) {
    // Tokens between the read prefix and each later breakpoint are written at that breakpoint's TTL.
    let from = read;
    for (const b of eligible) {
      if (b.tokens <= from) continue;
      if (b.ttl === '1h') write1h += b.tokens - from;
      else write5m += b.tokens - from;
      from = b.tokens;
    }
  }
  for (const b of eligible) store.put(`${model}:${b.key}`, b.ttl === '1h' ? 3_600_000 : 300_000);
  return { read, write5m, write1h };
}
