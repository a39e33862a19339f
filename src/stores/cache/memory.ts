/**
 * In-memory LRU cache store with a byte limit (the default). A Map keeps insertion order: a hit re-inserts its key,
 * so the first key is always the least recently used, and inserting past `maxBytes` evicts from the front.
 */
import { entryBytes, type CacheEntry, type CacheStore } from '../../cache/types.js';

export class MemoryCacheStore implements CacheStore {
  private readonly map = new Map<string, { e: CacheEntry; bytes: number }>();
  private used = 0;
  /** Entries dropped to stay under the byte limit (not counting expiry). */
  evictions = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  async get(key: string, now: number): Promise<CacheEntry | undefined> {
    const v = this.map.get(key);
    if (!v) return undefined;
    if (v.e.expiresAt <= now) {
      this.drop(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, v);
    return v.e;
  }

  async set(key: string, e: CacheEntry): Promise<void> {
    const bytes = entryBytes(key, e);
    this.drop(key);
    if (bytes > this.maxBytes) return;
    this.map.set(key, { e, bytes });
    this.used += bytes;
    for (const k of this.map.keys()) {
      if (this.used <= this.maxBytes) break;
      this.drop(k);
      this.evictions++;
    }
  }

  async delete(key: string): Promise<void> {
    this.drop(key);
  }

  private drop(key: string): void {
    const v = this.map.get(key);
    if (!v) return;
    this.map.delete(key);
    this.used -= v.bytes;
  }

  async close(): Promise<void> {
    this.map.clear();
    this.used = 0;
  }
}
