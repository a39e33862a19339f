/**
 * Schema migrations on a ledger written by an older version: migration 2 moves money from integer µ$ to integer n$
 * (renamed columns, values ×1000) without losing a row, on SQLite and Postgres.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SqliteLedger } from './sqlite.js';
import { PostgresLedger } from './postgres.js';
import { migrations } from './sql.js';
import { PG_URL, requirePostgres } from '../../../test/helpers/services.js';


/** A version-1 row: costs in µ$. */
const V1_ROW = `INSERT INTO ledger_requests (uid, request_id, ts, endpoint, surface, requested_model, model, provider, stream, status,
  input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, usage_estimated,
  cost_micros, baseline_model, baseline_cost_micros, price_source, batch, latency_ms, cache_status, attempt_count)
  VALUES ('u1', 'r1', 1700000000000, 'chat', 'openai', 'gpt-4o', 'gpt-4o-mini', 'openai', 0, 200, 100, 0, 0, 0, 20, 0, 0,
  170, 'gpt-4o', 5470, 'genai-prices', 0, 12.5, 'miss', 1);
  INSERT INTO ledger_attempts (uid, n, ts, deployment, provider, model, status, outcome, latency_ms, input_tokens, output_tokens, cost_micros)
  VALUES ('u1', 1, 1700000000000, 'openai/gpt-4o-mini', 'openai', 'gpt-4o-mini', 200, 'ok', 12.5, 100, 20, 170);`;

test('sqlite: a version-1 ledger (µ$) migrates to n$ with every row kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-migrate-'));
  try {
    const path = join(dir, 'ledger.db');
    const old = new Database(path);
    old.exec(migrations('sqlite')[0]!);
    old.pragma('user_version = 1');
    old.exec(V1_ROW);
    old.close();

    const store = new SqliteLedger(path);
    await store.init();
    const { rows } = await store.query({});
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.costNanos, 170_000);
    assert.equal(rows[0]!.baselineCostNanos, 5_470_000);
    assert.deepEqual((await store.attempts('u1')).map((a) => a.costNanos), [170_000]);
    await store.close();
    const v = new Database(path);
    assert.equal(v.pragma('user_version', { simple: true }), migrations('sqlite').length);
    v.close();
    // Opening again runs nothing twice (values are not multiplied again).
    const again = new SqliteLedger(path);
    await again.init();
    assert.equal((await again.query({})).rows[0]!.costNanos, 170_000);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('postgres: a version-1 ledger (µ$) migrates to n$ with every row kept', async (t) => {
  const schema = `costgate_mig_${randomBytes(6).toString('hex')}`;
  if (!(await requirePostgres())) return void t.skip(`postgres unavailable at ${PG_URL}`);
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  const store = new PostgresLedger(PG_URL, schema);
  try {
    await c.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
    await c.query(migrations('postgres')[0]!);
    await c.query('CREATE TABLE costgate_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()); INSERT INTO costgate_migrations (version) VALUES (1)');
    await c.query(V1_ROW);
    await store.init();
    const { rows } = await store.query({});
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.costNanos, 170_000);
    assert.equal(rows[0]!.baselineCostNanos, 5_470_000);
    assert.deepEqual((await store.attempts('u1')).map((a) => a.costNanos), [170_000]);
    const { rows: versions } = await c.query(`SELECT version FROM "${schema}".costgate_migrations ORDER BY version`);
    assert.deepEqual(versions.map((r) => r.version), migrations('postgres').map((_, i) => i + 1));
  } finally {
    await store.dropSchema().catch(() => undefined);
    await store.close();
    await c.end();
  }
});
