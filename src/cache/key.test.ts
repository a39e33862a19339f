import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheKey, canonicalJson, nonDeterministic, semanticParts } from './key.js';
import { Assembler, replayEvents } from './replay.js';

const parts = (body: Record<string, unknown>, o: Partial<{ surface: string; family: string; model: string }> = {}) => ({ surface: 'openai', family: 'openai', model: 'gpt-4o-mini', body, ...o });
const msgs = [{ role: 'user', content: 'hi' }];

test('cache key: canonical (key order, transport and attribution fields ignored), answer fields count', () => {
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
  const k = cacheKey(parts({ model: 'x', messages: msgs, temperature: 0 }));
  assert.equal(cacheKey(parts({ temperature: 0, messages: msgs, stream: true, stream_options: { include_usage: true }, user: 'u', metadata: { a: 1 }, model: 'y' })), k);
  for (const extra of [{ temperature: 0.1 }, { max_tokens: 5 }, { tools: [{ type: 'function', function: { name: 'f' } }] }, { response_format: { type: 'json_object' } }, { seed: 1 }, { stop: ['x'] }]) {
    assert.notEqual(cacheKey(parts({ messages: msgs, temperature: 0, ...extra })), k, JSON.stringify(extra));
  }
  assert.notEqual(cacheKey(parts({ messages: msgs, temperature: 0 }, { model: 'gpt-4o' })), k);
  assert.notEqual(cacheKey(parts({ messages: msgs, temperature: 0 }, { family: 'anthropic' })), k);
  assert.notEqual(cacheKey(parts({ messages: msgs, temperature: 0 }, { surface: 'anthropic' })), k);
});

test('non-determinism: temperature > 0 or unset without seed, n > 1; Anthropic top_k 1 is greedy', () => {
  assert.equal(nonDeterministic('openai', { temperature: 0 }), undefined);
  assert.match(nonDeterministic('openai', {})!, /unset/);
  assert.match(nonDeterministic('openai', { temperature: 0.5 })!, /0\.5/);
  assert.equal(nonDeterministic('openai', { temperature: 0.5, seed: 3 }), undefined);
  assert.equal(nonDeterministic('openai', { temperature: 0, n: 2 }), 'n>1');
  assert.ok(nonDeterministic('anthropic', { temperature: 0.5, seed: 3 }), 'Anthropic has no seed');
  assert.equal(nonDeterministic('anthropic', { temperature: 1, top_k: 1 }), undefined);
});

test('semantic parts: scope covers everything but the last user turn; text is that turn', () => {
  const a = semanticParts(parts({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Turn on the lights' }], temperature: 0 }))!;
  const b = semanticParts(parts({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: [{ type: 'text', text: 'turn off the lights' }] }], temperature: 0 }))!;
  assert.equal(a.text, 'Turn on the lights');
  assert.equal(b.text, 'turn off the lights');
  assert.equal(a.scope, b.scope);
  assert.notEqual(semanticParts(parts({ messages: [{ role: 'system', content: 'T' }, { role: 'user', content: 'x' }] }))!.scope, a.scope);
  assert.notEqual(semanticParts(parts({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }], temperature: 0 }))!.scope, a.scope);
  assert.equal(semanticParts(parts({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] })), undefined);
  assert.equal(semanticParts(parts({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })), undefined);
});

test('replay ↔ assemble round trip: OpenAI text + tool calls + n=2, Anthropic text + tool_use', () => {
  const oa = {
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', system_fingerprint: 'fp',
    choices: [
      { index: 0, message: { role: 'assistant', content: 'Hello there, this is a longer answer with words.', refusal: null }, logprobs: null, finish_reason: 'stop' },
      { index: 1, message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, logprobs: null, finish_reason: 'tool_calls' },
    ],
    usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
  };
  const evs = replayEvents('openai', JSON.stringify(oa), true);
  assert.equal(evs.at(-1), 'data: [DONE]\n\n');
  const asm = new Assembler('openai');
  for (const e of evs) asm.push(e);
  assert.ok(asm.complete);
  assert.deepEqual(JSON.parse(asm.document()!), oa);
  const noUsage = replayEvents('openai', JSON.stringify(oa), false);
  assert.ok(noUsage.every((e) => !e.includes('"usage"')));

  const an = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [{ type: 'text', text: 'Sure, calling the tool now.' }, { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: [1, 2] } }], stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 7 } };
  const asm2 = new Assembler('anthropic');
  // Chunk boundaries anywhere: feed the replay one character at a time.
  for (const ch of replayEvents('anthropic', JSON.stringify(an), true).join('')) asm2.push(ch);
  assert.ok(asm2.complete);
  assert.deepEqual(JSON.parse(asm2.document()!), an);
});

test('assembler: a cut stream or an error event is never complete', () => {
  const evs = replayEvents('openai', JSON.stringify({ id: 'x', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'a b c' }, finish_reason: 'stop' }] }), false);
  const cut = new Assembler('openai');
  for (const e of evs.slice(0, -2)) cut.push(e);
  assert.equal(cut.complete, false);
  assert.equal(cut.document(), undefined);
  const err = new Assembler('openai');
  for (const e of evs.slice(0, 2)) err.push(e);
  err.push('data: {"error":{"message":"boom"}}\n\n');
  err.push('data: [DONE]\n\n');
  assert.equal(err.complete, false);
  const a = new Assembler('anthropic');
  a.push('event: message_start\ndata: {"type":"message_start","message":{"id":"m","content":[]}}\n\n');
  a.push('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"x"}}\n\n');
  assert.equal(a.complete, false);
});
