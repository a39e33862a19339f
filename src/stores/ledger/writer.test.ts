/**
 * LedgerWriter against a fake store whose every write is scripted: flush by interval (mocked timers, so no test
 * depends on how fast this machine is) and by batch size, order kept across failed writes, a store that rejects or
 * throws synchronously, close() draining (also past a store that is down for a moment), rows that arrive after close,
 * and the "rows could not be written at shutdown" message when the store never comes back.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { LedgerWriter, type WriterOptions } from './writer.js';
import type { LedgerStore, LedgerRow, AttemptRow, BodyRow } from './types.js';
import { makeRow, makeAttempt, makeBody, HOUR } from '../../../test/fixtures/ledger-rows.js';

type Mode = 'ok' | 'reject' | 'throw';

/** A store that commits (records) batches, or fails them as `next()` says; it never half-commits a batch. */
class FakeStore implements LedgerStore {
  readonly kind = 'memory' as const;
  /** Committed batches, in commit order. */
  batches: { rows: LedgerRow[]; attempts: AttemptRow[]; bodies: BodyRow[] }[] = [];
  /** pruneBodies() calls (their `before`). */
  prunes: number[] = [];
  /** Every call to write(), failed or not. */
  calls = 0;
  /** Scripted outcomes for the next calls; `fallback` once the script runs out. */
  script: Mode[] = [];
  fallback: Mode = 'ok';
  closed = false;

  private next(): Mode {
    return this.script.shift() ?? this.fallback;
  }
  get rows(): LedgerRow[] {
    return this.batches.flatMap((b) => b.rows);
  }
  get attemptRows(): AttemptRow[] {
    return this.batches.flatMap((b) => b.attempts);
  }
  async init(): Promise<void> {}
  write(rows: LedgerRow[], attempts: AttemptRow[], bodies: BodyRow[] = []): Promise<void> {
    this.calls++;
    const m = this.next();
    if (m === 'throw') throw new Error('store threw synchronously');
    if (m === 'reject') return Promise.reject(new Error('store unavailable'));
    // Copies: a writer that later mutated a batch it handed over would corrupt what was "committed".
    this.batches.push({ rows: rows.slice(), attempts: attempts.slice(), bodies: bodies.slice() });
    return Promise.resolve();
  }
  async query(): Promise<{ rows: LedgerRow[]; nextCursor?: string }> {
    return { rows: this.rows };
  }
  async attempts(uid: string): Promise<AttemptRow[]> {
    return this.attemptRows.filter((a) => a.uid === uid);
  }
  async aggregate(): Promise<never[]> {
    return [];
  }
  async count(): Promise<number> {
    return this.rows.length;
  }
  async breakdown() {
    return { cache: [], errors: { requests: 0, costNanos: 0n }, retries: { requests: 0, attempts: 0, costNanos: 0n } };
  }
  async duplicates(): Promise<{ requests: number; distinct: number }> {
    return { requests: 0, distinct: 0 };
  }
  async bodies(): Promise<{ rows: BodyRow[] }> {
    return { rows: this.batches.flatMap((b) => b.bodies) };
  }
  async pruneBodies(before: number): Promise<number> {
    this.prunes.push(before);
    return 0;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function setup(o: Partial<WriterOptions> = {}) {
  const store = new FakeStore();
  const errors: Error[] = [];
  const writer = new LedgerWriter(store, { flushIntervalMs: 5, batchSize: 500, onError: (e) => errors.push(e as Error), ...o });
  return { store, writer, errors };
}

const rowsN = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => makeRow({ uid: `${prefix}-${String(i).padStart(4, '0')}` }));

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Every pushed row committed exactly once, in push order; same for attempts. */
function assertExactlyOnce(store: FakeStore, rows: LedgerRow[], attempts: AttemptRow[] = []): void {
  assert.deepEqual(store.rows.map((r) => r.uid), rows.map((r) => r.uid));
  assert.deepEqual(store.attemptRows.map((a) => `${a.uid}#${a.n}`), attempts.map((a) => `${a.uid}#${a.n}`));
}

test('flush by interval: nothing is written before flushIntervalMs, then one transaction with every queued row', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { store, writer } = setup({ flushIntervalMs: 50, batchSize: 100 });
    const rows = rowsN(3, 'iv');
    for (const r of rows) writer.push(r, [makeAttempt(r.uid, 1)]);
    assert.equal(store.calls, 0, 'push is off the hot path: no write yet');
    assert.equal(writer.pending(), 3);
    mock.timers.tick(49);
    assert.equal(store.calls, 0);
    mock.timers.tick(1);
    assert.equal(store.calls, 1, 'the timer flushed');
    await writer.flushNow();
    assert.equal(store.batches.length, 1);
    assert.equal(store.batches[0]!.rows.length, 3);
    assert.equal(store.batches[0]!.attempts.length, 3);
    assert.equal(writer.pending(), 0);
    assert.equal(writer.written, 3);
    // A second burst gets a timer of its own.
    const more = rowsN(2, 'iv2');
    for (const r of more) writer.push(r, []);
    mock.timers.tick(49);
    assert.equal(store.calls, 1);
    mock.timers.tick(1);
    await writer.flushNow();
    assert.equal(store.batches.length, 2);
    assertExactlyOnce(store, [...rows, ...more], rows.map((r) => makeAttempt(r.uid, 1)));
  } finally {
    mock.timers.reset();
  }
});

test('flush by batchSize: the Nth row triggers a write at once, with no timer needed', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { store, writer } = setup({ flushIntervalMs: 60_000, batchSize: 4 });
    const rows = rowsN(10, 'bs');
    for (const r of rows.slice(0, 3)) writer.push(r, []);
    assert.equal(store.calls, 0);
    writer.push(rows[3]!, []);
    assert.equal(store.calls, 1, 'batch full → written synchronously on push');
    await writer.flushNow();
    assert.deepEqual(store.batches.map((b) => b.rows.length), [4]);
    for (const r of rows.slice(4, 8)) writer.push(r, []);
    await writer.flushNow();
    assert.deepEqual(store.batches.map((b) => b.rows.length), [4, 4]);
    // The last two stay queued until the (long) interval or an explicit flush.
    for (const r of rows.slice(8)) writer.push(r, []);
    assert.equal(writer.pending(), 2);
    assert.equal(store.calls, 2);
    mock.timers.tick(60_000);
    await writer.flushNow();
    assert.deepEqual(store.batches.map((b) => b.rows.length), [4, 4, 2]);
    assertExactlyOnce(store, rows);
  } finally {
    mock.timers.reset();
  }
});

test('pushes while a write is in flight are queued behind it, and order is kept across batches', async () => {
  const { store, writer } = setup({ flushIntervalMs: 1, batchSize: 3 });
  const rows = rowsN(50, 'ord');
  const attempts = rows.flatMap((r, i) => (i % 2 ? [makeAttempt(r.uid, 1), makeAttempt(r.uid, 2)] : []));
  for (const r of rows) writer.push(r, attempts.filter((a) => a.uid === r.uid));
  await writer.close();
  assertExactlyOnce(store, rows, attempts);
  assert.equal(writer.written, 50);
});

test('a store that rejects: the batch is retried in order, never dropped, never written twice', async () => {
  const { store, writer, errors } = setup({ flushIntervalMs: 1, batchSize: 2 });
  store.script = ['reject', 'reject'];
  const rows = rowsN(6, 'rj');
  const attempts = rows.map((r) => makeAttempt(r.uid, 1));
  writer.push(rows[0]!, [attempts[0]!]);
  writer.push(rows[1]!, [attempts[1]!]); // batch → write #1 rejects
  await writer.flushNow();
  assert.equal(store.batches.length, 0);
  assert.equal(writer.pending(), 2, 'the failed batch is back in the queue');
  // More rows arrive while the store is down: they queue behind the failed ones.
  for (let i = 2; i < 6; i++) writer.push(rows[i]!, [attempts[i]!]);
  // The writer retries on its own timer (no flushNow from here on).
  await waitFor(() => store.rows.length === 6, 'all rows committed by the retry timer');
  assertExactlyOnce(store, rows, attempts);
  assert.ok(errors.length >= 2 && errors.every((e) => /store unavailable/.test(e.message)), errors.map((e) => e.message).join('; '));
  assert.ok(writer.failures >= 2);
  assert.equal(writer.written, 6);
  await writer.close();
  assertExactlyOnce(store, rows, attempts);
});

test('a store that throws synchronously loses nothing and does not crash the push', async () => {
  const { store, writer, errors } = setup({ flushIntervalMs: 1, batchSize: 1 });
  store.script = ['throw', 'throw', 'throw'];
  const rows = rowsN(4, 'th');
  // batchSize 1: every push calls write() synchronously; a throw there must not escape push().
  for (const r of rows) assert.doesNotThrow(() => writer.push(r, [makeAttempt(r.uid, 1)]));
  await waitFor(() => store.rows.length === 4, 'rows committed after the store recovers');
  assertExactlyOnce(store, rows, rows.map((r) => makeAttempt(r.uid, 1)));
  assert.ok(errors.some((e) => /threw synchronously/.test(e.message)));
  await writer.close();
  assert.equal(store.rows.length, 4);
});

test('close() drains everything queued (long interval, partial batch) in one go', async () => {
  const { store, writer, errors } = setup({ flushIntervalMs: 60_000, batchSize: 1000 });
  const rows = rowsN(123, 'cl');
  for (const r of rows) writer.push(r, [makeAttempt(r.uid, 1)]);
  assert.equal(store.calls, 0);
  await writer.close();
  assertExactlyOnce(store, rows, rows.map((r) => makeAttempt(r.uid, 1)));
  assert.equal(writer.pending(), 0);
  assert.deepEqual(errors, []);
  assert.equal(store.closed, false, 'the writer does not close the store: the gateway does, after the writer');
});

test('close() waits for a write already in flight and then drains what queued behind it', async () => {
  const store = new FakeStore();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const orig = store.write.bind(store);
  store.write = (rows, attempts) => (store.calls === 0 ? gate.then(() => orig(rows, attempts)) : orig(rows, attempts));
  const writer = new LedgerWriter(store, { flushIntervalMs: 60_000, batchSize: 2 });
  const rows = rowsN(5, 'if');
  for (const r of rows) writer.push(r, []); // rows 0-1 in flight (held), 2-3 queued... (batch at 4 waits), 4 queued
  let closed = false;
  const closing = writer.close().then(() => (closed = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(closed, false, 'close() does not return while a write is still in flight');
  release();
  await closing;
  assertExactlyOnce(store, rows);
});

test('close() rides out a store that fails briefly during shutdown (a failover) and loses nothing', async () => {
  const { store, writer, errors } = setup({ flushIntervalMs: 60_000, batchSize: 1000 });
  const rows = rowsN(20, 'fo');
  for (const r of rows) writer.push(r, [makeAttempt(r.uid, 1)]);
  store.script = ['reject', 'throw', 'reject'];
  await writer.close();
  assertExactlyOnce(store, rows, rows.map((r) => makeAttempt(r.uid, 1)));
  assert.equal(store.calls, 4);
  assert.equal(errors.length, 3);
  assert.ok(!errors.some((e) => /could not be written at shutdown/.test(e.message)), 'nothing was lost, so no loss message');
});

test('rows pushed after close() are still written (a stream that settles late at shutdown)', async () => {
  const { store, writer } = setup({ flushIntervalMs: 60_000, batchSize: 1000 });
  const early = rowsN(3, 'early');
  for (const r of early) writer.push(r, []);
  await writer.close();
  assert.equal(store.rows.length, 3);
  const late = makeRow({ uid: 'late-0' });
  writer.push(late, [makeAttempt('late-0', 1), makeAttempt('late-0', 2)]);
  // No interval timer runs after close: the late row is written at once.
  await writer.flushNow();
  assertExactlyOnce(store, [...early, late], [makeAttempt('late-0', 1), makeAttempt('late-0', 2)]);
  // A second close() (the gateway closing twice) is harmless and writes nothing twice.
  await writer.close();
  assert.equal(store.rows.length, 4);
});

test('a row pushed after close() while the store is briefly down is still written', async () => {
  const { store, writer } = setup({ flushIntervalMs: 5, batchSize: 1000 });
  await writer.close();
  store.script = ['reject'];
  const late = makeRow({ uid: 'late-down' });
  writer.push(late, []);
  await waitFor(() => store.rows.length === 1, 'the late row to be retried and committed', 3000);
  assertExactlyOnce(store, [late]);
});

test('a store that stays down at shutdown: close() gives up after its retries and says how many rows were lost', async () => {
  const { store, writer, errors } = setup({ flushIntervalMs: 60_000, batchSize: 1000 });
  store.fallback = 'reject';
  const rows = rowsN(7, 'down');
  for (const r of rows) writer.push(r, []);
  await writer.close();
  assert.equal(store.rows.length, 0);
  assert.equal(store.calls, 6, 'close() tries six times (with backoff) before giving up');
  const loss = errors.filter((e) => /could not be written at shutdown/.test(e.message));
  assert.equal(loss.length, 1, errors.map((e) => e.message).join('; '));
  assert.match(loss[0]!.message, /\b7 rows\b/);
  assert.equal(writer.pending(), 7, 'the rows are still held (not silently discarded) for a caller that wants to dump them');
});

test('a row pushed after close() into a store that stays down is reported lost, not silently kept', async () => {
  const { store, writer, errors } = setup({ flushIntervalMs: 5, batchSize: 1000 });
  await writer.close();
  store.fallback = 'reject';
  writer.push(makeRow({ uid: 'late-lost' }), []);
  await waitFor(() => errors.some((e) => /could not be written at shutdown/.test(e.message)), 'the loss message', 5000);
  assert.match(errors.find((e) => /at shutdown/.test(e.message))!.message, /\b1 rows\b/);
  assert.equal(store.rows.length, 0);
});

test('stored bodies ride in the same batch (one write) as the rows, are kept on a failed write, and never flush alone per push', async () => {
  const { store, writer } = setup({ flushIntervalMs: 60_000, batchSize: 3 });
  store.script = ['reject'];
  writer.pushBody(makeBody({ requestId: 'b1' }));
  writer.push(makeRow({ uid: 'r1' }), []);
  writer.pushBody(makeBody({ requestId: 'b2' }));
  writer.push(makeRow({ uid: 'r2' }), []);
  assert.equal(store.calls, 0, 'no write per pushed body');
  writer.push(makeRow({ uid: 'r3' }), []); // batchSize reached: one write, which fails
  await waitFor(() => store.calls === 1, 'the first write');
  await writer.flushNow();
  assert.equal(store.batches.length, 1);
  assert.deepEqual(store.batches[0]!.rows.map((r) => r.uid), ['r1', 'r2', 'r3']);
  assert.deepEqual(store.batches[0]!.bodies.map((b) => b.requestId), ['b1', 'b2'], 'bodies retried with their rows, in order');
  await writer.close();
});

test('retention: after a committed batch the writer prunes bodies older than the retention, at most hourly', async () => {
  let now = 10 * HOUR;
  const { store, writer } = setup({ flushIntervalMs: 60_000, bodyRetentionMs: 2 * HOUR, now: () => now });
  writer.push(makeRow(), []);
  await writer.flushNow();
  assert.deepEqual(store.prunes, [8 * HOUR]);
  now += HOUR / 2;
  writer.push(makeRow(), []);
  await writer.flushNow();
  assert.equal(store.prunes.length, 1, 'not again within the hour');
  now += HOUR;
  writer.push(makeRow(), []);
  await writer.flushNow();
  assert.deepEqual(store.prunes, [8 * HOUR, now - 2 * HOUR]);
  await writer.close();
});

test('no retention configured: the writer never prunes', async () => {
  const { store, writer } = setup({ flushIntervalMs: 60_000 });
  writer.push(makeRow(), []);
  await writer.flushNow();
  assert.deepEqual(store.prunes, []);
  await writer.close();
});
