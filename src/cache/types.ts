/**
 * The response cache's shared types: what an entry holds, the store interface every backend implements
 * (src/stores/cache/), and the hook a semantic layer implements (src/cache/semantic/, built separately).
 */
import type { Usage } from '../providers/usage.js';

/** One complete, successful answer, stored in the client's wire format (a stream is stored assembled). */
export interface CacheEntry {
  /** The client's wire format the body is in. */
  wire: 'openai' | 'anthropic';
  /** The whole JSON response (chat.completion / message), as the client would have received it without `stream`. */
  body: string;
  /** Usage the original call reported: replayed to the pricer, which prices a hit at $0 with `avoidedCostNanos`. */
  usage?: Usage;
  provider: string;
  deployment: string;
  model: string;
  upstreamModel?: string;
  /** Response headers worth replaying (x-sim-*, the original upstream request id). */
  headers?: Record<string, string>;
  /** When it was stored and until when it may be served (ms since epoch). */
  createdAt: number;
  expiresAt: number;
}

export interface CacheStore {
  /** The live entry under `key`, or undefined (absent, expired, evicted). */
  get(key: string, now: number): Promise<CacheEntry | undefined>;
  set(key: string, entry: CacheEntry): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface SemanticLayer {
  /** Best earlier entry in the same scope that passes threshold + guards; undefined when none. */
  lookup(scope: string, text: string, o: { threshold?: number }): Promise<{ key: string; score: number; text: string } | undefined>;
  /** Remember that `text` in `scope` was answered by the exact-cache entry `key`. */
  insert(scope: string, text: string, key: string): Promise<void>;
  /** Resolves once inserts still being embedded are in (tests, shutdown). */
  idle?(): Promise<void>;
  close(): Promise<void>;
}

/** The response header a cache decision is announced with. */
export type CacheHeader = 'hit' | 'miss' | 'semantic' | 'dedup' | 'bypass';

/** Serialised size of an entry, as the byte-limited stores count it. */
export function entryBytes(key: string, e: CacheEntry): number {
  return Buffer.byteLength(key) + Buffer.byteLength(e.body) + Buffer.byteLength(JSON.stringify(e.usage ?? null)) + Buffer.byteLength(JSON.stringify(e.headers ?? {})) + 128;
}
