/** Request translation, OpenAI Chat Completions ⇄ Anthropic Messages, checked by round trips of real-shaped requests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openaiToAnthropicRequest, anthropicToOpenAIRequest } from './translate-request.js';
import { GatewayError } from '../../pipeline/errors.js';

type Json = Record<string, any>;

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const weatherTool = { type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

/** A multi-turn OpenAI request exercising every translated feature. */
const openaiReq = (extra: Json = {}): Json => ({
  model: 'claude-sonnet-4-5',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: [{ type: 'text', text: 'What is in this picture, and the weather?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }, { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }, { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    { role: 'tool', tool_call_id: 'call_2', content: 'snow' },
    { role: 'user', content: 'Thanks. Summarise.' },
    { role: 'assistant', content: 'Paris sunny, Oslo snow.' },
    { role: 'user', content: 'And tomorrow?' },
  ],
  tools: [weatherTool],
  tool_choice: 'auto',
  stop: ['END', '###'],
  temperature: 0.3,
  top_p: 0.9,
  max_tokens: 256,
  user: 'user-7',
  ...extra,
});

test('OpenAI → Anthropic: system, images, tool calls and results in one user turn, tools, sampling', () => {
  const a = openaiToAnthropicRequest(openaiReq({ stream: true }));
  assert.equal(a.system, 'You are terse.');
  assert.equal(a.max_tokens, 256);
  assert.equal(a.stream, true);
  assert.deepEqual(a.stop_sequences, ['END', '###']);
  assert.equal(a.temperature, 0.3);
  assert.equal(a.top_p, 0.9);
  assert.deepEqual(a.metadata, { user_id: 'user-7' });
  assert.deepEqual(a.tool_choice, { type: 'auto' });
  assert.deepEqual(a.tools, [{ name: 'get_weather', description: 'Current weather', input_schema: weatherTool.function.parameters }]);
  assert.deepEqual(a.messages.map((m: Json) => m.role), ['user', 'assistant', 'user', 'assistant', 'user']);
  assert.deepEqual(a.messages[0].content[1], { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } });
  assert.deepEqual(a.messages[0].content[2], { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } });
  assert.deepEqual(a.messages[1].content, [
    { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Oslo' } },
  ]);
  // Both results and the user's next words form one user turn, results first, as Anthropic requires.
  assert.deepEqual(a.messages[2].content, [
    { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
    { type: 'tool_result', tool_use_id: 'call_2', content: 'snow' },
    { type: 'text', text: 'Thanks. Summarise.' },
  ]);
  assert.equal(a.messages[3].content, 'Paris sunny, Oslo snow.');
  assert.equal(a.messages[4].content, 'And tomorrow?');
});

test('OpenAI → Anthropic → OpenAI keeps messages, tools, tool_choice, stop, temperature and images', () => {
  for (const tool_choice of ['auto', 'required', 'none', { type: 'function', function: { name: 'get_weather' } }]) {
    const req = openaiReq({ tool_choice, stream: true });
    const back = anthropicToOpenAIRequest(openaiToAnthropicRequest(req));
    assert.deepEqual(back, { ...req, model: req.model }, JSON.stringify(tool_choice));
  }
});

test('Anthropic → OpenAI → Anthropic keeps system, blocks, tools, tool_choice, stop_sequences, temperature and images', () => {
  const req: Json = {
    model: 'gpt-4o',
    max_tokens: 512,
    system: 'Answer in French.',
    messages: [
      { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } }, { type: 'text', text: 'Describe.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Lyon' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: [{ type: 'text', text: 'rain' }, { type: 'text', text: '12C' }] }] },
      { role: 'assistant', content: 'Il pleut.' },
      { role: 'user', content: 'Merci' },
    ],
    tools: [{ name: 'get_weather', description: 'Current weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    stop_sequences: ['\n\nHuman:'],
    temperature: 0.2,
    top_p: 0.5,
    metadata: { user_id: 'u-1' },
    stream: true,
  };
  const o = anthropicToOpenAIRequest(req);
  assert.deepEqual(o.messages[0], { role: 'system', content: 'Answer in French.' });
  assert.deepEqual(o.messages[1].content[0], { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } });
  assert.deepEqual(o.messages[2].tool_calls, [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } }]);
  assert.deepEqual(o.messages[3], { role: 'tool', tool_call_id: 'toolu_01', content: [{ type: 'text', text: 'rain' }, { type: 'text', text: '12C' }] });
  assert.equal(o.tool_choice, 'auto');
  assert.equal(o.parallel_tool_calls, false);
  assert.deepEqual(o.stop, ['\n\nHuman:']);
  assert.equal(o.user, 'u-1');
  assert.deepEqual(openaiToAnthropicRequest(o), req);
  for (const tc of [{ type: 'any' }, { type: 'none' }, { type: 'tool', name: 'get_weather' }]) {
    assert.deepEqual(openaiToAnthropicRequest(anthropicToOpenAIRequest({ ...req, tool_choice: tc })).tool_choice, tc);
  }
});

test('cache_control breakpoints on system and user parts reach an Anthropic model', () => {
  const cc = { type: 'ephemeral', ttl: '1h' };
  const a = openaiToAnthropicRequest({
    model: 'claude-sonnet-4-5',
    messages: [
      { role: 'system', content: [{ type: 'text', text: 'long policy', cache_control: cc }] },
      { role: 'developer', content: 'extra rule' },
      { role: 'user', content: [{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'q' }] },
    ],
  });
  assert.deepEqual(a.system, [{ type: 'text', text: 'long policy', cache_control: cc }, { type: 'text', text: 'extra rule' }]);
  assert.deepEqual(a.messages[0].content, [{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'q' }]);
});

test('Anthropic multi-block system prompt stays separate parts (not glued together) for OpenAI', () => {
  const o = anthropicToOpenAIRequest({ model: 'gpt-4o', max_tokens: 5, system: [{ type: 'text', text: 'Rule one.' }, { type: 'text', text: 'Rule two.', cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(o.messages[0], { role: 'system', content: [{ type: 'text', text: 'Rule one.' }, { type: 'text', text: 'Rule two.' }] });
});

test('OpenAI defaults for Anthropic: max_tokens filled, max_completion_tokens preferred, temperature clamped to 1', () => {
  const base = { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] };
  assert.equal(openaiToAnthropicRequest(base).max_tokens, 4096);
  assert.equal(openaiToAnthropicRequest({ ...base, max_tokens: 50, max_completion_tokens: 9 }).max_tokens, 9);
  assert.equal(openaiToAnthropicRequest({ ...base, temperature: 1.7 }).temperature, 1);
  assert.deepEqual(openaiToAnthropicRequest({ ...base, stop: 'STOP' }).stop_sequences, ['STOP']);
  assert.equal(openaiToAnthropicRequest(base).tool_choice, undefined);
});

test('json response_format becomes a system instruction for Anthropic', () => {
  const a = openaiToAnthropicRequest({ model: 'claude-haiku-4-5', messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'object' } } } });
  assert.equal(a.system[0].text, 'S');
  assert.match(a.system[1].text, /JSON Schema[\s\S]*"type":"object"/);
});

test('an empty assistant turn is dropped rather than sent as an empty text block Anthropic would reject', () => {
  const a = openaiToAnthropicRequest({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: '' }, { role: 'user', content: 'b' }] });
  assert.deepEqual(a.messages, [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }]);
});

test('untranslatable requests fail as 400s naming the field', () => {
  assert.throws(() => openaiToAnthropicRequest({ model: 'claude-haiku-4-5', n: 2, messages: [{ role: 'user', content: 'x' }] }), (e: GatewayError) => e.status === 400 && e.param === 'n');
  const badArgs = { model: 'claude-haiku-4-5', messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{not json' } }] }] };
  assert.throws(() => openaiToAnthropicRequest(badArgs), (e: GatewayError) => e.status === 400 && e.param === 'messages');
});
