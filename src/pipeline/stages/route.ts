/** route: requested model → ordered deployments (primary + fallbacks), with the decision and why. */
import type { Stage } from '../compose.js';
import { GatewayError } from '../errors.js';
import type { Resolution } from '../../routing/resolve.js';

export interface RouteOptions {
  resolve: (model: string) => Resolution;
}

export const route = (o: RouteOptions): Stage =>
  async function route(ctx, next) {
    const r = o.resolve(ctx.model);
    if (r.deployments.length === 0) {
      throw new GatewayError('model_not_found', `The model '${ctx.model}' does not exist or no configured provider serves it.`, { param: 'model' });
    }
    ctx.route = {
      deployments: r.deployments,
      decision: r.deployments[0]!.name,
      reason: r.how === 'alias' ? `alias ${ctx.model}` : r.how === 'deployment' ? 'deployment for model' : r.how === 'provider-prefix' ? 'provider/model' : 'provider model pattern',
    };
    return next();
  };
