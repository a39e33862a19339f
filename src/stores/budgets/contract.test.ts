/** The same contract for both budget stores: atomic all-or-none reservations, settlement, TTL expiry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MemoryBudgetStore } from './memory.js';
import { RedisBudgetStore } from './redis.js';
import type { BudgetItem, BudgetStore } from './types.js';
import { requireRedis, REDIS_URL } from '../../../test/helpers/services.js';

const item = (key: string, limit: bigint, amount: bigint, hard = true): BudgetItem => ({ key, bucket: 1, minBucket: 1, limit, amount, hard, keepMs: 60_000 });

function contract(name: string, open: () => Promise<{ store: BudgetStore; done: () => Promise<void>; outside?: () => Promise<void> } | undefined>) {
  test(`${name}: all-or-none reservation, settle releases the remainder`, async (t) => {
    const s = await open();
    if (!s) return t.skip('redis unavailable');
    try {
      const now = 1_000_000;
      assert.deepEqual(await s.store.reserve('a', [item('g', 100n, 60n), item('f', 1000n, 60n)], 10_000, now), { ok: true, used: [0n, 0n] });
      const r = await s.store.reserve('b', [item('f', 1000n, 60n), item('g', 100n, 60n)], 10_000, now);
      assert.deepEqual(r, { ok: false, index: 1, used: 60n });
      assert.deepEqual(await s.store.usage([{ key: 'f', minBucket: 1 }], now), [{ spent: 0n, reserved: 60n }], 'none reserved on f');
      assert.deepEqual(await s.store.settle('a', [item('g', 100n, 60n), item('f', 1000n, 60n)], [25n, 25n], now), [25n, 25n]);
      assert.deepEqual(await s.store.usage([{ key: 'g', minBucket: 1 }], now), [{ spent: 25n, reserved: 0n }]);
      assert.deepEqual(await s.store.reserve('c', [item('g', 100n, 75n)], 10_000, now), { ok: true, used: [25n] }, 'used = spent + reserved before the call');
      assert.equal((await s.store.reserve('d', [item('g', 100n, 1n)], 10_000, now)).ok, false);
      assert.equal((await s.store.reserve('e', [item('g', 100n, 1000n, false)], 10_000, now)).ok, true, 'soft never refuses');
      // a newer window (bucket) does not count the old one
      assert.deepEqual(await s.store.usage([{ key: 'g', minBucket: 2 }], now), [{ spent: 0n, reserved: 1075n }]);
    } finally {
      await s.done();
    }
  });

  test(`${name}: unsettled reservations expire after their TTL`, async (t) => {
    const s = await open();
    if (!s) return t.skip('redis unavailable');
    try {
      assert.equal((await s.store.reserve('x', [item('k', 10n, 10n)], 1000, 5000)).ok, true);
      assert.equal((await s.store.reserve('y', [item('k', 10n, 1n)], 1000, 5500)).ok, false);
      assert.equal((await s.store.reserve('z', [item('k', 10n, 10n)], 1000, 6001)).ok, true, 'x expired and was released');
      // a late settle of the expired reservation still records the spend, and does not release z's reservation
      await s.store.settle('x', [item('k', 10n, 10n)], [3n], 6002);
      assert.deepEqual(await s.store.usage([{ key: 'k', minBucket: 1 }], 6002), [{ spent: 3n, reserved: 10n }]);
    } finally {
      await s.done();
    }
  });

  test(`${name}: keys holding any character (budget|value, =, spaces, JSON) reserve and release exactly`, async (t) => {
    const s = await open();
    if (!s) return t.skip('redis unavailable');
    try {
      const keys = ['daily|*', 'rl|tier:free|ann|requests|minute', 'a=b|c=d', 'user "x" \\ {}[]', 'ünï|cödé'];
      const items = keys.map((k) => item(k, 1000n, 7n));
      assert.equal((await s.store.reserve('p', items, 10_000, 1000)).ok, true);
      assert.deepEqual((await s.store.usage(items, 1000)).map((u) => u.reserved), keys.map(() => 7n));
      await s.store.settle('p', items, keys.map(() => 2n), 1000);
      assert.deepEqual(await s.store.usage(items, 1000), keys.map(() => ({ spent: 2n, reserved: 0n })), 'every reservation released');
      // An expired one is released by the next reserve's sweep just as exactly.
      assert.equal((await s.store.reserve('q', items, 10, 2000)).ok, true);
      assert.equal((await s.store.reserve('r', [item('other', 10n, 1n)], 10, 3000)).ok, true);
      assert.deepEqual((await s.store.usage(items, 3000)).map((u) => u.reserved), keys.map(() => 0n));
      await s.outside?.();
    } finally {
      await s.done();
    }
  });
}

contract('memory', async () => {
  const store = new MemoryBudgetStore(60_000);
  return { store, done: () => store.close() };
});

contract('redis', async () => {
  if (!(await requireRedis())) return undefined;
  const prefix = `cgtest:${randomBytes(6).toString('hex')}:`;
  const store = new RedisBudgetStore(REDIS_URL, prefix);
  const before = new Set(await store.redis.keys('*'));
  return {
    store,
    /** The store never writes a key outside its prefix. */
    async outside() {
      const stray = (await store.redis.keys('*')).filter((k) => !k.startsWith(prefix) && !before.has(k));
      assert.deepEqual(stray, [], 'no key written outside the prefix');
    },
    async done() {
      const keys = await store.redis.keys(`${prefix}*`);
      if (keys.length) await store.redis.del(...keys);
      await store.close();
    },
  };
});
