/** Dashboard budgets and time buckets: run-rate projection in integer nano-dollars, values per budget, bucket ranges. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { projectNanos, budgetViews, VALUES_PER_BUDGET } from './budgets.js';
import { bucketRange, labelStart, parseBucket, MAX_BUCKETS } from './data.js';
import { MemoryBudgetStore } from '../../stores/budgets/memory.js';
import { SqliteLedger } from '../../stores/ledger/sqlite.js';
import { windowAt } from '../../budgets/window.js';
import type { ResolvedBudget } from '../../config/load.js';
import { makeRow } from '../../../test/fixtures/ledger-rows.js';
import { GatewayError } from '../../pipeline/errors.js';

const DAY = 86_400_000;

test('projection: spend so far carried at its rate to the period end, exactly; at least a minute elapsed', () => {
  // 10 days into a 30-day month, $3 spent → $9.
  assert.equal(projectNanos(3_000_000_000n, 0, 30 * DAY, 10 * DAY), 9_000_000_000n);
  // Integer division rounds down; a third of a nano-dollar is not invented.
  assert.equal(projectNanos(1n, 0, 3 * DAY, 2 * DAY), 1n);
  // One second into a day: projected as if a minute had passed (1440×, not 86400×).
  assert.equal(projectNanos(1000n, 0, DAY, 1000), 1_440_000n);
  // Past the end (clock skew): the spend itself.
  assert.equal(projectNanos(5n, 0, DAY, 2 * DAY), 5n);
});

function budget(over: Partial<ResolvedBudget>): ResolvedBudget {
  return { name: 'b', scope: 'global', window: { kind: 'calendar', unit: 'month', tz: 'UTC' }, limitNanos: 10_000_000_000n, mode: 'hard', status: 402, exemptPriorities: [], ...over };
}

async function spend(store: MemoryBudgetStore, b: ResolvedBudget, value: string, nanos: bigint, now: number) {
  const w = windowAt(b.window, now);
  const item = { key: `${b.name}|${value}`, bucket: w.bucket, minBucket: w.minBucket, limit: b.limitNanos, amount: nanos, hard: false, keepMs: w.keepMs };
  await store.reserve(`r-${value}-${nanos}`, [item], 60_000, now);
  await store.settle(`r-${value}-${nanos}`, [item], [nanos], now);
}

test('budget views: global, fixed value, per-value (top spenders from the ledger), rolling', async () => {
  const now = Date.UTC(2025, 2, 11); // 10 days into March (31 days)
  const store = new MemoryBudgetStore();
  const ledger = new SqliteLedger(':memory:');
  await ledger.init();
  try {
    const g = budget({ name: 'all' });
    const f = budget({ name: 'feat', scope: 'feature', value: 'chat', limitNanos: 1_000_000_000n, mode: 'soft' });
    const per = budget({ name: 'per-user', scope: 'user', window: { kind: 'calendar', unit: 'day', tz: 'UTC' } });
    const roll = budget({ name: 'roll', window: { kind: 'rolling', ms: DAY } });
    await spend(store, g, '*', 2_500_000_000n, now);
    await spend(store, f, 'chat', 1_500_000_000n, now);
    await spend(store, roll, '*', 7n, now);
    const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    await ledger.write(users.map((u, i) => makeRow({ ts: now, user: u, costNanos: 100 * (i + 1) })), []);
    // Yesterday's spender is not in today's window.
    await ledger.write([makeRow({ ts: now - DAY, user: 'old', costNanos: 10 ** 9 })], []);
    for (const [i, u] of users.entries()) await spend(store, per, u, BigInt(100 * (i + 1)), now);
    const v = await budgetViews([g, f, per, roll], store, ledger, now);
    const all = v.find((x) => x.name === 'all')!;
    assert.equal(all.spent_usd, '2.500000000');
    assert.equal(all.used, 0.25);
    assert.equal(all.projected_usd, '7.750000000'); // 2.5 × 31 / 10
    assert.equal(all.projection, 'run-rate');
    assert.equal(all.resets_at, '2025-04-01T00:00:00.000Z');
    const chat = v.find((x) => x.name === 'feat')!;
    assert.deepEqual([chat.value, chat.used, chat.mode], ['chat', 1.5, 'soft']);
    const perUser = v.filter((x) => x.name === 'per-user');
    assert.equal(perUser.length, VALUES_PER_BUDGET);
    assert.deepEqual(perUser.map((x) => x.value), ['u6', 'u5', 'u4', 'u3', 'u2']);
    assert.equal(perUser[0]!.spent_usd, '0.000000700');
    const r = v.find((x) => x.name === 'roll')!;
    assert.deepEqual([r.projection, r.projected_usd], ['rolling', r.spent_usd]);
    assert.deepEqual(await budgetViews([], store, ledger, now), []);
  } finally {
    await ledger.close();
    await store.close();
  }
});

test('bucket ranges: aligned to UTC hours/days, defaults, the cap; labels parse to bucket starts', () => {
  const now = Date.UTC(2025, 2, 15, 12, 34);
  const h = bucketRange('hour', {}, now);
  assert.equal(h.since, Date.UTC(2025, 2, 13, 12));
  assert.equal(h.starts.length, 49);
  assert.equal(h.starts.at(-1), Date.UTC(2025, 2, 15, 12));
  const d = bucketRange('day', { since: Date.UTC(2025, 2, 1, 5), until: Date.UTC(2025, 2, 3) }, now);
  assert.deepEqual(d.starts, [Date.UTC(2025, 2, 1), Date.UTC(2025, 2, 2)]);
  assert.throws(() => bucketRange('hour', { since: now - (MAX_BUCKETS + 1) * 3_600_000 }, now), (e: GatewayError) => e.param === 'since');
  assert.equal(labelStart('2025-03-15'), Date.UTC(2025, 2, 15));
  assert.equal(labelStart('2025-03-15T07:00'), Date.UTC(2025, 2, 15, 7));
  assert.equal(parseBucket(undefined), 'hour');
  assert.throws(() => parseBucket('week'), /bucket/);
});
