/** In-process alert state (ledger.store: memory, tests): lost on restart, like the memory ledger. */
import type { AlertEvent, AlertState, AlertStore } from './types.js';

export class MemoryAlertStore implements AlertStore {
  private readonly map = new Map<string, AlertState>();
  private events: AlertEvent[] = [];

  async init(): Promise<void> {}

  async states(): Promise<AlertState[]> {
    return [...this.map.values()].map((s) => ({ ...s }));
  }

  async save(state: AlertState, event?: AlertEvent): Promise<void> {
    this.map.set(state.key, { ...state });
    if (event) this.events.push({ ...event });
  }

  async history(limit: number): Promise<AlertEvent[]> {
    return this.events.slice(-limit).reverse();
  }

  async prune(keep: number): Promise<void> {
    if (this.events.length > keep) this.events = this.events.slice(-keep);
  }

  async close(): Promise<void> {}
}
