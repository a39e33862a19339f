/**
 * How close the call's hard budgets are to their limits (spent + reserved over limit, the highest one), for the
 * engine's "prefer weak near a budget limit". One budget-store read, made only when routing.budget.preferWeakAt is
 * set. Budgets scoped by model or provider are left out: they depend on the choice being made.
 */
import type { Ctx } from '../pipeline/ctx.js';
import type { ResolvedBudget } from '../config/load.js';
import type { BudgetStore } from '../stores/budgets/types.js';
import { windowAt } from '../budgets/window.js';
import { attributionOf } from '../governance/scope.js';

export function budgetPressure(budgets: ResolvedBudget[], store: BudgetStore, now: () => number = Date.now): (ctx: Ctx) => Promise<number | undefined> {
  return async (ctx) => {
    const t = now();
    const items: { key: string; minBucket: number; limit: bigint }[] = [];
    for (const b of [...budgets, ...(ctx.meta.key?.budgets ?? [])]) {
      if (b.mode !== 'hard' || b.scope === 'model' || b.scope === 'provider' || b.limitNanos <= 0n) continue;
      const own = ctx.meta.key?.budgets.includes(b);
      const v = own ? b.value : attributionOf(ctx, b.scope);
      if (v === undefined || (b.value !== undefined && v !== b.value)) continue;
      items.push({ key: `${b.name}|${v}`, minBucket: windowAt(b.window, t).minBucket, limit: b.limitNanos });
    }
    if (!items.length) return undefined;
    try {
      const u = await store.usage(items, t);
      let max = 0;
      // Per-mille in bigint first: spend and limits are nano-dollars and may exceed 2^53.
      u.forEach((x, i) => (max = Math.max(max, Number(((x.spent + x.reserved) * 1000n) / items[i]!.limit) / 1000)));
      return max;
    } catch {
      return undefined; // the budget stage reports store failures; routing just goes on without the signal
    }
  };
}
