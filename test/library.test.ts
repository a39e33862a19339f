/**
 * The in-process entry point: `createGateway()` then `gw.handle`, `gw.fetch` and `wrapOpenAI`. The SDK suites are the
 * same bodies the HTTP tests run; the rest covers what only the library exposes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { createGateway, wrapOpenAI, type Gateway, type GatewayResponse, type RequestRecord } from '../src/index.js';
import { openaiChecks } from './helpers/openai-checks.js';
import { anthropicChecks, recordFor, tagged, type Target } from './helpers/anthropic-checks.js';

let gw: Gateway;
const records: RequestRecord[] = [];
let openai: Target<OpenAI>;
let anthropic: Target<Anthropic>;

before(async () => {
  gw = await createGateway({ env: {}, config: { ledger: { store: 'memory' } } as never, sinks: [(r) => records.push(r)] });
  openai = { client: wrapOpenAI(new OpenAI({ apiKey: 'x', maxRetries: 0 }), gw, { feature: 'f' }), records };
  anthropic = { client: new Anthropic({ apiKey: 'x', baseURL: 'http://costgate.in-process', fetch: gw.fetch, maxRetries: 0 }), records };
});
after(() => gw.close());

openaiChecks('in-process', () => openai);
anthropicChecks('in-process', () => anthropic);

const json = (r: GatewayResponse): any => JSON.parse(String(r.body));

async function drain(r: GatewayResponse): Promise<string> {
  let s = '';
  for await (const c of r.stream!) s += typeof c === 'string' ? c : new TextDecoder().decode(c);
  return s;
}

test('gw.handle: chat, non-streaming', async () => {
  const r = await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 9 }, headers: {} });
  assert.equal(r.status, 200);
  assert.match(r.headers['x-costgate-request-id']!, /^cg-/);
  const b = json(r);
  assert.equal(b.object, 'chat.completion');
  assert.equal(b.usage.completion_tokens, 9);
  const rec = await recordFor({ client: null, records }, r.headers['x-costgate-request-id']!);
  assert.equal(rec.usage?.outputTokens, 9);
});

test('gw.handle: chat streaming with include_usage yields SSE ending in [DONE], usage recorded', async () => {
  const { id, opts } = tagged('handle');
  const body = { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'stream' }], max_tokens: 50, stream: true, stream_options: { include_usage: true } };
  const r = await gw.handle({ endpoint: 'chat', body, headers: opts.headers });
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type']!, /^text\/event-stream/);
  const chunks = (await drain(r)).split('\n\n').filter(Boolean).map((e) => e.slice('data: '.length));
  assert.equal(chunks.pop(), '[DONE]');
  const usage = JSON.parse(chunks.pop()!).usage;
  const text = chunks.map((c) => JSON.parse(c).choices[0]?.delta?.content ?? '').join('');
  assert.ok(text.length > 0);
  const rec = await recordFor({ client: null, records }, id);
  assert.deepEqual([rec.usage?.inputTokens, rec.usage?.outputTokens], [usage.prompt_tokens, usage.completion_tokens]);
});

test('gw.handle: tools, embeddings and the Anthropic messages endpoint', async () => {
  const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
  const t = json(await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'find' }], tools }, headers: {} }));
  assert.equal(t.choices[0].message.tool_calls[0].function.name, 'lookup');
  const e = json(await gw.handle({ endpoint: 'embeddings', body: { model: 'text-embedding-3-small', input: 'hello', dimensions: 8 }, headers: {} }));
  assert.equal(e.data[0].embedding.length, 8);
  const m = json(await gw.handle({ endpoint: 'messages', body: { model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, headers: {} }));
  assert.equal(m.type, 'message');
  assert.equal(m.usage.output_tokens, 5);
});

test('gw.handle never throws: bad requests come back as errors in the endpoint’s wire format', async () => {
  const noMessages = await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini' }, headers: {} });
  assert.equal(noMessages.status, 400);
  assert.deepEqual(Object.keys(json(noMessages).error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(json(noMessages).error.param, 'messages');
  const notObject = await gw.handle({ endpoint: 'embeddings', body: null, headers: {} });
  assert.equal(notObject.status, 400);
  const unknown = await gw.handle({ endpoint: 'chat', body: { model: 'nope', messages: [{ role: 'user', content: 'x' }] }, headers: {} });
  assert.equal(unknown.status, 404);
  assert.equal(json(unknown).error.code, 'model_not_found');
  const anth = await gw.handle({ endpoint: 'messages', body: { model: 'claude-haiku-4-5', messages: [] }, headers: {} });
  assert.equal(anth.status, 400);
  assert.equal(json(anth).type, 'error');
  assert.equal(json(anth).error.type, 'invalid_request_error');
});

test('wrapOpenAI: defaults are recorded, per-request headers win, the client’s own default headers survive', async () => {
  const base = new OpenAI({ apiKey: 'x', maxRetries: 0, defaultHeaders: { 'x-costgate-team': 'core' } });
  const wrapped = wrapOpenAI(base, gw, { feature: 'f', user: 'u-1', priority: 'optional' });
  assert.equal(base.baseURL, 'https://api.openai.com/v1', 'the original client is not modified');
  const a = tagged('wrap');
  await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, a.opts);
  const ra = await recordFor(openai, a.id);
  assert.deepEqual([ra.feature, ra.user, ra.priority, ra.team], ['f', 'u-1', 'optional', 'core']);
  const b = tagged('wrap');
  await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { headers: { ...b.opts.headers, 'x-costgate-feature': 'other' } });
  assert.equal((await recordFor(openai, b.id)).feature, 'other');
  const s = tagged('wrap');
  const stream = await openai.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }, s.opts);
  for await (const _ of stream);
  assert.equal((await recordFor(openai, s.id)).feature, 'f', 'streams are attributed too');
});

test('gw.fetch: models, health, unknown paths, and a Request object whose init overrides it', async () => {
  const models = await (await gw.fetch('http://costgate.local/v1/models')).json();
  assert.ok(models.data.some((m: { id: string }) => m.id === 'gpt-4o'));
  assert.equal((await gw.fetch('http://costgate.local/healthz')).status, 200);
  const missing = await gw.fetch('http://costgate.local/v1/nope', { method: 'POST', body: '{}' });
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.type, 'invalid_request_error');
  const req = new Request('http://costgate.local/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"nope"}' });
  const r = await gw.fetch(req, { body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 3, messages: [{ role: 'user', content: 'x' }] }), method: 'POST' });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).usage.completion_tokens, 3);
});

test('gw.fetch: an already-aborted signal rejects with its reason and never reaches the pipeline', async () => {
  const before = records.length;
  const reason = new Error('caller gave up');
  const id = `aborted-${Date.now()}`;
  const init = { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-request-id': id }, body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 3, messages: [{ role: 'user', content: 'x' }] }) };
  await assert.rejects(gw.fetch('http://costgate.local/v1/chat/completions', { ...init, signal: AbortSignal.abort(reason) }), (e) => e === reason);
  // With no reason given, fetch rejects with the signal's default reason, an AbortError DOMException.
  const ctl = new AbortController();
  ctl.abort();
  await assert.rejects(gw.fetch(new Request('http://costgate.local/v1/chat/completions', { ...init, signal: ctl.signal })), (e) => e === ctl.signal.reason && (e as DOMException).name === 'AbortError');
  // The SDKs pass their signal the same way: the call fails as an abort, with no request made.
  await assert.rejects(openai.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { signal: AbortSignal.abort() }), OpenAI.APIUserAbortError);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(records.length, before, 'no request was recorded');
  assert.ok(!records.some((r) => r.id === id));
});

test('wrapOpenAI: SDK retries default to 0 (the gateway retries), a maxRetries the caller set is kept', async () => {
  assert.equal(wrapOpenAI(new OpenAI({ apiKey: 'x' }), gw).maxRetries, 0);
  assert.equal(wrapOpenAI(new OpenAI({ apiKey: 'x', maxRetries: 5 }), gw).maxRetries, 5);
  assert.equal(wrapOpenAI(new OpenAI({ apiKey: 'x', maxRetries: 0 }), gw).maxRetries, 0);
  // A failing upstream: the gateway makes its attempts, and the wrapped SDK does not repeat the whole call.
  const failing = await createGateway({
    env: {},
    config: {
      ledger: { store: 'memory' },
      providers: { a: { type: 'simulator' } },
      deployments: [{ name: 'd', provider: 'a', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '500' } }],
      models: { m: { deployments: ['d'] } },
      retries: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    } as never,
    sinks: [(r) => failed.push(r)],
  });
  const failed: RequestRecord[] = [];
  try {
    const client = wrapOpenAI(new OpenAI({ apiKey: 'x' }), failing);
    await assert.rejects(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), (e: any) => e.status >= 500);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(failed.length, 1, 'one gateway request, not one per SDK retry');
    assert.equal(failed[0]!.attempts.length, 2, 'the gateway retried');
  } finally {
    await failing.close();
  }
});

test('gw.requests / gw.request / gw.report: the ledger in-process, flushed, same filters as the HTTP API', async () => {
  const headers = { 'x-costgate-feature': 'lib-ledger', 'x-costgate-user': 'u-lib' };
  const ids: string[] = [];
  for (const model of ['gpt-4o-mini', 'claude-haiku-4-5', 'gpt-4o-mini']) {
    const r = await gw.handle({ endpoint: 'chat', body: { model, messages: [{ role: 'user', content: 'ledger' }], max_tokens: 5 }, headers });
    assert.equal(r.status, 200);
    ids.push(r.headers['x-costgate-request-id']!);
  }
  // No explicit flush: the methods flush queued rows themselves.
  const page1 = await gw.requests({ feature: 'lib-ledger', limit: 2 });
  assert.equal(page1.rows.length, 2);
  assert.ok(page1.nextCursor);
  const page2 = await gw.requests({ feature: 'lib-ledger', limit: 2, cursor: page1.nextCursor });
  assert.deepEqual([...page1.rows, ...page2.rows].map((r) => r.requestId).sort(), [...ids].sort());
  assert.equal(page2.nextCursor, undefined);
  assert.ok([...page1.rows, ...page2.rows].every((r) => r.user === 'u-lib' && r.costNanos > 0));

  const [one] = await gw.request(ids[1]!);
  assert.equal(one!.model, 'claude-haiku-4-5');
  assert.deepEqual(one!.attempts.map((a) => [a.n, a.outcome, a.costNanos]), [[1, 'ok', one!.costNanos]]);
  assert.deepEqual(await gw.request('no-such-request'), []);

  const s = await gw.report({ feature: 'lib-ledger' }, ['model']);
  assert.deepEqual(s.rows.map((r) => [r.group.model, r.requests]).sort(), [['claude-haiku-4-5', 1], ['gpt-4o-mini', 2]]);
  assert.equal(s.total.costNanos, [...page1.rows, ...page2.rows].reduce((a, r) => a + BigInt(r.costNanos), 0n));
});
