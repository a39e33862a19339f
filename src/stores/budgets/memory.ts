/** In-process budget store: single-threaded, so every operation is atomic. Expired reservations are swept by a timer. */
import type { BudgetItem, BudgetStore, ReserveResult } from './types.js';

interface Reservation {
  deadline: number;
  amounts: Map<string, bigint>;
}

export class MemoryBudgetStore implements BudgetStore {
  private readonly spent = new Map<string, Map<number, bigint>>();
  private readonly reserved = new Map<string, bigint>();
  private readonly open = new Map<string, Reservation>();
  private readonly timer: NodeJS.Timeout;

  constructor(sweepMs = 1000, private readonly clock: () => number = Date.now) {
    this.timer = setInterval(() => this.sweep(this.clock()), sweepMs);
    this.timer.unref();
  }

  /** Release reservations past their deadline (a call that never settled). */
  sweep(now: number): number {
    let n = 0;
    for (const [id, r] of this.open) {
      if (r.deadline > now) continue;
      this.unreserve(r);
      this.open.delete(id);
      n++;
    }
    return n;
  }

  private unreserve(r: Reservation): void {
    for (const [k, a] of r.amounts) {
      const v = (this.reserved.get(k) ?? 0n) - a;
      if (v <= 0n) this.reserved.delete(k);
      else this.reserved.set(k, v);
    }
  }

  private windowSpent(key: string, minBucket: number): bigint {
    const b = this.spent.get(key);
    if (!b) return 0n;
    let s = 0n;
    for (const [bucket, v] of b) {
      if (bucket < minBucket) b.delete(bucket);
      else s += v;
    }
    return s;
  }

  async reserve(id: string, items: BudgetItem[], ttlMs: number, now: number): Promise<ReserveResult> {
    this.sweep(now);
    const usedAll: bigint[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const used = this.windowSpent(it.key, it.minBucket) + (this.reserved.get(it.key) ?? 0n);
      usedAll[i] = used;
      if (it.hard && used + it.amount > it.limit) return { ok: false, index: i, used };
    }
    const amounts = new Map<string, bigint>();
    for (const it of items) {
      amounts.set(it.key, (amounts.get(it.key) ?? 0n) + it.amount);
      this.reserved.set(it.key, (this.reserved.get(it.key) ?? 0n) + it.amount);
    }
    this.open.set(id, { deadline: now + ttlMs, amounts });
    return { ok: true, used: usedAll };
  }

  async settle(id: string, items: BudgetItem[], actual: bigint[], _now: number): Promise<bigint[]> {
    const r = this.open.get(id);
    if (r) {
      this.unreserve(r);
      this.open.delete(id);
    }
    return items.map((it, i) => {
      let b = this.spent.get(it.key);
      if (!b) this.spent.set(it.key, (b = new Map()));
      b.set(it.bucket, (b.get(it.bucket) ?? 0n) + (actual[i] ?? 0n));
      return this.windowSpent(it.key, it.minBucket);
    });
  }

  async usage(items: Pick<BudgetItem, 'key' | 'minBucket'>[]): Promise<{ spent: bigint; reserved: bigint }[]> {
    return items.map((it) => ({ spent: this.windowSpent(it.key, it.minBucket), reserved: this.reserved.get(it.key) ?? 0n }));
  }

  /** Open reservations (tests). */
  get openReservations(): number {
    return this.open.size;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
