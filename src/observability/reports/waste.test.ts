import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGateway } from '../../gateway.js';
import { PriceCatalog } from '../../pricing/catalog.js';
import type { Json } from '../../providers/adapter.js';
import { wasteReport } from './waste.js';

const SYSTEM = Array.from({ length: 160 }, (_, i) => `Rule ${i}: answer politely and cite the policy section ${i}.`).join('\n');

test('waste report: system share, uncached repeated prefix and what caching would save, output p50/p90 and cap savings', async () => {
  let n = 0;
  const gw = await createGateway({
    env: {},
    config: { providers: { sim: { type: 'simulator' } }, ledger: { store: 'memory' }, optimize: { features: { support: { lint: { enabled: true } } } } },
    // Nine short answers and one long one: the p90 cap trims only the long one.
    simulator: { answer: () => (++n === 10 ? 'word '.repeat(400) : 'short answer') },
  });
  try {
    for (let i = 0; i < 10; i++) {
      const body: Json = { model: 'gpt-4o', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `question ${i}` }] };
      assert.equal((await gw.handle({ endpoint: 'chat', body, headers: { 'x-costgate-feature': 'support' } })).status, 200);
    }
    await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, headers: { 'x-costgate-feature': 'other' } });
    const ledger = (await gw.requests({ feature: 'support' })).rows; // (also flushes the ledger writer)
    const rows = await wasteReport(gw.ledger.store, new PriceCatalog());
    const s = rows.find((r) => r.feature === 'support')!;
    assert.equal(s.requests, 10);
    const prefix = ledger[0]!.prefixTokens!;
    assert.ok(prefix >= 1024, `prefix ${prefix}`);
    assert.ok(s.systemShare > 0.9 && s.systemShare < 1, `share ${s.systemShare}`);
    // The simulator caches OpenAI-style automatically: the repeats (not the first call) miss what was not read.
    const byTs = [...ledger].sort((a, b) => a.ts - b.ts);
    const missed = byTs.slice(1).reduce((a, r) => a + Math.max(0, prefix - r.cacheReadTokens), 0);
    assert.ok(missed > 0 && missed < 9 * prefix, `missed ${missed}`);
    assert.equal(s.uncachedRepeatTokens, missed);
    // gpt-4o: $2.50 input, $1.25 cached per M → saving $1.25 per M missed tokens.
    assert.equal(s.cachingSavesNanos, BigInt(missed) * 1250n);
    assert.ok(s.outputP90 < 400 && s.outputP50 <= s.outputP90);
    const long = Math.max(...ledger.map((r) => r.outputTokens));
    assert.equal(s.capSavesNanos, BigInt(long - s.outputP90) * 10_000n, 'gpt-4o output $10 per M');
    assert.equal(s.retryWasteNanos, 0);
    assert.equal(rows.find((r) => r.feature === 'other')!.prefixTokens, 0);
  } finally {
    await gw.close();
  }
});
