/**
 * Golden pricing: every fixture in test/fixtures/usage/ goes through the gateway's real usage extraction (body usage,
 * SSE framing + stream processors, cross-wire translations) and is priced with the real catalog. The expected µ$ are
 * literals worked out by hand in each fixture, so any catalog or code change that moves a price fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { costOf } from '../src/pricing/cost.js';
import { Pricer } from '../src/pricing/pricer.js';
import type { RequestRecord } from '../src/pipeline/record.js';
import { scaledToString } from '../src/pricing/decimal.js';
import type { ModelRates, Rate } from '../src/pricing/rates.js';
import type { Usage } from '../src/providers/usage.js';
import { extractionPaths, genaiPrice, loadUsageFixtures, plainUsage, pricingsOf, type UsageFixture } from './helpers/pricing-fixtures.js';

const catalog = new PriceCatalog();
const fixtures = loadUsageFixtures();

/** Catalog rates, printed only to explain a failure (expected numbers never come from here). */
function describeRates(r: ModelRates | undefined): string {
  if (!r) return 'no rates';
  const show = (x: Rate | undefined) => (x === undefined ? '-' : typeof x === 'bigint' ? scaledToString(x) : `${scaledToString(x.base)} (${x.tiers.map((t) => `>${t.start}: ${scaledToString(t.rate)}`).join(', ')})`);
  const keys = ['input', 'output', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h', 'reasoning', 'batchInput', 'batchOutput'] as const;
  return `${r.source}: ${keys.map((k) => `${k}=${show(r[k])}`).join(' ')} ($/Mtok)`;
}

function ratesAt(f: UsageFixture, at: Date): ModelRates {
  const r = catalog.rates(f.model, undefined, at);
  assert.ok(r, `${f.model} has no catalog price`);
  return r;
}

test('fixture set covers every case the pricing must get right', () => {
  const has = (p: (f: UsageFixture) => boolean) => fixtures.some(p);
  const u = (f: UsageFixture) => f.expected_usage;
  assert.ok(fixtures.length >= 20, `only ${fixtures.length} fixtures`);
  for (const wire of ['openai', 'anthropic'] as const) {
    for (const stream of [true, false]) assert.ok(has((f) => f.wire === wire && f.stream === stream), `${wire} stream=${stream}`);
    assert.ok(has((f) => f.wire === wire && u(f).cacheReadTokens > 0), `${wire} with cache reads`);
    assert.ok(has((f) => f.wire === wire && u(f).cacheReadTokens === 0), `${wire} without cache reads`);
    assert.ok(has((f) => f.wire === wire && f.batch), `${wire} batch`);
  }
  assert.ok(has((f) => u(f).cacheWrite5mTokens > 0 && f.stream), 'streamed 5m cache write');
  assert.ok(has((f) => u(f).cacheWrite1hTokens > 0 && f.stream), 'streamed 1h cache write');
  assert.ok(has((f) => !JSON.stringify(f.response ?? f.sse).includes('cache_creation"') && u(f).cacheWrite5mTokens > 0), 'legacy cache_creation_input_tokens only');
  assert.ok(has((f) => u(f).reasoningTokens > 0 && f.model === 'o3-mini') && has((f) => u(f).reasoningTokens > 0 && f.model === 'o4-mini'), 'reasoning');
  assert.ok(has((f) => u(f).inputTokens > 200_000) && has((f) => u(f).inputTokens === 200_000), 'long context both sides of the boundary');
  assert.ok(has((f) => (f.variants ?? []).some((v) => v.at !== undefined)), 'date-conditional price');
  assert.ok(has((f) => (f.response as { object?: string } | undefined)?.object === 'list'), 'embeddings');
  for (const f of fixtures) {
    if (f.pair && f.stream) assert.ok(fixtures.some((g) => g.pair === f.pair && !g.stream), `${f.name} has a non-streaming twin`);
    assert.match(f.expected_by_hand, new RegExp(`= ${f.expected_exact_micros} µ\\$`), `${f.name}: by-hand arithmetic ends in the expected exact µ$`);
  }
});

for (const f of fixtures) {
  test(`golden ${f.name}`, () => {
    const paths = extractionPaths(f);
    for (const [path, usage] of Object.entries(paths)) assert.deepEqual(plainUsage(usage), f.expected_usage, `${f.name}: usage via ${path}`);
    for (const [path, usage] of Object.entries(paths)) {
      for (const p of pricingsOf(f)) {
        const rates = ratesAt(f, p.at);
        const c = costOf(usage!, rates, { batch: p.batch });
        const why = `${f.name} [${p.label}] via ${path}\n  by hand: ${p.byHand}\n  catalog: ${describeRates(rates)}\n  parts (µ$): ${Object.entries(c.parts).map(([k, v]) => `${k}=${scaledToString(v)}`).join(' ')}`;
        assert.equal(scaledToString(c.exact), p.exact, why);
        assert.equal(c.nanos, p.nanos, why);
        assert.equal(c.batch, p.batch);
      }
    }
  });
}

test('streaming and non-streaming versions of the same call cost the same', () => {
  const pairs = new Map<string, UsageFixture[]>();
  for (const f of fixtures) if (f.pair) pairs.set(f.pair, [...(pairs.get(f.pair) ?? []), f]);
  assert.ok(pairs.size >= 6, `only ${pairs.size} stream/non-stream pairs`);
  for (const [pair, fs] of pairs) {
    const plain = fs.find((f) => !f.stream)!;
    const streamed = fs.find((f) => f.stream)!;
    assert.ok(plain && streamed, `${pair}: both versions present`);
    const at = new Date(plain.at);
    const price = (f: UsageFixture) => Object.values(extractionPaths(f)).map((u) => costOf(u!, ratesAt(f, at)).exact);
    const expected = price(plain)[0]!;
    for (const c of [...price(plain), ...price(streamed)]) assert.equal(c, expected, pair);
    assert.deepEqual(plainUsage(Object.values(extractionPaths(streamed))[0]), plainUsage(Object.values(extractionPaths(plain))[0]), pair);
  }
});

test('genai-prices float total_price agrees with the exact price within 1e-9 USD (non-batch)', () => {
  let checked = 0;
  for (const f of fixtures) {
    const usage = Object.values(extractionPaths(f))[0] as Usage;
    for (const p of pricingsOf(f)) {
      if (p.batch) continue; // genai-prices does not model batch discounts
      const ours = costOf(usage, ratesAt(f, p.at)).exact; // µ$ × 10^12 → USD is ÷ 10^18
      const theirs = genaiPrice(usage, f.model, p.at);
      assert.ok(theirs !== undefined, `${f.name}: genai-prices knows ${f.model}`);
      const diff = Math.abs(theirs - Number(ours) / 1e18);
      assert.ok(diff <= 1e-9, `${f.name} [${p.label}]: genai-prices ${theirs} vs ours ${scaledToString(ours)} µ$ (diff ${diff})`);
      checked++;
    }
  }
  assert.ok(checked >= 20, `only ${checked} comparisons`);
});

test('Pricer.price on extracted fixture usage: served cost, baseline and savings', () => {
  const pricer = new Pricer({ catalog, providerType: (p) => p, aliasBaseline: () => undefined });
  const record = (f: UsageFixture, requestedModel: string, model: string, batch = false): RequestRecord => {
    const usage = Object.values(extractionPaths(f))[0]!;
    return { id: f.name, ts: Date.parse(f.at), endpoint: 'chat', surface: f.wire, requestedModel, model, provider: f.wire, stream: f.stream, status: 200, usage, latencyMs: 1, clientAborted: false, batch, attempts: [] };
  };
  const byName = (n: string) => fixtures.find((f) => f.name === n)!;
  // Streamed Sonnet call served by Haiku 4.5: 50 x $1/M + 10000 x $0.10/M + 2000 x $1.25/M + 400 x $5/M = 5550 µ$;
  // baseline Sonnet 4.5 = 16650 µ$ (fixture), so the row records 11100 µ$ saved.
  const routed = pricer.price(record(byName('anthropic-sonnet-4-5-read-write-5m.stream'), 'claude-sonnet-4-5', 'claude-haiku-4-5'));
  assert.deepEqual([routed.costNanos, routed.baselineModel, routed.baselineCostNanos], [5_550_000, 'claude-sonnet-4-5', 16_650_000]);
  assert.equal(routed.baselineCostNanos - routed.costNanos, 11_100_000);
  // Batch line: 2100 µ$ at batch rates against a 4200 µ$ synchronous baseline.
  const batch = pricer.price(record(byName('openai-gpt-4o-mini-batch'), 'gpt-4o-mini', 'gpt-4o-mini', true));
  assert.deepEqual([batch.costNanos, batch.baselineCostNanos], [2_100_000, 4_200_000]);
});
