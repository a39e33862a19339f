/**
 * The OpenAI request validators against OpenAI's schemas (spec/openai-subset.json): what they reject the spec
 * rejects too, naming the same field; and where they knowingly differ from the spec, each difference is listed
 * with its reason, so a spec update that removes the reason fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { validateChat, validateEmbeddings } from './openai.js';
import { quoteList } from './check.js';
import { GatewayError } from '../pipeline/errors.js';

type Json = Record<string, any>;
const spec = JSON.parse(readFileSync(new URL('../../../spec/openai-subset.json', import.meta.url), 'utf8'));
// Formats are annotations here (validateFormats off): these tests are about shapes, not URLs or timestamps.
const ajv = new Ajv2020({ strict: true, strictTypes: false, validateFormats: false });
ajv.addSchema(spec);
const schema = (name: string) => ajv.getSchema(`${spec.$id}#/$defs/${name}`)!;
const specChat = schema('CreateChatCompletionRequest');
const specEmbed = schema('CreateEmbeddingRequest');

/** The param our validator names, or undefined when it accepts the body. */
function ours(validate: (b: unknown) => void, body: unknown): string | null | undefined {
  try {
    validate(body);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof GatewayError, String(e));
    assert.equal(e.status, 400);
    return e.param;
  }
}

const user = [{ role: 'user', content: 'hi' }];
const chat = (extra: Json) => ({ model: 'gpt-4o-mini', messages: user, ...extra });
const msg = (m: Json) => ({ model: 'gpt-4o-mini', messages: [m] });
const embed = (extra: Json) => ({ model: 'text-embedding-3-small', input: 'x', ...extra });

const BOTH_REJECT: [string, Json, string][] = [
  ['missing model', { messages: user }, 'model'],
  ['missing messages', { model: 'm' }, 'messages'],
  ['empty messages', chat({ messages: [] }), 'messages'],
  ['unknown role', msg({ role: 'robot', content: 'x' }), 'messages[0].role'],
  ['user without content', msg({ role: 'user' }), 'messages[0].content'],
  ['empty content array', msg({ role: 'user', content: [] }), 'messages[0].content'],
  ['image part in a developer message', msg({ role: 'developer', content: [{ type: 'image_url', image_url: { url: 'https://x' } }] }), 'messages[0].content[0].type'],
  ['refusal part in a tool message', msg({ role: 'tool', tool_call_id: 'c', content: [{ type: 'refusal', refusal: 'x' }] }), 'messages[0].content[0].type'],
  ['tool message without tool_call_id', msg({ role: 'tool', content: 'x' }), 'messages[0].tool_call_id'],
  ['function message without name', msg({ role: 'function', content: 'x' }), 'messages[0].name'],
  ['function message with parts', msg({ role: 'function', name: 'f', content: [{ type: 'text', text: 'x' }] }), 'messages[0].content'],
  ['tool call arguments as an object', msg({ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }] }), 'messages[0].tool_calls[0].function.arguments'],
  ['custom tool call without input', msg({ role: 'assistant', tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'f' } }] }), 'messages[0].tool_calls[0].custom.input'],
  ['n = 0', chat({ n: 0 }), 'n'],
  ['temperature 2.5', chat({ temperature: 2.5 }), 'temperature'],
  ['top_p -1', chat({ top_p: -1 }), 'top_p'],
  ['max_tokens as a string', chat({ max_tokens: '5' }), 'max_tokens'],
  ['five stop sequences', chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
  ['top_logprobs 21', chat({ top_logprobs: 21 }), 'top_logprobs'],
  ['logit_bias value 1.5', chat({ logit_bias: { '1': 1.5 } }), 'logit_bias.1'],
  ['metadata value a number', chat({ metadata: { a: 1 } }), 'metadata.a'],
  ['tool without type', chat({ tools: [{ function: { name: 'f' } }] }), 'tools[0].type'],
  ['custom tool without custom', chat({ tools: [{ type: 'custom' }] }), 'tools[0].custom'],
  ['tool_choice "always"', chat({ tool_choice: 'always' }), 'tool_choice'],
  ['allowed_tools with mode "none"', chat({ tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'none', tools: [] } } }), 'tool_choice.allowed_tools.mode'],
  ['function_call "required"', chat({ function_call: 'required' }), 'function_call'],
  ['response_format json_schema without name', chat({ response_format: { type: 'json_schema', json_schema: {} } }), 'response_format.json_schema.name'],
  ['response_format of type xml', chat({ response_format: { type: 'xml' } }), 'response_format.type'],
  ['prediction without content', chat({ prediction: { type: 'content' } }), 'prediction.content'],
  ['audio without voice', chat({ audio: { format: 'wav' } }), 'audio.voice'],
  ['stream_options a string', chat({ stream: true, stream_options: 'usage' }), 'stream_options'],
  ['parallel_tool_calls a string', chat({ parallel_tool_calls: 'no' }), 'parallel_tool_calls'],
];

for (const [name, body, param] of BOTH_REJECT) {
  test(`spec and validator both reject: ${name}`, () => {
    assert.equal(specChat(body), false, 'the spec rejects it');
    assert.equal(ours(validateChat, body), param);
  });
}

const EMBED_BOTH_REJECT: [string, Json, string][] = [
  ['empty array', embed({ input: [] }), 'input'],
  ['2049 inputs', embed({ input: Array(2049).fill('x') }), 'input'],
  ['mixed strings and tokens', embed({ input: ['a', 1] }), 'input[1]'],
  ['empty token array', embed({ input: [[]] }), 'input[0]'],
  ['encoding_format hex', embed({ encoding_format: 'hex' }), 'encoding_format'],
  ['dimensions 0', embed({ dimensions: 0 }), 'dimensions'],
];

for (const [name, body, param] of EMBED_BOTH_REJECT) {
  test(`spec and validator both reject embeddings: ${name}`, () => {
    assert.equal(specEmbed(body), false, 'the spec rejects it');
    assert.equal(ours(validateEmbeddings, body), param);
  });
}

/** Deliberate differences from the spec. `stricter`: the spec allows it, OpenAI (or a sane gateway) does not. */
const STRICTER: [string, Json, string, string][] = [
  ['max_tokens 0', chat({ max_tokens: 0 }), 'max_tokens', 'OpenAI answers 400 below 1; the schema has no minimum'],
  ['129 tools', chat({ tools: Array.from({ length: 129 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } })) }), 'tools', 'OpenAI caps tools at 128; the schema has no maxItems'],
  ['function name with a space', chat({ tools: [{ type: 'function', function: { name: 'a b' } }] }), 'tools[0].function.name', 'the name pattern is in the spec prose, not the schema'],
  ['json_schema name with a dot', chat({ response_format: { type: 'json_schema', json_schema: { name: 'a.b' } } }), 'response_format.json_schema.name', 'same pattern, same prose'],
  ['logit_bias 500', chat({ logit_bias: { '1': 500 } }), 'logit_bias.1', 'the [-100, 100] range is in the spec prose'],
  ['empty embedding input', embed({ input: '' }), 'input', 'OpenAI rejects empty input; the schema allows ""'],
];

/** `looser`: the spec rejects it, costgate passes it on. */
const LOOSER: [string, Json, string][] = [
  ['stop: []', chat({ stop: [] }), 'clients send it to mean "no stop sequences"'],
  ['tool call without type', msg({ role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{}' } }] }), 'older clients and compatible servers omit it'],
  ['top_logprobs: null', chat({ top_logprobs: null }), "the spec's allOf makes a nullable field non-nullable by accident"],
  ['reasoning_effort "ultra"', chat({ reasoning_effort: 'ultra' }), 'open enum: new models bring new values; upstream judges'],
  ['service_tier "turbo"', chat({ service_tier: 'turbo' }), 'open enum, as above'],
  ['modalities ["video"]', chat({ modalities: ['video'] }), 'open enum, as above'],
  ['image detail "original"', msg({ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x', detail: 'original' } }] }), 'open enum, as above'],
  ['unknown embeddings field', embed({ truncate: 'END' }), 'unknown fields pass through (compatible providers add their own)'],
];

for (const [name, body, param, why] of STRICTER) {
  test(`stricter than the spec, on purpose: ${name}`, () => {
    const isEmbed = 'input' in body;
    assert.equal((isEmbed ? specEmbed : specChat)(body), true, `the spec accepts it; if it no longer does, drop this entry (${why})`);
    assert.equal(ours(isEmbed ? validateEmbeddings : validateChat, body), param);
  });
}

for (const [name, body, why] of LOOSER) {
  test(`looser than the spec, on purpose: ${name}`, () => {
    const isEmbed = 'input' in body;
    assert.equal((isEmbed ? specEmbed : specChat)(body), false, `the spec rejects it (${why})`);
    assert.equal(ours(isEmbed ? validateEmbeddings : validateChat, body), undefined);
  });
}

test('error messages: OpenAI-style lists, the bad value, and a code per kind of fault', () => {
  assert.equal(quoteList(['a']), "'a'");
  assert.equal(quoteList(['a', 'b', 'c']), "'a', 'b' and 'c'");
  const err = (body: unknown) => {
    try {
      validateChat(body);
    } catch (e) {
      return e as GatewayError;
    }
    assert.fail('accepted');
  };
  const role = err(msg({ role: 'robot', content: 'x' }));
  assert.equal(role.code, 'invalid_value');
  assert.match(role.message, /'robot'.*'developer', 'system', 'user', 'assistant', 'tool' and 'function'/);
  assert.equal(err({ messages: user }).code, 'missing_field');
  assert.equal(err(chat({ n: '2' })).code, 'invalid_type');
  assert.match(err(chat({ temperature: Infinity })).message, /finite/);
  assert.match(err(chat({ max_tokens: 2.5 })).message, /integer/);
  assert.match(err(msg({ role: 'system', content: [{ type: 'image_url', image_url: { url: 'u' } }] })).message, /role 'system' support content parts of type 'text'/);
});

test('seed accepts the full int64 range the spec declares', () => {
  for (const seed of [2 ** 62, -(2 ** 63), 0]) assert.equal(ours(validateChat, chat({ seed })), undefined, String(seed));
  assert.equal(ours(validateChat, chat({ seed: 2 ** 64 })), 'seed');
});
