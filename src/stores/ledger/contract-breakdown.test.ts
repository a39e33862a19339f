/**
 * The breakdown half of the ledger contract (run by contract.test.ts for every backend): requests and avoided cost
 * per cache layer, error cost, and retry cost (failed attempts followed by another attempt), each compared with the
 * same sums computed here in JS, with and without a filter.
 */
import assert from 'node:assert/strict';
import type { LedgerStore, LedgerRow, AttemptRow, LedgerFilter, LedgerBreakdown } from './types.js';
import { makeRow, makeAttempt, T0, HOUR } from '../../../test/fixtures/ledger-rows.js';

type WithStore = (title: string, fn: (h: { store: LedgerStore }) => Promise<void>) => unknown;

function seed(): { rows: LedgerRow[]; attempts: AttemptRow[] } {
  const pick = <T>(xs: T[], i: number) => xs[i % xs.length]!;
  const rows = Array.from({ length: 40 }, (_, i) =>
    makeRow({
      ts: T0 + i * HOUR, feature: pick(['search', 'chat'], i), status: pick([200, 200, 502, 200, 429], i),
      cacheStatus: pick(['miss', 'exact', 'miss', 'semantic', 'dedup', 'bypass'], i), costNanos: 1000 + i * 7, avoidedCostNanos: i % 3 === 0 ? 500 + i : 0,
    }),
  );
  const attempts: AttemptRow[] = [];
  rows.forEach((r, i) => {
    // 0-3 attempts: none (cache hit), one ok, error then ok, error, error then error (the last is the final error).
    const shape = pick([[], ['ok'], ['error', 'ok'], ['error', 'error', 'ok'], ['error'], ['error', 'error'], ['skipped', 'ok']], i);
    shape.forEach((outcome, k) => attempts.push(makeAttempt(r.uid, k + 1, { outcome, costNanos: 10 * (i + 1) + k })));
  });
  return { rows, attempts };
}

function expected(rows: LedgerRow[], attempts: AttemptRow[], f: LedgerFilter): LedgerBreakdown {
  const sel = rows.filter((r) => (f.feature === undefined || r.feature === f.feature) && (f.since === undefined || r.ts >= f.since));
  const cache = new Map<string, { requests: number; avoidedCostNanos: bigint }>();
  for (const r of sel) {
    const c = cache.get(r.cacheStatus) ?? { requests: 0, avoidedCostNanos: 0n };
    c.requests++;
    c.avoidedCostNanos += BigInt(r.avoidedCostNanos);
    cache.set(r.cacheStatus, c);
  }
  const errs = sel.filter((r) => r.status >= 400);
  const uids = new Set(sel.map((r) => r.uid));
  const retried = attempts.filter((a) => uids.has(a.uid) && a.outcome === 'error' && attempts.some((b) => b.uid === a.uid && b.n > a.n));
  return {
    cache: [...cache].map(([status, v]) => ({ status, ...v })).sort((a, b) => b.requests - a.requests || (a.status < b.status ? -1 : 1)),
    errors: { requests: errs.length, costNanos: errs.reduce((s, r) => s + BigInt(r.costNanos), 0n) },
    retries: { requests: new Set(retried.map((a) => a.uid)).size, attempts: retried.length, costNanos: retried.reduce((s, a) => s + BigInt(a.costNanos), 0n) },
  };
}

export function describeBreakdownContract(withStore: WithStore): void {
  withStore('breakdown: cache layers, error cost and retry cost equal sums computed independently, under filters', async ({ store }) => {
    const { rows, attempts } = seed();
    await store.write(rows, attempts);
    for (const f of [{}, { feature: 'chat' }, { since: T0 + 20 * HOUR, feature: 'search' }] as LedgerFilter[]) {
      const want = expected(rows, attempts, f);
      assert.ok(want.retries.attempts > 0 && want.errors.requests > 0, 'the seed exercises retries and errors');
      assert.deepEqual(await store.breakdown(f), want, JSON.stringify(f));
    }
    assert.deepEqual(await store.breakdown({ feature: 'none-such' }), { cache: [], errors: { requests: 0, costNanos: 0n }, retries: { requests: 0, attempts: 0, costNanos: 0n } });
  });
}
