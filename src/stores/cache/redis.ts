/**
 * Redis cache store, shared by gateway replicas: one string per entry under `prefix`, expiring with Redis's own TTL
 * (PX), so no replica ever serves an entry past its `expiresAt` and memory is reclaimed by Redis.
 */
import { Redis } from 'ioredis';
import type { CacheEntry, CacheStore } from '../../cache/types.js';

export class RedisCacheStore implements CacheStore {
  private readonly redis: Redis;

  constructor(url: string, readonly prefix: string) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.redis.on('error', () => {
      /* reported by the failing command; a cache outage is a miss, never a failed call */
    });
  }

  async get(key: string, now: number): Promise<CacheEntry | undefined> {
    const v = await this.redis.get(this.prefix + key);
    if (!v) return undefined;
    const e = JSON.parse(v) as CacheEntry;
    return e.expiresAt > now ? e : undefined;
  }

  async set(key: string, e: CacheEntry): Promise<void> {
    const ttl = Math.max(1, Math.ceil(e.expiresAt - e.createdAt));
    await this.redis.set(this.prefix + key, JSON.stringify(e), 'PX', ttl);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
