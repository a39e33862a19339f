/**
 * Budgets as the dashboard shows them: for each configured budget (and, for a budget without a fixed value, each of
 * the scope values that spent most in the current window), the window spend from the budget store, % of the limit
 * used, and the spend projected at the end of the period.
 *
 * Projection (calendar windows): spend so far × period length ÷ time elapsed, i.e. the current run rate carried to
 * the window's end, in integer nano-dollars. A rolling window never ends; its projection is its current spend (the
 * window holds the last `window` of spend at any time), flagged `projection: 'rolling'`.
 */
import type { ResolvedBudget } from '../../config/load.js';
import type { BudgetStore } from '../../stores/budgets/types.js';
import type { LedgerStore, GroupKey } from '../../stores/ledger/types.js';
import { windowAt, calendarRange, describeWindow } from '../../budgets/window.js';
import { nanosToUsd } from '../../pricing/decimal.js';

/** Values shown per budget without a fixed value (the top spenders in the window). */
export const VALUES_PER_BUDGET = 5;

const SCOPE_KEY: Record<Exclude<ResolvedBudget['scope'], 'global'>, GroupKey> = { feature: 'feature', team: 'team', user: 'user', key: 'key', model: 'model', provider: 'provider' };

export interface BudgetView {
  name: string;
  scope: string;
  value: string;
  mode: 'hard' | 'soft';
  window: string;
  limit_usd: string;
  spent_usd: string;
  reserved_usd: string;
  /** spent ÷ limit, as a fraction (1 = the whole budget). */
  used: number;
  projected_usd: string;
  projected_used: number;
  projection: 'run-rate' | 'rolling';
  resets_at: string;
}

/** The period containing `now` and its start (calendar), or the rolling window's length ending now. */
function period(b: ResolvedBudget, now: number): { start: number; end: number } {
  if (b.window.kind === 'calendar') return calendarRange(b.window.unit, b.window.tz, now);
  return { start: now - b.window.ms, end: now };
}

/** Nano-dollars at the current run rate by the period's end (at least one minute elapsed, so a new period is not ×1000). */
export function projectNanos(spent: bigint, start: number, end: number, now: number): bigint {
  const elapsed = BigInt(Math.max(60_000, Math.min(now, end) - start));
  return (spent * BigInt(end - start)) / elapsed;
}

const fraction = (a: bigint, b: bigint) => (b === 0n ? 0 : Number((a * 1_000_000n) / b) / 1_000_000);

export async function budgetViews(budgets: ResolvedBudget[], store: BudgetStore, ledger: LedgerStore, now = Date.now()): Promise<BudgetView[]> {
  const targets: { b: ResolvedBudget; value: string }[] = [];
  for (const b of budgets) {
    if (b.scope === 'global') targets.push({ b, value: '*' });
    else if (b.value !== undefined) targets.push({ b, value: b.value });
    else {
      // One budget per distinct value: show the values that spent most in this window (from the ledger).
      const { start } = period(b, now);
      const key = SCOPE_KEY[b.scope];
      const rows = await ledger.aggregate({ since: start }, [key]);
      for (const r of rows.filter((x) => x.group[key] !== null).slice(0, VALUES_PER_BUDGET)) targets.push({ b, value: r.group[key]! });
    }
  }
  if (!targets.length) return [];
  const usage = await store.usage(targets.map(({ b, value }) => ({ key: `${b.name}|${value}`, minBucket: windowAt(b.window, now).minBucket })), now);
  return targets.map(({ b, value }, i) => {
    const { spent, reserved } = usage[i]!;
    const { start, end } = period(b, now);
    const projected = b.window.kind === 'calendar' ? projectNanos(spent, start, end, now) : spent;
    return {
      name: b.name,
      scope: b.scope,
      value,
      mode: b.mode,
      window: describeWindow(b.window),
      limit_usd: nanosToUsd(b.limitNanos),
      spent_usd: nanosToUsd(spent),
      reserved_usd: nanosToUsd(reserved),
      used: fraction(spent, b.limitNanos),
      projected_usd: nanosToUsd(projected),
      projected_used: fraction(projected, b.limitNanos),
      projection: b.window.kind === 'calendar' ? 'run-rate' : 'rolling',
      resets_at: new Date(windowAt(b.window, now).resetsAt).toISOString(),
    };
  });
}
