/**
 * Stage composition (after hono's compose): the chain is built once at start, and a guard refuses a stage that
 * calls `next()` twice, which would dispatch (and pay for) the same request twice.
 */
import type { Ctx, GatewayResponse } from './ctx.js';

export type Next = () => Promise<GatewayResponse>;
export type Stage = (ctx: Ctx, next: Next) => Promise<GatewayResponse>;

export function compose(stages: Stage[]): (ctx: Ctx) => Promise<GatewayResponse> {
  return (ctx) => {
    let last = -1;
    const run = (i: number): Promise<GatewayResponse> => {
      if (i <= last) return Promise.reject(new Error(`stage ${stages[i - 1]?.name ?? i} called next() twice`));
      last = i;
      const stage = stages[i];
      if (!stage) return Promise.reject(new Error('pipeline ended without a response: the last stage must not call next()'));
      return stage(ctx, () => run(i + 1));
    };
    return run(0);
  };
}
