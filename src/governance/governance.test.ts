import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admission } from './admission.js';
import { resetDuration } from './limits.js';
import { governanceLines } from './describe.js';
import { parseConfig, resolveConfig } from '../config/load.js';

test('resetDuration: OpenAI-style durations', () => {
  assert.deepEqual([250, 1000, 1001, 59_000, 60_000, 61_500, 3_723_000].map(resetDuration), ['250ms', '1s', '2s', '59s', '1m0s', '1m2s', '1h2m3s']);
});

test('admission: critical always, optional below its share and only when nobody waits, important queues FIFO; release hands the slot on', async () => {
  const a = new Admission({ maxInFlight: 2, optionalShedAt: 0.5, queueMax: 2, queueTimeoutMs: 10_000 });
  assert.deepEqual(await a.acquire('optional'), { ok: true });
  assert.deepEqual(await a.acquire('optional'), { ok: false, reason: 'capacity' }, '1 of 2 in flight is optional\'s share');
  assert.deepEqual(await a.acquire('important'), { ok: true });
  const order: string[] = [];
  const q1 = a.acquire('important').then((r) => (order.push('q1'), r));
  const q2 = a.acquire('important').then((r) => (order.push('q2'), r));
  assert.deepEqual(await a.acquire('important'), { ok: false, reason: 'queue_full' });
  assert.deepEqual(await a.acquire('critical'), { ok: true });
  assert.equal(a.inFlight, 3);
  assert.equal(a.queued, 2);
  a.release(); // critical done: 2 in flight, still full
  assert.equal(a.queued, 2);
  a.release();
  const r1 = await q1;
  assert.equal(r1.ok, true);
  assert.ok(r1.queuedMs !== undefined);
  a.release();
  await q2;
  assert.deepEqual(order, ['q1', 'q2']);
  assert.equal(a.inFlight, 2);
  assert.equal(a.queued, 0);
});

test('admission: a wait past the timeout, or an aborted client, leaves the queue without a slot', async () => {
  const a = new Admission({ maxInFlight: 1, optionalShedAt: 1, queueMax: 5, queueTimeoutMs: 30 });
  await a.acquire('important');
  const r = await a.acquire('important');
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, 'queue_timeout');
  const ac = new AbortController();
  const p = a.acquire('important', ac.signal);
  ac.abort();
  assert.equal((await p).ok, false);
  assert.equal(a.queued, 0);
  a.release();
  assert.equal(a.inFlight, 0, 'no slot was handed to a waiter that left');
  assert.deepEqual(await a.acquire('optional'), { ok: true });
});

test('admission: maxInFlight 0 admits everything', async () => {
  const a = new Admission({ maxInFlight: 0, optionalShedAt: 0.8, queueMax: 0, queueTimeoutMs: 0 });
  for (let i = 0; i < 100; i++) assert.equal((await a.acquire('optional')).ok, true);
});

test('config-check lines: budgets, limits, tiers, caps, features and priorities', () => {
  const c = resolveConfig(
    parseConfig({
      budgets: [{ name: 'daily', scope: 'global', window: 'day', amount: '25', exemptPriorities: ['critical'] }],
      limits: { tiers: { free: { requestsPerDay: 50 } }, defaultTier: 'free', rateLimits: [{ scope: 'key', requestsPerMinute: 600 }] },
      features: { s: { priority: 'optional', maxTokensCeiling: 1000 } },
      priorities: { maxInFlight: 10 },
    }, 't'),
    {},
    't',
  );
  assert.deepEqual(governanceLines(c), [
    'budget daily: $25.000000000 per day (UTC) on global, hard (402), exempt: critical',
    'budget/limit store: memory',
    'rate limit tier:free: 50 req/day on each user of tier free',
    'rate limit key: 600 req/min on key (each)',
    'tiers: free; default tier free; 0 user(s) and 0 key(s) assigned; x-costgate-tier trusted',
    'token caps: input ≤ 32000 tokens',
    'feature s: priority optional, max_tokens ≤ 1000',
    'priorities: default important; optional may use 80 % of a hard budget, important 100 %; capacity 10 in flight (optional shed from 8, important queue 100 for 10000 ms)',
  ]);
});
