/**
 * Malformed and adversarial requests against the real gateway over HTTP: every one must get a 4xx in the client's
 * wire format (OpenAI's `{"error":{message,type,param,code}}`, Anthropic's `{"type":"error","error":{type,message}}`)
 * naming the bad field, never a 5xx, a crash or a hang.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import type { GatewayOptions } from '../src/gateway.js';

type Param = string | null | readonly (string | null)[];
interface Case {
  name: string;
  path: string;
  method: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  /** OpenAI `error.code`; unchecked when absent. */
  code?: string;
  /** OpenAI `error.param` (one of a list when several are right); unchecked when the key is absent. */
  param?: Param;
  /** Anthropic `error.type`, and a field name its message must mention. */
  anthropic?: { type: string; mention?: string };
}

const CHAT = '/v1/chat/completions';
const EMB = '/v1/embeddings';
const MSG = '/v1/messages';
const raw = (s: string | Buffer) => ({ raw: s });
type Body = unknown | { raw: string | Buffer };
const encode = (b: Body): string | Buffer => (b && typeof b === 'object' && 'raw' in (b as object) ? (b as { raw: string | Buffer }).raw : JSON.stringify(b));

const user = { role: 'user', content: 'hi' };
const chat = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [user], ...extra });
const withMsg = (...messages: unknown[]) => ({ model: 'gpt-4o-mini', messages });
const part = (p: unknown, role = 'user') => withMsg({ role, content: [p] });
const fnTool = (f: unknown) => ({ type: 'function', function: f });
const embed = (extra: Record<string, unknown>) => ({ model: 'text-embedding-3-small', input: 'hello', ...extra });
const anth = (extra: Record<string, unknown> = {}) => ({ model: 'claude-haiku-4-5', max_tokens: 16, messages: [user], ...extra });
const deep = (n: number, open: string, close: string, inner = '') => open.repeat(n) + inner + close.repeat(n);

const bad = (name: string, body: Body, param: Param, code = 'invalid_value'): Case => ({ name, path: CHAT, method: 'POST', body: encode(body), status: 400, code, param });
const emb = (name: string, body: Body, param: Param, code = 'invalid_value'): Case => ({ ...bad(name, body, param, code), path: EMB });
const msg = (name: string, body: Body, mention?: string, type = 'invalid_request_error', status = 400): Case => ({ name, path: MSG, method: 'POST', body: encode(body), status, anthropic: { type, mention } });

const CASES: Case[] = [
  // Not JSON, or not an object
  bad('truncated JSON', raw('{"model":"gpt-4o-mini","messages":['), null, 'invalid_json'),
  bad('trailing garbage after the object', raw(JSON.stringify(chat()) + ' xyz'), null, 'invalid_json'),
  bad('empty body', raw(''), null, 'invalid_json'),
  bad('non-UTF-8 bytes outside strings', raw(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])), null, 'invalid_json'),
  bad('invalid UTF-8 inside a string value', raw(Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')])), null, 'invalid_json'),
  bad('nesting just past the gateway limit (129 levels inside tools)', raw(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"tools":${deep(128, '[', ']')}}`), null, 'nesting_too_deep'),
  bad('UTF-8 byte-order mark before the object', raw('\uFEFF' + JSON.stringify(chat())), null, 'invalid_json'),
  bad('single-quoted JSON', raw("{'model':'gpt-4o-mini'}"), null, 'invalid_json'),
  bad('NaN literal', raw('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"temperature":NaN}'), null, 'invalid_json'),
  bad('body is an array', [chat()], 'body', 'invalid_type'),
  bad('body is a string', 'hello', 'body', 'invalid_type'),
  bad('body is a number', 42, 'body', 'invalid_type'),
  bad('body is null', null, 'body', 'invalid_type'),
  bad('body is a boolean', true, 'body', 'invalid_type'),
  // model / messages
  bad('missing model', { messages: [user] }, 'model', 'missing_field'),
  bad('missing messages', { model: 'gpt-4o-mini' }, 'messages', 'missing_field'),
  bad('model is an empty string', chat({ model: '' }), 'model'),
  bad('model is a number', chat({ model: 4 }), 'model', 'invalid_type'),
  bad('messages is an object', chat({ messages: { role: 'user' } }), 'messages', 'invalid_type'),
  bad('messages is empty', chat({ messages: [] }), 'messages'),
  bad('message is a string', withMsg('hi'), 'messages[0]', 'invalid_type'),
  bad('message without role', withMsg({ content: 'hi' }), 'messages[0].role', 'missing_field'),
  bad('unknown role', withMsg({ role: 'robot', content: 'hi' }), 'messages[0].role'),
  bad('role is a number', withMsg({ role: 1, content: 'hi' }), 'messages[0].role', 'invalid_type'),
  bad('user message without content', withMsg({ role: 'user' }), 'messages[0].content', 'missing_field'),
  bad('content is a number', withMsg({ role: 'user', content: 5 }), 'messages[0].content', 'invalid_type'),
  bad('content is an empty array', withMsg({ role: 'user', content: [] }), 'messages[0].content'),
  bad('content part is a string', part('hi'), 'messages[0].content[0]', 'invalid_type'),
  bad('content part type unknown', part({ type: 'video', video: {} }), 'messages[0].content[0].type'),
  bad('content part without type', part({ text: 'hi' }), 'messages[0].content[0].type', 'missing_field'),
  bad('text part text is a number', part({ type: 'text', text: 1 }), 'messages[0].content[0].text', 'invalid_type'),
  bad('image part without url', part({ type: 'image_url', image_url: {} }), 'messages[0].content[0].image_url.url', 'invalid_type'),
  bad('image part in a system message', part({ type: 'image_url', image_url: { url: 'https://x/y.png' } }, 'system'), 'messages[0].content[0].type'),
  bad('refusal part in a user message', part({ type: 'refusal', refusal: 'no' }), 'messages[0].content[0].type'),
  bad('input_audio part without data', part({ type: 'input_audio', input_audio: { format: 'wav' } }), 'messages[0].content[0].input_audio.data', 'invalid_type'),
  bad('tool message without tool_call_id', withMsg(user, { role: 'tool', content: '42' }), 'messages[1].tool_call_id', 'invalid_type'),
  bad('tool call with object arguments', withMsg(user, { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: { a: 1 } } }] }), 'messages[1].tool_calls[0].function.arguments', 'invalid_type'),
  bad('tool call of unknown type', withMsg(user, { role: 'assistant', tool_calls: [{ id: 'c1', type: 'banana', banana: {} }] }), 'messages[1].tool_calls[0].type'),
  bad('tool_calls on a user message', withMsg({ ...user, tool_calls: [] }), 'messages[0].tool_calls'),
  bad('function message without name', withMsg(user, { role: 'function', content: 'x' }), 'messages[1].name', 'invalid_type'),
  bad('message name is a number', withMsg({ ...user, name: 7 }), 'messages[0].name', 'invalid_type'),
  // sampling and output fields
  bad('stream is a string', chat({ stream: 'yes' }), 'stream', 'invalid_type'),
  bad('stream_options without stream', chat({ stream_options: { include_usage: true } }), 'stream_options'),
  bad('stream_options.include_usage is a string', chat({ stream: true, stream_options: { include_usage: 'yes' } }), 'stream_options.include_usage', 'invalid_type'),
  bad('n is 0', chat({ n: 0 }), 'n'),
  bad('n is a float', chat({ n: 1.5 }), 'n', 'invalid_type'),
  bad('n is a string', chat({ n: '2' }), 'n', 'invalid_type'),
  bad('n above 128', chat({ n: 129 }), 'n'),
  bad('temperature above 2', chat({ temperature: 3 }), 'temperature'),
  bad('temperature negative', chat({ temperature: -0.1 }), 'temperature'),
  bad('temperature is a string', chat({ temperature: 'hot' }), 'temperature', 'invalid_type'),
  bad('temperature overflows to Infinity', raw('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"temperature":1e999}'), 'temperature'),
  bad('top_p above 1', chat({ top_p: 1.5 }), 'top_p'),
  bad('max_tokens negative', chat({ max_tokens: -1 }), 'max_tokens'),
  bad('max_tokens zero', chat({ max_tokens: 0 }), 'max_tokens'),
  bad('max_tokens is a float', chat({ max_tokens: 1.5 }), 'max_tokens', 'invalid_type'),
  bad('max_tokens is a string', chat({ max_tokens: '100' }), 'max_tokens', 'invalid_type'),
  bad('max_completion_tokens negative', chat({ max_completion_tokens: -5 }), 'max_completion_tokens'),
  bad('presence_penalty above 2', chat({ presence_penalty: 3 }), 'presence_penalty'),
  bad('stop with 5 entries', chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'),
  bad('stop is a number', chat({ stop: 1 }), 'stop', 'invalid_type'),
  bad('stop entry is a number', chat({ stop: [1] }), 'stop[0]', 'invalid_type'),
  bad('seed is a float', chat({ seed: 1.5 }), 'seed', 'invalid_type'),
  bad('logprobs is a string', chat({ logprobs: 'yes' }), 'logprobs', 'invalid_type'),
  bad('top_logprobs above 20', chat({ top_logprobs: 21 }), 'top_logprobs'),
  bad('logit_bias value is a string', chat({ logit_bias: { '50256': 'x' } }), 'logit_bias.50256', 'invalid_type'),
  bad('logit_bias value out of range', chat({ logit_bias: { '50256': 500 } }), 'logit_bias.50256'),
  bad('metadata value is a number', chat({ metadata: { a: 1 } }), 'metadata.a', 'invalid_type'),
  bad('user is a number', chat({ user: 42 }), 'user', 'invalid_type'),
  bad('prediction of unknown type', chat({ prediction: { type: 'diff', content: 'x' } }), 'prediction.type'),
  bad('modalities is a string', chat({ modalities: 'text' }), 'modalities', 'invalid_type'),
  bad('reasoning_effort is a number', chat({ reasoning_effort: 5 }), 'reasoning_effort', 'invalid_type'),
  bad('audio without format', chat({ audio: { voice: 'alloy' } }), 'audio.format', 'invalid_type'),
  // tools and response_format
  bad('tools is an object', chat({ tools: { type: 'function' } }), 'tools', 'invalid_type'),
  bad('tool without function', chat({ tools: [{ type: 'function' }] }), 'tools[0].function', 'invalid_type'),
  bad('tool of unknown type', chat({ tools: [{ type: 'retrieval' }] }), 'tools[0].type'),
  bad('tool name with a space', chat({ tools: [fnTool({ name: 'get weather' })] }), 'tools[0].function.name'),
  bad('tool parameters is a string', chat({ tools: [fnTool({ name: 'f', parameters: '{}' })] }), 'tools[0].function.parameters', 'invalid_type'),
  bad('custom tool without name', chat({ tools: [{ type: 'custom', custom: {} }] }), 'tools[0].custom.name', 'invalid_type'),
  bad('tool_choice unknown string', chat({ tool_choice: 'always' }), 'tool_choice'),
  bad('tool_choice is a number', chat({ tool_choice: 1 }), 'tool_choice', 'invalid_type'),
  bad('tool_choice function without function', chat({ tool_choice: { type: 'function' } }), 'tool_choice.function', 'invalid_type'),
  bad('tool_choice of unknown type', chat({ tool_choice: { type: 'banana' } }), 'tool_choice.type'),
  bad('parallel_tool_calls is a string', chat({ parallel_tool_calls: 'yes' }), 'parallel_tool_calls', 'invalid_type'),
  bad('response_format is a string', chat({ response_format: 'json' }), 'response_format', 'invalid_type'),
  bad('response_format of unknown type', chat({ response_format: { type: 'xml' } }), 'response_format.type'),
  bad('json_schema without json_schema', chat({ response_format: { type: 'json_schema' } }), 'response_format.json_schema', 'missing_field'),
  bad('json_schema without name', chat({ response_format: { type: 'json_schema', json_schema: { schema: {} } } }), 'response_format.json_schema.name', 'missing_field'),
  // prototype keys are dropped at parse time, so they can neither pollute nor satisfy a required field
  bad('model only under __proto__', raw('{"__proto__":{"model":"gpt-4o-mini"},"messages":[{"role":"user","content":"x"}]}'), 'model', 'missing_field'),
  bad('model only under constructor.prototype', raw('{"constructor":{"prototype":{"model":"gpt-4o-mini"}},"messages":[{"role":"user","content":"x"}]}'), 'model', 'missing_field'),
  bad('role only under __proto__', raw('{"model":"gpt-4o-mini","messages":[{"__proto__":{"role":"user"},"content":"x"}]}'), 'messages[0].role', 'missing_field'),
  // huge nesting is refused before parsing (serializers and translators recurse)
  bad('100k nested arrays as messages', raw(`{"model":"gpt-4o-mini","messages":${deep(100_000, '[', ']')}}`), null, 'nesting_too_deep'),
  bad('100k nested objects as the body', raw(deep(100_000, '{"a":', '}', '1')), null, 'nesting_too_deep'),
  // embeddings
  emb('embeddings: missing input', { model: 'text-embedding-3-small' }, 'input', 'missing_field'),
  emb('embeddings: missing model', { input: 'x' }, 'model', 'missing_field'),
  emb('embeddings: body is an array', ['x'], 'body', 'invalid_type'),
  emb('embeddings: input is an empty string', embed({ input: '' }), 'input'),
  emb('embeddings: input is an empty array', embed({ input: [] }), 'input'),
  emb('embeddings: strings then a number', embed({ input: ['a', 1] }), 'input[1]', 'invalid_type'),
  emb('embeddings: tokens then a string', embed({ input: [1, 'a'] }), 'input[1]', 'invalid_type'),
  emb('embeddings: empty token array', embed({ input: [[1], []] }), 'input[1]'),
  emb('embeddings: null item', embed({ input: [null] }), 'input[0]', 'invalid_type'),
  emb('embeddings: input is an object', embed({ input: { text: 'x' } }), 'input', 'invalid_type'),
  emb('embeddings: 2049 inputs', embed({ input: Array.from({ length: 2049 }, () => 'x') }), 'input'),
  emb('embeddings: encoding_format hex', embed({ encoding_format: 'hex' }), 'encoding_format'),
  emb('embeddings: encoding_format null', embed({ encoding_format: null }), 'encoding_format', 'invalid_type'),
  emb('embeddings: dimensions 0', embed({ dimensions: 0 }), 'dimensions'),
  emb('embeddings: dimensions is a string', embed({ dimensions: '64' }), 'dimensions', 'invalid_type'),
  // Anthropic Messages
  msg('messages: truncated JSON', raw('{"model":'), 'JSON'),
  msg('messages: body is an array', [anth()], 'body'),
  msg('messages: missing max_tokens', { model: 'claude-haiku-4-5', messages: [user] }, 'max_tokens'),
  msg('messages: missing messages', { model: 'claude-haiku-4-5', max_tokens: 5 }, 'messages'),
  msg('messages: missing model', { max_tokens: 5, messages: [user] }, 'model'),
  msg('messages: max_tokens zero', anth({ max_tokens: 0 }), 'max_tokens'),
  msg('messages: max_tokens is a string', anth({ max_tokens: '16' }), 'max_tokens'),
  msg('messages: system role in messages', anth({ messages: [{ role: 'system', content: 'x' }] }), 'messages.0.role'),
  msg('messages: content is a number', anth({ messages: [{ role: 'user', content: 1 }] }), 'messages.0.content'),
  msg('messages: unknown block type', anth({ messages: [{ role: 'user', content: [{ type: 'video' }] }] }), 'messages.0.content.0.type'),
  msg('messages: tool_use without input', anth({ messages: [user, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f' }] }] }), 'messages.1.content.0.input'),
  msg('messages: temperature above 1', anth({ temperature: 1.5 }), 'temperature'),
  msg('messages: stop_sequences is a string', anth({ stop_sequences: 'END' }), 'stop_sequences'),
  msg('messages: tool_choice of unknown type', anth({ tool_choice: { type: 'sometimes' } }), 'tool_choice.type'),
  msg('messages: system is a number', anth({ system: 1 }), 'system'),
  msg('messages: thinking is a string', anth({ thinking: 'on' }), 'thinking'),
  msg('messages: unknown model', anth({ model: 'no-such-model' }), undefined, 'not_found_error', 404),
  // HTTP surface
  { name: 'unknown endpoint', path: '/v1/completions-of-doom', method: 'POST', body: '{}', status: 404, code: 'not_found', param: null },
  { name: 'GET on chat completions', path: CHAT, method: 'GET', status: 405, code: 'method_not_allowed', param: null },
  { name: 'PUT on embeddings', path: EMB, method: 'PUT', body: '{}', status: 405, code: 'method_not_allowed', param: null },
  { name: 'POST on models', path: '/v1/models', method: 'POST', body: '{}', status: 405, code: 'method_not_allowed', param: null },
  { ...bad('multipart body', chat(), null, 'unsupported_media_type'), status: 415, headers: { 'content-type': 'multipart/form-data; boundary=x' } },
  { ...bad('XML body', raw('<chat/>'), null, 'unsupported_media_type'), status: 415, headers: { 'content-type': 'application/xml' } },
  { ...bad('invalid x-costgate-request-id', chat(), 'x-costgate-request-id'), headers: { 'x-costgate-request-id': 'has spaces and / slashes' } },
  { name: 'unknown model in models/{id}', path: '/v1/models/no-such-model', method: 'GET', status: 404, code: 'model_not_found', param: 'model' },
  // Upstream-reported 404s (the simulator answers them) name the field at fault, like OpenAI's own.
  { ...bad('unknown chat model', chat({ model: 'no-such-model' }), 'model', 'model_not_found'), status: 404 },
  { ...emb('unknown embedding model', embed({ model: 'no-such-embedder' }), 'model', 'model_not_found'), status: 404 },
];

let t: TestGateway;
let small: TestGateway;
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(w.message);

before(async () => {
  process.on('warning', onWarning);
  t = await startTestGateway();
  // Only maxBodyBytes is set; the config parser fills the other server defaults.
  small = await startTestGateway({ config: { server: { maxBodyBytes: 2048 } } as GatewayOptions['config'] });
});
after(async () => {
  process.off('warning', onWarning);
  await Promise.all([t.close(), small.close()]);
});

async function check(base: string, c: Case): Promise<void> {
  const headers: Record<string, string> = c.body === undefined ? {} : { 'content-type': 'application/json' };
  const body = typeof c.body === 'string' || c.body === undefined ? c.body : new Uint8Array(c.body);
  const res = await fetch(base + c.path, { method: c.method, headers: { ...headers, ...c.headers }, body });
  const text = await res.text();
  assert.equal(res.status, c.status, `${c.name}: ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/);
  const json = JSON.parse(text);
  if (c.anthropic) {
    assert.deepEqual(Object.keys(json).sort(), ['error', 'type']);
    assert.equal(json.type, 'error');
    assert.equal(json.error.type, c.anthropic.type);
    assert.equal(typeof json.error.message, 'string');
    if (c.anthropic.mention) assert.ok(json.error.message.includes(c.anthropic.mention), `message names ${c.anthropic.mention}: ${json.error.message}`);
    return;
  }
  assert.deepEqual(Object.keys(json), ['error']);
  const e = json.error;
  assert.ok(typeof e.message === 'string' && e.message.length > 0, 'error.message');
  assert.equal(typeof e.type, 'string');
  assert.equal(typeof e.code, 'string');
  assert.ok('param' in e && (e.param === null || typeof e.param === 'string'), 'error.param is a string or null');
  if (c.code !== undefined) assert.equal(e.code, c.code, text);
  if ('param' in c) {
    const ok = Array.isArray(c.param) ? c.param : [c.param];
    assert.ok(ok.includes(e.param), `param ${JSON.stringify(e.param)} should be ${JSON.stringify(c.param)}`);
  }
}

test(`the table holds at least 60 malformed requests (${CASES.length})`, () => {
  assert.ok(CASES.length >= 60);
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, 'case names are unique');
});

for (const c of CASES) test(c.name, () => check(t.url, c));

test('body over server.maxBodyBytes: 413 in OpenAI format (content-length declared)', () =>
  check(small.url, { ...bad('big', chat({ pad: 'x'.repeat(4096) }), null, 'body_too_large'), status: 413 }));

test('body over server.maxBodyBytes: 413 in Anthropic format', () => check(small.url, msg('big', anth({ pad: 'x'.repeat(4096) }), undefined, 'request_too_large', 413)));

test('body over server.maxBodyBytes sent chunked (no content-length): cut at the limit, 413', async () => {
  const chunk = new TextEncoder().encode(' '.repeat(1024));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (sent++ < 8) ctl.enqueue(chunk);
      else ctl.close();
    },
  });
  const res = await fetch(small.url + CHAT, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, 'body_too_large');
});

test('after the table: no internal errors, the server still answers, Object.prototype is clean', async () => {
  assert.deepEqual(warnings.filter((w) => w.includes('internal error')), []);
  assert.equal(({} as Record<string, unknown>).model, undefined);
  const ok = await fetch(t.url + CHAT, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat()) });
  assert.equal(ok.status, 200);
  await ok.text();
});
