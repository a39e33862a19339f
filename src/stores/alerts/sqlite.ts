/** Alert state in its own SQLite file beside the ledger (`<ledger.path>.alerts.db`), so it survives a restart. */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AlertEvent, AlertState, AlertStore } from './types.js';

export class SqliteAlertStore implements AlertStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
  }

  async init(): Promise<void> {
    this.db.exec(`CREATE TABLE IF NOT EXISTS alert_state (key TEXT PRIMARY KEY, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL);`);
  }

  async states(): Promise<AlertState[]> {
    return (this.db.prepare('SELECT data FROM alert_state').all() as { data: string }[]).map((r) => JSON.parse(r.data));
  }

  async save(state: AlertState, event?: AlertEvent): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO alert_state (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data').run(state.key, JSON.stringify(state));
      if (event) this.db.prepare('INSERT INTO alert_events (ts, key, data) VALUES (?, ?, ?)').run(event.ts, event.key, JSON.stringify(event));
    })();
  }

  async history(limit: number): Promise<AlertEvent[]> {
    return (this.db.prepare('SELECT data FROM alert_events ORDER BY id DESC LIMIT ?').all(limit) as { data: string }[]).map((r) => JSON.parse(r.data));
  }

  async prune(keep: number): Promise<void> {
    this.db.prepare('DELETE FROM alert_events WHERE id <= (SELECT MAX(id) FROM alert_events) - ?').run(keep);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
