import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compressToolResults, minifyJson } from './compress.js';

test('minifyJson: whitespace between tokens only — strings, escapes, duplicate keys and number spellings kept exactly', () => {
  const src = '{\n  "a b": "x  y\\n  \\" z",\n  "n": 12345678901234567890,\n  "f": 1.50,\n  "d": 1, "d": 2,\n  "arr": [ 1 ,\t2 ]\n}';
  const m = minifyJson(src)!;
  assert.equal(m, '{"a b":"x  y\\n  \\" z","n":12345678901234567890,"f":1.50,"d":1,"d":2,"arr":[1,2]}');
  assert.deepEqual(JSON.parse(m), JSON.parse(src), 'same document');
  assert.equal(minifyJson('{"a":1}'), undefined, 'already minimal: unchanged');
  assert.equal(minifyJson('not json {  }'), undefined);
  assert.equal(minifyJson('{ "a": 1, }'), undefined, 'invalid JSON is left alone');
  assert.equal(minifyJson('"  a string  "'), undefined, 'only objects and arrays');
});

test('compressToolResults: OpenAI tool messages and Anthropic tool_result blocks; other content untouched; input not mutated', () => {
  const pretty = JSON.stringify({ results: [{ id: 1, title: 'A  B' }, { id: 2, title: 'C' }] }, null, 2);
  const openai = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'user', content: pretty },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 's', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: pretty },
      { role: 'tool', tool_call_id: 'c2', content: 'plain text   result' },
    ],
  };
  const frozen = JSON.stringify(openai);
  const r = compressToolResults(openai, 'gpt-4o-mini');
  assert.equal(JSON.stringify(openai), frozen);
  assert.equal(r.changed, 1);
  assert.equal(r.body.messages[0].content, pretty, 'user text is never touched');
  assert.equal(r.body.messages[2].content, '{"results":[{"id":1,"title":"A  B"},{"id":2,"title":"C"}]}');
  assert.equal(r.body.messages[3].content, 'plain text   result');
  assert.ok(r.after < r.before, `${r.before} > ${r.after}`);
  const anthropic = {
    model: 'claude-sonnet-4-5',
    messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: pretty }] }, { type: 'text', text: pretty }] }],
  };
  const a = compressToolResults(anthropic, 'claude-sonnet-4-5');
  assert.equal(a.changed, 1);
  assert.deepEqual(JSON.parse(a.body.messages[0].content[0].content[0].text), JSON.parse(pretty));
  assert.equal(a.body.messages[0].content[1].text, pretty);
  assert.equal(compressToolResults({ messages: [{ role: 'user', content: 'x' }] }, '').changed, 0);
});
