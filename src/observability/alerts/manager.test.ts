/**
 * The alert manager's state machine over a synthetic ledger: notify on transitions only (evaluating twice notifies
 * once), level changes, resolve notifications, re-notification, state surviving a restart (SQLite file), a failing
 * channel that neither breaks evaluation nor starves the other channels, and a failing rule that resolves nothing.
 */
import { test } from 'node:test';
import { channel as dc } from 'node:diagnostics_channel';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLedger } from '../../stores/ledger/sqlite.js';
import type { LedgerRow, LedgerStore } from '../../stores/ledger/types.js';
import { AlertsSchema } from '../../config/alerts-schema.js';
import type { ResolvedBudget } from '../../config/load.js';
import { MemoryAlertStore } from '../../stores/alerts/memory.js';
import { SqliteAlertStore } from '../../stores/alerts/sqlite.js';
import type { AlertEvent, AlertStore } from '../../stores/alerts/types.js';
import { AlertManager } from './manager.js';
import type { Channel } from './channels.js';
import { makeRow, T0, HOUR } from '../../../test/fixtures/ledger-rows.js';

const MIN = 60_000;
let n = 0;
const errors = (count: number, total: number, ts: number) => Array.from({ length: total }, (_, i) => makeRow({ ts, status: i < count ? 500 : 200, requestHash: `m-${++n}` }));

function capture(): Channel & { got: AlertEvent[] } {
  const got: AlertEvent[] = [];
  return { name: 'capture', type: 'log', got, send: async (e) => void got.push(e) };
}

/** Only the error-rate rule (and budgets where given), on the given ledger and store, at a movable clock. */
async function setup(o: { rows?: LedgerRow[]; store?: AlertStore; budgets?: ResolvedBudget[]; alerts?: Record<string, unknown>; channels?: Channel[]; ledger?: LedgerStore } = {}) {
  const ledger = o.ledger ?? new SqliteLedger(':memory:');
  await ledger.init();
  if (o.rows) await ledger.write(o.rows, []);
  const off = { enabled: false };
  const config = AlertsSchema.parse({
    enabled: true, backoffMs: 0,
    rules: { spendAnomaly: off, allocation: off, outputTokens: off, cacheHitRate: off, duplicateShare: off, budgets: { enabled: !!o.budgets } },
    ...o.alerts,
  });
  const clock = { now: T0 };
  const ch = capture();
  const store = o.store ?? new MemoryAlertStore();
  await store.init();
  const m = new AlertManager({ config, ledger, store, budgets: o.budgets ?? [], cacheOn: false, channels: o.channels ?? [ch], now: () => clock.now });
  return { m, ledger, ch, clock, async close() { await m.close(); await ledger.close(); } };
}

test('evaluating twice notifies once; the alert is listed as firing', async () => {
  const s = await setup({ rows: errors(10, 100, T0 - MIN) });
  try {
    const a = await s.m.evaluate();
    assert.deepEqual(a.events.map((e) => [e.kind, e.key]), [['firing', 'errorRate']]);
    const b = await s.m.evaluate();
    assert.deepEqual(b.events, []);
    assert.equal(s.ch.got.length, 1);
    // Worse, but the same level: no notification, the listed value follows.
    await s.ledger.write(errors(5, 10, T0 - MIN), []);
    assert.deepEqual((await s.m.evaluate()).events, []);
    assert.equal(s.ch.got.length, 1);
    assert.equal((await s.m.firing())[0]!.value, 15 / 110);
    assert.deepEqual((await s.m.firing()).map((f) => f.key), ['errorRate']);
    assert.deepEqual((await s.m.history()).map((e) => e.kind), ['firing']);
  } finally {
    await s.close();
  }
});

test('a resolved alert is notified once; firing again later is a new notification', async () => {
  const s = await setup({ rows: errors(10, 100, T0 - MIN) });
  try {
    await s.m.evaluate();
    s.clock.now = T0 + HOUR; // the errors have left the 15 min window
    const r = await s.m.evaluate();
    assert.deepEqual(r.events.map((e) => e.kind), ['resolved']);
    assert.match(r.events[0]!.message, /^Resolved: Error rate 10\.0%/);
    assert.deepEqual(await s.m.firing(), []);
    assert.deepEqual((await s.m.evaluate()).events, []);
    await s.ledger.write(errors(30, 100, T0 + HOUR), []);
    assert.deepEqual((await s.m.evaluate()).events.map((e) => [e.kind, e.level]), [['firing', 'critical']]);
    assert.deepEqual(s.ch.got.map((e) => e.kind), ['firing', 'resolved', 'firing']);
  } finally {
    await s.close();
  }
});

test('a change of level while firing is notified (budget 50 % → 80 %), the same level is not', async () => {
  const daily: ResolvedBudget = { name: 'daily', scope: 'global', window: { kind: 'calendar', unit: 'day', tz: 'UTC' }, limitNanos: 10_000_000n, mode: 'soft', status: 402, exemptPriorities: [] };
  const s = await setup({ rows: [makeRow({ ts: T0 - HOUR, costNanos: 6_000_000 })], budgets: [daily], alerts: { rules: { errorRate: { enabled: false }, spendAnomaly: { enabled: false }, allocation: { enabled: false }, outputTokens: { enabled: false }, cacheHitRate: { enabled: false }, duplicateShare: { enabled: false } } } });
  try {
    assert.deepEqual((await s.m.evaluate()).events.map((e) => [e.kind, e.level]), [['firing', '50%']]);
    await s.ledger.write([makeRow({ ts: T0 - HOUR, costNanos: 1_000_000 })], []);
    assert.deepEqual((await s.m.evaluate()).events, []);
    await s.ledger.write([makeRow({ ts: T0 - HOUR, costNanos: 2_000_000 })], []);
    assert.deepEqual((await s.m.evaluate()).events.map((e) => [e.kind, e.level]), [['changed', '80%']]);
  } finally {
    await s.close();
  }
});

test('renotify: a still-firing alert is sent again after the interval, not before', async () => {
  const s = await setup({ rows: errors(10, 100, T0 - MIN), alerts: { renotify: '1h' } });
  try {
    await s.m.evaluate();
    await s.ledger.write(errors(10, 100, T0 + 59 * MIN), []);
    s.clock.now = T0 + 59 * MIN;
    assert.deepEqual((await s.m.evaluate()).events, []);
    s.clock.now = T0 + 61 * MIN;
    assert.deepEqual((await s.m.evaluate()).events.map((e) => e.kind), ['renotify']);
  } finally {
    await s.close();
  }
});

test('state survives a restart (SQLite file): the new manager does not re-fire, and resolves it later', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-alerts-'));
  const path = join(dir, 'alerts.db');
  const rows = errors(10, 100, T0 - MIN);
  try {
    const a = await setup({ rows, store: new SqliteAlertStore(path) });
    assert.equal((await a.m.evaluate()).events.length, 1);
    await a.close();
    const b = await setup({ rows, store: new SqliteAlertStore(path) });
    try {
      assert.deepEqual((await b.m.evaluate()).events, []);
      assert.deepEqual((await b.m.firing()).map((f) => f.key), ['errorRate']);
      b.clock.now = T0 + HOUR;
      assert.deepEqual((await b.m.evaluate()).events.map((e) => e.kind), ['resolved']);
      assert.deepEqual((await b.m.history()).map((e) => e.kind), ['resolved', 'firing']);
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing channel is retried a bounded number of times and never blocks the others', async () => {
  let tries = 0;
  const broken: Channel = { name: 'broken', type: 'webhook', send: async () => void (tries++, assert.fail('receiver down')) };
  const ok = capture();
  const s = await setup({ rows: errors(10, 100, T0 - MIN), channels: [broken, ok], alerts: { attempts: 3 } });
  const warnings: string[] = [];
  const onWarn = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarn);
  try {
    const r = await s.m.evaluate();
    assert.equal(tries, 3);
    assert.deepEqual(r.deliveries.map((d) => [d.channel, d.ok, d.attempts]), [['broken', false, 3], ['capture', true, 1]]);
    assert.equal(ok.got.length, 1);
    // The alert still counts as notified: the next evaluation does not retry it forever.
    assert.deepEqual((await s.m.evaluate()).events, []);
    await new Promise((r) => setImmediate(r));
    assert.ok(warnings.some((w) => /alert channel 'broken' failed after 3 attempts: receiver down/.test(w)), warnings.join('\n'));
  } finally {
    process.off('warning', onWarn);
    await s.close();
  }
});

test('a rule that fails resolves nothing: its firing alerts keep their state', async () => {
  const inner = new SqliteLedger(':memory:');
  let broken = false;
  const flaky = new Proxy(inner, {
    get(t, p) {
      if (p === 'aggregate' && broken) return async () => { throw new Error('ledger unavailable'); };
      const v = Reflect.get(t, p);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  }) as LedgerStore;
  const s = await setup({ ledger: flaky, rows: errors(10, 100, T0 - MIN) });
  try {
    await s.m.evaluate();
    broken = true;
    s.clock.now = T0 + HOUR;
    const r = await s.m.evaluate();
    assert.deepEqual(r.events, []);
    assert.deepEqual(r.errors, [{ rule: 'errorRate', error: 'ledger unavailable' }]);
    assert.deepEqual((await s.m.firing()).map((f) => f.key), ['errorRate']);
  } finally {
    await s.close();
  }
});

test('triggers within the debounce make one evaluation', async () => {
  const s = await setup({ rows: errors(10, 100, T0 - MIN), alerts: { debounceMs: 20 } });
  let runs = 0;
  const orig = s.m.evaluate.bind(s.m);
  s.m.evaluate = async () => (runs++, orig());
  try {
    for (let i = 0; i < 10; i++) s.m.trigger();
    while (!s.m.last) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(runs, 1);
    assert.equal(s.ch.got.length, 1);
  } finally {
    await s.close();
  }
});

test('a soft-budget crossing on diagnostics_channel costgate:budget and a ledger write both trigger an evaluation', async () => {
  const s = await setup({ rows: errors(10, 100, T0 - MIN), alerts: { debounceMs: 0 } });
  let onWrite: (() => void) | undefined;
  try {
    s.m.start((f) => (onWrite = f));
    dc('costgate:budget').publish({ budget: 'b', key: 'b', limitNanos: 1n, spentNanos: 2n, requestId: 'r' });
    while (!s.m.last) await new Promise((r) => setTimeout(r, 5));
    assert.equal(s.ch.got.length, 1);
    s.m.last = undefined;
    s.clock.now = T0 + HOUR;
    onWrite!();
    while (!s.m.last) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(s.ch.got.map((e) => e.kind), ['firing', 'resolved']);
  } finally {
    await s.close();
  }
});
