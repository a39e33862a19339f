/**
 * Alert state per alert key (firing or resolved, since when, last notified) and the notification history, persisted
 * beside the ledger so a restarted gateway neither re-fires what it already announced nor forgets what is firing.
 */
export interface AlertFinding {
  /** Stable identity: rule plus what it is about (`errorRate`, `allocation:feature:search`, `budgets:daily:team-a`). */
  key: string;
  rule: string;
  /** `warning` | `critical`, or a threshold step (`50%`): a change of level while firing is notified too. */
  level: string;
  /** The measured value and the threshold it was compared with (units depend on the rule: a share, USD, tokens). */
  value: number;
  threshold: number;
  message: string;
  labels: Record<string, string>;
}

export interface AlertState extends AlertFinding {
  status: 'firing' | 'resolved';
  /** When it started firing (or was resolved). */
  since: number;
  updatedAt: number;
  lastNotifiedAt: number;
}

export type AlertEventKind = 'firing' | 'changed' | 'renotify' | 'resolved';

export interface AlertEvent extends AlertFinding {
  ts: number;
  kind: AlertEventKind;
}

export interface AlertStore {
  init(): Promise<void>;
  states(): Promise<AlertState[]>;
  /** Save a state and (when given) its event in one step. */
  save(state: AlertState, event?: AlertEvent): Promise<void>;
  /** Newest first. */
  history(limit: number): Promise<AlertEvent[]>;
  /** Keep only the newest `keep` events. */
  prune(keep: number): Promise<void>;
  /**
   * Run `f` while holding the store's evaluation lock, or return `{ skipped: true }` at once when another process holds
   * it (Postgres: an advisory lock, so of several replicas sharing the state one evaluates and announces at a time).
   * Absent: the store is private to this process.
   */
  exclusive?<T>(f: () => Promise<T>): Promise<{ skipped: true } | { skipped: false; value: T }>;
  close(): Promise<void>;
}
