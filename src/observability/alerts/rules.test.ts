/**
 * Every alert rule over a synthetic ledger (SQLite :memory:, the memory backend): one case that fires it and at least
 * one that does not. Rows come from test/fixtures/ledger-rows.ts (cost 1234 n$, 345 output tokens, status 200 unless set).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteLedger } from '../../stores/ledger/sqlite.js';
import type { LedgerRow } from '../../stores/ledger/types.js';
import { AlertRulesSchema } from '../../config/alerts-schema.js';
import type { ResolvedBudget } from '../../config/load.js';
import { RULES, type RuleContext } from './rules.js';
import { makeRow, T0, HOUR, DAY } from '../../../test/fixtures/ledger-rows.js';

const MIN = 60_000;
let uniq = 0;

async function ledger(rows: Partial<LedgerRow>[]): Promise<SqliteLedger> {
  const s = new SqliteLedger(':memory:');
  await s.init();
  // Unique fingerprints unless a row sets one: the fixture's default would make every row a duplicate.
  await s.write(rows.map((r) => makeRow({ requestHash: `h-${++uniq}`, ...r })), []);
  return s;
}

const many = (n: number, f: (i: number) => Partial<LedgerRow>) => Array.from({ length: n }, (_, i) => f(i));

function ctx(l: SqliteLedger, rules: Record<string, unknown> = {}, extra: Partial<RuleContext> = {}): RuleContext {
  return { ledger: l, rules: AlertRulesSchema.parse(rules), budgets: [], cacheOn: true, now: T0, ...extra };
}

async function run(name: keyof typeof RULES, rows: Partial<LedgerRow>[], rules: Record<string, unknown> = {}, extra: Partial<RuleContext> = {}) {
  const l = await ledger(rows);
  try {
    return await RULES[name](ctx(l, rules, extra));
  } finally {
    await l.close();
  }
}

const dayStart = Date.UTC(2025, 2, 15);
/** One row per each of the previous 7 days at `perDay` n$, and today's rows. */
const week = (perDay: number, today: number[]) => [
  ...many(7, (i) => ({ ts: dayStart - (i + 1) * DAY + HOUR, costNanos: perDay })),
  ...today.map((c, i) => ({ ts: dayStart + i * MIN, costNanos: c })),
];

describe('spendAnomaly: today vs the trailing 7-day average', () => {
  test('fires above 120 % of the average', async () => {
    const f = await run('spendAnomaly', week(1_000_000, [700_000, 600_000]));
    assert.equal(f.length, 1);
    assert.equal(f[0]!.key, 'spendAnomaly');
    assert.equal(f[0]!.value, 0.0013);
    assert.equal(f[0]!.threshold, 0.0012);
    assert.match(f[0]!.message, /130\.0% of the 7-day average \$0\.001 /);
  });
  test('does not fire at 110 %, nor without enough baseline days, nor on a day below a higher ratio', async () => {
    assert.deepEqual(await run('spendAnomaly', week(1_000_000, [1_100_000])), []);
    const twoDays = [{ ts: dayStart - DAY, costNanos: 1000 }, { ts: dayStart - 2 * DAY, costNanos: 1000 }, { ts: dayStart, costNanos: 1_000_000 }];
    assert.deepEqual(await run('spendAnomaly', twoDays), []);
    assert.deepEqual(await run('spendAnomaly', week(1_000_000, [1_300_000]), { spendAnomaly: { ratio: 1.5 } }), []);
  });
});

describe('allocation: feature/team monthly allocation, spent or projected', () => {
  const alloc = { allocation: { features: { search: '0.01' }, teams: { core: '0.02' } } };
  test('fires critical when spent, warning when projected past it', async () => {
    const over = await run('allocation', [{ ts: T0 - DAY, costNanos: 12_000_000, team: 'other' }], alloc);
    assert.deepEqual(over.map((f) => [f.key, f.level]), [['allocation:feature:search', 'critical']]);
    // 14.5 days of 31 elapsed: $0.006 so far projects to ~$0.0128 over the month.
    const proj = await run('allocation', [{ ts: T0 - DAY, costNanos: 6_000_000, team: 'other' }], alloc);
    assert.deepEqual(proj.map((f) => [f.key, f.level]), [['allocation:feature:search', 'warning']]);
    assert.match(proj[0]!.message, /projected to spend \$0\.0128/);
    const team = await run('allocation', [{ ts: T0 - DAY, costNanos: 25_000_000, feature: 'other' }], alloc);
    assert.deepEqual(team.map((f) => [f.key, f.level]), [['allocation:team:core', 'critical']]);
  });
  test('does not fire under the run rate, before minElapsed, or with projection off', async () => {
    assert.deepEqual(await run('allocation', [{ ts: T0 - DAY, costNanos: 3_000_000 }], alloc), []);
    const early = Date.UTC(2025, 2, 2, 12);
    assert.deepEqual(await run('allocation', [{ ts: early - HOUR, costNanos: 6_000_000 }], alloc, { now: early }), []);
    assert.deepEqual(await run('allocation', [{ ts: T0 - DAY, costNanos: 6_000_000 }], { allocation: { ...alloc.allocation, projected: false } }), []);
    // Last month's spend does not count.
    assert.deepEqual(await run('allocation', [{ ts: Date.UTC(2025, 1, 20), costNanos: 50_000_000 }], alloc), []);
  });
});

describe('budgets: 50/80/100 % of each configured budget', () => {
  const daily: ResolvedBudget = { name: 'daily', scope: 'global', window: { kind: 'calendar', unit: 'day', tz: 'UTC' }, limitNanos: 10_000_000n, mode: 'soft', status: 402, exemptPriorities: [] };
  const perFeature: ResolvedBudget = { ...daily, name: 'per-feature', scope: 'feature', mode: 'hard' };
  const at = (nanos: number, b = daily) => run('budgets', [{ ts: T0 - HOUR, costNanos: nanos }], {}, { budgets: [b] });
  test('fires at the highest threshold reached', async () => {
    assert.deepEqual((await at(5_500_000)).map((f) => [f.key, f.level]), [['budgets:daily', '50%']]);
    assert.deepEqual((await at(8_500_000)).map((f) => f.level), ['80%']);
    assert.deepEqual((await at(10_000_000)).map((f) => f.level), ['100%']);
    const two = await run('budgets', [{ ts: T0 - HOUR, costNanos: 9_000_000, feature: 'a' }, { ts: T0 - HOUR, costNanos: 1_000_000, feature: 'b' }], {}, { budgets: [perFeature] });
    assert.deepEqual(two.map((f) => [f.key, f.level]), [['budgets:per-feature:a', '80%']]);
  });
  test('does not fire below 50 %, or on spend from before the window', async () => {
    assert.deepEqual(await at(4_999_999), []);
    assert.deepEqual(await run('budgets', [{ ts: T0 - DAY, costNanos: 50_000_000 }], {}, { budgets: [daily] }), []);
  });
});

describe('errorRate: share of errors over the window', () => {
  const rows = (errors: number, n = 100, ts = T0 - MIN) => many(n, (i) => ({ ts, status: i < errors ? 500 : 200 }));
  test('fires above 2 %', async () => {
    const f = await run('errorRate', rows(3));
    assert.deepEqual(f.map((x) => [x.key, x.value]), [['errorRate', 0.03]]);
    const byFeature = await run('errorRate', [...rows(10, 50).map((r) => ({ ...r, feature: 'a' })), ...rows(0, 50).map((r) => ({ ...r, feature: 'b' }))], { errorRate: { by: 'feature' } });
    assert.deepEqual(byFeature.map((x) => x.key), ['errorRate:feature=a']);
  });
  test('does not fire at 2 %, below minRequests, or for errors outside the window', async () => {
    assert.deepEqual(await run('errorRate', rows(2)), []);
    assert.deepEqual(await run('errorRate', rows(5, 10)), []);
    assert.deepEqual(await run('errorRate', [...rows(50, 50, T0 - HOUR), ...rows(0, 50)]), []);
  });
});

describe('outputTokens: average output tokens rising against the baseline window', () => {
  const rows = (recent: number) => [...many(60, (i) => ({ ts: T0 - 2 * DAY - i * MIN, outputTokens: 100 })), ...many(60, (i) => ({ ts: T0 - HOUR - i * MIN, outputTokens: recent }))];
  test('fires when the last 24 h average is more than 50 % above the 7 days before', async () => {
    const f = await run('outputTokens', rows(200));
    assert.equal(f.length, 1);
    assert.equal(f[0]!.value, 200);
    assert.equal(f[0]!.threshold, 150);
  });
  test('does not fire on a 20 % rise, without a baseline, or with failed calls only', async () => {
    assert.deepEqual(await run('outputTokens', rows(120)), []);
    assert.deepEqual(await run('outputTokens', many(60, (i) => ({ ts: T0 - HOUR - i * MIN, outputTokens: 900 }))), []);
    assert.deepEqual(await run('outputTokens', rows(500).map((r, i) => (i >= 60 ? { ...r, status: 500 } : r))), []);
  });
});

describe('cacheHitRate: response-cache hit share below 40 %', () => {
  const rows = (hits: number) => many(60, (i) => ({ ts: T0 - MIN, cacheStatus: i < hits ? 'exact' : 'miss' }));
  test('fires below 40 %', async () => {
    const f = await run('cacheHitRate', rows(10));
    assert.deepEqual(f.map((x) => [x.key, x.value.toFixed(3)]), [['cacheHitRate', '0.167']]);
  });
  test('does not fire at 50 %, below minRequests, or when the cache is off', async () => {
    assert.deepEqual(await run('cacheHitRate', rows(30)), []);
    assert.deepEqual(await run('cacheHitRate', rows(0).slice(0, 20)), []);
    assert.deepEqual(await run('cacheHitRate', rows(0), {}, { cacheOn: false }), []);
  });
});

describe('duplicateShare: requests repeating an earlier identical request', () => {
  test('fires above 20 %', async () => {
    // 15 calls with one fingerprint: 14 of them repeat the first; 14 / 60 = 23 %.
    const f = await run('duplicateShare', many(60, (i) => ({ ts: T0 - MIN, ...(i < 15 ? { requestHash: 'same' } : {}) })));
    assert.deepEqual(f.map((x) => [x.key, x.value.toFixed(3)]), [['duplicateShare', '0.233']]);
  });
  test('does not fire at 10 % or on rows without a fingerprint', async () => {
    assert.deepEqual(await run('duplicateShare', many(60, (i) => ({ ts: T0 - MIN, ...(i < 7 ? { requestHash: 'same' } : {}) }))), []);
    assert.deepEqual(await run('duplicateShare', many(60, () => ({ ts: T0 - MIN, requestHash: null }))), []);
  });
});

describe('memo: past days are summed once, today is read live', () => {
  test('allocation over a month: a second evaluation adds today\'s new rows to the remembered past', async () => {
    const l = await ledger([{ ts: T0 - 3 * DAY, costNanos: 4_000_000 }]);
    try {
      const memo = new Map<string, unknown>();
      const c = { ...ctx(l, { allocation: { features: { search: '0.01' }, projected: false } }), memo };
      assert.deepEqual(await RULES.allocation(c), []);
      assert.equal(memo.size, 1);
      await l.write([makeRow({ ts: T0 - HOUR, costNanos: 7_000_000, requestHash: null })], []);
      assert.deepEqual((await RULES.allocation(c)).map((f) => [f.key, f.value]), [['allocation:feature:search', 0.011]]);
    } finally {
      await l.close();
    }
  });
});
