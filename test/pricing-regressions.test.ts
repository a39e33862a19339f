/**
 * Regression tests for the cost bugs gateways and SDK wrappers are known for, each named for the bug. Expected µ$ are
 * worked out by hand from the list prices (in the comments), never read from the catalog.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { costOf } from '../src/pricing/cost.js';
import { toScaled } from '../src/pricing/decimal.js';
import { fromAnthropicUsage, fromOpenAIUsage, toAnthropicUsage, toOpenAIUsage, type Usage } from '../src/providers/usage.js';
import type { LedgerRow } from '../src/stores/ledger/types.js';
import { extractionPaths, loadUsageFixtures, type UsageFixture } from './helpers/pricing-fixtures.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const catalog = new PriceCatalog();
const AT = new Date('2025-11-03T12:00:00Z');
const price = (u: Usage, model: string) => costOf(u, catalog.rates(model, undefined, AT)!);
const fixture = (name: string): UsageFixture => loadUsageFixtures().find((f) => f.name === name)!;
/** µ$ for `tokens` at `$perM` $/Mtok, scaled like CostBreakdown parts (10^12). */
const part = (tokens: number, perM: string) => BigInt(tokens) * toScaled(perM);

test('cache-write tokens double-counted', () => {
  // Anthropic's input_tokens (3) excludes the 2500 written tokens; billing them as input too would add 2500 x $1/M.
  const u = fromAnthropicUsage({ input_tokens: 3, cache_creation_input_tokens: 2500, cache_read_input_tokens: 0, output_tokens: 120 })!;
  assert.equal(u.inputTokens, 2503);
  const c = price(u, 'claude-haiku-4-5');
  assert.equal(c.parts.input, part(3, '1'));
  assert.equal(c.parts.cacheWrite5m, part(2500, '1.25'));
  assert.equal(c.nanos, 3_728_000); // 3 + 3125 + 600 µ$
  // With the TTL split: each write counted once, at its own TTL's rate (never also at the other TTL, never as input).
  const split = fromAnthropicUsage({ input_tokens: 12, cache_creation_input_tokens: 5120, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 1024, ephemeral_1h_input_tokens: 4096 }, output_tokens: 256 })!;
  assert.equal(price(split, 'claude-sonnet-4-5').nanos, 32_292_000); // µ$: 36 + 3840 + 24576 + 3840
  // A stream restating cumulative counts in message_delta and a round trip through the OpenAI shape
  // (prompt_tokens includes the writes) must both leave the writes counted once.
  for (const path of Object.values(extractionPaths(fixture('anthropic-sonnet-4-5-write-1h.stream')))) assert.equal(price(path!, 'claude-sonnet-4-5').nanos, 32_292_000);
  assert.deepEqual(fromOpenAIUsage(toOpenAIUsage(split)), split);
  assert.deepEqual(fromAnthropicUsage(toAnthropicUsage(split)), split);
});

test('cache reads billed as fresh input only when streaming', () => {
  for (const [pair, model, readTokens, readRate, nanos] of [
    ['anthropic-sonnet-4-5-read-write-5m', 'claude-sonnet-4-5', 10000, '0.3', 16_650_000], // 150 + 3000 + 7500 + 6000
    ['openai-gpt-4o-cached', 'gpt-4o', 1024, '1.25', 5_470_000], // 1190 + 1280 + 3000
  ] as const) {
    for (const name of [pair, `${pair}.stream`]) {
      for (const [path, u] of Object.entries(extractionPaths(fixture(name)))) {
        assert.equal(u!.cacheReadTokens, readTokens, `${name} via ${path}`);
        const c = price(u!, model);
        assert.equal(c.parts.cacheRead, part(readTokens, readRate), `${name} via ${path}: reads at the read rate`);
        assert.equal(c.nanos, nanos, `${name} via ${path}`);
      }
    }
  }
});

test('OpenAI cached tokens billed at full rate', () => {
  // prompt_tokens 1500 includes 1024 cached: 476 x $2.50/M + 1024 x $1.25/M + 300 x $10/M = 1190 + 1280 + 3000 = 5470 µ$
  // (the bug: 1500 x $2.50/M + 3000 = 6750 µ$, or cached billed twice: 8030 µ$).
  const u = fromOpenAIUsage({ prompt_tokens: 1500, completion_tokens: 300, total_tokens: 1800, prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 } })!;
  const c = price(u, 'gpt-4o');
  assert.equal(c.parts.input, part(476, '2.5'));
  assert.equal(c.parts.cacheRead, part(1024, '1.25'));
  assert.equal(c.nanos, 5_470_000);
  // Same for a reasoning model: 1024 x $1.10/M + 1024 x $0.55/M + 1800 x $4.40/M = 1126.4 + 563.2 + 7920 = 9609.6 µ$
  const o3 = fromOpenAIUsage({ prompt_tokens: 2048, completion_tokens: 1800, prompt_tokens_details: { cached_tokens: 1024 }, completion_tokens_details: { reasoning_tokens: 1536 } })!;
  assert.equal(price(o3, 'o3-mini').nanos, 9_609_600);
});

test('prompt_tokens including vs excluding cached tokens across providers', () => {
  // One call, reported both ways: OpenAI prompt_tokens INCLUDES cached tokens; Anthropic input_tokens EXCLUDES reads.
  const openai = fromOpenAIUsage({ prompt_tokens: 1500, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1024 } })!;
  const anthropic = fromAnthropicUsage({ input_tokens: 476, cache_read_input_tokens: 1024, cache_creation_input_tokens: 0, output_tokens: 300 })!;
  assert.equal(openai.inputTokens, 1500);
  assert.equal(anthropic.inputTokens, 1500);
  assert.deepEqual(anthropic, openai);
  assert.equal(toAnthropicUsage(openai).input_tokens, 476);
  assert.equal(toOpenAIUsage(anthropic).prompt_tokens, 1500);
  for (const u of [openai, anthropic]) {
    assert.equal(price(u, 'gpt-4o').nanos, 5_470_000); // 1190 + 1280 + 3000
    // 476 x $3/M + 1024 x $0.30/M + 300 x $15/M = 1428 + 307.2 + 4500 = 6235.2 µ$
    assert.equal(price(u, 'claude-sonnet-4-5').nanos, 6_235_200);
  }
  // Anthropic writes are inside the total too: 3 fresh + 2500 written = 2503, and the long-context threshold sees it.
  const big = fromAnthropicUsage({ input_tokens: 150000, cache_read_input_tokens: 60000, cache_creation_input_tokens: 5000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 5000 }, output_tokens: 1000 })!;
  assert.equal(big.inputTokens, 215000);
  assert.equal(price(big, 'claude-sonnet-4-5').nanos, 1_018_500_000); // 900000 + 36000 + 60000 + 22500 at the >200k tier
});

test('pricing override replaced the catalog entry (cache, batch and long-context rates lost)', () => {
  const at = (c: PriceCatalog, model: string, u: Usage, batch = false) => costOf(u, c.rates(model, undefined, AT)!, { batch });
  // 1500 prompt tokens of which 1024 cached, 300 out. List: 476 x $2.50/M + 1024 x $1.25/M + 300 x $10/M = 5470 µ$;
  // batch (50 %): 476 x 1.25 + 1024 x 0.625 + 300 x 5 = 595 + 640 + 1500 = 2735 µ$. The bug billed the cached call
  // 1500 x 2.5 + 3000 = 6750 µ$ and the batch call the same 6750 µ$.
  const cached = fromOpenAIUsage({ prompt_tokens: 1500, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1024 } })!;
  const list = new PriceCatalog({ 'gpt-4o': { input: 2.5, output: 10 } });
  for (const c of [catalog, list]) {
    assert.equal(at(c, 'gpt-4o', cached).nanos, 5_470_000);
    assert.equal(at(c, 'gpt-4o', cached, true).nanos, 2_735_000);
  }
  assert.equal(list.rates('gpt-4o', undefined, AT)!.source, 'config+genai-prices:openai/gpt-4o');
  // 20 % below list: cache reads and batch follow the input rate (2 x 1.25/2.5 = $1/M, batch $1/M and $0.50/M reads):
  // 476 x 2 + 1024 x 1 + 300 x 8 = 952 + 1024 + 2400 = 4376 µ$; batch 476 x 1 + 1024 x 0.5 + 300 x 4 = 2188 µ$.
  const discounted = new PriceCatalog({ 'gpt-4o': { input: 2, output: 8 } });
  assert.equal(at(discounted, 'gpt-4o', cached).nanos, 4_376_000);
  assert.equal(at(discounted, 'gpt-4o', cached, true).nanos, 2_188_000);
  // A rate set explicitly wins over the derived one: 1190 + 1024 x $0.50/M + 3000 = 4702 µ$.
  assert.equal(at(new PriceCatalog({ 'gpt-4o': { input: 2.5, output: 10, cacheRead: 0.5 } }), 'gpt-4o', cached).nanos, 4_702_000);
  // Long context: 215k input (150k fresh, 60k read, 5k 1-hour writes) is above Sonnet 4.5's 200k tier. At list
  // ($6, $0.60, $12, $22.50 per M): 900000 + 36000 + 60000 + 22500 µ$, with an override at list price too; an override
  // 20 % below list keeps the tier's ratio (4.8, 0.48, 9.6, 18): 720000 + 28800 + 48000 + 18000 = 814800 µ$.
  const big = fromAnthropicUsage({ input_tokens: 150000, cache_read_input_tokens: 60000, cache_creation_input_tokens: 5000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 5000 }, output_tokens: 1000 })!;
  assert.equal(at(new PriceCatalog({ 'claude-sonnet-4-5': { input: 3, output: 15 } }), 'claude-sonnet-4-5', big).nanos, 1_018_500_000);
  assert.equal(at(new PriceCatalog({ 'claude-sonnet-4-5': { input: 2.4, output: 12 } }), 'claude-sonnet-4-5', big).nanos, 814_800_000);
  // A custom model is priced from its override alone, as before: 476 x 0.3 + 1024 x 0.15 + 300 x 1.2 = 656.4 µ$, no batch rate.
  const custom = new PriceCatalog({ 'my-finetune': { input: 0.3, output: 1.2, cacheRead: 0.15 } });
  assert.equal(at(custom, 'my-finetune', cached).nanos, 656_400);
  assert.equal(at(custom, 'my-finetune', cached, true).nanos, 656_400);
  assert.equal(custom.rates('my-finetune')!.source, 'config');
});

test('pricing override: a set rate applies at every moment, unset rates keep the catalog\'s date conditions', () => {
  const usage = fromOpenAIUsage({ prompt_tokens: 3000, completion_tokens: 1000, prompt_tokens_details: { cached_tokens: 2000 } })!;
  const peak = new Date('2025-11-03T12:00:00Z');
  const offPeak = new Date('2025-11-03T20:00:00Z'); // DeepSeek off-peak: half price
  // Without an override: peak 1000 x 0.27 + 2000 x 0.07 + 1000 x 1.1 = 270 + 140 + 1100 = 1510 µ$; off-peak 755 µ$.
  assert.equal(costOf(usage, catalog.rates('deepseek-chat', undefined, peak)!).nanos, 1_510_000);
  assert.equal(costOf(usage, catalog.rates('deepseek-chat', undefined, offPeak)!).nanos, 755_000);
  // Both rates overridden at the standard price: the price written is the price paid, off-peak too (reads derive from it).
  const both = new PriceCatalog({ 'deepseek-chat': { input: 0.27, output: 1.1 } });
  for (const t of [peak, offPeak]) assert.equal(costOf(usage, both.rates('deepseek-chat', undefined, t)!).nanos, 1_510_000);
  // Only output overridden (a catalog caller may omit input; config requires both): input and reads still follow the window:
  // off-peak 1000 x 0.135 + 2000 x 0.035 + 1000 x 1.1 = 135 + 70 + 1100 = 1305 µ$.
  const out = new PriceCatalog({ 'deepseek-chat': { output: 1.1 } });
  assert.equal(costOf(usage, out.rates('deepseek-chat', undefined, offPeak)!).nanos, 1_305_000);
  assert.equal(costOf(usage, out.rates('deepseek-chat', undefined, peak)!).nanos, 1_510_000);
});

/** List prices in $/Mtok, written out here so the ledger check does not trust the catalog it is checking. */
const LIST: Record<string, { in: string; read: string; w5: string; w1: string; out: string }> = {
  'gpt-4o-mini': { in: '0.15', read: '0.075', w5: '0.15', w1: '0.15', out: '0.6' },
  'claude-sonnet-4-5': { in: '3', read: '0.3', w5: '3.75', w1: '6', out: '15' },
  'claude-haiku-4-5': { in: '1', read: '0.1', w5: '1.25', w1: '2', out: '5' },
};

/** A ledger row's cost (n$) recomputed by hand from its own token counts (base tier only: these prompts are small). */
function byHand(r: LedgerRow): number {
  const p = LIST[r.model!]!;
  const fresh = r.inputTokens - r.cacheReadTokens - r.cacheWrite5mTokens - r.cacheWrite1hTokens;
  const exact = part(fresh, p.in) + part(r.cacheReadTokens, p.read) + part(r.cacheWrite5mTokens, p.w5) + part(r.cacheWrite1hTokens, p.w1) + part(r.outputTokens, p.out);
  const scale = 10n ** 9n; // µ$ × 10^12 → n$
  const q = exact / scale;
  const twice = (exact % scale) * 2n;
  return Number(twice > scale || (twice === scale && q % 2n === 1n) ? q + 1n : q);
}

test('streamed traffic logged at $0', async () => {
  const t: TestGateway = await startTestGateway();
  try {
    const anthropicHeaders = { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-test' };
    const send = async (id: string, path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-request-id': id, ...headers }, body: JSON.stringify(body) });
      assert.equal(res.status, 200, `${id}: ${res.status}`);
      await res.text(); // read the whole stream: a stream is metered after its last byte
    };
    const rules = Array.from({ length: 400 }, (_, i) => `Rule ${i}: validate input ${i} before use.`).join(' ');
    const cases: { name: string; path: string; body: Record<string, unknown>; headers?: Record<string, string>; warm?: boolean; cached?: boolean }[] = [
      { name: 'openai', path: '/v1/chat/completions', body: { model: 'gpt-4o-mini', max_tokens: 40, messages: [{ role: 'user', content: 'Say hello in three languages.' }] } },
      { name: 'openai-cached', path: '/v1/chat/completions', warm: true, cached: true, body: { model: 'gpt-4o-mini', max_tokens: 40, messages: [{ role: 'system', content: rules }, { role: 'user', content: 'Which rule is first?' }] } },
      { name: 'anthropic-cached', path: '/v1/messages', headers: anthropicHeaders, warm: true, cached: true, body: { model: 'claude-sonnet-4-5', max_tokens: 64, system: [{ type: 'text', text: rules, cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: 'Summarize the rules.' }] } },
      { name: 'cross-wire', path: '/v1/chat/completions', body: { model: 'claude-haiku-4-5', max_tokens: 48, messages: [{ role: 'user', content: 'Name a prime number.' }] } },
    ];
    let n = 0;
    for (const c of cases) {
      if (c.warm) await send(`${c.name}-warm`, c.path, c.body, c.headers);
      await send(`${c.name}-plain`, c.path, c.body, c.headers);
      await send(`${c.name}-stream`, c.path, { ...c.body, stream: true }, c.headers);
      n += c.warm ? 3 : 2;
    }
    await t.waitRecords(n);
    await t.gw.ledger.writer.flushNow();
    const { rows } = await t.gw.ledger.store.query({ limit: 100 });
    const row = (id: string) => rows.find((r) => r.requestId === id) ?? assert.fail(`no ledger row for ${id}`);
    for (const c of cases) {
      const plain = row(`${c.name}-plain`);
      const streamed = row(`${c.name}-stream`);
      assert.equal(streamed.stream, true);
      assert.equal(streamed.usageEstimated, false, `${c.name}: streamed usage came from the provider, not the tokenizer`);
      assert.ok(streamed.costNanos > 0, `${c.name}: streamed row cost ${streamed.costNanos}`);
      assert.equal(streamed.costNanos, plain.costNanos, `${c.name}: streamed and non-streamed rows cost the same`);
      assert.equal(streamed.costNanos, byHand(streamed), `${c.name}: cost matches the list prices`);
      assert.equal(streamed.baselineCostNanos, plain.baselineCostNanos);
      for (const k of ['inputTokens', 'cacheReadTokens', 'cacheWrite5mTokens', 'cacheWrite1hTokens', 'outputTokens'] as const) assert.equal(streamed[k], plain[k], `${c.name}: ${k}`);
      if (c.cached) assert.ok(streamed.cacheReadTokens > 0 && streamed.cacheReadTokens < streamed.inputTokens, `${c.name}: prompt cache read`);
    }
  } finally {
    await t.close();
  }
});
