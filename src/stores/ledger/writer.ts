/**
 * Batched ledger writes, off the hot path: records queue in memory and are written in one transaction every
 * `flushIntervalMs` or every `batchSize` rows, whichever comes first. Durability window: a crash (kill -9) loses at
 * most the rows queued since the last flush (≤ flushIntervalMs of traffic plus one batch in flight); a graceful
 * shutdown flushes everything. With `durability: 'sync'` the gateway awaits `flushNow()` before answering.
 * A failed write is retried with the rows kept in order; rows are never dropped silently. The queue is unbounded on
 * purpose: while the store is down, memory grows rather than money records being dropped (the warning says so).
 */
import type { LedgerStore, LedgerRow, AttemptRow } from './types.js';

export interface WriterOptions {
  flushIntervalMs: number;
  batchSize: number;
  onError?: (e: unknown) => void;
}

export class LedgerWriter {
  private rows: LedgerRow[] = [];
  private attempts: AttemptRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  /** Rows written since start (for tests and metrics). */
  written = 0;
  failures = 0;
  private readonly writtenListeners: ((rows: number) => void)[] = [];

  constructor(readonly store: LedgerStore, private readonly o: WriterOptions) {}

  push(row: LedgerRow, attempts: AttemptRow[]): void {
    this.rows.push(row);
    for (const a of attempts) this.attempts.push(a);
    // After close() no timer runs: a request that settles late (a stream cut at shutdown) is written at once instead,
    // with close()'s retries (a single failed write would otherwise leave it queued forever, unreported).
    if (this.closed) void this.drain();
    else if (this.rows.length >= this.o.batchSize) void this.flushNow();
    else if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flushNow();
      }, this.o.flushIntervalMs);
    }
  }

  /** Called after each committed batch (alerts re-evaluate on it, debounced); a throwing listener is ignored. */
  onWritten(f: (rows: number) => void): void {
    this.writtenListeners.push(f);
  }

  pending(): number {
    return this.rows.length;
  }

  /** Write everything queued now; resolves when it is committed. */
  async flushNow(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (!this.rows.length && !this.attempts.length) return;
    const rows = this.rows;
    const attempts = this.attempts;
    this.rows = [];
    this.attempts = [];
    let write: Promise<void>;
    try {
      write = this.store.write(rows, attempts);
    } catch (e) {
      // A store that throws instead of rejecting must not lose the batch (nor crash the process from `void flushNow()`).
      write = Promise.reject(e);
    }
    this.inFlight = write
      .then(() => {
        this.written += rows.length;
        for (const f of this.writtenListeners) {
          try {
            f(rows.length);
          } catch {
            /* a listener never fails a write */
          }
        }
      })
      .catch((e) => {
        // Put them back in front so order is kept, and try again later.
        this.failures++;
        this.rows = rows.concat(this.rows);
        this.attempts = attempts.concat(this.attempts);
        this.o.onError?.(e);
        if (!this.timer && !this.closed) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.flushNow();
          }, Math.max(100, this.o.flushIntervalMs));
        }
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    await this.inFlight;
  }

  /**
   * Flush and stop; retries a failing store with backoff (50 ms doubling, ~1.5 s in all) so a store that is briefly
   * unavailable at shutdown (a Postgres failover) loses nothing, then gives up and says how many rows were lost.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.drain();
  }

  private async drain(): Promise<void> {
    for (let i = 0; i < 6 && (this.rows.length || this.attempts.length || this.inFlight); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** (i - 1)));
      await this.flushNow();
    }
    if (this.rows.length) this.o.onError?.(new Error(`ledger: ${this.rows.length} rows could not be written at shutdown`));
  }
}
