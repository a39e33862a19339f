/** Alert store selection: beside the ledger (SQLite file, Postgres schema, memory) unless `alerts.store: memory`. */
import type { ResolvedConfig } from '../../config/load.js';
import type { AlertStore } from './types.js';
import { MemoryAlertStore } from './memory.js';

export async function openAlertStore(config: Pick<ResolvedConfig, 'ledger' | 'alerts'>): Promise<AlertStore> {
  const l = config.ledger;
  let store: AlertStore;
  if (config.alerts.store === 'memory' || l.store === 'memory') store = new MemoryAlertStore();
  else if (l.store === 'postgres') {
    const { PostgresAlertStore } = await import('./postgres.js');
    store = new PostgresAlertStore(l.resolvedUrl!, l.schema);
  } else {
    const { SqliteAlertStore } = await import('./sqlite.js');
    store = new SqliteAlertStore(`${l.path}.alerts.db`);
  }
  await store.init();
  return store;
}
