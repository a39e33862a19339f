/**
 * SQLite ledger (better-sqlite3, WAL): the embedded default. `:memory:` gives the memory backend with the same SQL.
 * WAL with synchronous=NORMAL: a committed batch survives a process crash; an OS crash may lose the last
 * transactions (see README "Durability").
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { LedgerStore, LedgerRow, AttemptRow, LedgerQuery, LedgerFilter, GroupKey, AggregateRow, LedgerBreakdown, BodyRow, BodyQuery } from './types.js';
import { breakdownSql, toBreakdown } from './breakdown.js';
import { migrations, REQUEST_COLUMNS, ATTEMPT_COLUMNS, requestValues, attemptValues, rowFromDb, attemptFromDb, whereClause, aggregateSql, duplicatesSql, BODY_COLUMNS, bodyValues, bodyFromDb, bodiesSql } from './sql.js';
import { encodeCursor, decodeCursor, clampLimit } from './cursor.js';
import { toAggregate } from './aggregate.js';
import { Checkpointer } from './sqlite-checkpointer.js';

const require = createRequire(import.meta.url);
/** How often the checkpoint worker copies the WAL back into the database file. */
const CHECKPOINT_INTERVAL_MS = 250;

export class SqliteLedger implements LedgerStore {
  readonly kind: 'sqlite' | 'memory';
  private readonly db: Database.Database;
  private insertRequest!: Database.Statement;
  private insertAttempt!: Database.Statement;
  private insertBody!: Database.Statement;
  private writeTx!: (rows: LedgerRow[], attempts: AttemptRow[], bodies: BodyRow[]) => void;
  private checkpointer: Checkpointer | undefined;

  constructor(private readonly path: string) {
    this.kind = path === ':memory:' ? 'memory' : 'sqlite';
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // busy_timeout first: switching to WAL takes a lock that another process opening the file may hold.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
  }

  async init(): Promise<void> {
    const all = migrations('sqlite');
    // The version is read inside an IMMEDIATE (write-locked) transaction: two processes starting on a new file must
    // not both see version 0 and both run migration 1 (the loser failed with "table ledger_requests already exists").
    this.db
      .transaction(() => {
        const version = this.db.pragma('user_version', { simple: true }) as number;
        for (let v = version; v < all.length; v++) {
          this.db.exec(all[v]!);
          this.db.pragma(`user_version = ${v + 1}`);
        }
      })
      .immediate();
    const ph = (n: number) => Array(n).fill('?').join(', ');
    this.insertRequest = this.db.prepare(`INSERT OR IGNORE INTO ledger_requests (${REQUEST_COLUMNS.join(', ')}) VALUES (${ph(REQUEST_COLUMNS.length)})`);
    this.insertAttempt = this.db.prepare(`INSERT OR IGNORE INTO ledger_attempts (${ATTEMPT_COLUMNS.join(', ')}) VALUES (${ph(ATTEMPT_COLUMNS.length)})`);
    this.insertBody = this.db.prepare(`INSERT OR IGNORE INTO ledger_bodies (${BODY_COLUMNS.join(', ')}) VALUES (${ph(BODY_COLUMNS.length)})`);
    if (this.kind === 'sqlite' && !this.checkpointer) this.startCheckpointer();
    this.writeTx = this.db.transaction((rows: LedgerRow[], attempts: AttemptRow[], bodies: BodyRow[]) => {
      for (const r of rows) this.insertRequest.run(requestValues(r));
      for (const a of attempts) this.insertAttempt.run(attemptValues(a));
      for (const b of bodies) this.insertBody.run(bodyValues(b));
    });
  }

  private startCheckpointer(): void {
    this.db.pragma('wal_autocheckpoint = 0');
    this.checkpointer = new Checkpointer(this.path, require.resolve('better-sqlite3'), CHECKPOINT_INTERVAL_MS, (e) => {
      process.emitWarning(`costgate: ${e.message}; the ledger checkpoints in its own writes again`);
      this.checkpointer = undefined;
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    });
  }

  async write(rows: LedgerRow[], attempts: AttemptRow[], bodies: BodyRow[] = []): Promise<void> {
    this.writeTx(rows, attempts, bodies);
  }

  async bodies(q: BodyQuery): Promise<{ rows: BodyRow[]; nextCursor?: string }> {
    const params: unknown[] = [];
    const limit = clampLimit(q.limit);
    const raw = this.db.prepare(bodiesSql(q, limit, () => '?', params)).all(params) as Record<string, unknown>[];
    const rows = raw.slice(0, limit).map(bodyFromDb);
    const last = rows[rows.length - 1];
    return { rows, nextCursor: raw.length > limit && last ? encodeCursor(last.ts, last.requestId) : undefined };
  }

  async pruneBodies(before: number): Promise<number> {
    return this.db.prepare('DELETE FROM ledger_bodies WHERE ts < ?').run(before).changes;
  }

  async query(q: LedgerQuery): Promise<{ rows: LedgerRow[]; nextCursor?: string }> {
    const params: unknown[] = [];
    let where = whereClause(q, () => '?', params);
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      where += `${where ? ' AND' : 'WHERE'} (ts < ? OR (ts = ? AND uid < ?))`;
      params.push(c.ts, c.ts, c.uid);
    }
    const limit = clampLimit(q.limit);
    const raw = this.db.prepare(`SELECT * FROM ledger_requests ${where} ORDER BY ts DESC, uid DESC LIMIT ${limit + 1}`).all(params) as Record<string, unknown>[];
    const rows = raw.slice(0, limit).map(rowFromDb);
    const last = rows[rows.length - 1];
    return { rows, nextCursor: raw.length > limit && last ? encodeCursor(last.ts, last.uid) : undefined };
  }

  async attempts(uid: string): Promise<AttemptRow[]> {
    return (this.db.prepare('SELECT * FROM ledger_attempts WHERE uid = ? ORDER BY n').all(uid) as Record<string, unknown>[]).map(attemptFromDb);
  }

  async aggregate(filter: LedgerFilter, by: GroupKey[]): Promise<AggregateRow[]> {
    const params: unknown[] = [];
    const sql = aggregateSql(filter, by, 'sqlite', () => '?', params);
    // safeIntegers: sums come back as bigint, exact beyond 2^53 (counts are checked and narrowed in toAggregate).
    return (this.db.prepare(sql).safeIntegers(true).all(params) as Record<string, unknown>[]).map((r) => toAggregate(r, by));
  }

  async count(filter: LedgerFilter = {}): Promise<number> {
    const params: unknown[] = [];
    const r = this.db.prepare(`SELECT COUNT(*) AS n FROM ledger_requests ${whereClause(filter, () => '?', params)}`).get(params) as { n: number };
    return r.n;
  }

  async breakdown(filter: LedgerFilter): Promise<LedgerBreakdown> {
    const { sql, params } = breakdownSql(filter, () => '?', (t) => t);
    const all = (q: string, ps: unknown[]) => this.db.prepare(q).safeIntegers(true).all(ps) as Record<string, unknown>[];
    // One read transaction: both sums describe the same snapshot of the ledger.
    return this.db.transaction(() => toBreakdown(all(sql.cache, params[0]!), all(sql.retries, params[1]!)[0]!))();
  }

  async duplicates(filter: LedgerFilter): Promise<{ requests: number; distinct: number }> {
    const params: unknown[] = [];
    const r = this.db.prepare(duplicatesSql(filter, () => '?', params)).get(params) as { n: number; d: number };
    return { requests: Number(r.n), distinct: Number(r.d) };
  }

  async close(): Promise<void> {
    // The worker's connection goes first, so that this one is the last: closing it checkpoints and removes the WAL.
    const c = this.checkpointer;
    this.checkpointer = undefined;
    await c?.stop();
    if (this.db.open) this.db.close();
  }
}
