import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TOOL, forceSchemaTool, forcedToolAnswer, forcedToolStream } from './structured.js';
import { anthropicToOpenAIResponse } from '../shared/translate-response.js';
import type { Json } from '../adapter.js';

const SCHEMA = { type: 'object', properties: { city: { type: 'string' }, temp: { type: 'number' } }, required: ['city', 'temp'] };
const rf = (schema: Json, name = 'weather'): Json => ({ type: 'json_schema', json_schema: { name, schema } });
const base = (): Json => ({ model: 'claude-x', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'Weather in Paris?' }] });

test('forceSchemaTool: the schema becomes one tool, forced by name; everything else in the body is kept', () => {
  const body = base();
  const r = forceSchemaTool(body, rf(SCHEMA))!;
  assert.deepEqual(r.state, { tool: 'weather', wrapped: false });
  assert.deepEqual(r.body.tools, [{ name: 'weather', description: 'Give your answer as the input of this tool.', input_schema: SCHEMA }]);
  assert.deepEqual(r.body.tool_choice, { type: 'tool', name: 'weather' });
  assert.equal(r.body.system, 'Be brief.');
  assert.deepEqual(r.body.messages, body.messages);
  assert.equal(body.tools, undefined, 'not mutated');
  // An unusable name gets the default one; not applicable with client tools, with thinking, or without a schema.
  assert.equal(forceSchemaTool(body, rf(SCHEMA, 'has spaces'))!.state.tool, DEFAULT_TOOL);
  assert.equal(forceSchemaTool({ ...body, tools: [{ name: 'f', input_schema: { type: 'object' } }] }, rf(SCHEMA)), undefined);
  assert.equal(forceSchemaTool({ ...body, thinking: { type: 'enabled', budget_tokens: 2000 } }, rf(SCHEMA)), undefined);
  assert.equal(forceSchemaTool(body, { type: 'json_object' }), undefined);
});

test('forceSchemaTool: a non-object schema is wrapped (its $defs at the wrapper root) and unwrapped on the way back', () => {
  const schema = { type: 'array', items: { $ref: '#/$defs/item' }, $defs: { item: { type: 'string' } } };
  const r = forceSchemaTool(base(), rf(schema))!;
  assert.equal(r.state.wrapped, true);
  assert.deepEqual(r.body.tools[0].input_schema, { type: 'object', properties: { value: { type: 'array', items: { $ref: '#/$defs/item' } } }, required: ['value'], additionalProperties: false, $defs: { item: { type: 'string' } } });
  const msg = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'tool_use', id: 'toolu_1', name: 'weather', input: { value: ['a', 'b'] } }], stop_reason: 'tool_use', usage: { input_tokens: 5, output_tokens: 3 } };
  assert.equal(forcedToolAnswer(msg, r.state).content[0].text, '["a","b"]');
});

test('forcedToolAnswer: the tool_use input becomes the only text; the OpenAI translation then has the JSON as content and finish_reason stop', () => {
  const msg = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [{ type: 'text', text: 'Sure:' }, { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris', temp: 12 } }],
    stop_reason: 'tool_use',
    usage: { input_tokens: 5, output_tokens: 3 },
  };
  const out = anthropicToOpenAIResponse(forcedToolAnswer(msg, { tool: 'weather', wrapped: false }));
  assert.equal(out.choices[0].message.content, '{"city":"Paris","temp":12}');
  assert.equal(out.choices[0].message.tool_calls, undefined);
  assert.equal(out.choices[0].finish_reason, 'stop');
  assert.equal(out.usage.completion_tokens, 3);
  // max_tokens stays max_tokens (a cut answer is reported as cut); no matching tool_use: the message as it was.
  assert.equal(forcedToolAnswer({ ...msg, stop_reason: 'max_tokens' }, { tool: 'weather', wrapped: false }).stop_reason, 'max_tokens');
  assert.equal(forcedToolAnswer(msg, { tool: 'other', wrapped: false }), msg);
});

test('forcedToolStream: tool_use block → text block with the input_json deltas; other text dropped; stop_reason end_turn', () => {
  const rw = forcedToolStream({ tool: 'weather', wrapped: false });
  const run = (events: [string, Json][]) => events.flatMap(([t, d]) => rw(t, { type: t, ...d }));
  const out = run([
    ['message_start', { message: { id: 'msg_1', usage: { input_tokens: 5 } } }],
    ['content_block_start', { index: 0, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Sure:' } }],
    ['content_block_stop', { index: 0 }],
    ['content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'weather', input: {} } }],
    ['content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } }],
    ['content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":"Pa' } }],
    ['content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: 'ris","temp":12}' } }],
    ['content_block_stop', { index: 1 }],
    ['message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } }],
    ['message_stop', {}],
  ]);
  assert.deepEqual(out.map((e) => e.type), ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  assert.deepEqual(out[1]!.data.content_block, { type: 'text', text: '' });
  assert.equal(out.filter((e) => e.type === 'content_block_delta').map((e) => e.data.delta.text).join(''), '{"city":"Paris","temp":12}');
  assert.equal(out[5]!.data.delta.stop_reason, 'end_turn');
  assert.equal(out[5]!.data.usage.output_tokens, 9);
  // Wrapped: held until the block ends, then sent unwrapped in one delta.
  const w = forcedToolStream({ tool: 'weather', wrapped: true });
  w('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'weather', input: {} } });
  assert.deepEqual(w('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"value":[1,' } }), []);
  w('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '2]}' } });
  const end = w('content_block_stop', { type: 'content_block_stop', index: 0 });
  assert.equal(end[0]!.data.delta.text, '[1,2]');
  assert.equal(end[1]!.type, 'content_block_stop');
});
