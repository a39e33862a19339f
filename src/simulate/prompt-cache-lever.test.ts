/**
 * One provider-cache model: the what-if simulator's prompt-cache lever and the Mooncake eval (`npm run
 * eval:prompt-cache`) run the same `ProviderCache` and `TtlPolicy`, so for the same trace and policy they give the same
 * cache tokens on every call and the same saving to the nano-dollar.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PriceCatalog } from '../pricing/catalog.js';
import { Pricer } from '../pricing/pricer.js';
import { parseTrace, simulate } from '../optimize/prompt-cache-sim.js';
import { evaluate } from '../../bench/prompt-cache-eval.js';
import { applyLever } from './levers.js';
import { parsePolicy } from './policy.js';
import { whatIf } from './run.js';
import { fromMooncakeJsonl } from './workload.js';

const SAMPLE = new URL('../../../data/mooncake-sample/', import.meta.url);
const MODEL = 'claude-sonnet-4-5';

test('prompt caching: `costgate simulate` and the Mooncake eval give the same number for the same trace and policy', () => {
  const catalog = new PriceCatalog();
  const pricer = new Pricer({ catalog, providerType: () => 'anthropic', aliasBaseline: () => undefined });
  for (const f of ['conversation_trace.jsonl', 'synthetic_trace.jsonl']) {
    const text = readFileSync(new URL(f, SAMPLE), 'utf8');
    // The eval's rows: no cache and costgate's online policy (5m/1h, the gateway's default), input cost only.
    const rows = evaluate(text, catalog);
    const none = rows.find((r) => r.policy === 'no prompt cache' && r.model === MODEL)!;
    const online = rows.find((r) => r.policy === 'costgate online policy (5m/1h)')!;
    // The what-if replay of the same trace with the prompt-cache lever (Anthropic style, minimum 1,024 tokens).
    const policy = parsePolicy('promptCache: { style: anthropic, minTokens: 1024 }', 'p.yaml');
    const w = fromMooncakeJsonl(text, MODEL);
    const lever = applyLever('promptCache', w.calls, policy)!;
    const sim = simulate(parseTrace(text), { kind: 'costgate', minTokens: 1024 });
    assert.equal(lever.calls.length, sim.perRequest.length);
    assert.deepEqual(
      lever.calls.map((c) => [c.inputTokens, c.cacheReadTokens, c.cacheWrite5mTokens, c.cacheWrite1hTokens]),
      sim.perRequest,
      `${f}: the same cache tokens on every call`,
    );
    assert.ok(sim.cacheRead > 0 && sim.write5m > 0, `${f}: the policy read and wrote`);
    // The same saving in nano-dollars (output tokens are priced alike on both sides of the what-if, so they cancel).
    const r = whatIf(w, policy, pricer);
    const row = r.levers.find((l) => l.lever === 'promptCache')!;
    assert.equal(r.unpriced, 0);
    assert.equal(BigInt(row.aloneNanos - r.baselineNanos), online.costNanos - none.costNanos, `${f}: the same saving`);
  }
});
