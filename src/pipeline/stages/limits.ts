/**
 * limits: after auth, before route — nothing here costs an upstream call.
 *  1. Priority: the call's own (`x-costgate-priority`), else its feature's, else `priorities.default`.
 *  2. Input-token cap (`features.<f>.maxInputTokens`, else `limits.maxInputTokens`): a larger prompt is refused with
 *     413 and both counts. The prompt is tokenized only when its size could exceed the cap (a prompt's tokens never
 *     outnumber its UTF-8 bytes), so small calls never pay for a tokenizer.
 *  3. Output caps: `defaultMaxTokens` is set on a chat call that sets none; a call asking for more than
 *     `maxTokensCeiling` is lowered to it. Both are recorded in the ledger's `governance` column.
 *  4. Rate limits (tier, key, feature, team, user, model, global; requests and tokens per minute and per day),
 *     reserved atomically in the budget store: 429 + Retry-After + `x-ratelimit-*` when one is reached; admitted
 *     calls carry the same headers. Token counters are settled to the tokens the call reported.
 */
import type { Stage } from '../compose.js';
import type { Ctx, Priority } from '../ctx.js';
import { GatewayError } from '../errors.js';
import type { ResolvedConfig } from '../../config/load.js';
import type { BudgetStore } from '../../stores/budgets/types.js';
import { limitChecks, rateLimitHeaders, tierOf } from '../../governance/limits.js';
import { inputTokens } from '../../governance/input-tokens.js';
import { own as ownEntry } from '../../util/own.js';
import { servedFromCache } from '../../cache/served.js';

export interface LimitsOptions {
  config: Pick<ResolvedConfig, 'limits' | 'features' | 'priorities'>;
  store: BudgetStore;
  reservationTtlMs: number;
  now?: () => number;
}

/** The output-token field a call set, and its value. */
function outputCap(ctx: Ctx): { field: 'max_completion_tokens' | 'max_tokens'; value: number } | undefined {
  const b = ctx.body;
  if (ctx.endpoint === 'chat' && typeof b.max_completion_tokens === 'number') return { field: 'max_completion_tokens', value: b.max_completion_tokens };
  if (typeof b.max_tokens === 'number') return { field: 'max_tokens', value: b.max_tokens };
  return undefined;
}

export const limits = (o: LimitsOptions): Stage => {
  const { limits: l, features, priorities } = o.config;
  const configured = l.rules.length > 0;
  return async function limits(ctx, next) {
    const f = ownEntry(features, ctx.meta.feature);
    ctx.meta.priority ??= (f?.priority ?? priorities.default) as Priority;

    // 2. Input-token cap.
    // The gateway-wide default caps chat and messages; embeddings requests batch many inputs (OpenAI takes 2,048 of
    // up to 8,191 tokens each), so only a feature's own cap applies to them.
    const cap = f?.maxInputTokens ?? (ctx.endpoint === 'embeddings' ? 0 : l.maxInputTokens);
    if (cap > 0 && inputTokens.upperBound(ctx) > cap) {
      const n = inputTokens.count(ctx, ctx.model);
      if (n > cap) {
        const whose = f?.maxInputTokens !== undefined ? `feature '${ctx.meta.feature}'` : 'this gateway';
        ctx.governance.push(`rejected:input_tokens=${n}>${cap}`);
        throw new GatewayError('input_too_large', `This request has ${n} input tokens; the limit for ${whose} is ${cap}. Shorten the prompt (or split it) and try again.`, {
          param: ctx.endpoint === 'embeddings' ? 'input' : 'messages',
          details: { input_tokens: n, max_input_tokens: cap },
        });
      }
    }

    // 3. Output caps (chat and messages).
    if (ctx.endpoint !== 'embeddings') {
      const ceiling = f?.maxTokensCeiling ?? l.maxTokensCeiling;
      const dflt = f?.defaultMaxTokens ?? l.defaultMaxTokens;
      const asked = outputCap(ctx);
      if (!asked && dflt !== undefined) {
        const v = ceiling !== undefined ? Math.min(dflt, ceiling) : dflt;
        ctx.body = { ...ctx.body, max_tokens: v };
        ctx.bodyChanged = true;
        ctx.governance.push(`default:max_tokens=${v}`);
      } else if (asked && ceiling !== undefined && asked.value > ceiling) {
        ctx.body = { ...ctx.body, [asked.field]: ceiling };
        ctx.bodyChanged = true;
        ctx.governance.push(`capped:${asked.field}=${ceiling}(asked ${asked.value})`);
      }
    }

    const own = ctx.meta.key?.rateLimits ?? [];
    if (!configured && own.length === 0) return next();
    // 4. Rate limits.
    const now = (o.now ?? Date.now)();
    const tier = tierOf(ctx, l);
    const needsTokens = [...l.rules, ...own].some((r) => r.rate.tokensPerMinute !== undefined || r.rate.tokensPerDay !== undefined);
    const tokens = needsTokens ? inputTokens.count(ctx, ctx.model) + (ctx.endpoint === 'embeddings' ? 0 : outputCap(ctx)?.value ?? 0) : 0;
    const checks = limitChecks(ctx, l, tier, tokens, now);
    if (checks.length === 0) return next();
    const items = checks.map((c) => c.item);
    const rid = `${ctx.id}#rl`;
    let r;
    try {
      r = await o.store.reserve(rid, items, o.reservationTtlMs, now);
    } catch (e) {
      throw new GatewayError('overloaded', 'rate-limit store unavailable; limits cannot be enforced', { retryAfterSec: 1, cause: e });
    }
    if (!r.ok) {
      const c = checks[r.index]!;
      const used: bigint[] = [];
      used[r.index] = r.used;
      const retry = Math.max(1, Math.ceil((c.resetsAt - now) / 1000));
      const what = c.metric === 'requests' ? `${c.limit} requests per ${c.per}` : `${c.limit} tokens per ${c.per} (this call needs ${c.item.amount})`;
      const who = c.rule.tier !== undefined ? `the '${c.rule.tier}' tier` : `'${c.rule.name}'`;
      ctx.governance.push(`rate_limited:${c.rule.name}/${c.metric}/${c.per}`);
      throw new GatewayError('rate_limited', `Rate limit reached for ${who}: ${what}. Retry in ${retry} s.`, {
        retryAfterSec: retry,
        headers: rateLimitHeaders(checks, used, now, r.index),
        details: {
          rate_limit: { name: c.rule.name, tier: c.rule.tier ?? null, scope: c.rule.scope, subject: c.subject, metric: c.metric, per: c.per, limit: c.limit, used: Number(r.used), resets_at: new Date(c.resetsAt).toISOString(), reset_in_seconds: retry },
        },
      });
    }
    (ctx.afterPriced ??= []).push(() => {
      const u = ctx.outcome?.usage;
      const hit = servedFromCache(ctx.outcome?.cacheStatus);
      const used = u && !hit ? BigInt(u.inputTokens + u.outputTokens) : 0n;
      const actual = checks.map((c) => (c.metric === 'requests' ? 1n : used));
      o.store.settle(rid, items, actual, (o.now ?? Date.now)()).catch((e) => process.emitWarning(`costgate: rate-limit settlement failed (the reservation expires after its TTL): ${(e as Error).message}`));
    });
    const headers = rateLimitHeaders(checks, r.used, now);
    let res;
    try {
      res = await next();
    } catch (e) {
      // A later refusal (budget, upstream) still tells the client where its limits stand.
      if (e instanceof GatewayError) for (const [k, v] of Object.entries(headers)) e.headers[k] ??= v;
      throw e;
    }
    Object.assign(res.headers, headers);
    return res;
  };
};
