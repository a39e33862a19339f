/** The load both budget concurrency tests send: one config (a $1.00 global day budget) and one call shape. */
import type { GatewayRequest } from '../../src/pipeline/ctx.js';

export function budgetLoadConfig(budgetStore?: { kind: 'redis'; url: string; prefix: string }) {
  return {
    ledger: { store: 'memory' as const },
    providers: { sim: { type: 'simulator' as const, simulator: { jitterMs: 30, defaultOutputTokens: 60 } } },
    budgets: [{ name: 'one-dollar', scope: 'global' as const, window: 'day' as const, amount: '1.00' }],
    ...(budgetStore ? { budgetStore } : {}),
  };
}

/** Call i of the load: prompts of 50 lengths, 60 output tokens each (the simulator answers exactly max_tokens). */
export function budgetLoadCall(i: number): GatewayRequest {
  return { endpoint: 'chat', headers: {}, body: { model: 'gpt-4o', max_tokens: 60, messages: [{ role: 'user', content: `question ${i} ${'x '.repeat(i % 50)}` }] } };
}
