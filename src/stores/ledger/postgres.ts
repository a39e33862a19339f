/**
 * Postgres ledger (`pg`), for several gateway replicas sharing one ledger. Tables live in a configurable schema
 * (tests create and drop their own); migrations are versioned in `<schema>.costgate_migrations` and applied under
 * an advisory lock so replicas starting together do not race.
 */
import pg from 'pg';
import type { LedgerStore, LedgerRow, AttemptRow, LedgerQuery, LedgerFilter, GroupKey, AggregateRow, LedgerBreakdown, BodyRow, BodyQuery } from './types.js';
import { breakdownSql, toBreakdown } from './breakdown.js';
import { migrations, REQUEST_COLUMNS, ATTEMPT_COLUMNS, requestValues, attemptValues, rowFromDb, attemptFromDb, whereClause, aggregateSql, duplicatesSql, BODY_COLUMNS, bodyValues, bodyFromDb, bodiesSql } from './sql.js';
import { encodeCursor, decodeCursor, clampLimit } from './cursor.js';
import { inTransaction } from '../pg-transaction.js';
import { toAggregate } from './aggregate.js';

const ident = (s: string) => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(s)) throw new Error(`invalid Postgres schema name: ${s}`);
  return `"${s}"`;
};

export class PostgresLedger implements LedgerStore {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly schema: string;

  constructor(url: string, schema = 'costgate') {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    this.pool.on('error', () => undefined);
    this.schema = ident(schema);
  }

  async init(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [`costgate-migrate-${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await c.query(`SET search_path TO ${this.schema}`);
      await c.query('CREATE TABLE IF NOT EXISTS costgate_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const { rows } = await c.query('SELECT COALESCE(MAX(version), 0) AS v FROM costgate_migrations');
      const all = migrations('postgres');
      for (let v = Number(rows[0].v); v < all.length; v++) {
        await c.query('BEGIN');
        await c.query(all[v]!);
        await c.query('INSERT INTO costgate_migrations (version) VALUES ($1)', [v + 1]);
        await c.query('COMMIT');
      }
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [`costgate-migrate-${this.schema}`]).catch(() => undefined);
      await c.query('RESET search_path').catch(() => undefined);
      c.release();
    }
  }

  private t(name: string): string {
    return `${this.schema}.${name}`;
  }

  async write(rows: LedgerRow[], attempts: AttemptRow[], bodies: BodyRow[] = []): Promise<void> {
    if (!rows.length && !attempts.length && !bodies.length) return;
    await inTransaction(this.pool, async (c) => {
      // Multi-row INSERTs in chunks: one round trip per ~200 rows instead of one per row.
      for (const [table, cols, list, vals] of [
        ['ledger_requests', REQUEST_COLUMNS, rows, requestValues],
        ['ledger_attempts', ATTEMPT_COLUMNS, attempts, attemptValues],
        ['ledger_bodies', BODY_COLUMNS, bodies, bodyValues],
      ] as const) {
        for (let i = 0; i < list.length; i += 200) {
          const chunk = list.slice(i, i + 200) as never[];
          const params: unknown[] = [];
          const tuples = chunk.map((r) => {
            const v = (vals as (x: never) => unknown[])(r);
            const start = params.length;
            params.push(...v);
            return `(${v.map((_, j) => `$${start + j + 1}`).join(', ')})`;
          });
          await c.query(`INSERT INTO ${this.t(table)} (${cols.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`, params);
        }
      }
    });
  }

  async query(q: LedgerQuery): Promise<{ rows: LedgerRow[]; nextCursor?: string }> {
    const params: unknown[] = [];
    let where = whereClause(q, (i) => `$${i}`, params);
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      params.push(c.ts, c.uid);
      where += `${where ? ' AND' : 'WHERE'} (ts, uid) < ($${params.length - 1}, $${params.length})`;
    }
    const limit = clampLimit(q.limit);
    const { rows: raw } = await this.pool.query(`SELECT * FROM ${this.t('ledger_requests')} ${where} ORDER BY ts DESC, uid DESC LIMIT ${limit + 1}`, params);
    const rows = raw.slice(0, limit).map(rowFromDb);
    const last = rows[rows.length - 1];
    return { rows, nextCursor: raw.length > limit && last ? encodeCursor(last.ts, last.uid) : undefined };
  }

  async bodies(q: BodyQuery): Promise<{ rows: BodyRow[]; nextCursor?: string }> {
    const params: unknown[] = [];
    const limit = clampLimit(q.limit);
    const { rows: raw } = await this.pool.query(bodiesSql(q, limit, (i) => `$${i}`, params, this.t('ledger_bodies')), params);
    const rows = raw.slice(0, limit).map(bodyFromDb);
    const last = rows[rows.length - 1];
    return { rows, nextCursor: raw.length > limit && last ? encodeCursor(last.ts, last.requestId) : undefined };
  }

  async pruneBodies(before: number): Promise<number> {
    const r = await this.pool.query(`DELETE FROM ${this.t('ledger_bodies')} WHERE ts < $1`, [before]);
    return r.rowCount ?? 0;
  }

  async attempts(uid: string): Promise<AttemptRow[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.t('ledger_attempts')} WHERE uid = $1 ORDER BY n`, [uid]);
    return rows.map(attemptFromDb);
  }

  async aggregate(filter: LedgerFilter, by: GroupKey[]): Promise<AggregateRow[]> {
    const params: unknown[] = [];
    const sql = aggregateSql(filter, by, 'postgres', (i) => `$${i}`, params).replace('FROM ledger_requests', `FROM ${this.t('ledger_requests')}`);
    const { rows } = await this.pool.query(sql, params);
    return rows.map((r) => toAggregate(r, by));
  }

  async count(filter: LedgerFilter = {}): Promise<number> {
    const params: unknown[] = [];
    const { rows } = await this.pool.query(`SELECT COUNT(*) AS n FROM ${this.t('ledger_requests')} ${whereClause(filter, (i) => `$${i}`, params)}`, params);
    return Number(rows[0].n);
  }

  async breakdown(filter: LedgerFilter): Promise<LedgerBreakdown> {
    const { sql, params } = breakdownSql(filter, (i) => `$${i}`, (t) => this.t(t));
    const [cache, retries] = await Promise.all([sql.cache, sql.retries].map((q, i) => this.pool.query(q, params[i])));
    return toBreakdown(cache!.rows, retries!.rows[0]);
  }

  /** Drop the schema (tests). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async duplicates(filter: LedgerFilter): Promise<{ requests: number; distinct: number }> {
    const params: unknown[] = [];
    const r = (await this.pool.query(duplicatesSql(filter, (i) => `$${i}`, params).replace('FROM ledger_requests', `FROM ${this.t('ledger_requests')}`), params)).rows[0];
    return { requests: Number(r.n), distinct: Number(r.d) };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
