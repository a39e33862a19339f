/** The Redis cache store: contract (TTL by Redis, prefix) and one cache shared by two gateway processes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { requireRedis, REDIS_URL } from './helpers/services.js';
import { RedisCacheStore } from '../src/stores/cache/redis.js';
import { MemoryCacheStore } from '../src/stores/cache/memory.js';
import { SqliteCacheStore } from '../src/stores/cache/sqlite.js';
import type { CacheEntry, CacheStore } from '../src/cache/types.js';
import { createGateway } from '../src/gateway.js';

const entry = (t: number, ttl: number, body = '{"x":1}'): CacheEntry => ({ wire: 'openai', body, provider: 'p', deployment: 'd', model: 'm', createdAt: t, expiresAt: t + ttl, headers: { 'x-costgate-provider': 'p' } });

async function contract(s: CacheStore): Promise<void> {
  const t = Date.now();
  assert.equal(await s.get('a', t), undefined);
  await s.set('a', entry(t, 60_000));
  assert.deepEqual(await s.get('a', t + 1), entry(t, 60_000));
  assert.equal(await s.get('a', t + 60_000), undefined, 'expired at expiresAt');
  await s.set('b', entry(t, 60_000, '{"y":2}'));
  await s.delete('b');
  assert.equal(await s.get('b', t), undefined);
  await s.set('a', entry(t, 60_000, '{"z":3}'));
  assert.equal((await s.get('a', t))?.body, '{"z":3}', 'replaced');
}

test('cache store contract: memory, SQLite, Redis', async (t) => {
  await contract(new MemoryCacheStore(1 << 20));
  const sq = new SqliteCacheStore(':memory:', 1 << 20);
  await contract(sq);
  await sq.close();
  if (!(await requireRedis())) return t.skip('redis unavailable');
  const prefix = `cgtest:${randomBytes(6).toString('hex')}:`;
  const s = new RedisCacheStore(REDIS_URL, prefix);
  const redis = new Redis(REDIS_URL);
  try {
    await contract(s);
    // Redis itself expires the entry: its TTL is the entry's lifetime.
    await s.set('ttl', entry(Date.now(), 5_000));
    const pttl = await redis.pttl(`${prefix}ttl`);
    assert.ok(pttl > 0 && pttl <= 5_000, `pttl ${pttl}`);
    await s.set('short', entry(Date.now(), 50));
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(await redis.exists(`${prefix}short`), 0);
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await s.close();
  }
});

test('Redis-shared cache: an answer one gateway process stored is a hit in another', { timeout: 60_000 }, async (t) => {
  if (!(await requireRedis())) return t.skip('redis unavailable');
  const prefix = `cgtest:${randomBytes(6).toString('hex')}:`;
  const worker = fileURLToPath(new URL('./helpers/cache-worker.js', import.meta.url));
  const kid: ChildProcess = fork(worker, [], { env: { ...process.env, CG_PREFIX: prefix, REDIS_URL }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ask = (body: unknown) =>
    new Promise<any>((resolve) => {
      kid.once('message', resolve);
      kid.send({ body });
    });
  const gw = await createGateway({ env: {}, config: { providers: { sim: { type: 'simulator' } }, ledger: { store: 'memory' }, cache: { enabled: true, store: { kind: 'redis', url: REDIS_URL, prefix } } } as never });
  const redis = new Redis(REDIS_URL);
  try {
    await new Promise((r) => kid.once('message', r));
    const q = (content: string) => ({ model: 'gpt-4o-mini', temperature: 0, max_tokens: 16, messages: [{ role: 'user', content }] });
    const a = await gw.handle({ endpoint: 'chat', body: q('shared one'), headers: {} });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-costgate-cache'], 'miss');
    const b = await ask(q('shared one'));
    assert.equal(b.status, 200);
    assert.equal(b.cache, 'hit');
    assert.equal(b.body, String(a.body));
    assert.equal(b.row.cacheStatus, 'exact');
    assert.equal(b.row.costNanos, 0);
    const [mine] = (await gw.requests({ limit: 1 })).rows;
    assert.equal(b.row.avoidedCostNanos, mine!.costNanos);
    assert.ok(mine!.costNanos > 0);
    // And the other way round.
    const c = await ask(q('shared two'));
    assert.equal(c.cache, 'miss');
    const d = await gw.handle({ endpoint: 'chat', body: q('shared two'), headers: {} });
    assert.equal(d.headers['x-costgate-cache'], 'hit');
    assert.equal(String(d.body), c.body);
    assert.equal((await redis.keys(`${prefix}*`)).length, 2);
  } finally {
    kid.send({ quit: true });
    await new Promise((r) => (kid.exitCode !== null ? r(null) : kid.once('exit', r)));
    await gw.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
});
