/**
 * route: requested model → ordered deployments (primary + fallbacks), with the decision and why. When the routing
 * engine handles the requested model (`auto`, `router`, `cascade`, or every model with `routing.all`), it picks the
 * model first (rules, task table, tier classifier, learned router, cascade; see src/routing/engine.ts) and the
 * chosen model resolves like a requested one, so aliases' fallbacks still apply.
 */
import type { Stage } from '../compose.js';
import type { Ctx } from '../ctx.js';
import { GatewayError } from '../errors.js';
import type { Resolution } from '../../routing/resolve.js';
import type { RoutingEngine, RouteHints } from '../../routing/engine.js';
import { routeInput } from '../../routing/signals.js';

export interface RouteOptions {
  resolve: (model: string) => Resolution;
  engine?: RoutingEngine;
  /** Highest fraction used among the call's hard budgets (read only when the engine is configured to use it). */
  budgetUsed?: (ctx: Ctx) => Promise<number | undefined>;
  /** The optional LLM tier classifier (routing.classifier.mode: llm); undefined answers fall back to the local one. */
  llmTier?: (text: string) => Promise<import('../../routing/tier.js').Tier | undefined>;
}

function how(r: Resolution, model: string): string {
  return r.how === 'alias' ? `alias ${model}` : r.how === 'deployment' ? 'deployment for model' : r.how === 'provider-prefix' ? 'provider/model' : 'provider model pattern';
}

function dial(ctx: Ctx, name: string): number | undefined {
  const v = ctx.req.headers[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new GatewayError('invalid_value', `${name} must be a number from 0 to 1, got '${v.slice(0, 40)}'`, { param: name });
  return n;
}

function resolveOrFail(o: RouteOptions, model: string, requested: string) {
  const r = o.resolve(model);
  if (r.deployments.length === 0) {
    const via = model === requested ? '' : ` (routed from '${requested}')`;
    throw new GatewayError('model_not_found', `The model '${model}'${via} does not exist or no configured provider serves it.`, { param: 'model' });
  }
  return r;
}

export const route = (o: RouteOptions): Stage =>
  async function route(ctx, next) {
    const e = o.engine;
    if (e && ctx.endpoint !== 'embeddings' && ctx.req.headers['x-costgate-route'] !== 'off' && e.handles(ctx.model)) {
      const h: RouteHints = { task: (ctx.req.headers['x-costgate-task'] || ctx.meta.feature)?.slice(0, 128), quality: dial(ctx, 'x-costgate-quality'), strongShare: dial(ctx, 'x-costgate-strong-share') };
      if (e.cfg.budget.preferWeakAt !== undefined && o.budgetUsed) h.budgetUsed = await o.budgetUsed(ctx);
      const input = routeInput(ctx.body);
      if (o.llmTier) {
        const t = await o.llmTier(input.userText);
        h.tier = t ? { tier: t, source: 'llm' } : undefined;
      }
      let d;
      try {
        d = e.decide(ctx.model, input, h);
      } catch (err) {
        throw new GatewayError('invalid_value', (err as Error).message, { param: 'model' });
      }
      if (d) {
        // A virtual key limited to some models may not reach others through routing.
        const key = ctx.meta.key;
        for (const m of [d.target, d.escalateTo]) {
          if (m && key && !key.allowsModel(m)) throw new GatewayError('model_not_allowed', `Key ${key.record.id} may not use the model '${m}' (routed from '${ctx.model}': ${d.reason}).`, { param: 'model' });
        }
        const r = resolveOrFail(o, d.target, ctx.model);
        const fellBack = o.llmTier && !h.tier ? '; llm classifier gave no tier → local' : '';
        ctx.route = { deployments: r.deployments, decision: r.deployments[0]!.name, reason: `${d.kind}: ${d.reason}${fellBack}`, kind: d.kind };
        if (d.escalateTo) ctx.route.cascade = { model: d.escalateTo, deployments: resolveOrFail(o, d.escalateTo, ctx.model).deployments };
        return next();
      }
    }
    const r = resolveOrFail(o, ctx.model, ctx.model);
    ctx.route = { deployments: r.deployments, decision: r.deployments[0]!.name, reason: how(r, ctx.model) };
    return next();
  };
