/** Usage conversion: every field survives every round trip exactly, in both providers' shapes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromAnthropicUsage, fromOpenAIUsage, toAnthropicUsage, toOpenAIUsage, emptyUsage, type Usage } from './usage.js';

type Json = Record<string, any>;

const usage = (u: Partial<Usage>): Usage => ({ ...emptyUsage(), ...u });

/** Real-shaped OpenAI usage blocks: plain, cached prompt, reasoning model. */
const OPENAI: Json[] = [
  { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
  { prompt_tokens: 2006, completion_tokens: 300, total_tokens: 2306, prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
  { prompt_tokens: 1500, completion_tokens: 900, total_tokens: 2400, prompt_tokens_details: { cached_tokens: 1152, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 640, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
];

/** Real-shaped Anthropic usage blocks: plain, 5m write, read + 1h write, mixed TTL writes, reasoning extension. */
const ANTHROPIC: Json[] = [
  { input_tokens: 21, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, output_tokens: 7 },
  { input_tokens: 9, cache_creation_input_tokens: 1536, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 1536, ephemeral_1h_input_tokens: 0 }, output_tokens: 40 },
  { input_tokens: 9, cache_creation_input_tokens: 2048, cache_read_input_tokens: 1536, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2048 }, output_tokens: 40 },
  { input_tokens: 3, cache_creation_input_tokens: 3000, cache_read_input_tokens: 100, cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 }, output_tokens: 1 },
  { input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 20 } },
];

/** The fields a client reads, in OpenAI's shape. */
const openaiFields = (u: Json) => ({
  prompt_tokens: u.prompt_tokens,
  completion_tokens: u.completion_tokens,
  total_tokens: u.total_tokens,
  cached_tokens: u.prompt_tokens_details?.cached_tokens,
  reasoning_tokens: u.completion_tokens_details?.reasoning_tokens,
});

test('Anthropic input_tokens excludes cache; Usage.inputTokens includes reads and writes of both TTLs', () => {
  assert.deepEqual(fromAnthropicUsage(ANTHROPIC[3]), usage({ inputTokens: 3103, cacheReadTokens: 100, cacheWrite5mTokens: 1000, cacheWrite1hTokens: 2000, outputTokens: 1 }));
  assert.deepEqual(fromAnthropicUsage(ANTHROPIC[4]), usage({ inputTokens: 5, outputTokens: 50, reasoningTokens: 20 }));
});

test('Anthropic thinking_tokens are reasoning tokens: a breakdown of output_tokens, not an addition', () => {
  const thinking = { input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 2820, output_tokens_details: { thinking_tokens: 1240 } };
  const u = fromAnthropicUsage(thinking)!;
  assert.deepEqual(u, usage({ inputTokens: 40, outputTokens: 2820, reasoningTokens: 1240 }));
  const asOpenAI = toOpenAIUsage(u);
  assert.equal(asOpenAI.completion_tokens, 2820);
  assert.equal((asOpenAI.completion_tokens_details as Json).reasoning_tokens, 1240);
  assert.equal(fromAnthropicUsage({ ...thinking, output_tokens_details: { thinking_tokens: 0 } })!.reasoningTokens, 0);
});

test('OpenAI prompt_tokens already includes cached tokens; reasoning is part of completion_tokens', () => {
  assert.deepEqual(fromOpenAIUsage(OPENAI[2]), usage({ inputTokens: 1500, cacheReadTokens: 1152, outputTokens: 900, reasoningTokens: 640 }));
  assert.deepEqual(fromOpenAIUsage({ prompt_tokens: 4, total_tokens: 4 }), usage({ inputTokens: 4 }), 'embeddings usage');
  const responsesShape = { input_tokens: 1500, input_tokens_details: { cached_tokens: 1152 }, output_tokens: 900, output_tokens_details: { reasoning_tokens: 640 }, total_tokens: 2400 };
  assert.deepEqual(fromOpenAIUsage(responsesShape), fromOpenAIUsage(OPENAI[2]), 'Responses-API field names');
  assert.equal(fromOpenAIUsage(undefined), undefined);
  assert.equal(fromAnthropicUsage(null), undefined);
});

test('Anthropic usage → Usage → Anthropic is exact for every field', () => {
  for (const u of ANTHROPIC) assert.deepEqual(toAnthropicUsage(fromAnthropicUsage(u)!), u);
});

test('OpenAI usage → Usage → OpenAI is exact for every field', () => {
  for (const u of OPENAI) assert.deepEqual(toOpenAIUsage(fromOpenAIUsage(u)!), u);
});

test('Anthropic → OpenAI shape → Anthropic is exact (cache writes ride as extension fields)', () => {
  for (const u of ANTHROPIC) {
    const asOpenAI = toOpenAIUsage(fromAnthropicUsage(u)!);
    assert.equal(asOpenAI.prompt_tokens, u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens);
    assert.equal((asOpenAI.prompt_tokens_details as Json).cached_tokens, u.cache_read_input_tokens);
    assert.deepEqual(toAnthropicUsage(fromOpenAIUsage(asOpenAI)!), u);
  }
});

test('OpenAI → Anthropic shape → OpenAI is exact', () => {
  for (const u of OPENAI) {
    const asAnthropic = toAnthropicUsage(fromOpenAIUsage(u)!);
    assert.equal(asAnthropic.input_tokens, u.prompt_tokens - u.prompt_tokens_details.cached_tokens);
    assert.equal(asAnthropic.cache_read_input_tokens, u.prompt_tokens_details.cached_tokens);
    assert.equal(asAnthropic.cache_creation_input_tokens, 0);
    assert.deepEqual(openaiFields(toOpenAIUsage(fromAnthropicUsage(asAnthropic)!)), openaiFields(u));
  }
});

test('cache writes without a TTL breakdown (older API versions) are 5-minute writes', () => {
  assert.deepEqual(fromAnthropicUsage({ input_tokens: 4, cache_creation_input_tokens: 1200, cache_read_input_tokens: 0, output_tokens: 2 }), usage({ inputTokens: 1204, cacheWrite5mTokens: 1200, outputTokens: 2 }));
  assert.deepEqual(fromAnthropicUsage({ input_tokens: 4, cache_creation_input_tokens: 1200, cache_creation: {}, output_tokens: 2 }), usage({ inputTokens: 1204, cacheWrite5mTokens: 1200, outputTokens: 2 }));
});

test('a restated cache-write total is authoritative over a stale TTL breakdown (regression: streamed usage merge)', () => {
  // message_start gave the breakdown; a later message_delta restated a larger cumulative total without one.
  const merged = { input_tokens: 4, cache_creation_input_tokens: 1500, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1200 }, output_tokens: 9 };
  const u = fromAnthropicUsage(merged)!;
  assert.deepEqual(u, usage({ inputTokens: 1504, cacheWrite5mTokens: 300, cacheWrite1hTokens: 1200, outputTokens: 9 }));
  assert.equal(toAnthropicUsage(u).cache_creation_input_tokens, 1500);
});

test('garbage counts are ignored, never negative or fractional', () => {
  assert.deepEqual(fromOpenAIUsage({ prompt_tokens: -3, completion_tokens: 2.7, prompt_tokens_details: { cached_tokens: 'x' } }), usage({ outputTokens: 2 }));
  assert.deepEqual(fromAnthropicUsage({ input_tokens: Number.NaN, output_tokens: Infinity }), usage({}));
});
