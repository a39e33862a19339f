/** Non-streaming response translation both ways, on real-shaped bodies; usage must round-trip exactly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicToOpenAIResponse, openaiToAnthropicResponse, finishOf, stopOf } from './translate-response.js';
import { anthropicMessage, openaiTextCompletion, openaiToolCompletion } from './wire-fixtures.js';

type Json = Record<string, any>;

test('Anthropic message → OpenAI completion: text, tool calls, finish reason, id, usage including cache', () => {
  const o = anthropicToOpenAIResponse(anthropicMessage);
  assert.equal(o.object, 'chat.completion');
  assert.equal(o.id, 'chatcmpl-01XFDUDYJgAACzvnptvVoYEL');
  assert.equal(o.model, 'claude-sonnet-4-5-20250929');
  assert.deepEqual(o.choices[0].message, {
    role: 'assistant',
    content: 'Let me check the weather.',
    refusal: null,
    tool_calls: [{ id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
  });
  assert.equal(o.choices[0].finish_reason, 'tool_calls');
  // 12 fresh + 1536 read + 2048 written: OpenAI's prompt_tokens counts all of them, cached_tokens the reads.
  assert.equal(o.usage.prompt_tokens, 3596);
  assert.equal(o.usage.prompt_tokens_details.cached_tokens, 1536);
  assert.equal(o.usage.completion_tokens, 89);
  assert.equal(o.usage.total_tokens, 3685);
  assert.equal(o.usage.cache_creation_input_tokens, 2048);
  assert.deepEqual(o.usage.cache_creation, { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2048 });
});

test('Anthropic → OpenAI → Anthropic keeps id, content, stop reason and every usage field', () => {
  const back = openaiToAnthropicResponse(anthropicToOpenAIResponse(anthropicMessage));
  const { service_tier: _s, ...usage } = anthropicMessage.usage;
  assert.deepEqual(back, { ...anthropicMessage, usage });
});

test('OpenAI completion → Anthropic message: text and parallel tool calls become blocks; usage split the Anthropic way', () => {
  const t = openaiToAnthropicResponse(openaiTextCompletion);
  assert.deepEqual(t.content, [{ type: 'text', text: 'Hello there, friend.' }]);
  assert.equal(t.stop_reason, 'end_turn');
  assert.equal(t.id, 'msg_B9MHDbslfkBeAs8l4bebGdFOJ6PeG');
  assert.deepEqual(t.usage, {
    input_tokens: 86,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 1920,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: 300,
    output_tokens_details: { reasoning_tokens: 256 },
  });
  const tools = openaiToAnthropicResponse(openaiToolCompletion);
  assert.equal(tools.stop_reason, 'tool_use');
  assert.deepEqual(tools.content, [
    { type: 'tool_use', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'call_ABCO9pD3xa9XTPNJ32zg2hcB', name: 'get_weather', input: { city: 'Oslo' } },
  ]);
});

test('OpenAI → Anthropic → OpenAI keeps message, finish reason and usage (prompt, cached, completion, reasoning)', () => {
  for (const c of [openaiTextCompletion, openaiToolCompletion]) {
    const back = anthropicToOpenAIResponse(openaiToAnthropicResponse(c));
    const { annotations: _a, ...message } = c.choices[0].message;
    assert.equal(back.id, c.id);
    assert.equal(back.model, c.model);
    assert.deepEqual(back.choices, [{ ...c.choices[0], message }]);
    assert.deepEqual(back.usage, c.usage);
  }
});

test('finish and stop reasons map both ways; unknown values fall back to the plain stop', () => {
  const pairs: [string, string][] = [['end_turn', 'stop'], ['max_tokens', 'length'], ['tool_use', 'tool_calls'], ['refusal', 'content_filter']];
  for (const [stop, finish] of pairs) {
    assert.equal(finishOf(stop), finish);
    assert.equal(stopOf(finish), stop);
  }
  assert.equal(finishOf('stop_sequence'), 'stop');
  assert.equal(finishOf('pause_turn'), 'stop');
  for (const odd of [undefined, null, 'hasOwnProperty', '__proto__', 42]) {
    assert.equal(finishOf(odd), 'stop');
    assert.equal(stopOf(odd), 'end_turn');
  }
});

test('odd bodies translate without throwing: no usage, unparseable tool arguments, no content', () => {
  const noUsage = anthropicToOpenAIResponse({ id: 'msg_x', model: 'claude-haiku-4-5', content: [], stop_reason: 'end_turn' });
  assert.equal(noUsage.choices[0].message.content, '');
  assert.equal(noUsage.usage.prompt_tokens, 0);
  const bad: Json = { id: 'chatcmpl-x', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }, finish_reason: 'tool_calls' }] };
  assert.deepEqual(openaiToAnthropicResponse(bad).content, [{ type: 'tool_use', id: 'c', name: 'f', input: { _raw: '{"a":' } }]);
  assert.deepEqual(openaiToAnthropicResponse({ id: 'chatcmpl-y', choices: [] }).content, []);
});

test('an OpenAI refusal becomes Anthropic refusal text rather than an empty message', () => {
  const refusal: Json = { id: 'chatcmpl-r', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: "I can't help with that." }, finish_reason: 'stop' }] };
  const a = openaiToAnthropicResponse(refusal);
  assert.deepEqual(a.content, [{ type: 'text', text: "I can't help with that." }]);
  assert.equal(a.stop_reason, 'refusal');
});
