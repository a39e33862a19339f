/**
 * Alert state in the ledger's Postgres schema, shared by every replica. Evaluations take an advisory lock
 * (`exclusive`): a replica that finds it taken skips that evaluation, so a transition is announced by one replica.
 */
import pg from 'pg';
import type { AlertEvent, AlertState, AlertStore } from './types.js';
import { inTransaction } from '../pg-transaction.js';

export class PostgresAlertStore implements AlertStore {
  private readonly pool: pg.Pool;
  private readonly s: string;

  constructor(url: string, schema = 'costgate') {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid Postgres schema name: ${schema}`);
    // One connection holds the evaluation lock while the others read and write state.
    this.pool = new pg.Pool({ connectionString: url, max: 3 });
    this.pool.on('error', () => undefined);
    this.s = `"${schema}"`;
  }

  async init(): Promise<void> {
    await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.s};
      CREATE TABLE IF NOT EXISTS ${this.s}.alert_state (key TEXT PRIMARY KEY, data JSONB NOT NULL);
      CREATE TABLE IF NOT EXISTS ${this.s}.alert_events (id BIGSERIAL PRIMARY KEY, ts BIGINT NOT NULL, key TEXT NOT NULL, data JSONB NOT NULL);`);
  }

  async states(): Promise<AlertState[]> {
    return (await this.pool.query(`SELECT data FROM ${this.s}.alert_state`)).rows.map((r) => r.data);
  }

  async save(state: AlertState, event?: AlertEvent): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      await c.query(`INSERT INTO ${this.s}.alert_state (key, data) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET data = excluded.data`, [state.key, JSON.stringify(state)]);
      if (event) await c.query(`INSERT INTO ${this.s}.alert_events (ts, key, data) VALUES ($1, $2, $3)`, [event.ts, event.key, JSON.stringify(event)]);
    });
  }

  async history(limit: number): Promise<AlertEvent[]> {
    return (await this.pool.query(`SELECT data FROM ${this.s}.alert_events ORDER BY id DESC LIMIT $1`, [limit])).rows.map((r) => r.data);
  }

  async prune(keep: number): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.s}.alert_events WHERE id <= (SELECT MAX(id) FROM ${this.s}.alert_events) - $1`, [keep]);
  }

  async exclusive<T>(f: () => Promise<T>): Promise<{ skipped: true } | { skipped: false; value: T }> {
    const c = await this.pool.connect();
    const key = `costgate-alerts-${this.s}`;
    try {
      const { rows } = await c.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (!rows[0].ok) return { skipped: true };
      try {
        return { skipped: false, value: await f() };
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
      }
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
