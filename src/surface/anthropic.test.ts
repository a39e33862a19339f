/** The Anthropic Messages validator: real-shaped requests pass; malformed ones fail naming the field in the message. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateMessages } from './anthropic.js';
import { GatewayError } from '../pipeline/errors.js';

type Json = Record<string, any>;
const base = (extra: Json = {}) => ({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...extra });

const VALID: [string, Json][] = [
  ['minimal', base()],
  ['system as text blocks with cache_control', base({ system: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral', ttl: '1h' } }] })],
  ['tool round trip', base({
    tools: [{ name: 'get_weather', description: 'w', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }, { type: 'web_search_20250305', name: 'web_search' }],
    tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: '…', signature: 's' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '12C' }] },
    ],
  })],
  ['image block', base({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw==' } }, { type: 'text', text: 'what is it?' }] }] })],
  ['sampling, stop sequences, metadata, thinking, stream', base({ temperature: 1, top_p: 0.9, top_k: 40, stop_sequences: ['END'], metadata: { user_id: 'u1' }, thinking: { type: 'enabled', budget_tokens: 2048 }, stream: true })],
];

for (const [name, body] of VALID) test(`accepts: ${name}`, () => assert.doesNotThrow(() => validateMessages(body)));

const INVALID: [string, unknown, string][] = [
  ['body is an array', [], 'body'],
  ['missing max_tokens', { model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens'],
  ['max_tokens 0', base({ max_tokens: 0 }), 'max_tokens'],
  ['max_tokens Infinity', base({ max_tokens: Infinity }), 'max_tokens'],
  ['role system inside messages', base({ messages: [{ role: 'system', content: 'x' }] }), 'messages.0.role'],
  ['block type unknown', base({ messages: [{ role: 'user', content: [{ type: 'video' }] }] }), 'messages.0.content.0.type'],
  ['text block without text', base({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }), 'messages.0.content.0.text'],
  ['tool_result without tool_use_id', base({ messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] }), 'messages.0.content.0.tool_use_id'],
  ['temperature 1.5', base({ temperature: 1.5 }), 'temperature'],
  ['custom tool without input_schema', base({ tools: [{ name: 'f' }] }), 'tools.0.input_schema'],
  ['tool_choice tool without name', base({ tool_choice: { type: 'tool' } }), 'tool_choice.name'],
  ['thinking as a boolean', base({ thinking: true }), 'thinking'],
  ['thinking budget as a string', base({ thinking: { type: 'enabled', budget_tokens: '2048' } }), 'thinking.budget_tokens'],
  ['metadata.user_id a number', base({ metadata: { user_id: 1 } }), 'metadata.user_id'],
];

for (const [name, body, param] of INVALID) {
  test(`rejects: ${name}`, () => {
    assert.throws(
      () => validateMessages(body),
      (e: unknown) => e instanceof GatewayError && e.status === 400 && e.param === param && e.message.includes(param),
    );
  });
}
