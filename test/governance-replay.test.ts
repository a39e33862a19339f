/**
 * Issue 5's replay: the Azure conv trace (vendored first 2,000 rows; `npm run replay:governance` replays the whole
 * file at 10×) under a budget of 60 % of its demand, with interleaved priorities. Critical traffic must be fully
 * served, optional shed first (earlier and more), settled spend within the budget, and every shed call in the
 * ledger with its decision. At 100× here to keep the test to a few seconds; the README table is the 10× run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readAzureTrace, replayGovernance, VENDORED_TRACE } from '../bench/governance-replay.js';

test('Azure trace replay under a budget: critical fully served, optional shed first, no overspend, every decision in the ledger', async () => {
  const trace = readAzureTrace(VENDORED_TRACE);
  assert.equal(trace.length, 2000);
  const r = await replayGovernance({ trace, speedup: 100, budgetShare: 0.6, fractions: { optional: 0.5, important: 0.8 }, maxInFlight: 0 });
  const [critical, important, optional] = r.rows;
  assert.deepEqual(r.rows.map((x) => x.priority), ['critical', 'important', 'optional']);
  assert.equal(critical!.served, critical!.requests, 'every critical call served');
  assert.equal(critical!.shedBudget + critical!.refusedBudget, 0);
  assert.ok(optional!.shedBudget > 0 && important!.shedBudget > 0, 'the budget is tight enough to shed both lower classes');
  assert.ok(optional!.firstBudgetRefusalAt < important!.firstBudgetRefusalAt, `optional shed first (${optional!.firstBudgetRefusalAt} s < ${important!.firstBudgetRefusalAt} s of trace)`);
  assert.ok(optional!.served / optional!.requests < important!.served / important!.requests, 'optional shed more than important');
  assert.ok(r.spentNanos <= r.budgetNanos, `spent ${r.spentNanos} within ${r.budgetNanos}`);
  assert.equal(r.rows.reduce((s, x) => s + x.otherErrors, 0), 0);
  assert.equal(r.ledgerRows, 2000, 'every call is a ledger row');
  assert.equal((r.ledgerGovernance['shed:budget:daily@50%'] ?? 0), optional!.shedBudget);
  assert.equal((r.ledgerGovernance['shed:budget:daily@80%'] ?? 0), important!.shedBudget);
});
