/** Ledger store selection from config; heavy drivers load lazily (pg only when Postgres is configured). */
import type { ResolvedConfig } from '../../config/load.js';
import type { LedgerStore } from './types.js';
import { SqliteLedger } from './sqlite.js';

export async function openLedgerStore(c: ResolvedConfig['ledger']): Promise<LedgerStore> {
  let store: LedgerStore;
  if (c.store === 'postgres') {
    const { PostgresLedger } = await import('./postgres.js');
    store = new PostgresLedger(c.resolvedUrl!, c.schema);
  } else store = new SqliteLedger(c.store === 'memory' ? ':memory:' : c.path);
  await store.init();
  return store;
}
