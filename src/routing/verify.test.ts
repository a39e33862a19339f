import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readAnswer, schemaProblem, verifyAnswer, type Verifier } from './verify.js';
import { routeInput } from './signals.js';

const chat = (content: string, extra: object = {}) => ({ choices: [{ message: { role: 'assistant', content, ...extra } }] });
const opts = (verifiers: Verifier[]) => ({ verifiers, minChars: 3, minMeanLogprob: -1, toolNames: ['get_weather'] });
const x = (body: object = {}) => routeInput({ messages: [{ role: 'user', content: 'q' }], ...body });

test('empty / too short', () => {
  assert.equal(verifyAnswer(readAnswer(chat('')), x(), opts(['empty']))?.verifier, 'empty');
  assert.equal(verifyAnswer(readAnswer(chat('ok')), x(), opts(['empty']))?.verifier, 'empty');
  assert.equal(verifyAnswer(readAnswer(chat('fine answer')), x(), opts(['empty'])), undefined);
});

test('refusal and "I don\'t know"', () => {
  for (const t of ["I'm sorry, but I can't help with that.", "I don't know.", 'As an AI, I cannot do that', 'Unfortunately, I cannot answer.']) {
    assert.equal(verifyAnswer(readAnswer(chat(t)), x(), opts(['refusal']))?.verifier, 'refusal', t);
  }
  assert.equal(verifyAnswer(readAnswer(chat('ok', { refusal: 'no' })), x(), opts(['refusal']))?.verifier, 'refusal');
  assert.equal(verifyAnswer(readAnswer(chat('Paris is the capital of France.')), x(), opts(['refusal'])), undefined);
});

test('json: response_format json_object and json_schema', () => {
  const obj = x({ response_format: { type: 'json_object' } });
  assert.equal(verifyAnswer(readAnswer(chat('{"a": ')), obj, opts(['json']))?.why, 'not valid JSON');
  assert.equal(verifyAnswer(readAnswer(chat('[1]')), obj, opts(['json']))?.why, 'not a JSON object');
  assert.equal(verifyAnswer(readAnswer(chat('{"a": 1}')), obj, opts(['json'])), undefined);
  const schema = { type: 'object', required: ['city', 'temp'], properties: { city: { type: 'string' }, temp: { type: 'number' } }, additionalProperties: false };
  const sch = x({ response_format: { type: 'json_schema', json_schema: { name: 'w', schema } } });
  assert.match(verifyAnswer(readAnswer(chat('{"city": "Oslo"}')), sch, opts(['json']))!.why, /missing required property temp/);
  assert.match(verifyAnswer(readAnswer(chat('{"city": 1, "temp": 2}')), sch, opts(['json']))!.why, /\$\.city: expected string/);
  assert.match(verifyAnswer(readAnswer(chat('{"city": "a", "temp": 2, "x": 1}')), sch, opts(['json']))!.why, /unexpected property x/);
  assert.equal(verifyAnswer(readAnswer(chat('{"city": "a", "temp": 2.5}')), sch, opts(['json'])), undefined);
  assert.equal(verifyAnswer(readAnswer(chat('not json')), x(), opts(['json'])), undefined, 'no response_format: nothing to check');
  assert.equal(schemaProblem([1, 'a'], { type: 'array', items: { type: 'integer' } }), '$[1]: expected integer, got string');
});

test('tools: arguments must be a JSON object and the tool must exist', () => {
  const call = (name: string, args: string) => chat('', { tool_calls: [{ id: 't', type: 'function', function: { name, arguments: args } }] });
  assert.match(verifyAnswer(readAnswer(call('get_weather', '{"city": ')), x(), opts(['tools']))!.why, /not a JSON object/);
  assert.match(verifyAnswer(readAnswer(call('launch', '{}')), x(), opts(['tools']))!.why, /unknown tool launch/);
  assert.equal(verifyAnswer(readAnswer(call('get_weather', '{"city":"Oslo"}')), x(), opts(['tools', 'empty'])), undefined);
  const anthropic = { content: [{ type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } }] };
  assert.equal(verifyAnswer(readAnswer(anthropic), x(), opts(['tools'])), undefined);
});

test('logprob: mean token logprob below the floor fails; no logprobs passes', () => {
  const lp = (v: number[]) => ({ choices: [{ message: { content: 'maybe' }, logprobs: { content: v.map((l) => ({ token: 't', logprob: l })) } }] });
  assert.match(verifyAnswer(readAnswer(lp([-3, -2])), x(), opts(['logprob']))!.why, /mean logprob -2\.50 < -1/);
  assert.equal(verifyAnswer(readAnswer(lp([-0.1, -0.2])), x(), opts(['logprob'])), undefined);
  assert.equal(verifyAnswer(readAnswer(chat('x')), x(), opts(['logprob'])), undefined);
});
