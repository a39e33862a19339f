/**
 * Rate limits as counters in the budget store: each (limit, scope value, metric) is a BudgetItem whose "money" is a
 * count — 1 per request, or tokens (input counted + output declared, settled to the usage the call reported). The
 * store reserves atomically across every limit a call touches (memory, or one Redis Lua script shared by replicas),
 * so concurrent calls never jointly pass a limit.
 *
 * Windows: `…PerMinute` is a rolling minute (24 buckets of 2.5 s: capacity returns as the oldest bucket leaves);
 * `…PerDay` is the calendar day in `limits.timezone` (what "50 requests a day" means to a user: it resets at midnight).
 */
import type { Ctx } from '../pipeline/ctx.js';
import type { ResolvedLimits, ResolvedRateLimit } from '../config/load.js';
import type { RateConfig } from '../config/schema.js';
import type { BudgetItem } from '../stores/budgets/types.js';
import { windowAt, type WindowSpec } from '../budgets/window.js';
import { attributionOf } from './scope.js';
import { own } from '../util/own.js';

export type Metric = 'requests' | 'tokens';
type Per = 'minute' | 'day';

const FIELDS: { field: keyof RateConfig; metric: Metric; per: Per }[] = [
  { field: 'requestsPerMinute', metric: 'requests', per: 'minute' },
  { field: 'requestsPerDay', metric: 'requests', per: 'day' },
  { field: 'tokensPerMinute', metric: 'tokens', per: 'minute' },
  { field: 'tokensPerDay', metric: 'tokens', per: 'day' },
];

const MINUTE: WindowSpec = { kind: 'rolling', ms: 60_000 };

/** One counter a call is checked against. */
export interface LimitCheck {
  rule: ResolvedRateLimit;
  /** The scope value counted (user, key, feature, ... or `*`). */
  subject: string;
  metric: Metric;
  per: Per;
  limit: number;
  resetsAt: number;
  item: BudgetItem;
}

/** The tier of a call: configured user → tier, then key → tier, then the trusted header, then the default. */
export function tierOf(ctx: Ctx, l: ResolvedLimits): string | undefined {
  const u = ctx.meta.user;
  if (own(l.users, u) !== undefined) return l.users[u!];
  const k = ctx.meta.apiKeyId;
  if (own(l.keys, k) !== undefined) return l.keys[k!];
  if (l.trustTierHeader) {
    const h = ctx.req.headers['x-costgate-tier'];
    if (h !== undefined && h !== '' && own(l.tiers, h) !== undefined) return h;
  }
  return l.defaultTier;
}

function subjectOf(ctx: Ctx, r: ResolvedRateLimit): string | undefined {
  if (r.scope === 'model') return ctx.model;
  // A tier limit counts per end user; a call naming no user counts per API key, then as one anonymous caller.
  if (r.scope === 'user' && r.tier !== undefined) return ctx.meta.user ?? (ctx.meta.apiKeyId ? `key:${ctx.meta.apiKeyId}` : 'anonymous');
  return attributionOf(ctx, r.scope);
}

/**
 * The counters this call is checked against, with the amount reserved on each: 1 request, `tokens` tokens.
 * Tier rules apply only to calls of their tier; other rules to calls whose scope value matches (`value`) or exists.
 */
export function limitChecks(ctx: Ctx, l: ResolvedLimits, tier: string | undefined, tokens: number, now: number): LimitCheck[] {
  const out: LimitCheck[] = [];
  const day: WindowSpec = { kind: 'calendar', unit: 'day', tz: l.timezone };
  const own = ctx.meta.key?.rateLimits ?? [];
  for (const rule of own.length ? [...l.rules, ...own] : l.rules) {
    if (rule.tier !== undefined && rule.tier !== tier) continue;
    // A virtual key's own limits count under its name (a rotated key keeps its counters).
    const subject = own.includes(rule) ? rule.value : subjectOf(ctx, rule);
    if (subject === undefined || (rule.value !== undefined && subject !== rule.value)) continue;
    for (const f of FIELDS) {
      const limit = rule.rate[f.field];
      if (limit === undefined) continue;
      const w = windowAt(f.per === 'minute' ? MINUTE : day, now);
      out.push({
        rule,
        subject,
        metric: f.metric,
        per: f.per,
        limit,
        resetsAt: w.resetsAt,
        item: {
          key: `rl|${rule.name}|${subject}|${f.metric}|${f.per}`,
          bucket: w.bucket,
          minBucket: w.minBucket,
          limit: BigInt(limit),
          amount: f.metric === 'requests' ? 1n : BigInt(tokens),
          hard: true,
          keepMs: w.keepMs,
        },
      });
    }
  }
  return out;
}

/** OpenAI's reset format: `1s`, `6m0s`, `1h2m3s`, `250ms`. */
export function resetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`;
}

/**
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` for the tightest counter of each metric (the one with the
 * least left after this call), as OpenAI sends them; `x-costgate-ratelimit` names the limit behind each.
 */
export function rateLimitHeaders(checks: LimitCheck[], used: bigint[] | undefined, now: number, failed?: number): Record<string, string> {
  const h: Record<string, string> = {};
  const names: string[] = [];
  for (const metric of ['requests', 'tokens'] as const) {
    // A refused call reports only the counter that refused it (the others were not reserved).
    if (failed !== undefined && checks[failed]!.metric !== metric) continue;
    let best: { c: LimitCheck; left: bigint } | undefined;
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      if (c.metric !== metric) continue;
      // The refusing counter as it stands; an admitted call's counters after it.
      const after = (used?.[i] ?? 0n) + (i === failed ? 0n : c.item.amount);
      const left = c.item.limit > after ? c.item.limit - after : 0n;
      if (i === failed) {
        best = { c, left };
        break;
      }
      if (!best || left < best.left) best = { c, left };
    }
    if (!best) continue;
    h[`x-ratelimit-limit-${metric}`] = String(best.c.limit);
    h[`x-ratelimit-remaining-${metric}`] = best.left.toString();
    h[`x-ratelimit-reset-${metric}`] = resetDuration(best.c.resetsAt - now);
    names.push(`${metric}=${best.c.rule.name}/${best.c.per}`);
  }
  if (names.length) h['x-costgate-ratelimit'] = names.join(', ');
  return h;
}
