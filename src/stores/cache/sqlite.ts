/**
 * SQLite cache store: entries persist across restarts in their own file (default `.costgate/cache.db`, never the
 * ledger's). Expired rows are skipped on read and purged on write; past `maxBytes` the least recently used rows go.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { entryBytes, type CacheEntry, type CacheStore } from '../../cache/types.js';

export class SqliteCacheStore implements CacheStore {
  private readonly db: Database.Database;
  private readonly sGet: Database.Statement;
  private readonly sTouch: Database.Statement;
  private readonly sSet: Database.Statement;
  private readonly sDel: Database.Statement;
  private readonly sPurge: Database.Statement;
  private readonly sBytes: Database.Statement;
  private readonly sOldest: Database.Statement;
  private writes = 0;

  constructor(path: string, readonly maxBytes: number) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS cache_entries (
      key TEXT PRIMARY KEY, entry TEXT NOT NULL, bytes INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS cache_entries_used ON cache_entries (used_at);`);
    this.sGet = this.db.prepare('SELECT entry, expires_at FROM cache_entries WHERE key = ?');
    this.sTouch = this.db.prepare('UPDATE cache_entries SET used_at = ? WHERE key = ?');
    this.sSet = this.db.prepare('INSERT OR REPLACE INTO cache_entries (key, entry, bytes, expires_at, used_at) VALUES (?, ?, ?, ?, ?)');
    this.sDel = this.db.prepare('DELETE FROM cache_entries WHERE key = ?');
    this.sPurge = this.db.prepare('DELETE FROM cache_entries WHERE expires_at <= ?');
    this.sBytes = this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS b FROM cache_entries');
    this.sOldest = this.db.prepare('SELECT key, bytes FROM cache_entries ORDER BY used_at LIMIT 64');
  }

  async get(key: string, now: number): Promise<CacheEntry | undefined> {
    const r = this.sGet.get(key) as { entry: string; expires_at: number } | undefined;
    if (!r) return undefined;
    if (r.expires_at <= now) {
      this.sDel.run(key);
      return undefined;
    }
    this.sTouch.run(now, key);
    return JSON.parse(r.entry) as CacheEntry;
  }

  async set(key: string, e: CacheEntry): Promise<void> {
    const bytes = entryBytes(key, e);
    if (bytes > this.maxBytes) return;
    this.sSet.run(key, JSON.stringify(e), bytes, e.expiresAt, e.createdAt);
    // Housekeeping every 64 writes, not on every one.
    if (++this.writes % 64 !== 1) return;
    this.db.transaction(() => {
      this.sPurge.run(e.createdAt);
      let total = Number((this.sBytes.get() as { b: number }).b);
      while (total > this.maxBytes) {
        const rows = this.sOldest.all() as { key: string; bytes: number }[];
        if (rows.length === 0) break;
        for (const r of rows) {
          if (total <= this.maxBytes) break;
          this.sDel.run(r.key);
          total -= r.bytes;
        }
      }
    })();
  }

  async delete(key: string): Promise<void> {
    this.sDel.run(key);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
