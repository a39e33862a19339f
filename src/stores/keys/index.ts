/** The key store lives beside the ledger: the same SQLite file or Postgres schema (memory ledger: memory keys). */
import type { ResolvedConfig } from '../../config/load.js';
import type { KeyStore } from './types.js';
import { MemoryKeyStore, PostgresKeyStore, SqliteKeyStore } from './sql.js';

export function openKeyStore(c: ResolvedConfig['ledger']): KeyStore {
  if (c.store === 'postgres') return new PostgresKeyStore(c.resolvedUrl!, c.schema);
  if (c.store === 'memory') return new MemoryKeyStore();
  return new SqliteKeyStore(c.path);
}
