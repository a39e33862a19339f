/** Opens the cache store the config names. */
import type { ResolvedCache } from '../../config/load.js';
import type { CacheStore } from '../../cache/types.js';
import { MemoryCacheStore } from './memory.js';

export async function openCacheStore(c: ResolvedCache): Promise<CacheStore> {
  const s = c.store;
  if (s.kind === 'sqlite') {
    const { SqliteCacheStore } = await import('./sqlite.js');
    return new SqliteCacheStore(s.path, s.maxBytes);
  }
  if (s.kind === 'redis') {
    const { RedisCacheStore } = await import('./redis.js');
    return new RedisCacheStore(s.resolvedUrl ?? 'redis://127.0.0.1:6379', s.prefix);
  }
  return new MemoryCacheStore(s.maxBytes);
}

export { MemoryCacheStore };
