/** The attribution value of a call for a governance scope (budgets, rate limits): `*` for global. */
import type { Ctx } from '../pipeline/ctx.js';

export type AttributionScope = 'global' | 'feature' | 'team' | 'user' | 'key';

export function attributionOf(ctx: Ctx, scope: AttributionScope): string | undefined {
  switch (scope) {
    case 'global':
      return '*';
    case 'feature':
      return ctx.meta.feature;
    case 'team':
      return ctx.meta.team;
    case 'user':
      return ctx.meta.user;
    case 'key':
      return ctx.meta.apiKeyId;
  }
}
