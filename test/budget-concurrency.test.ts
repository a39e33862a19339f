/**
 * Issue 5's concurrency test, single process (memory store): 2,000 concurrent calls against a $1.00 hard budget with
 * randomized simulator latency. Settled spend (the ledger's cost of admitted calls) must never exceed $1.00, and the
 * budget must not be left under-used by more than one call: every rejected call saw spent + reserved + its own maximum
 * cost > $1.00; a call's actual cost equals its reservation when the simulator answers max_tokens tokens, so at the end
 * $1.00 − settled < the largest single-call maximum (printed with the measured numbers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGateway } from '../src/gateway.js';
import { maxCallCost } from '../src/pipeline/stages/budget.js';
import { usdToNanos } from '../src/budgets/money.js';
import { budgetLoadConfig, budgetLoadCall } from './helpers/budget-load.js';

test('2,000 concurrent calls vs a $1.00 budget (memory store): 0 overspend, within one call of ideal', { timeout: 60_000 }, async () => {
  const gw = await createGateway({ env: {}, config: budgetLoadConfig() as never });
  try {
    const limit = usdToNanos('1.00');
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => gw.handle(budgetLoadCall(i))),
    );
    const admitted = results.filter((r) => r.status === 200).length;
    const rejected = results.filter((r) => r.status === 402).length;
    assert.equal(admitted + rejected, 2000);
    const summary = await gw.report({}, []);
    const settled = summary.total.costNanos;
    // the largest maximum any request could have reserved (longest prompt), computed like the stage does
    const probe = { endpoint: 'chat', model: 'gpt-4o', body: { model: 'gpt-4o', max_tokens: 60, messages: [{ role: 'user', content: `question 1999 ${'x '.repeat(49)}` }] }, route: { deployments: [{ model: 'gpt-4o', provider: { name: 'sim' } }] } };
    const maxCost = maxCallCost(probe as any, gw.pricer).nanos;
    console.log(`memory: admitted ${admitted}, rejected ${rejected}, settled ${settled} nanos of ${limit}, max call ${maxCost}, ideal >= ${limit - maxCost}`);
    assert.ok(settled <= limit, `overspend: ${settled} > ${limit}`);
    assert.ok(limit - settled < maxCost, `under-used by ${limit - settled} (max call ${maxCost})`);
  } finally {
    await gw.close();
  }
});
