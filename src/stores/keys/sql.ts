/**
 * Key stores: memory, SQLite (the ledger's file, its own table) and Postgres (the ledger's schema), one shape.
 * Keys live beside the ledger so that replicas sharing a Postgres ledger share their keys too.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KeyRecord, KeyStore } from './types.js';

const COLUMNS = ['id', 'name', 'salt', 'hash', 'team', 'feature', 'models', 'budget_usd', 'budget_window', 'rpm', 'tpm', 'role', 'created_at', 'expires_at', 'revoked_at', 'rotated_from'] as const;

const ddl = (big: string) => `CREATE TABLE IF NOT EXISTS costgate_keys (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, salt TEXT NOT NULL, hash TEXT NOT NULL, team TEXT, feature TEXT, models TEXT NOT NULL,
  budget_usd TEXT, budget_window TEXT, rpm INTEGER, tpm INTEGER, role TEXT NOT NULL, created_at ${big} NOT NULL, expires_at ${big},
  revoked_at ${big}, rotated_from TEXT)`;

const values = (k: KeyRecord): unknown[] => [k.id, k.name, k.salt, k.hash, k.team, k.feature, JSON.stringify(k.models), k.budgetUsd, k.budgetWindow, k.rpm, k.tpm, k.role, k.createdAt, k.expiresAt, k.revokedAt, k.rotatedFrom];

const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function fromRow(r: Record<string, unknown>): KeyRecord {
  return {
    id: String(r.id), name: String(r.name), salt: String(r.salt), hash: String(r.hash), team: (r.team as string) ?? null, feature: (r.feature as string) ?? null,
    models: JSON.parse(String(r.models)) as string[], budgetUsd: (r.budget_usd as string) ?? null, budgetWindow: (r.budget_window as string) ?? null,
    rpm: n(r.rpm), tpm: n(r.tpm), role: r.role as KeyRecord['role'], createdAt: Number(r.created_at), expiresAt: n(r.expires_at), revokedAt: n(r.revoked_at),
    rotatedFrom: (r.rotated_from as string) ?? null,
  };
}

export class MemoryKeyStore implements KeyStore {
  readonly kind = 'memory' as const;
  private readonly keys = new Map<string, KeyRecord>();
  async init(): Promise<void> {}
  async insert(k: KeyRecord): Promise<void> {
    if (this.keys.has(k.id)) throw new Error(`key ${k.id} exists`);
    this.keys.set(k.id, { ...k });
  }
  async get(id: string): Promise<KeyRecord | undefined> {
    const k = this.keys.get(id);
    return k && { ...k };
  }
  async list(): Promise<KeyRecord[]> {
    return [...this.keys.values()].map((k) => ({ ...k }));
  }
  async update(id: string, patch: Partial<Pick<KeyRecord, 'revokedAt' | 'expiresAt'>>): Promise<boolean> {
    const k = this.keys.get(id);
    if (!k) return false;
    Object.assign(k, patch);
    return true;
  }
  async close(): Promise<void> {}
}

export class SqliteKeyStore implements KeyStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
  }
  async init(): Promise<void> {
    this.db.exec(ddl('INTEGER'));
  }
  async insert(k: KeyRecord): Promise<void> {
    this.db.prepare(`INSERT INTO costgate_keys (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`).run(values(k));
  }
  async get(id: string): Promise<KeyRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM costgate_keys WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return r && fromRow(r);
  }
  async list(): Promise<KeyRecord[]> {
    return (this.db.prepare('SELECT * FROM costgate_keys ORDER BY created_at, id').all() as Record<string, unknown>[]).map(fromRow);
  }
  async update(id: string, patch: Partial<Pick<KeyRecord, 'revokedAt' | 'expiresAt'>>): Promise<boolean> {
    const sets: string[] = [];
    const args: unknown[] = [];
    if (patch.revokedAt !== undefined) sets.push('revoked_at = ?'), args.push(patch.revokedAt);
    if (patch.expiresAt !== undefined) sets.push('expires_at = ?'), args.push(patch.expiresAt);
    if (!sets.length) return (await this.get(id)) !== undefined;
    return this.db.prepare(`UPDATE costgate_keys SET ${sets.join(', ')} WHERE id = ?`).run(...args, id).changes === 1;
  }
  async close(): Promise<void> {
    this.db.close();
  }
}

export class PostgresKeyStore implements KeyStore {
  readonly kind = 'postgres' as const;
  private pool!: import('pg').Pool;
  constructor(private readonly url: string, private readonly schema: string) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid Postgres schema name: ${schema}`);
  }
  private t(): string {
    return `"${this.schema}".costgate_keys`;
  }
  async init(): Promise<void> {
    const pg = (await import('pg')).default;
    this.pool = new pg.Pool({ connectionString: this.url, max: 2 });
    this.pool.on('error', () => undefined);
    await this.pool.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
    await this.pool.query(ddl('BIGINT').replace('costgate_keys', this.t()));
  }
  async insert(k: KeyRecord): Promise<void> {
    await this.pool.query(`INSERT INTO ${this.t()} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`, values(k));
  }
  async get(id: string): Promise<KeyRecord | undefined> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.t()} WHERE id = $1`, [id]);
    return rows[0] && fromRow(rows[0]);
  }
  async list(): Promise<KeyRecord[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.t()} ORDER BY created_at, id`);
    return rows.map(fromRow);
  }
  async update(id: string, patch: Partial<Pick<KeyRecord, 'revokedAt' | 'expiresAt'>>): Promise<boolean> {
    const sets: string[] = [];
    const args: unknown[] = [];
    if (patch.revokedAt !== undefined) args.push(patch.revokedAt), sets.push(`revoked_at = $${args.length}`);
    if (patch.expiresAt !== undefined) args.push(patch.expiresAt), sets.push(`expires_at = $${args.length}`);
    if (!sets.length) return (await this.get(id)) !== undefined;
    args.push(id);
    const r = await this.pool.query(`UPDATE ${this.t()} SET ${sets.join(', ')} WHERE id = $${args.length}`, args);
    return r.rowCount === 1;
  }
  async close(): Promise<void> {
    await this.pool?.end();
  }
}
