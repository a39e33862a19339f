/** Two gateway processes sharing a Redis budget store: 2,000 concurrent calls (1,000 each) against $1.00. Same bound as the memory test. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { requireRedis, REDIS_URL } from './helpers/services.js';

test('2,000 concurrent calls from 2 processes vs a $1.00 budget (Redis): 0 overspend, within one call of ideal', { timeout: 60_000 }, async (t) => {
  if (!(await requireRedis())) return t.skip('redis unavailable');
  const prefix = `cgtest:${randomBytes(6).toString('hex')}:`;
  const worker = fileURLToPath(new URL('./helpers/budget-worker.js', import.meta.url));
  const kids = [0, 1].map(() => fork(worker, [], { env: { ...process.env, CG_PREFIX: prefix, CG_N: '1000', REDIS_URL }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  const redis = new Redis(REDIS_URL);
  try {
    await Promise.all(kids.map((k) => new Promise((r) => k.once('message', r))));
    const done = kids.map((k) => new Promise<any>((r) => k.once('message', r)));
    for (const k of kids) k.send('go');
    const res = await Promise.all(done);
    const admitted = res.reduce((a, r) => a + r.admitted, 0);
    const rejected = res.reduce((a, r) => a + r.rejected, 0);
    const settled = res.reduce((a, r) => a + BigInt(r.settled), 0n);
    const limit = 1_000_000_000n;
    const maxCost = 750_000n; // the longest prompt's maximum (as the memory test computes with maxCallCost)
    console.log(`redis x2: admitted ${admitted}, rejected ${rejected}, settled ${settled} nanos of ${limit}`);
    assert.equal(admitted + rejected, 2000);
    assert.ok(settled <= limit, `overspend: ${settled}`);
    assert.ok(limit - settled < maxCost, `under-used by ${limit - settled}`);
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
});
