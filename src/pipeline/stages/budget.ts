/**
 * budget: after route (the routed deployment's price is known), before dispatch. Reserves the call's maximum cost on
 * every applicable budget atomically (all or none); a hard budget that would be exceeded rejects the call (402, or
 * the budget's 429) with Retry-After = seconds until it resets. When the meter has priced the settled call, the
 * reservation is settled to the actual cost (the remainder released); a failed call settles to what it cost (often 0).
 *
 * Maximum cost = input tokens (countPrompt, the tokenizer the simulator and usage estimation use) at the highest of
 * the input / cache-write rates + output tokens (max_completion_tokens ?? max_tokens, else DEFAULT_MAX_OUTPUT_TOKENS,
 * times `n`) at the highest of the output / reasoning rates, rounded up to a nano-dollar. A model with no price
 * reserves 0 (it is recorded at $0 too).
 */
import { channel } from 'node:diagnostics_channel';
import type { Stage } from '../compose.js';
import type { Ctx } from '../ctx.js';
import { GatewayError } from '../errors.js';
import type { Pricer } from '../../pricing/pricer.js';
import { rateAt, type Rate } from '../../pricing/rates.js';
import { nanosToUsd } from '../../pricing/decimal.js';
import { inputTokens as countInput } from '../../governance/input-tokens.js';
import type { ResolvedBudget } from '../../config/load.js';
import type { BudgetItem, BudgetStore } from '../../stores/budgets/types.js';
import { windowAt } from '../../budgets/window.js';
import { attributionOf } from '../../governance/scope.js';

/** Output cap assumed when a chat request sets no max_tokens / max_completion_tokens. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export interface SoftBudgetEvent {
  budget: string;
  key: string;
  limitNanos: bigint;
  spentNanos: bigint;
  requestId: string;
}

export interface BudgetOptions {
  budgets: ResolvedBudget[];
  store: BudgetStore;
  pricer: Pricer;
  reservationTtlMs: number;
  /** Fractions of each hard budget that optional / important calls may use (priorities.budgetFraction). */
  shedFractions?: { optional: number; important: number };
  onSoftCrossed?: (e: SoftBudgetEvent) => void;
  now?: () => number;
}

const budgetChannel = channel('costgate:budget');

function scopeValue(ctx: Ctx, b: ResolvedBudget): string | undefined {
  const d = ctx.route?.deployments[0];
  if (b.scope === 'model') return b.value !== undefined && (ctx.model === b.value || d?.model === b.value) ? b.value : d?.model;
  if (b.scope === 'provider') return d?.provider.name;
  return attributionOf(ctx, b.scope);
}

function maxRate(tokens: number, ...rs: (Rate | undefined)[]): bigint {
  let m = 0n;
  for (const r of rs) {
    if (r === undefined) continue;
    const v = rateAt(r, tokens);
    if (v > m) m = v;
  }
  return m;
}

/**
 * The most this call can cost on its routed (first) deployment, in nano-dollars. A cascade may pay for two answers
 * (the weak one, then the strong one): both are reserved.
 */
export function maxCallCost(ctx: Ctx, pricer: Pricer): { nanos: bigint; inputTokens: number; outputTokens: number } {
  const one = maxCostOn(ctx, pricer, ctx.route!.deployments[0]!);
  const esc = ctx.route!.cascade?.deployments[0];
  return esc ? { ...one, nanos: one.nanos + maxCostOn(ctx, pricer, esc).nanos } : one;
}

function maxCostOn(ctx: Ctx, pricer: Pricer, d: import('../../config/load.js').Deployment): { nanos: bigint; inputTokens: number; outputTokens: number } {
  const rates = pricer.rates(d.model, d.provider.name);
  const body = ctx.body as Record<string, any>;
  const inputTokens = countInput.count(ctx, d.model);
  let outputTokens = 0;
  if (ctx.endpoint !== 'embeddings') {
    const cap = Number(body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS);
    const n = ctx.endpoint === 'chat' ? Math.max(1, Math.floor(Number(body.n ?? 1)) || 1) : 1;
    outputTokens = cap * n;
  }
  if (!rates) return { nanos: 0n, inputTokens, outputTokens };
  // rates: µ$/token × 10^12 → nano-dollars = tokens × rate / 10^9, rounded up.
  const scaled = BigInt(inputTokens) * maxRate(inputTokens, rates.input, rates.cacheWrite5m, rates.cacheWrite1h) + BigInt(outputTokens) * maxRate(inputTokens, rates.output, rates.reasoning);
  return { nanos: (scaled + 999_999_999n) / 1_000_000_000n, inputTokens, outputTokens };
}

export const budget = (o: BudgetOptions): Stage =>
  async function budget(ctx, next) {
    const own = ctx.meta.key?.budgets ?? [];
    if (o.budgets.length === 0 && own.length === 0) return next();
    const now = (o.now ?? Date.now)();
    const applied: { b: ResolvedBudget; resetsAt: number; shedAt?: number }[] = [];
    const priority = ctx.meta.priority ?? 'important';
    const fraction = priority === 'critical' ? 1 : o.shedFractions?.[priority] ?? 1;
    const items: BudgetItem[] = [];
    let cost: bigint | undefined;
    for (const b of own.length ? [...o.budgets, ...own] : o.budgets) {
      // A virtual key's own budget applies to exactly its calls (its value is the key's name).
      const v = own.includes(b) ? b.value : scopeValue(ctx, b);
      if (v === undefined || (b.value !== undefined && v !== b.value)) continue;
      cost ??= maxCallCost(ctx, o.pricer).nanos;
      const w = windowAt(b.window, now);
      const exempt = b.exemptPriorities.includes(priority);
      const hard = b.mode === 'hard' && !exempt;
      // Load shedding by budget: lower priorities may use only their fraction; the rest is kept for higher ones.
      const shedAt = hard && fraction < 1 ? fraction : undefined;
      const limit = shedAt === undefined ? b.limitNanos : (b.limitNanos * BigInt(Math.round(shedAt * 1_000_000))) / 1_000_000n;
      applied.push({ b, resetsAt: w.resetsAt, shedAt });
      items.push({ key: `${b.name}|${v}`, bucket: w.bucket, minBucket: w.minBucket, limit, amount: cost, hard, keepMs: w.keepMs });
    }
    if (items.length === 0) return next();
    let r;
    try {
      r = await o.store.reserve(ctx.id, items, o.reservationTtlMs, now);
    } catch (e) {
      if (!items.some((i) => i.hard)) return next();
      throw new GatewayError('overloaded', 'budget store unavailable; hard budgets cannot be enforced', { retryAfterSec: 1, cause: e });
    }
    if (!r.ok) {
      const { b, resetsAt, shedAt } = applied[r.index]!;
      const left = b.limitNanos > r.used ? b.limitNanos - r.used : 0n;
      const retry = Math.max(1, Math.ceil((resetsAt - now) / 1000));
      const resets = new Date(resetsAt).toISOString();
      if (shedAt !== undefined && r.used + cost! <= b.limitNanos) {
        const pct = Math.round(shedAt * 100);
        ctx.governance.push(`shed:budget:${b.name}@${pct}%`);
        throw new GatewayError('load_shed', `Shed (${priority} priority): budget '${b.name}' is past the ${pct}% kept for ${priority} calls ($${nanosToUsd(left)} of $${nanosToUsd(b.limitNanos)} is left for higher priorities); it resets at ${resets}.`, {
          retryAfterSec: retry,
          headers: { 'x-costgate-shed': `budget:${b.name}`, 'x-costgate-budget': b.name, 'x-costgate-budget-remaining-usd': nanosToUsd(left), 'x-costgate-budget-reset': resets },
          details: { shed: { reason: 'budget', priority, budget: b.name, fraction: shedAt, remaining_usd: nanosToUsd(left), resets_at: resets, reset_in_seconds: retry } },
        });
      }
      throw new GatewayError(
        'budget_exceeded',
        `Budget '${b.name}' would be exceeded: this call may cost up to $${nanosToUsd(cost!)}, $${nanosToUsd(left)} of $${nanosToUsd(b.limitNanos)} is left; it resets at ${resets}.`,
        {
          status: b.status,
          retryAfterSec: retry,
          headers: { 'x-costgate-budget': b.name, 'x-costgate-budget-remaining-usd': nanosToUsd(left), 'x-costgate-budget-reset': resets },
          details: { budget: { name: b.name, scope: b.scope, value: b.value ?? null, limit_usd: nanosToUsd(b.limitNanos), remaining_usd: nanosToUsd(left), max_call_cost_usd: nanosToUsd(cost!), resets_at: resets, reset_in_seconds: retry } },
        },
      );
    }
    (ctx.afterPriced ??= []).push((p) => {
      const actual = BigInt(p.costNanos);
      o.store.settle(ctx.id, items, items.map(() => actual), (o.now ?? Date.now)()).then(
        (after) => {
          for (let i = 0; i < items.length; i++) {
            const it = items[i]!;
            if (applied[i]!.b.mode === 'hard' || actual === 0n) continue;
            // Crossed by this call: the window spend went from below the limit to at or above it.
            if (after[i]! >= it.limit && after[i]! - actual < it.limit) {
              const e: SoftBudgetEvent = { budget: applied[i]!.b.name, key: it.key, limitNanos: it.limit, spentNanos: after[i]!, requestId: ctx.id };
              process.emitWarning(`costgate: soft budget '${e.budget}' crossed: $${nanosToUsd(e.spentNanos)} of $${nanosToUsd(e.limitNanos)} spent`);
              if (budgetChannel.hasSubscribers) budgetChannel.publish(e);
              try {
                o.onSoftCrossed?.(e);
              } catch {
                /* an event consumer never breaks settlement */
              }
            }
          }
        },
        (e) => process.emitWarning(`costgate: budget settlement failed (the reservation expires after its TTL): ${(e as Error).message}`),
      );
    });
    return next();
  };
