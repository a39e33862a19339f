/**
 * Batched ledger writes, off the hot path: records queue in memory and are written in one transaction every
 * `flushIntervalMs` or every `batchSize` rows, whichever comes first. Durability window: a crash (kill -9) loses at
 * most the rows queued since the last flush (≤ flushIntervalMs of traffic plus one batch in flight); a graceful
 * shutdown flushes everything. With `durability: 'sync'` the gateway awaits `flushNow()` before answering.
 * A failed write is retried with the rows kept in order; rows are never dropped silently. The queue is unbounded on
 * purpose: while the store is down, memory grows rather than money records being dropped (the warning says so).
 */
import type { LedgerStore, LedgerRow, AttemptRow, BodyRow } from './types.js';

/** Stored bodies are pruned at most this often (after a committed batch). */
const PRUNE_EVERY_MS = 3_600_000;

export interface WriterOptions {
  flushIntervalMs: number;
  batchSize: number;
  onError?: (e: unknown) => void;
  /** Stored bodies older than this (ms) are deleted after a committed batch, at most hourly (`ledger.storeBodies.retentionDays`). */
  bodyRetentionMs?: number;
  /** Clock for pruning (tests). */
  now?: () => number;
}

export class LedgerWriter {
  private rows: LedgerRow[] = [];
  private attempts: AttemptRow[] = [];
  private bodies: BodyRow[] = [];
  private lastPrune = Number.NEGATIVE_INFINITY;
  /** Stored bodies deleted by retention since start. */
  pruned = 0;
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

  /**
   * Queue a stored (redacted) body: written in the same batch and transaction as the rows, never on its own. It does
   * not count toward `batchSize`: bodies ride with the next flush of rows (or the timer).
   */
  pushBody(b: BodyRow): void {
    this.bodies.push(b);
    if (this.closed) void this.drain();
    else if (!this.timer) {
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
    if (!this.rows.length && !this.attempts.length && !this.bodies.length) return;
    const rows = this.rows;
    const attempts = this.attempts;
    const bodies = this.bodies;
    this.rows = [];
    this.attempts = [];
    this.bodies = [];
    let write: Promise<void>;
    try {
      write = bodies.length ? this.store.write(rows, attempts, bodies) : this.store.write(rows, attempts);
    } catch (e) {
      // A store that throws instead of rejecting must not lose the batch (nor crash the process from `void flushNow()`).
      write = Promise.reject(e);
    }
    this.inFlight = write
      .then(() => {
        this.written += rows.length;
        this.maybePrune();
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
        this.bodies = bodies.concat(this.bodies);
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

  /** Retention of stored bodies: after a committed batch, at most hourly; a failed prune is retried an hour later. */
  private maybePrune(): void {
    const keep = this.o.bodyRetentionMs;
    if (keep === undefined) return;
    const now = (this.o.now ?? Date.now)();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    this.store.pruneBodies(now - keep).then(
      (n) => (this.pruned += n),
      (e) => this.o.onError?.(e),
    );
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
    for (let i = 0; i < 6 && (this.rows.length || this.attempts.length || this.bodies.length || this.inFlight); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** (i - 1)));
      await this.flushNow();
    }
    if (this.rows.length) this.o.onError?.(new Error(`ledger: ${this.rows.length} rows could not be written at shutdown`));
  }
}
