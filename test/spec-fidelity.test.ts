/**
 * What the gateway (and the simulator behind it) sends back, validated against OpenAI's own schemas
 * (spec/openai-subset.json, extracted from openai/openai-openapi; see spec/SOURCE.md) with a real JSON-Schema
 * validator: whole chat completions, every streaming chunk, embeddings, the model list and error bodies. Then
 * the request side: the validators' enums must equal the spec's, and spec-valid requests must pass end to end.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import * as surface from '../src/surface/openai.js';
import { startSimulator } from '../src/providers/simulator/server.js';

type Json = Record<string, any>;
const spec = JSON.parse(readFileSync(new URL('../../spec/openai-subset.json', import.meta.url), 'utf8'));
const defs: Record<string, Json> = spec.$defs;

// Strict: an unknown keyword in the extracted schemas is an extraction bug, not something to ignore. strictTypes
// is off because the spec leaves `type` implicit in places (e.g. Model), which is legal JSON Schema.
const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
// ajv-formats is CommonJS: under NodeNext its default import is module.exports, whose `default` is the plugin.
addFormats.default(ajv);
ajv.addFormat('unixtime', { type: 'number', validate: (x: number) => Number.isInteger(x) && x >= 0 });
ajv.addFormat('float', { type: 'number', validate: Number.isFinite });
ajv.addSchema(spec);

let checks = 0;
/** Assert `data` conforms to the named spec schema (or a schema object). */
function conforms(schema: string | Json, data: unknown, what: string): void {
  const validate = typeof schema === 'string' ? ajv.getSchema(`${spec.$id}#/$defs/${schema}`) : ajv.compile(schema);
  assert.ok(validate, `schema ${String(schema)}`);
  checks++;
  assert.ok(validate(data), `${what} does not conform to ${typeof schema === 'string' ? schema : 'schema'}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(data).slice(0, 600)}`);
}

let t: TestGateway;
before(async () => {
  t = await startTestGateway();
});
after(() => t.close());

const user = (content = 'hello') => [{ role: 'user', content }];
const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } };

async function chat(body: Json): Promise<Json> {
  const r = await postJson(`${t.url}/v1/chat/completions`, body);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Every `data:` payload of a stream, parsed; asserts the stream ends with `[DONE]`. */
async function chunks(body: Json): Promise<Json[]> {
  const r = await postJson(`${t.url}/v1/chat/completions`, { ...body, stream: true });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  const data = r.text.split(/\n\n/).filter((e) => e.trim()).map((e) => e.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n'));
  assert.equal(data.pop(), '[DONE]');
  return data.map((d) => JSON.parse(d));
}

const RESPONSES: [string, Json][] = [
  ['plain text', { model: 'gpt-4o-mini', messages: user(), max_tokens: 12 }],
  ['finish_reason length', { model: 'gpt-4o-mini', messages: user(), max_completion_tokens: 3 }],
  ['tool call', { model: 'gpt-4o', messages: user('Weather in Paris?'), tools: [weather] }],
  ['forced tool via tool_choice', { model: 'gpt-4o', messages: user(), tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } } }],
  ['custom tool offered: answered in text', { model: 'gpt-4o', messages: user(), tools: [{ type: 'custom', custom: { name: 'sql' } }] }],
  ['n = 3', { model: 'gpt-4o-mini', messages: user(), n: 3, max_tokens: 8 }],
  ['n = 128 (OpenAI\'s maximum)', { model: 'gpt-4o-mini', messages: user(), n: 128, max_tokens: 3 }],
  ['json_schema', { model: 'gpt-4o-mini', messages: user(), response_format: { type: 'json_schema', json_schema: { name: 'c', strict: true, schema: { type: 'object', properties: { label: { type: 'string', enum: ['a', 'b'] } }, required: ['label'] } } } }],
  ['json_object', { model: 'gpt-4o-mini', messages: user('answer in JSON'), response_format: { type: 'json_object' } }],
  ['logprobs with top_logprobs', { model: 'gpt-4o-mini', messages: user(), logprobs: true, top_logprobs: 3, max_tokens: 6 }],
  ['service_tier flex', { model: 'gpt-4o-mini', messages: user(), service_tier: 'flex', max_tokens: 4 }],
  ['reasoning model', { model: 'o4-mini', messages: user(), reasoning_effort: 'low', max_completion_tokens: 20 }],
  ['Anthropic model, text', { model: 'claude-haiku-4-5', messages: user(), max_tokens: 10 }],
  ['Anthropic model, tool call', { model: 'claude-sonnet-4-5', messages: user('Weather?'), tools: [weather] }],
];

for (const [name, body] of RESPONSES) {
  test(`chat completion conforms: ${name}`, async () => {
    const r = await chat(body);
    conforms('CreateChatCompletionResponse', r, name);
    assert.equal(r.choices.length, body.n ?? 1);
    if (body.tools && !name.includes('custom')) assert.equal(r.choices[0].finish_reason, 'tool_calls');
    if (body.logprobs) {
      const lp = r.choices[0].logprobs.content;
      assert.equal(lp.map((x: Json) => x.token).join(''), r.choices[0].message.content, 'logprob tokens spell the content');
      for (const x of lp) assert.equal(x.top_logprobs.length, body.top_logprobs);
    }
    if (body.service_tier) assert.equal(r.service_tier, body.service_tier);
  });

  test(`every streaming chunk conforms: ${name}`, async () => {
    const all = await chunks({ ...body, stream_options: { include_usage: true } });
    all.forEach((c, i) => conforms('CreateChatCompletionStreamResponse', c, `${name}, chunk ${i}`));
    const last = all[all.length - 1]!;
    assert.deepEqual(last.choices, [], 'usage arrives in a final chunk with no choices');
    conforms('CompletionUsage', last.usage, `${name}, usage`);
    const finishes = all.flatMap((c) => c.choices.filter((ch: Json) => ch.finish_reason !== null));
    assert.equal(finishes.length, body.n ?? 1, 'one finish_reason per choice');
  });
}

test('a stream without include_usage has no usage field at all', async () => {
  const all = await chunks({ model: 'gpt-4o-mini', messages: user(), max_tokens: 4 });
  for (const c of all) {
    conforms('CreateChatCompletionStreamResponse', c, 'chunk');
    assert.ok(!('usage' in c) || c.usage === null);
  }
});

const EMBEDDINGS: [string, Json][] = [
  ['one string', { input: 'hello' }],
  ['several strings, dimensions', { input: ['a', 'b', 'c'], dimensions: 8 }],
  ['token array', { input: [15339, 1917] }],
  ['token arrays', { input: [[15339], [1917, 0]] }],
];

/** The spec types `embedding` as numbers only; with encoding_format base64 it is a base64 string of float32s. */
const base64Schema = (() => {
  const e = structuredClone(defs.Embedding!);
  e.properties.embedding = { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' };
  const r = structuredClone(defs.CreateEmbeddingResponse!);
  r.properties.data = { type: 'array', items: e };
  return r;
})();

for (const [name, extra] of EMBEDDINGS) {
  for (const encoding of ['float', 'base64'] as const) {
    test(`embeddings conform (${encoding}): ${name}`, async () => {
      const r = await postJson(`${t.url}/v1/embeddings`, { model: 'text-embedding-3-small', encoding_format: encoding, ...extra });
      assert.equal(r.status, 200, r.text);
      conforms(encoding === 'float' ? 'CreateEmbeddingResponse' : base64Schema, r.json, name);
      const n = typeof extra.input === 'string' || typeof extra.input[0] === 'number' ? 1 : extra.input.length;
      assert.deepEqual(r.json.data.map((d: Json) => d.index), [...Array(n).keys()]);
      const first = r.json.data[0].embedding;
      const v = encoding === 'float' ? first : Array.from(new Float32Array(new Uint8Array(Buffer.from(first, 'base64')).buffer));
      assert.equal(v.length, extra.dimensions ?? 1536);
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-3, 'unit length');
    });
  }
}

test('models list and each model conform', async () => {
  const list = await (await fetch(`${t.url}/v1/models`)).json();
  conforms('ListModelsResponse', list, 'GET /v1/models');
  for (const id of ['gpt-4o-mini', 'claude-haiku-4-5', 'text-embedding-3-small']) {
    conforms('Model', await (await fetch(`${t.url}/v1/models/${id}`)).json(), `GET /v1/models/${id}`);
  }
});

test('error bodies conform to ErrorResponse', async () => {
  const errors: [string, Promise<Response>][] = [
    ['validation', fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o-mini"}' })],
    ['invalid JSON', fetch(`${t.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })],
    ['unknown model', fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'nope', messages: user() }) })],
    ['unknown endpoint', fetch(`${t.url}/v1/nope`)],
    ['wrong method', fetch(`${t.url}/v1/chat/completions`)],
    ['unsupported media type', fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'x' })],
  ];
  for (const [name, p] of errors) {
    const r = await p;
    assert.ok(r.status >= 400 && r.status < 500, `${name}: ${r.status}`);
    conforms('ErrorResponse', await r.json(), name);
  }
});

test('unknown model: the simulator answers with OpenAI\'s own 404 body; the gateway relays it naming the param', async () => {
  const sim = await startSimulator();
  try {
    for (const [path, body] of [['/v1/chat/completions', { model: 'gpt-9-nope', messages: user() }], ['/v1/embeddings', { model: 'gpt-9-nope', input: 'x' }]] as const) {
      const r = await postJson(`${sim.url}${path}`, body);
      assert.equal(r.status, 404, path);
      assert.equal(r.text, '{"error":{"message":"The model `gpt-9-nope` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}');
      conforms('ErrorResponse', r.json, `simulator ${path}`);
      const g = await postJson(`${t.url}${path}`, body);
      assert.equal(g.status, 404);
      assert.deepEqual(g.json, { error: { ...r.json.error, param: 'model' } }, `gateway ${path}`);
    }
  } finally {
    await sim.close();
  }
});

/** The enum values of a `type`/`role` discriminator across a schema's oneOf/anyOf/allOf branches. */
function tags(s: Json | undefined, key = 'type'): string[] {
  if (!s) return [];
  if (s.$ref) return tags(defs[s.$ref.split('/').pop()], key);
  const branches = [...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])];
  if (branches.length) return [...new Set(branches.flatMap((b: Json) => tags(b, key)))];
  if (s.type === 'array' || s.items) return tags(s.items, key);
  return s.properties?.[key]?.enum ?? [];
}
/** A schema's properties, merged through allOf. */
const props = (s: Json): Json => ({ ...(s.allOf ?? []).reduce((a: Json, b: Json) => ({ ...a, ...props(b.$ref ? defs[b.$ref.split('/').pop()]! : b) }), {}), ...s.properties });
/** The string enum inside a schema (possibly wrapped in anyOf/oneOf with null). */
const stringEnum = (s: Json): string[] => (s.$ref ? stringEnum(defs[s.$ref.split('/').pop()]!) : s.enum ?? [...(s.anyOf ?? []), ...(s.oneOf ?? [])].flatMap((b: Json) => (b.type === 'string' || b.$ref ? stringEnum(b) : [])));
const same = (ours: readonly string[], theirs: string[], what: string) => assert.deepEqual([...ours].sort(), [...theirs].filter((x) => x !== null).sort(), `${what} drifted from the spec`);

const req = props(defs.CreateChatCompletionRequest!);

test('validator enums equal the spec enums', () => {
  const messages = defs.ChatCompletionRequestMessage!.oneOf.map((r: Json) => defs[r.$ref.split('/').pop()]!);
  same(surface.ROLES, messages.flatMap((m: Json) => m.properties.role.enum), 'message roles');
  for (const m of messages) {
    const role = m.properties.role.enum[0] as keyof typeof surface.PART_TYPES_BY_ROLE;
    same(surface.PART_TYPES_BY_ROLE[role], tags(m.properties.content).filter((x) => typeof x === 'string'), `content part types of '${role}' messages`);
  }
  same(surface.RESPONSE_FORMAT_TYPES, tags(req.response_format), 'response_format.type');
  same(surface.TOOL_TYPES, tags(req.tools), 'tools[].type');
  same(surface.TOOL_CALL_TYPES, tags(defs.ChatCompletionMessageToolCalls), 'tool_calls[].type');
  const choice = defs.ChatCompletionToolChoiceOption!.oneOf as Json[];
  same(surface.TOOL_CHOICE_MODES, choice.filter((b) => b.type === 'string').flatMap((b) => b.enum), 'tool_choice strings');
  same(surface.TOOL_CHOICE_TYPES, choice.filter((b) => b.$ref).flatMap((b) => tags(b)), 'tool_choice.type');
  same(surface.ALLOWED_TOOLS_MODES, defs.ChatCompletionAllowedTools!.properties.mode.enum, 'tool_choice.allowed_tools.mode');
  same(surface.FUNCTION_CALL_MODES, req.function_call.oneOf.filter((b: Json) => b.type === 'string').flatMap((b: Json) => b.enum), 'function_call strings');
  same(surface.PREDICTION_TYPES, tags(defs.PredictionContent), 'prediction.type');
  same(surface.ENCODING_FORMATS, defs.CreateEmbeddingRequest!.properties.encoding_format.enum, 'encoding_format');
});

/** Spec-valid requests, including the less common fields; each must be spec-valid, accepted, and answered in spec shape. */
const VALID: [string, Json][] = [
  ['every role and content part', {
    messages: [
      { role: 'developer', content: [{ type: 'text', text: 'be brief' }] },
      { role: 'system', content: 'sys', name: 'ops' },
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } }, { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }, { type: 'file', file: { file_id: 'file-1' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: '12C' }] },
      { role: 'assistant', refusal: 'I cannot' },
      { role: 'assistant', content: [{ type: 'text', text: 'ok' }, { type: 'refusal', refusal: 'no' }], function_call: { name: 'f', arguments: '{}' } },
      { role: 'function', name: 'f', content: null },
      { role: 'user', content: 'thanks' },
    ],
  }],
  ['sampling fields, all set', { temperature: 0, top_p: 1, n: 2, seed: 2 ** 62, presence_penalty: -2, frequency_penalty: 2, stop: ['a', 'b', 'c', 'd'], max_completion_tokens: 9, user: 'u1', safety_identifier: 'h1', prompt_cache_key: 'k', store: true, metadata: { team: 'core' } }],
  // Not top_logprobs: null: the spec's allOf intersects a nullable top_logprobs with a non-nullable one.
  ['every nullable field null', { temperature: null, top_p: null, n: null, stop: null, seed: null, max_tokens: null, logprobs: null, logit_bias: null, stream: null, stream_options: null, prediction: null, audio: null, modalities: null, service_tier: null, reasoning_effort: null, verbosity: null, metadata: null }],
  ['logprobs, top_logprobs, logit_bias', { logprobs: true, top_logprobs: 20, logit_bias: { '50256': -100, '15339': 100 } }],
  ['tools, parallel_tool_calls, tool_choice required', { tools: [weather], parallel_tool_calls: false, tool_choice: 'required' }],
  ['custom tool and named custom choice', { tools: [weather, { type: 'custom', custom: { name: 'sql', description: 'run SQL', format: { type: 'text' } } }], tool_choice: { type: 'custom', custom: { name: 'sql' } } }],
  ['allowed_tools choice', { tools: [weather], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'get_weather' } }] } } }],
  ['deprecated functions and function_call', { functions: [{ name: 'f', parameters: { type: 'object' } }], function_call: { name: 'f' } }],
  ['prediction as text parts', { prediction: { type: 'content', content: [{ type: 'text', text: 'draft' }] } }],
  ['audio output', { modalities: ['text', 'audio'], audio: { voice: { id: 'voice_1' }, format: 'wav' } }],
  ['response_format text', { response_format: { type: 'text' } }],
  ['stream with usage and obfuscation options', { stream: true, stream_options: { include_usage: true, include_obfuscation: false } }],
  ['web search and prompt cache options', { web_search_options: { search_context_size: 'low' }, prompt_cache_options: { mode: 'explicit' } }],
  ...(['reasoning_effort', 'service_tier', 'verbosity'] as const).flatMap((k) => stringEnum(req[k]).map((v): [string, Json] => [`${k} ${v}`, { [k]: v }])),
];

for (const [name, extra] of VALID) {
  test(`spec-valid request is accepted and answered in spec shape: ${name}`, async () => {
    const body: Json = { model: 'gpt-4o-mini', messages: user(), max_tokens: 6, ...extra };
    if (extra.max_completion_tokens) delete body.max_tokens;
    conforms('CreateChatCompletionRequest', body, `request '${name}'`);
    assert.doesNotThrow(() => surface.validateChat(body));
    if (body.stream) return void (await chunks(body)).forEach((c, i) => conforms('CreateChatCompletionStreamResponse', c, `chunk ${i}`));
    conforms('CreateChatCompletionResponse', await chat(body), name);
  });
}

test('spec-valid embedding requests are accepted', () => {
  for (const [name, extra] of EMBEDDINGS) {
    const body = { model: 'text-embedding-3-large', encoding_format: 'base64', user: 'u', ...extra };
    conforms('CreateEmbeddingRequest', body, name);
    assert.doesNotThrow(() => surface.validateEmbeddings(body), name);
  }
});

test('spec checks performed', (ctx) => {
  ctx.diagnostic(`${checks} JSON-Schema validations against spec/openai-subset.json`);
  assert.ok(checks > 100);
});
