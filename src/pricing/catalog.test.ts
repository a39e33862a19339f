import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelInfo } from '@pydantic/genai-prices';
import { PriceCatalog, activePrices, catalogProvider, timeOfDayUtc } from './catalog.js';
import { scaledToString } from './decimal.js';
import { rateAt, type Rate } from './rates.js';

const catalog = new PriceCatalog();
const show = (r: Rate | undefined, inputTokens = 0) => (r === undefined ? '-' : scaledToString(rateAt(r, inputTokens)));

test('timeOfDayUtc applies the constraint\'s UTC offset', () => {
  assert.equal(timeOfDayUtc('00:30:00Z'), 1800);
  assert.equal(timeOfDayUtc('16:30:00Z'), 59_400);
  assert.equal(timeOfDayUtc('09:00:00+08:00'), 3600); // Beijing 09:00 = 01:00 UTC
  assert.equal(timeOfDayUtc('00:30:00+08:00'), 16.5 * 3600); // wraps to the previous UTC day
  assert.equal(timeOfDayUtc('20:00:00-05:00'), 3600);
  assert.equal(timeOfDayUtc('12:00:00.250Z'), 43_200);
  assert.equal(timeOfDayUtc('12:00:00'), 43_200);
  assert.ok(Number.isNaN(timeOfDayUtc('noon')));
});

test('time-of-day windows with offsets resolve like genai-prices (DeepSeek standard hours in Beijing time)', () => {
  const info = {
    id: 'x',
    match: { equals: 'x' },
    prices: [
      { prices: { input_mtok: 0.135 } },
      { constraint: { type: 'time_of_date', start_time: '08:30:00+08:00', end_time: '00:30:00+08:00' }, prices: { input_mtok: 0.27 } },
    ],
  } as unknown as ModelInfo;
  const at = (iso: string) => activePrices(info, new Date(iso)).input_mtok;
  assert.equal(at('2025-11-03T00:29:59Z'), 0.135);
  assert.equal(at('2025-11-03T00:30:00Z'), 0.27);
  assert.equal(at('2025-11-03T12:00:00Z'), 0.27);
  assert.equal(at('2025-11-03T16:29:59Z'), 0.27);
  assert.equal(at('2025-11-03T16:30:00Z'), 0.135);
  assert.equal(at('2025-11-03T20:00:00Z'), 0.135);
});

test('start_date constraints switch at midnight UTC of that date (o3 price cut 2025-06-10)', () => {
  const before = catalog.rates('o3', 'openai', new Date('2025-06-09T23:59:59.999Z'))!;
  const after = catalog.rates('o3', 'openai', new Date('2025-06-10T00:00:00Z'))!;
  assert.deepEqual([show(before.input), show(before.output), show(before.cacheRead)], ['10', '40', '0.5']);
  assert.deepEqual([show(after.input), show(after.output), show(after.cacheRead)], ['2', '8', '0.5']);
  // No LiteLLM batch entry for o3: 50 % of whichever list price applies at that moment.
  assert.deepEqual([show(before.batchInput), show(after.batchInput)], ['5', '1']);
});

test('DeepSeek off-peak window from the real catalog, also behind an OpenAI-compatible provider', () => {
  for (const providerType of [undefined, 'openai']) {
    const peak = catalog.rates('deepseek-chat', providerType, new Date('2025-11-03T12:00:00Z'))!;
    const off = catalog.rates('deepseek-chat', providerType, new Date('2025-11-03T20:00:00Z'))!;
    assert.equal(peak.source, 'genai-prices:deepseek/deepseek-chat');
    assert.deepEqual([show(peak.input), show(peak.output), show(peak.cacheRead)], ['0.27', '1.1', '0.07']);
    assert.deepEqual([show(off.input), show(off.output), show(off.cacheRead)], ['0.135', '0.55', '0.035']);
    // Not an OpenAI/Anthropic model and no LiteLLM batch rate: no batch discount is assumed.
    assert.equal(peak.batchInput, undefined);
  }
});

test('batch rates: LiteLLM\'s discount is a ratio applied to genai-prices\' (tiered) rates', () => {
  const mini = catalog.rates('gpt-4o-mini', 'openai', new Date('2025-11-03T12:00:00Z'))!;
  assert.deepEqual([show(mini.batchInput), show(mini.batchOutput)], ['0.075', '0.3']);
  // LiteLLM's gpt-5.4 batch price is flat ($1.25/$7.50); the long-context tier (> 272k) must stay 50 % of ITS rate.
  const g = catalog.rates('gpt-5.4', 'openai', new Date('2026-08-01T12:00:00Z'))!;
  assert.deepEqual([show(g.input, 300_000), show(g.batchInput, 300_000)], ['5', '2.5']);
  assert.deepEqual([show(g.output, 300_000), show(g.batchOutput, 300_000)], ['22.5', '11.25']);
  // Anthropic long context without a LiteLLM batch entry: 50 % of each tier.
  const s = catalog.rates('claude-sonnet-4-5', 'anthropic', new Date('2025-11-03T12:00:00Z'))!;
  assert.deepEqual([show(s.batchInput), show(s.batchInput, 200_001), show(s.batchOutput, 200_001)], ['1.5', '3', '11.25']);
});

test('provider inference and unknown models', () => {
  assert.equal(catalogProvider(undefined, 'claude-haiku-4-5'), 'anthropic');
  assert.equal(catalogProvider('simulator', 'o4-mini'), 'openai');
  assert.equal(catalogProvider('simulator', 'text-embedding-3-small'), 'openai');
  assert.equal(catalogProvider('gemini', 'anything'), 'google');
  assert.equal(catalogProvider(undefined, 'deepseek-chat'), undefined);
  assert.equal(catalog.rates('no-such-model-xyz'), undefined);
  assert.equal(catalog.rates('claude-3-5-haiku-20241022', 'simulator')?.source, 'genai-prices:anthropic/claude-3-5-haiku-latest');
});

test('config overrides win, in $/Mtok, exactly; self-hosted GPU pricing derives per-token rates', () => {
  const c = new PriceCatalog({
    'gpt-4o': { input: 1.1, output: 2.2, cacheRead: 0.11 },
    'llama-local': { selfHosted: { usdPerGpuHour: 2, gpus: 1, outputTokensPerSec: 1000, inputTokensPerSec: 10_000, utilization: 0.5 } },
  });
  const o = c.rates('gpt-4o')!;
  // A known model's override merges with its catalog entry: the batch discount (50 %) now applies to the override's rate.
  assert.equal(o.source, 'config+genai-prices:openai/gpt-4o');
  assert.deepEqual([show(o.input), show(o.output), show(o.cacheRead), show(o.batchInput), show(o.batchOutput)], ['1.1', '2.2', '0.11', '0.55', '1.1']);
  const l = c.rates('llama-local')!;
  // $2/h ÷ (1000 tok/s × 3600 × 0.5) = $1.111111111/Mtok (rounded to 9 decimals); input 10× faster.
  assert.deepEqual([l.source, show(l.output), show(l.input)], ['config:self-hosted', '1.111111111', '0.111111111']);
});

test('cached rates still resolve at each call\'s own time (interleaved calls on one catalog)', () => {
  const c = new PriceCatalog();
  const peakAt = new Date('2025-11-03T12:00:00Z');
  const offAt = new Date('2025-11-03T20:00:00Z');
  const o3Before = new Date('2025-06-09T23:59:59.999Z');
  const o3After = new Date('2025-06-10T00:00:00Z');
  for (let i = 0; i < 3; i++) {
    for (const providerType of [undefined, 'openai', 'openai-compatible']) {
      assert.equal(show(c.rates('deepseek-chat', providerType, peakAt)!.input), '0.27');
      assert.equal(show(c.rates('deepseek-chat', providerType, offAt)!.input), '0.135');
    }
    assert.deepEqual([show(c.rates('o3', 'openai', o3Before)!.input), show(c.rates('o3', 'openai', o3Before)!.batchInput)], ['10', '5']);
    assert.deepEqual([show(c.rates('o3', 'openai', o3After)!.input), show(c.rates('o3', 'openai', o3After)!.batchInput)], ['2', '1']);
  }
  // The same price entry is parsed once and shared; the shared object cannot be changed by a caller.
  const a = c.rates('gpt-4o-mini', 'openai', peakAt)!;
  assert.equal(c.rates('gpt-4o-mini', 'openai', offAt), a);
  assert.ok(Object.isFrozen(a));
  assert.throws(() => {
    (a as { input: bigint }).input = 0n;
  }, TypeError);
  const s = c.rates('claude-sonnet-4-5', 'anthropic', peakAt)!;
  assert.ok(typeof s.input === 'object' && Object.isFrozen(s.input.tiers[0]));
  // The requested name is part of the key: a dated snapshot and its alias resolve (and cache) independently.
  assert.equal(c.rates('claude-3-5-haiku-20241022', 'simulator')?.source, 'genai-prices:anthropic/claude-3-5-haiku-latest');
  assert.equal(c.rates('no-such-model-xyz'), undefined);
  assert.equal(c.rates('no-such-model-xyz'), undefined);
  const o = new PriceCatalog({ 'gpt-4o': { input: 1.1, output: 2.2 } });
  assert.equal(o.rates('gpt-4o'), o.rates('gpt-4o'));
  assert.equal(show(o.rates('gpt-4o')!.input), '1.1');
  assert.equal(o.rates('gpt-4o-mini', 'openai', peakAt)!.source, 'genai-prices:openai/gpt-4o-mini');
});

test('activePrices: malformed or missing constraints never match; the first entry is the fallback', () => {
  const info = {
    id: 'x',
    match: { equals: 'x' },
    prices: [
      { constraint: { type: 'start_date', start_date: '2030-01-01' }, prices: { input_mtok: 1 } },
      { constraint: { type: 'start_date', start_date: 'not a date' }, prices: { input_mtok: 2 } },
      { constraint: { type: 'time_of_date', start_time: 'noon', end_time: '13:00:00Z' }, prices: { input_mtok: 3 } },
      { constraint: { type: 'something_else' }, prices: { input_mtok: 4 } },
    ],
  } as unknown as ModelInfo;
  assert.equal(activePrices(info, new Date('2025-01-01T12:30:00Z')).input_mtok, 1);
  assert.equal(activePrices(info, new Date('2031-01-01T12:30:00Z')).input_mtok, 1);
});
