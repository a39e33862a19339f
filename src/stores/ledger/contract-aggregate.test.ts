/**
 * The aggregate half of the ledger contract (run by contract.test.ts for every backend): grouping by every GroupKey,
 * including UTC day/hour/month buckets at their edges (23:59:59.999 vs 00:00:00.000, a month turning over), compared
 * with the same sums computed here in JS; and sums of very large µ$ values that must stay exact.
 */
import assert from 'node:assert/strict';
import type { LedgerStore, LedgerRow, GroupKey, AggregateRow, LedgerFilter } from './types.js';
import { GROUP_KEYS } from './types.js';
import { makeRow, writeAll, T0 } from '../../../test/fixtures/ledger-rows.js';

type WithStore = (title: string, fn: (h: { store: LedgerStore }) => Promise<void>) => unknown;

/** Instants on both sides of UTC day, hour and month boundaries. */
const EDGES = [
  Date.UTC(2025, 0, 31, 23, 59, 59, 999),
  Date.UTC(2025, 1, 1, 0, 0, 0, 0),
  Date.UTC(2025, 1, 1, 0, 59, 59, 999),
  Date.UTC(2025, 1, 1, 1, 0, 0, 0),
  Date.UTC(2025, 1, 28, 23, 30),
  Date.UTC(2025, 2, 1, 0, 30),
  T0,
  T0 + 1,
];

function groupValue(r: LedgerRow, k: GroupKey): string | null {
  const iso = new Date(r.ts).toISOString();
  switch (k) {
    case 'day':
      return iso.slice(0, 10);
    case 'hour':
      return `${iso.slice(0, 13)}:00`;
    case 'month':
      return iso.slice(0, 7);
    case 'user':
      return r.user;
    case 'key':
      return r.apiKeyId;
    case 'requested_model':
      return r.requestedModel;
    default:
      return r[k];
  }
}

type Sums = Omit<AggregateRow, 'group'>;
const ZERO: Sums = { requests: 0, errors: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costNanos: 0n, baselineCostNanos: 0n, cacheHits: 0, estimated: 0, avoidedCostNanos: 0n };

/** The aggregate, computed independently: `JSON(group values)` → sums. */
function expected(rows: LedgerRow[], by: GroupKey[]): Map<string, Sums> {
  const out = new Map<string, Sums>();
  for (const r of rows) {
    const key = JSON.stringify(by.map((k) => groupValue(r, k)));
    const s = { ...(out.get(key) ?? ZERO) };
    s.requests++;
    s.errors += r.status >= 400 ? 1 : 0;
    s.inputTokens += r.inputTokens;
    s.cachedTokens += r.cacheReadTokens;
    s.outputTokens += r.outputTokens;
    s.costNanos += BigInt(r.costNanos);
    s.baselineCostNanos += BigInt(r.baselineCostNanos);
    s.cacheHits += ['exact', 'semantic', 'dedup'].includes(r.cacheStatus) ? 1 : 0;
    s.estimated += r.usageEstimated ? 1 : 0;
    s.avoidedCostNanos += BigInt(r.avoidedCostNanos);
    out.set(key, s);
  }
  return out;
}

function actual(rows: AggregateRow[], by: GroupKey[]): Map<string, Sums> {
  return new Map(rows.map(({ group, ...s }) => [JSON.stringify(by.map((k) => group[k])), s]));
}

function seed(): LedgerRow[] {
  const pick = <T>(xs: T[], i: number) => xs[i % xs.length]!;
  return Array.from({ length: 64 }, (_, i) =>
    makeRow({
      ts: pick(EDGES, i), feature: pick(['search', 'chat', 'summarize', null], i), user: pick(['alice', 'bob', null], i), team: pick(['core', 'growth'], Math.floor(i / 3)),
      apiKeyId: pick(['k1', 'k2', null], Math.floor(i / 2)), model: pick(['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5'], Math.floor(i / 5)), provider: pick(['a', 'b', null], i),
      requestedModel: pick(['m', 'gpt-4o'], Math.floor(i / 7)), endpoint: pick(['chat', 'messages', 'embeddings'], Math.floor(i / 4)), status: pick([200, 200, 200, 429, 502], i),
      inputTokens: 1000 + i * 37, cacheReadTokens: (i % 4) * 100, outputTokens: 10 + i * 3, costNanos: 1000 + i * i * 11, baselineCostNanos: 3000 + i * 101,
      cacheStatus: pick(['miss', 'exact', 'miss', 'semantic', 'dedup', 'miss'], i), usageEstimated: i % 9 === 0,
    }),
  );
}

export function describeAggregateContract(withStore: WithStore): void {
  withStore('aggregate by every GroupKey (UTC buckets at their edges) equals sums computed independently', async ({ store }) => {
    const rows = seed();
    await store.write(rows, []);
    const combos: GroupKey[][] = [[], ...GROUP_KEYS.map((k) => [k]), ['feature', 'model'], ['team', 'day'], ['month', 'provider', 'user']];
    for (const by of combos) {
      const got = await store.aggregate({}, by);
      assert.deepEqual(actual(got, by), expected(rows, by), `by ${by.join(',') || '(none)'}`);
      for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]!.costNanos >= got[i]!.costNanos, 'ordered by cost, highest first');
    }
    const day = (await store.aggregate({}, ['day'])).map((r) => r.group.day).sort();
    assert.deepEqual(day, ['2025-01-31', '2025-02-01', '2025-02-28', '2025-03-01', '2025-03-15']);
    const hour = (await store.aggregate({}, ['hour'])).map((r) => r.group.hour).sort();
    assert.deepEqual(hour, ['2025-01-31T23:00', '2025-02-01T00:00', '2025-02-01T01:00', '2025-02-28T23:00', '2025-03-01T00:00', '2025-03-15T12:00']);
  });

  withStore('aggregate honours the filter it is given (since/until are half-open)', async ({ store }) => {
    const rows = seed();
    await store.write(rows, []);
    const filters: LedgerFilter[] = [
      { since: Date.UTC(2025, 1, 1), until: Date.UTC(2025, 2, 1) },
      { until: Date.UTC(2025, 1, 1) },
      { feature: 'chat', status: 'error' },
      { since: EDGES[3]!, user: 'alice' },
    ];
    for (const f of filters) {
      const want = rows.filter((r) => (f.since === undefined || r.ts >= f.since) && (f.until === undefined || r.ts < f.until) &&
        (f.feature === undefined || r.feature === f.feature) && (f.user === undefined || r.user === f.user) && (f.status === undefined || r.status >= 400));
      for (const by of [['month'], ['feature', 'hour']] as GroupKey[][]) assert.deepEqual(actual(await store.aggregate(f, by), by), expected(want, by), JSON.stringify(f));
    }
    assert.deepEqual(await store.aggregate({ feature: 'none-such' }, ['feature']), []);
    assert.equal((await store.aggregate({ feature: 'none-such' }, []))[0]?.requests ?? 0, 0);
  });

  withStore('money sums past 2^53 n$ (~$9 million) stay exact: 999 rows of 4e15+1 n$ sum to 3,996,000,000,000,000,999', async ({ store }) => {
    const big = Array.from({ length: 999 }, (_, i) => makeRow({ costNanos: 4_000_000_000_000_001, baselineCostNanos: 4_000_000_000_000_003, model: i % 2 ? 'odd' : 'even', inputTokens: 2_000_000_000 }));
    await writeAll(store, big, 250);
    const [all] = await store.aggregate({}, []);
    // A double would give 3996000000000000000 (the 999 is lost); the sum must be the exact integer.
    assert.equal(all!.costNanos, 3_996_000_000_000_000_999n);
    assert.equal(all!.baselineCostNanos, 3_996_000_000_000_002_997n);
    assert.equal(all!.inputTokens, 1_998_000_000_000);
    const byModel = actual(await store.aggregate({}, ['model']), ['model']);
    assert.equal(byModel.get('["even"]')!.costNanos, 500n * 4_000_000_000_000_001n);
    assert.equal(byModel.get('["odd"]')!.costNanos, 499n * 4_000_000_000_000_001n);
  });
}
