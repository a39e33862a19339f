/** The official `openai` SDK, unmodified but for baseURL, against costgate → simulator. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let t: TestGateway;
let client: OpenAI;

before(async () => {
  t = await startTestGateway();
  client = new OpenAI({ apiKey: 'sk-test-not-a-real-key', baseURL: `${t.url}/v1`, maxRetries: 0 });
});
after(() => t.close());

test('chat completion (non-streaming) with usage', async () => {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 20 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices.length, 1);
  assert.ok(r.choices[0]!.message.content!.length > 0);
  assert.equal(r.usage!.completion_tokens, 20);
  assert.ok(r.usage!.prompt_tokens > 0);
});

test('chat completion streaming with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Stream please' }],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 12,
  });
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(text.length > 0);
  assert.equal(usage?.completion_tokens, 12);
});

test('streaming without include_usage: client sees no usage chunk, ledger still gets usage', async () => {
  const before = t.records.length;
  const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'no usage for me' }], stream: true, max_tokens: 7 });
  let sawUsage = false;
  for await (const chunk of stream) if (chunk.usage) sawUsage = true;
  assert.equal(sawUsage, false);
  const recs = await t.waitRecords(before + 1);
  const rec = recs[recs.length - 1]!;
  assert.equal(rec.usage?.outputTokens, 7);
  assert.equal(rec.usage?.estimated, false);
});

test('tools / function calling, non-streaming and streaming', async () => {
  const tools: OpenAI.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  ];
  const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools });
  const call = r.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
  assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');

  const s = client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools });
  const final = await s.finalChatCompletion();
  const fc = final.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
  assert.equal(fc.function.name, 'get_weather');
  assert.deepEqual(Object.keys(JSON.parse(fc.function.arguments)), ['city']);
});

test('tools served by an Anthropic model through the OpenAI surface', async () => {
  const r = await client.chat.completions.create({
    model: 'claude-sonnet-4-5',
    messages: [{ role: 'user', content: 'Weather in Rome?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
  });
  const call = r.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
  assert.equal(call.function.name, 'get_weather');
  assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
});

test('response_format json_schema returns schema-shaped JSON', async () => {
  const r = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Classify' }],
    response_format: { type: 'json_schema', json_schema: { name: 'c', schema: { type: 'object', properties: { label: { type: 'string', enum: ['a', 'b'] }, score: { type: 'number' } }, required: ['label', 'score'] } } },
  });
  const v = JSON.parse(r.choices[0]!.message.content!);
  assert.ok(['a', 'b'].includes(v.label));
  assert.equal(typeof v.score, 'number');
});

test('n and stop', async () => {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two answers' }], n: 2, max_tokens: 30 });
  assert.equal(r.choices.length, 2);
  const full = r.choices[0]!.message.content!;
  const word = full.split(' ')[3]!;
  const s = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two answers' }], max_tokens: 30, stop: [` ${word}`] });
  assert.ok(!s.choices[0]!.message.content!.includes(` ${word}`));
  assert.equal(s.choices[0]!.finish_reason, 'stop');
});

test('max_completion_tokens is honoured', async () => {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 5 });
  assert.equal(r.usage!.completion_tokens, 5);
  assert.equal(r.choices[0]!.finish_reason, 'length');
});

test('embeddings (the SDK asks for base64 and decodes it)', async () => {
  const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello', 'world'] });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[0]!.embedding.length, 1536);
  const norm = Math.sqrt(r.data[0]!.embedding.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-3);
  assert.ok(r.usage.prompt_tokens >= 2);
  const f = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', encoding_format: 'float', dimensions: 64 });
  assert.equal(f.data[0]!.embedding.length, 64);
  assert.deepEqual(f.data[0]!.embedding.slice(0, 3).map((x) => typeof x), ['number', 'number', 'number']);
});

test('models list', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  for (const id of ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5', 'claude-sonnet-4-5', 'claude-opus-4-1']) assert.ok(ids.includes(id), id);
});

test('SDK errors: unknown model is a 404 NotFoundError with OpenAI error shape', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), (e: any) => {
    assert.equal(e.status, 404);
    assert.equal(e.error?.type ?? e.type, 'invalid_request_error');
    return true;
  });
});

test('metadata headers and body metadata attribute the request and never reach upstream', async () => {
  const before = t.records.length;
  await client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'attr' }], metadata: { feature: 'search', team: 'core' } as Record<string, string> },
    { headers: { 'x-costgate-user': 'u-42', 'x-costgate-priority': 'critical', 'x-costgate-request-id': 'my-req-1' } },
  );
  const recs = await t.waitRecords(before + 1);
  const rec = recs[recs.length - 1]!;
  assert.equal(rec.id, 'my-req-1');
  assert.equal(rec.feature, 'search');
  assert.equal(rec.team, 'core');
  assert.equal(rec.user, 'u-42');
  assert.equal(rec.priority, 'critical');
  const raw = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'attr' }] }).withResponse();
  assert.match(raw.response.headers.get('x-costgate-request-id')!, /^cg-/);
  assert.equal(raw.response.headers.get('x-costgate-provider'), 'simulator');
  assert.equal(raw.response.headers.get('x-costgate-model'), 'gpt-4o-mini');
});
