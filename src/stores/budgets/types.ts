/**
 * Budget stores: spend per budget and window bucket, plus open reservations. Every operation is atomic over all the
 * budgets a call touches (memory: one synchronous step; Redis: one Lua script), so concurrent gateways sharing a
 * store can never jointly reserve past a hard limit.
 */
export interface BudgetItem {
  /** Budget key (budget name + the scope's value). */
  key: string;
  /** The bucket spend goes to, and the oldest bucket still in the window (see budgets/window.ts). */
  bucket: number;
  minBucket: number;
  /** Nano-dollars. */
  limit: bigint;
  /** Nano-dollars reserved for this call (its maximum cost). */
  amount: bigint;
  /** Soft budgets are tracked but never refuse. */
  hard: boolean;
  /** How long the bucket must be kept. */
  keepMs: number;
}

export type ReserveResult =
  /** `used`: each item's spent + reserved before this call (for remaining-headers). */
  | { ok: true; used: bigint[] }
  /** `index`: the first hard item that would go over; `used`: its spent + reserved before this call. */
  | { ok: false; index: number; used: bigint };

export interface BudgetStore {
  /** Reserve `amount` on every item, or on none when a hard item would exceed its limit. */
  reserve(id: string, items: BudgetItem[], ttlMs: number, now: number): Promise<ReserveResult>;
  /**
   * Settle a reservation: release what was reserved, add `actual[i]` to item i's bucket (even when the reservation
   * had already expired: the money was spent). Returns each item's window spend after (not counting reservations).
   */
  settle(id: string, items: BudgetItem[], actual: bigint[], now: number): Promise<bigint[]>;
  /** Window spend + reserved, for each item (reports, tests). */
  usage(items: Pick<BudgetItem, 'key' | 'minBucket'>[], now: number): Promise<{ spent: bigint; reserved: bigint }[]>;
  close(): Promise<void>;
}
