/**
 * Virtual keys. A key is `cg-<id>-<secret>`: the public id (`key_…`, the ledger's `api_key_id`) finds the record, and
 * the 256-bit random secret is checked against a salted SHA-256 (a slow password hash buys nothing for a secret with
 * 256 bits of entropy, and would sit on every request's path). Only the id, the salt and the hash are stored.
 */
export interface KeyRecord {
  id: string;
  name: string;
  salt: string;
  hash: string;
  /** Default attribution for calls made with this key (a header or metadata value wins). */
  team: string | null;
  feature: string | null;
  /** Allowed models (requested names; `*` globs); empty = any. */
  models: string[];
  /** A budget of this key alone: USD decimal text and window (`day` | `week` | `month` | `24h`…). */
  budgetUsd: string | null;
  budgetWindow: string | null;
  /** Requests / tokens per minute for this key. */
  rpm: number | null;
  tpm: number | null;
  role: 'client' | 'admin' | 'viewer';
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  /** The key this one replaced (rotation). */
  rotatedFrom: string | null;
}

export interface KeyStore {
  readonly kind: 'sqlite' | 'postgres' | 'memory';
  init(): Promise<void>;
  insert(k: KeyRecord): Promise<void>;
  get(id: string): Promise<KeyRecord | undefined>;
  list(): Promise<KeyRecord[]>;
  /** Set `revokedAt` / `expiresAt` (rotation shortens the old key's life to the overlap). */
  update(id: string, patch: Partial<Pick<KeyRecord, 'revokedAt' | 'expiresAt'>>): Promise<boolean>;
  close(): Promise<void>;
}
