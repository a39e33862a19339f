/**
 * The SQLite ledger's WAL checkpoints run in a worker: its own connection never checkpoints inside a write, the
 * worker copies committed frames back into the database file, and close() leaves no WAL behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteLedger } from './sqlite.js';
import { makeRow, makeAttempt } from '../../../test/fixtures/ledger-rows.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('sqlite ledger: checkpoints happen in the worker, not in writes; close removes the WAL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-ckpt-'));
  const path = join(dir, 'ledger.db');
  const store = new SqliteLedger(path);
  try {
    await store.init();
    const rows = Array.from({ length: 3000 }, (_, i) => makeRow({ uid: `u-${String(i).padStart(5, '0')}`, requestId: `r-${i}` }));
    for (let i = 0; i < rows.length; i += 100) {
      const batch = rows.slice(i, i + 100);
      await store.write(batch, batch.map((r) => makeAttempt(r.uid, 1)));
    }
    // The ledger's own connection does not checkpoint (next test), so only the worker can have copied the frames
    // back into the database file: poll until it has caught up with every one.
    const probe = new Database(path);
    let frames = -1;
    let copied = -2;
    for (let i = 0; i < 80 && frames !== copied; i++) {
      await sleep(50);
      // A PASSIVE checkpoint by a third connection reports [busy, frames in the WAL, frames already checkpointed];
      // it copies nothing new when the worker has caught up.
      const r = probe.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
      frames = r[0]!.log;
      copied = r[0]!.checkpointed;
    }
    probe.close();
    assert.ok(frames > 0, 'the writes went through the WAL');
    assert.equal(copied, frames);
    assert.equal(await store.count(), 3000);
  } finally {
    await store.close();
  }
  assert.equal(existsSync(`${path}-wal`), false, 'the last connection to close checkpoints and removes the WAL');
  const reopened = new Database(path, { readonly: true });
  assert.equal((reopened.prepare('SELECT COUNT(*) AS n FROM ledger_attempts').get() as { n: number }).n, 3000);
  reopened.close();
  assert.ok(statSync(path).size > 0);
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite ledger: its own connection never checkpoints automatically (the worker does)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-ckpt-'));
  const store = new SqliteLedger(join(dir, 'ledger.db'));
  try {
    await store.init();
    const db = (store as unknown as { db: Database.Database }).db;
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
