/**
 * The ledger store contract: every backend (SQLite `:memory:`, SQLite on a file, Postgres in a private schema) passes
 * the same tests — idempotent migrations, a lossless round trip of every column, each filter, keyset pagination that
 * neither repeats nor skips rows while new rows arrive between pages, attempts, aggregates (see contract-aggregate)
 * and INSERT idempotency on `uid` (a retried batch whose first COMMIT outcome was unknown must not double-count).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SqliteLedger } from './sqlite.js';
import { PostgresLedger } from './postgres.js';
import type { LedgerStore, LedgerRow, LedgerFilter } from './types.js';
import { describeAggregateContract } from './contract-aggregate.test.js';
import { describeBreakdownContract } from './contract-breakdown.test.js';
import { describeBodiesContract } from './contract-bodies.test.js';
import { PG_URL, requirePostgres } from '../../../test/helpers/services.js';
import { makeRow, makeBareRow, makeAttempt, writeAll, T0, HOUR } from '../../../test/fixtures/ledger-rows.js';

export interface LedgerHarness {
  /** An initialised store on a fresh, empty database. */
  store: LedgerStore;
  /** A second, uninitialised store on the same database (absent for `:memory:`, which is private to a connection). */
  sibling?: () => LedgerStore;
  cleanup(): Promise<void>;
}
/** Resolves undefined when the backend is unavailable (the suite is then skipped, saying why). */
export type LedgerFactory = () => Promise<LedgerHarness | undefined>;

const uids = (rows: LedgerRow[]) => rows.map((r) => r.uid).sort();

function matches(r: LedgerRow, f: LedgerFilter): boolean {
  return (f.since === undefined || r.ts >= f.since) && (f.until === undefined || r.ts < f.until) && (f.feature === undefined || r.feature === f.feature) &&
    (f.user === undefined || r.user === f.user) && (f.team === undefined || r.team === f.team) && (f.apiKeyId === undefined || r.apiKeyId === f.apiKeyId) &&
    (f.model === undefined || r.model === f.model) && (f.provider === undefined || r.provider === f.provider) &&
    (f.requestId === undefined || r.requestId === f.requestId) && (f.status === undefined || (f.status === 'ok' ? r.status < 400 : r.status >= 400));
}

/** 48 rows over a day, cycling through every filterable attribute (null included). */
function filterRows(): LedgerRow[] {
  const pick = <T>(xs: T[], i: number) => xs[i % xs.length]!;
  return Array.from({ length: 48 }, (_, i) =>
    makeRow({
      ts: T0 + i * (HOUR / 2), feature: pick(['search', 'chat', null], i), user: pick(['alice', 'bob'], i), team: pick(['core', 'growth', null], Math.floor(i / 2)),
      apiKeyId: pick(['k1', 'k2', 'k3', 'k4'], i), model: pick(['gpt-4o-mini', 'gpt-4o', null], Math.floor(i / 3)), provider: pick(['a', 'b'], Math.floor(i / 4)),
      status: pick([200, 200, 429, 500, 400, 499], i), requestId: `f-${i % 40}`,
    }),
  );
}

export function describeLedgerContract(name: string, factory: LedgerFactory): void {
  describe(`ledger contract: ${name}`, () => {
    const withStore = (title: string, fn: (h: LedgerHarness) => Promise<void>) =>
      test(title, async (t) => {
        const h = await factory();
        if (!h) return void t.skip(`${name} unavailable`);
        try {
          await fn(h);
        } finally {
          await h.cleanup();
        }
      });

    withStore('migrations are idempotent: init twice, and a second instance on the same database', async (h) => {
      await h.store.write([makeRow({ uid: 'keep' })], [makeAttempt('keep', 1)]);
      await h.store.init();
      assert.equal(await h.store.count(), 1);
      if (!h.sibling) return;
      // Two more instances start together (replicas booting at once), then write through either.
      const [b, c] = [h.sibling(), h.sibling()];
      try {
        await Promise.all([b.init(), c.init()]);
        await b.write([makeRow({ uid: 'from-b' })], []);
        assert.equal(await c.count(), 2);
        assert.equal(await h.store.count(), 2);
        assert.equal((await c.attempts('keep')).length, 1);
      } finally {
        await Promise.all([b.close(), c.close()]);
      }
    });

    withStore('write + query round-trips every field (set and null) and attempts in order', async (h) => {
      const full = makeRow({ requestId: 'rt-full', errorType: 'upstream_error', errorMessage: 'x'.repeat(500), cacheStatus: 'semantic', costNanos: 9_007_199_254_740_991 });
      const bare = makeBareRow({ requestId: 'rt-bare' });
      const attempts = [3, 1, 2].map((n) => makeAttempt(full.uid, n));
      await h.store.write([full, bare], attempts);
      assert.deepEqual((await h.store.query({ requestId: 'rt-full' })).rows, [full]);
      assert.deepEqual((await h.store.query({ requestId: 'rt-bare' })).rows, [bare]);
      assert.deepEqual(await h.store.attempts(full.uid), [1, 2, 3].map((n) => makeAttempt(full.uid, n)));
      assert.deepEqual(await h.store.attempts(bare.uid), []);
    });

    withStore('duplicates: rows with a request fingerprint and their distinct fingerprints, within the filter', async (h) => {
      const hashes = ['a', 'a', 'a', 'b', 'b', 'c', null, null];
      await h.store.write(hashes.map((requestHash, i) => makeRow({ ts: T0 + i * HOUR, requestHash })), []);
      assert.deepEqual(await h.store.duplicates({}), { requests: 6, distinct: 3 });
      assert.deepEqual(await h.store.duplicates({ since: T0 + 2 * HOUR }), { requests: 4, distinct: 3 });
      assert.deepEqual(await h.store.duplicates({ since: T0 + 6 * HOUR }), { requests: 0, distinct: 0 });
    });

    withStore('INSERT is idempotent on uid (and attempts on uid+n): a retried batch never double-counts', async (h) => {
      const a = makeRow({ costNanos: 100 });
      await h.store.write([a], [makeAttempt(a.uid, 1)]);
      await h.store.write([{ ...a, costNanos: 999 }, makeRow({ uid: 'new-one' })], [makeAttempt(a.uid, 1, { costNanos: 999 }), makeAttempt(a.uid, 2)]);
      // The same uid twice in one batch, too.
      const d = makeRow();
      await h.store.write([d, { ...d, costNanos: 5 }], []);
      assert.equal(await h.store.count(), 3);
      assert.equal((await h.store.query({ requestId: a.requestId })).rows[0]!.costNanos, 100);
      assert.deepEqual((await h.store.attempts(a.uid)).map((x) => [x.n, x.costNanos]), [[1, 77], [2, 154]]);
      assert.equal((await h.store.aggregate({}, []))[0]!.costNanos, 100n + 1234n + 1234n);
    });

    withStore('filters: since, until, feature, user, team, key, model, provider, status, request_id and combinations', async (h) => {
      const rows = filterRows();
      await h.store.write(rows, []);
      const cases: LedgerFilter[] = [
        {}, { since: T0 + 5 * HOUR }, { until: T0 + 5 * HOUR }, { since: T0 + HOUR, until: T0 + HOUR + 1 }, { since: T0 + 2 * HOUR, until: T0 + 9 * HOUR },
        { feature: 'search' }, { feature: 'none-such' }, { user: 'bob' }, { team: 'growth' }, { apiKeyId: 'k3' }, { model: 'gpt-4o' }, { provider: 'b' },
        { status: 'ok' }, { status: 'error' }, { requestId: 'f-3' }, { requestId: 'f-39' },
        { feature: 'chat', user: 'alice', status: 'error' }, { team: 'core', model: 'gpt-4o-mini', since: T0 + 3 * HOUR, provider: 'a' },
      ];
      for (const f of cases) {
        const want = rows.filter((r) => matches(r, f));
        const got = await h.store.query({ ...f, limit: 1000 });
        assert.deepEqual(uids(got.rows), uids(want), JSON.stringify(f));
        assert.equal(got.nextCursor, undefined);
        assert.equal(await h.store.count(f), want.length, JSON.stringify(f));
        const agg = await h.store.aggregate(f, []);
        assert.equal(agg[0]?.requests ?? 0, want.length, JSON.stringify(f));
      }
    });

    withStore('keyset pagination over 2,500 rows with inserts between pages: every row once, newest first', async (h) => {
      // 40 distinct timestamps, so most page boundaries fall inside a run of equal ts (the uid tiebreak matters).
      const rows = Array.from({ length: 2500 }, (_, i) => makeRow({ ts: T0 + (i % 40) * 1000, requestId: `p-${i}` }));
      await writeAll(h.store, rows);
      const seen = new Map<string, number>();
      let cursor: string | undefined;
      let pages = 0;
      let prevTs = Infinity;
      do {
        const page = await h.store.query({ limit: 97, cursor });
        for (const r of page.rows) {
          seen.set(r.uid, (seen.get(r.uid) ?? 0) + 1);
          assert.ok(r.ts <= prevTs, 'newest first');
          prevTs = r.ts;
        }
        cursor = page.nextCursor;
        // Traffic keeps arriving: newer rows (land before page 1) and late rows older than everything (land ahead).
        await h.store.write([makeRow({ ts: T0 + 60_000 + pages }), makeRow({ ts: T0 - 1000 - pages })], []);
        pages++;
      } while (cursor && pages < 200);
      assert.equal(cursor, undefined, 'pagination terminates');
      for (const r of rows) assert.equal(seen.get(r.uid), 1, `row ${r.uid} seen once`);
      assert.ok([...seen.values()].every((n) => n === 1), 'no duplicates');
      assert.ok(pages >= 26);
    });

    withStore('a cursor is opaque but validated; limit is clamped to 1..1000', async (h) => {
      await writeAll(h.store, Array.from({ length: 3 }, () => makeRow()));
      await assert.rejects(h.store.query({ cursor: 'not-a-cursor' }), /invalid cursor/);
      assert.equal((await h.store.query({ limit: 0 })).rows.length, 1);
      assert.equal((await h.store.query({ limit: 5000 })).rows.length, 3);
    });

    describeAggregateContract(withStore);
    describeBreakdownContract(withStore);
    describeBodiesContract(withStore);
  });
}

// --- the backends -------------------------------------------------------------------------------------------

describeLedgerContract('memory', async () => {
  const store = new SqliteLedger(':memory:');
  await store.init();
  return { store, cleanup: () => store.close() };
});

describeLedgerContract('sqlite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-ledger-'));
  const path = join(dir, 'nested', 'ledger.db');
  const store = new SqliteLedger(path);
  await store.init();
  return {
    store,
    sibling: () => new SqliteLedger(path),
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeLedgerContract('postgres', async () => {
  if (!(await requirePostgres())) return undefined;
  const schema = `costgate_test_${randomBytes(6).toString('hex')}`;
  const store = new PostgresLedger(PG_URL, schema);
  await store.init();
  return {
    store,
    sibling: () => new PostgresLedger(PG_URL, schema),
    cleanup: async () => {
      await store.dropSchema();
      await store.close();
    },
  };
});
