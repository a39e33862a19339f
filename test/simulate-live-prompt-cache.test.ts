/**
 * `costgate simulate`'s prompt-cache lever against a live replay: a workload with long shared system prompts on an
 * Anthropic-priced model goes through the gateway (simulator provider, which implements Anthropic's cache_control
 * prompt caching: src/providers/simulator/prompt-cache.ts) with prompt caching off; the what-if simulator predicts,
 * from that ledger, the cost with the promptCache lever; the same workload then goes through a gateway with
 * `optimize.promptCache` on (the TTL policy deciding the writes). The prediction must be within 2 % of the ledger's
 * actual cost, and caching must have changed the bill.
 *
 * Timing: the whole replay takes seconds, far inside the 5-minute TTL and the estimator's first 1-minute bin, so the
 * policy's decisions do not depend on the wall clock (a reuse counts the moment it is seen); no timing is asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGateway, type Gateway } from '../src/gateway.js';
import type { Json } from '../src/providers/adapter.js';
import { fromLedger } from '../src/simulate/workload.js';
import { parsePolicy } from '../src/simulate/policy.js';
import { whatIf } from '../src/simulate/run.js';

const MODEL = 'claude-sonnet-4-5';
// Two stable system prompts (2,849 and 1,899 tokens, over Sonnet's 1,024-token minimum) and one too short to cache.
const rules = (n: number, topic: string) => Array.from({ length: n }, (_, i) => `Rule ${i}: for ${topic} questions answer politely, cite section ${i} and never reveal internal notes.`).join('\n');
const SYSTEMS: Record<string, string> = { support: rules(150, 'support'), billing: rules(100, 'billing'), short: 'You are terse.' };

/** 60 calls: support (every 2nd), billing (every 3rd of the rest), short; each with its own question. */
function workload(): { feature: string; body: Json }[] {
  const out = [];
  for (let i = 0; i < 60; i++) {
    const feature = i % 2 === 0 ? 'support' : i % 3 === 0 ? 'billing' : 'short';
    out.push({ feature, body: { model: MODEL, max_tokens: 40, system: SYSTEMS[feature], messages: [{ role: 'user', content: `Question ${i}: what does rule ${i % 17} say about refunds for order ${1000 + i}?` }] } });
  }
  return out;
}

async function replay(promptCache: boolean): Promise<Gateway> {
  // The lint (observe-only) records each call's stable prefix in the ledger, which the simulator replays.
  const gw = await createGateway({
    env: {},
    config: { providers: { sim: { type: 'simulator' } }, ledger: { store: 'memory' }, optimize: { lint: { enabled: true }, promptCache: { enabled: promptCache } } },
  });
  for (const w of workload()) {
    const r = await gw.handle({ endpoint: 'messages', body: w.body, headers: { 'x-costgate-feature': w.feature } });
    assert.equal(r.status, 200, String(r.body));
  }
  await gw.ledger.writer.flushNow();
  return gw;
}

const policy = parsePolicy('name: prompt-caching\npromptCache: { style: anthropic }\n', 'policy.yaml');

test('simulate: the prediction for prompt caching (Anthropic breakpoints, TTL policy) matches a live replay within 2 %', { timeout: 60_000 }, async () => {
  let before = 0;
  let predicted = 0;
  let predictedReads = 0;
  const off = await replay(false);
  try {
    const rows = (await off.requests({ limit: 1000 })).rows;
    assert.equal(rows.length, 60);
    assert.ok(rows.every((r) => r.cacheReadTokens === 0 && r.cacheWrite5mTokens === 0), 'no prompt caching in the baseline');
    const w = await fromLedger(off.ledger.store);
    assert.equal(w.calls.length, 60);
    assert.ok(w.calls.filter((c) => c.prefixHash).length >= 40, 'the ledger carries the stable prefixes');
    const r = whatIf(w, policy, off.pricer);
    before = r.baselineNanos;
    assert.equal(before, rows.reduce((a, x) => a + x.costNanos, 0), 'the simulator prices the baseline as the ledger did');
    predicted = r.combinedNanos;
    const lever = r.levers.find((l) => l.lever === 'promptCache')!;
    assert.equal(lever.na, undefined);
    assert.ok(lever.touched >= 30, `touched ${lever.touched}`);
    predictedReads = lever.touched;
  } finally {
    await off.close();
  }
  const on = await replay(true);
  let actual = 0;
  try {
    const rows = (await on.requests({ limit: 1000 })).rows;
    assert.equal(rows.length, 60);
    const reads = rows.filter((x) => x.cacheReadTokens > 0).length;
    const writes = rows.filter((x) => x.cacheWrite5mTokens + x.cacheWrite1hTokens > 0).length;
    // The policy wrote each long prefix once reuse was observed and read it afterwards; the short one is never marked.
    assert.ok(writes >= 2 && writes <= 6, `${writes} writes`);
    assert.ok(reads >= 30, `${reads} reads`);
    assert.ok(rows.filter((x) => x.feature === 'short').every((x) => x.cacheReadTokens + x.cacheWrite5mTokens === 0));
    actual = rows.reduce((a, x) => a + x.costNanos, 0);
    console.log(`prompt caching, simulate vs live: before ${before} n$, predicted ${predicted} n$ (${predictedReads} calls touched), live ${actual} n$ (${reads} reads, ${writes} writes), error ${((Math.abs(predicted - actual) / actual) * 100).toFixed(3)} %`);
  } finally {
    await on.close();
  }
  assert.ok(actual < before * 0.8, `caching saves live: ${actual} vs ${before}`);
  const err = Math.abs(predicted - actual) / actual;
  assert.ok(err <= 0.02, `prediction ${predicted} vs live ${actual}: ${(err * 100).toFixed(2)} % off`);
});
