/** Every alert store (memory, SQLite file, Postgres) keeps state per key, history newest first, and prunes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MemoryAlertStore } from './memory.js';
import { SqliteAlertStore } from './sqlite.js';
import { PostgresAlertStore } from './postgres.js';
import type { AlertEvent, AlertState, AlertStore } from './types.js';
import { PG_URL, requirePostgres } from '../../../test/helpers/services.js';

type Factory = () => Promise<{ store: AlertStore; reopen?: () => AlertStore; cleanup: () => Promise<void> } | undefined>;

const state = (key: string, over: Partial<AlertState> = {}): AlertState => ({
  key, rule: 'errorRate', level: 'warning', value: 0.05, threshold: 0.02, message: `m ${key}`, labels: { feature: 'a' },
  status: 'firing', since: 1000, updatedAt: 1000, lastNotifiedAt: 1000, ...over,
});
const event = (key: string, ts: number, kind: AlertEvent['kind'] = 'firing'): AlertEvent => {
  const { status: _s, since: _a, updatedAt: _u, lastNotifiedAt: _l, ...f } = state(key);
  return { ...f, ts, kind };
};

function contract(name: string, factory: Factory): void {
  describe(`alert store contract: ${name}`, () => {
    test('save/states/history/prune round-trip, and state survives reopening', async (t) => {
      const h = await factory();
      if (!h) return void t.skip(`${name} unavailable`);
      try {
        await h.store.save(state('a'), event('a', 1));
        await h.store.save(state('b'), event('b', 2));
        await h.store.save(state('a', { status: 'resolved', since: 3 }), event('a', 3, 'resolved'));
        await h.store.save(state('c'));
        const s = (await h.store.states()).sort((x, y) => x.key.localeCompare(y.key));
        assert.deepEqual(s, [state('a', { status: 'resolved', since: 3 }), state('b'), state('c')]);
        assert.deepEqual((await h.store.history(10)).map((e) => [e.key, e.kind]), [['a', 'resolved'], ['b', 'firing'], ['a', 'firing']]);
        assert.deepEqual(await h.store.history(1), [event('a', 3, 'resolved')]);
        await h.store.prune(2);
        assert.deepEqual((await h.store.history(10)).map((e) => e.ts), [3, 2]);
        if (h.reopen) {
          const again = h.reopen();
          await again.init();
          assert.equal((await again.states()).length, 3);
          await again.close();
        }
      } finally {
        await h.cleanup();
      }
    });
  });
}

contract('memory', async () => {
  const store = new MemoryAlertStore();
  await store.init();
  return { store, cleanup: () => store.close() };
});

contract('sqlite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-alert-store-'));
  const path = join(dir, 'x', 'ledger.db.alerts.db');
  const store = new SqliteAlertStore(path);
  await store.init();
  return { store, reopen: () => new SqliteAlertStore(path), cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
});

contract('postgres', async () => {
  if (!(await requirePostgres())) return undefined;
  const schema = `costgate_alerts_${randomBytes(6).toString('hex')}`;
  const store = new PostgresAlertStore(PG_URL, schema);
  await store.init();
  return {
    store,
    reopen: () => new PostgresAlertStore(PG_URL, schema),
    cleanup: async () => {
      await store.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
});

test('postgres: two replicas evaluating at once announce a transition once (advisory lock)', async (t) => {
  if (!(await requirePostgres())) return void t.skip('postgres unavailable');
  const { SqliteLedger } = await import('../ledger/sqlite.js');
  const { AlertManager } = await import('../../observability/alerts/manager.js');
  const { AlertsSchema } = await import('../../config/alerts-schema.js');
  const { makeRow, T0 } = await import('../../../test/fixtures/ledger-rows.js');
  const schema = `costgate_alerts_${randomBytes(6).toString('hex')}`;
  const ledger = new SqliteLedger(':memory:');
  await ledger.init();
  await ledger.write(Array.from({ length: 100 }, (_, i) => makeRow({ ts: T0 - 60_000, status: i < 10 ? 500 : 200 })), []);
  // Replica A is held inside its evaluation (its ledger read waits on a gate) while replica B evaluates.
  let open!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const inside = new Promise<void>((r) => (entered = r));
  const slow = new Proxy(ledger, {
    get(target, p) {
      if (p === 'aggregate') return async (...a: Parameters<typeof ledger.aggregate>) => (entered(), await gate, target.aggregate(...a));
      const v = Reflect.get(target, p);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const off = { enabled: false };
  const config = AlertsSchema.parse({ enabled: true, rules: { spendAnomaly: off, allocation: off, budgets: off, outputTokens: off, cacheHitRate: off, duplicateShare: off } });
  const sent: string[] = [];
  const replica = async (name: string, l: typeof ledger) => {
    const store = new PostgresAlertStore(PG_URL, schema);
    await store.init();
    return new AlertManager({ config, ledger: l, store, budgets: [], cacheOn: false, now: () => T0, channels: [{ name, type: 'log', send: async (e) => void sent.push(`${name}:${e.kind}`) }] });
  };
  const a = await replica('a', slow);
  const b = await replica('b', ledger);
  try {
    const first = a.evaluate();
    await inside; // A holds the lock and is reading the ledger
    const rb = await b.evaluate();
    open();
    const ra = await first;
    assert.equal(rb.skipped, true);
    assert.deepEqual(ra.events.map((e) => e.kind), ['firing']);
    assert.deepEqual(sent, ['a:firing']);
    assert.deepEqual((await b.evaluate()).events, []);
  } finally {
    open();
    await a.close();
    await b.close();
    await ledger.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
});
