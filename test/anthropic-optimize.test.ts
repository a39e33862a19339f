/**
 * Token optimisation on the Anthropic surface (/v1/messages through the official SDK, over HTTP, to the simulator):
 * trim, tool pruning and summarisation change only what they are for — client cache_control breakpoints, images,
 * tool_use ids, metadata and thinking reach the upstream as sent — and the ledger gets the same notes as the OpenAI
 * path. Structured output: an OpenAI-surface json_schema request served by a Claude model uses Anthropic's native
 * mechanism (a forced tool), streaming or not; an answer that still does not validate gets the one repair call.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import { invalidReason } from '../src/optimize/structured.js';
import { SUMMARY_PREFIX } from '../src/optimize/summarize.js';
import type { Json } from '../src/providers/adapter.js';

const upstream: { model: string; body: Json }[] = [];
/** Per test: what the simulator answers (undefined: its own answer). */
let answer: (model: string, body: Json) => string | undefined = () => 'ok';
let t: TestGateway;
let client: Anthropic;

const isSummaryCall = (b: Json) => /^Summarise/.test(typeof b.system === 'string' ? b.system : String(b.messages?.[0]?.content ?? ''));

before(async () => {
  t = await startTestGateway({
    config: {
      providers: { sim: { type: 'simulator', models: ['claude-sonnet-4-5', 'claude-haiku-4-5', 'gpt-4o-mini'] } },
      ledger: { store: 'memory' },
      optimize: {
        features: {
          rag: { trim: { enabled: true, topK: 1 }, tools: { enabled: true, keep: 2 } },
          support: { summarize: { enabled: true, maxTurns: 6, keepLast: 4, model: 'claude-haiku-4-5' } },
          wx: { structured: { enabled: true } },
          wxprompt: { structured: { enabled: true, native: false } },
          wxa: { structured: { enabled: true } },
          wxcache: { structured: { enabled: true }, promptCache: { enabled: true, write: 'always', ttl: '5m' } },
        },
      },
    },
    simulator: {
      answer: (m: string, b: Json) => {
        upstream.push({ model: m, body: structuredClone(b) });
        return isSummaryCall(b) ? 'SUMMARY: order 12 shipped.' : answer(m, b);
      },
    },
  });
  client = new Anthropic({ apiKey: 'x', baseURL: t.url, maxRetries: 0 });
});
after(() => t.close());

const feature = (f: string) => ({ headers: { 'x-costgate-feature': f } });
const rowsOf = async (f: string) => (await t.gw.requests({ feature: f })).rows;
const IMAGE = { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==' } };
const DOCS = ['The warranty covers the battery for two years.', 'Our office in Lyon is open Monday to Friday.', 'The cafeteria serves lunch from noon.'];
const tool = (name: string, description: string, extra: Json = {}) => ({ name, description, input_schema: { type: 'object' as const, properties: {} }, ...extra });

test('Anthropic surface: trim and tool pruning; client breakpoints, images, tool_use ids and metadata survive; ledger notes', async () => {
  upstream.length = 0;
  answer = () => 'ok';
  const system = [
    { type: 'text' as const, text: 'Answer from the documents. '.repeat(10), cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } },
  ];
  const messages: Anthropic.MessageParam[] = [
    { role: 'user', content: [IMAGE, { type: 'text', text: 'Look up order 12 first.' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01A', name: 'lookup_order', input: { n: 12 } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: 'shipped' }, { type: 'text', text: DOCS.map((d) => `<costgate:doc>${d}</costgate:doc>`).join('\n') }, { type: 'text', text: 'Is the battery covered by the warranty?', cache_control: { type: 'ephemeral' } }] },
  ];
  const tools = [
    tool('get_weather', 'Current weather for a city'),
    tool('lookup_order', 'Find an order by its number'),
    tool('send_email', 'Send an email to a contact'),
    tool('battery_warranty_check', 'Check whether a battery is covered by the warranty'),
    tool('translate_text', 'Translate text between languages', { cache_control: { type: 'ephemeral' } }),
  ];
  const req = { model: 'claude-sonnet-4-5', max_tokens: 50, system, messages, tools, metadata: { user_id: 'u-42' } };
  const sent = structuredClone(req);
  const msg = await client.messages.create(req, feature('rag'));
  assert.equal(msg.type, 'message');
  assert.deepEqual(req, sent, 'the client object is not mutated');
  assert.equal(upstream.length, 1);
  const up = upstream[0]!.body;
  // Tools: lookup_order (already called) and the best match are kept; translate_text's breakpoint moves to the last kept.
  assert.deepEqual(up.tools.map((x: Json) => x.name), ['lookup_order', 'battery_warranty_check']);
  assert.deepEqual(up.tools[1].cache_control, { type: 'ephemeral' });
  // Trim: only the battery document is left, markers removed; every other block as sent.
  assert.equal(up.messages[2].content[1].text, `${DOCS[0]}\n\n`);
  assert.deepEqual(up.messages[2].content[0], messages[2]!.content[0]);
  assert.deepEqual(up.messages[2].content[2], (messages[2]!.content as Json[])[2], 'client breakpoint on the question kept');
  assert.deepEqual(up.system, system, 'client system breakpoint kept');
  assert.deepEqual(up.messages[0], messages[0], 'image block kept');
  assert.deepEqual(up.messages[1], messages[1], 'tool_use id kept');
  assert.deepEqual(up.metadata, { user_id: 'u-42' });
  const [row] = await rowsOf('rag');
  assert.match(row!.optimize!, /trim:docs=3>1,tokens=\d+>\d+/);
  assert.match(row!.optimize!, /tools:5>2/);
  // Another feature: the body goes out as sent (markers and all five tools).
  await client.messages.create(req, feature('plain'));
  assert.equal(upstream[1]!.body.tools.length, 5);
  assert.match(upstream[1]!.body.messages[2].content[1].text, /<costgate:doc>/);
});

test('Anthropic surface: summarisation keeps the system top-level and tool_use/tool_result pairs together; own ledger row', async () => {
  upstream.length = 0;
  answer = () => 'ok';
  const long = (i: number) => `Turn ${i}: ${'details about the order and its delivery window, '.repeat(15)}`;
  const messages: Anthropic.MessageParam[] = [];
  for (let i = 0; i < 9; i++) messages.push({ role: i % 2 ? 'assistant' : 'user', content: long(i) });
  // Where a plain cut would land (keepLast 4: message 4) is the tool_result of message 3's tool_use.
  messages[3] = { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_02B', name: 'lookup_order', input: { n: 12 } }] };
  messages[4] = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_02B', content: 'shipped' }] };
  messages[8] = { role: 'user', content: [IMAGE, { type: 'text', text: 'Is this the parcel?', cache_control: { type: 'ephemeral' } }] };
  const system = [{ type: 'text' as const, text: 'You are a support agent.', cache_control: { type: 'ephemeral' as const } }];
  const tools = [tool('lookup_order', 'Find an order by its number')];
  const req = { model: 'claude-sonnet-4-5', max_tokens: 50, system, messages, tools };
  const r = await client.messages.create(req, feature('support'));
  assert.equal(r.type, 'message');
  assert.equal(upstream.length, 2, 'the summary call, then the request');
  assert.equal(upstream[0]!.model, 'claude-haiku-4-5');
  assert.ok(isSummaryCall(upstream[0]!.body));
  assert.match(JSON.stringify(upstream[0]!.body.messages), /Turn 0:.*Turn 1:/);
  const up = upstream[1]!.body;
  assert.deepEqual(up.system, [...system, { type: 'text', text: SUMMARY_PREFIX + 'SUMMARY: order 12 shipped.' }]);
  // The cut stepped back to message 2: the tool_use (3) and its tool_result (4) are both kept, as are the image and
  // the breakpoint on the last message.
  assert.deepEqual(up.messages, messages.slice(2));
  assert.deepEqual(up.tools, tools);
  const rows = await rowsOf('support');
  assert.equal(rows.length, 2);
  const call = rows.find((x) => /summarize:call/.test(x.optimize ?? ''))!;
  assert.equal(call.model, 'claude-haiku-4-5');
  const main = rows.find((x) => x !== call)!;
  const m = /summarize:made,turns=9>8,tokens=(\d+)>(\d+)/.exec(main.optimize!);
  assert.ok(m, main.optimize ?? '');
  assert.ok(Number(m[2]) < Number(m[1]));
});

const SCHEMA = { type: 'object', properties: { city: { type: 'string' }, temp: { type: 'number' } }, required: ['city', 'temp'], additionalProperties: false };
const jsonReq = (extra: Json = {}) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 100,
  messages: [{ role: 'system', content: 'You report the weather.' }, { role: 'user', content: 'Weather in Paris as JSON' }],
  response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: SCHEMA } },
  ...extra,
});
const chat = (body: Json, f: string) => postJson(`${t.url}/v1/chat/completions`, body, { 'x-costgate-feature': f });

test('structured (OpenAI surface → Claude): a forced tool instead of a prompt instruction; its input is the content; no repair', async () => {
  upstream.length = 0;
  answer = () => undefined; // the simulator's own answer: a forced tool is called with an instance of its schema
  const r = await chat(jsonReq(), 'wx');
  assert.equal(r.status, 200, r.text);
  const up = upstream[0]!.body;
  assert.deepEqual(up.tools, [{ name: 'weather', description: 'Give your answer as the input of this tool.', input_schema: SCHEMA }]);
  assert.deepEqual(up.tool_choice, { type: 'tool', name: 'weather' });
  assert.equal(up.system, 'You report the weather.', 'no schema instruction in the prompt');
  const msg = r.json.choices[0].message;
  assert.equal(invalidReason(msg.content, SCHEMA), undefined, msg.content);
  assert.equal(msg.tool_calls, undefined);
  assert.equal(r.json.choices[0].finish_reason, 'stop');
  assert.equal(r.headers.get('x-costgate-structured'), null, 'valid: nothing to repair');
  assert.equal(upstream.length, 1, 'no repair call');
  const [row] = await rowsOf('wx');
  assert.match(row!.optimize!, /structured:native=tool/);
  // Without the feature (or with native: false) the translation's schema instruction, as before.
  for (const f of ['other', 'wxprompt']) {
    upstream.length = 0;
    answer = () => '{"city":"Paris","temp":12}';
    const o = await chat(jsonReq(), f);
    assert.equal(o.status, 200);
    assert.equal(upstream[0]!.body.tools, undefined, f);
    assert.match(JSON.stringify(upstream[0]!.body.system), /validates against this JSON Schema/);
    assert.equal(o.json.choices[0].message.content, '{"city":"Paris","temp":12}');
  }
  // Client tools of its own: forcing the schema tool would stop them being called, so the instruction is used.
  upstream.length = 0;
  answer = () => '{"city":"Paris","temp":12}';
  const withTools = await chat(jsonReq({ tools: [{ type: 'function', function: { name: 'geo', parameters: { type: 'object', properties: {} } } }], tool_choice: 'none' }), 'wx');
  assert.equal(withTools.status, 200);
  assert.deepEqual(upstream[0]!.body.tools.map((x: Json) => x.name), ['geo']);
  assert.match(JSON.stringify(upstream[0]!.body.system), /JSON Schema/);
});

test('structured (OpenAI surface → Claude), streaming: the tool input arrives as content deltas; finish_reason stop', async () => {
  upstream.length = 0;
  answer = () => undefined;
  const res = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-feature': 'wx' }, body: JSON.stringify(jsonReq({ stream: true, stream_options: { include_usage: true } })) });
  assert.equal(res.status, 200);
  const chunks = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
  const content = chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
  assert.equal(invalidReason(content, SCHEMA), undefined, content);
  assert.ok(chunks.every((c) => !c.choices?.[0]?.delta?.tool_calls), 'no tool call reaches the client');
  assert.equal(chunks.find((c) => c.choices?.[0]?.finish_reason)?.choices[0].finish_reason, 'stop');
  assert.ok(chunks.at(-1)!.usage.completion_tokens > 0);
  assert.deepEqual(upstream[0]!.body.tool_choice, { type: 'tool', name: 'weather' });
});

test('structured (OpenAI surface → Claude): a forced-tool answer that does not validate gets one repair call; wasted tokens in the ledger', async () => {
  upstream.length = 0;
  // The first answer (the tool's input) has a string temperature; the repair call answers valid JSON.
  answer = () => (upstream.length === 1 ? '{"city":"Paris","temp":"twelve"}' : '{"city":"Paris","temp":12}');
  const r = await chat(jsonReq(), 'wx');
  assert.equal(r.status, 200, r.text);
  assert.equal(upstream[0]!.body.tool_choice.name, 'weather');
  assert.equal(r.headers.get('x-costgate-structured'), 'repaired');
  assert.deepEqual(JSON.parse(r.json.choices[0].message.content), { city: 'Paris', temp: 12 });
  assert.equal(upstream.length, 2, 'exactly one repair call');
  assert.equal(upstream[1]!.model, 'gpt-4o-mini', 'the cheapest configured model');
  const rows = await rowsOf('wx');
  const rep = rows.find((x) => /structured:repair-call/.test(x.optimize ?? ''))!;
  const orig = rows.find((x) => new RegExp(`for=${x.requestId}`).test(rep.optimize!))!;
  assert.ok(orig, 'the repair row names the request');
  assert.match(orig.optimize!, /structured:native=tool/);
  assert.equal(Number(/wasted_output=(\d+)/.exec(rep.optimize!)![1]), orig.outputTokens);
});

test('structured + prompt caching (OpenAI surface → Claude): breakpoints are planned on the body actually sent (with the schema tool)', async () => {
  upstream.length = 0;
  answer = () => undefined;
  const body = jsonReq();
  body.messages[0].content = 'You report the weather for travellers, with care. '.repeat(120);
  const r = await chat(body, 'wxcache');
  assert.equal(r.status, 200, r.text);
  const up = upstream[0]!.body;
  assert.equal(up.tools.length, 1);
  // write: always marks the end of the last message; planned on a body without the tool it would land one boundary
  // early (the end of the system prompt).
  assert.deepEqual(up.messages.at(-1).content.at(-1).cache_control, { type: 'ephemeral' });
  assert.equal(JSON.stringify(up.system).includes('cache_control'), false);
  const [row] = await rowsOf('wxcache');
  assert.match(row!.optimize!, /pc:write=5m@3\/3/);
  assert.match(row!.optimize!, /structured:native=tool/);
});

test('structured (Anthropic surface): a forced tool whose input does not validate against its input_schema gets one repair call', async () => {
  upstream.length = 0;
  answer = () => (upstream.length === 1 ? '{"city":"Paris","temp":"twelve"}' : '{"city":"Paris","temp":12}');
  const weather = { name: 'weather', description: 'Report the weather', input_schema: SCHEMA as Anthropic.Tool.InputSchema };
  const req = { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools: [weather], tool_choice: { type: 'tool' as const, name: 'weather' } };
  const { data, response } = await client.messages.create(req, feature('wxa')).withResponse();
  assert.equal(response.headers.get('x-costgate-structured'), 'repaired');
  const use = data.content.find((b) => b.type === 'tool_use')!;
  assert.equal(use.type, 'tool_use');
  assert.deepEqual(use.type === 'tool_use' && use.input, { city: 'Paris', temp: 12 });
  assert.equal(upstream.length, 2, 'exactly one repair call');
  assert.equal(upstream[1]!.model, 'gpt-4o-mini');
  assert.ok(JSON.stringify(upstream[1]!.body.messages).includes('twelve'));
  const rows = await rowsOf('wxa');
  const rep = rows.find((x) => /structured:repair-call/.test(x.optimize ?? ''))!;
  const orig = rows.find((x) => x !== rep)!;
  assert.match(rep.optimize!, new RegExp(`for=${orig.requestId},wasted_output=${orig.outputTokens}`));
  // A valid input: no repair; a tool that is not forced (tool_choice auto) is not checked.
  upstream.length = 0;
  answer = () => (upstream.length === 1 ? '{"city":"Paris","temp":12}' : 'unexpected');
  const ok = await client.messages.create(req, feature('wxa')).withResponse();
  assert.equal(ok.response.headers.get('x-costgate-structured'), null);
  upstream.length = 0;
  answer = () => 'Sunny.';
  const auto = await client.messages.create({ ...req, tool_choice: { type: 'auto' } }, feature('wxa')).withResponse();
  assert.equal(auto.response.headers.get('x-costgate-structured'), null);
  assert.equal(upstream.length, 1);
});
