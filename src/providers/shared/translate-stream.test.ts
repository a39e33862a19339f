/**
 * Streaming translation both ways, fed real-shaped event sequences in awkward byte pieces. The translated stream is
 * parsed by the target's official SDK (its stream parser checks event order), and its usage must equal the
 * non-streaming usage of the same call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { Wire } from '../adapter.js';
import { createStreamProcessor, type StreamProcessor } from './stream.js';
import { SseSplitter, parseEvent } from './sse.js';
import { anthropicToOpenAIResponse, openaiToAnthropicResponse } from './translate-response.js';
import { fromAnthropicUsage, fromOpenAIUsage } from '../usage.js';
import { anthropicMessage, anthropicStream, openaiTextCompletion, openaiToolCompletion, openaiStream, pieces } from './wire-fixtures.js';

type Json = Record<string, any>;

/** What the dispatch stage does with an upstream stream: split, push each event, then end() if it completed. */
function translate(upstream: Wire, client: Wire, sse: string, wantsUsage: boolean): { out: string; proc: StreamProcessor } {
  const proc = createStreamProcessor(upstream, client, wantsUsage);
  const split = new SseSplitter();
  let out = '';
  for (const p of pieces(sse)) for (const ev of split.push(p)) out += proc.push(ev);
  if (proc.complete && !proc.upstreamError) out += proc.end();
  return { out, proc };
}

const sseResponse = (body: string) => async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } });
const anthropicOver = (body: string) => new Anthropic({ apiKey: 'x', maxRetries: 0, fetch: sseResponse(body) });
const openaiOver = (body: string) => new OpenAI({ apiKey: 'x', maxRetries: 0, fetch: sseResponse(body) });
const anthropicParams = { model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };
const openaiParams = { model: 'claude-sonnet-4-5', messages: [{ role: 'user' as const, content: 'hi' }], stream_options: { include_usage: true } };

/** The events of an SSE body, parsed. */
const events = (body: string): { event?: string; data: any }[] =>
  body.split('\n\n').filter(Boolean).map((raw) => {
    const e = parseEvent(raw);
    return { event: e.event, data: e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data!) };
  });

/** Anthropic's documented order: message_start, then whole blocks with indexes 0..n-1, message_delta, message_stop. */
function assertAnthropicOrder(body: string): void {
  const types = events(body).map((e) => {
    assert.equal(e.event, e.data.type, 'event name matches data.type');
    return e.data.type as string;
  }).filter((t) => t !== 'ping');
  assert.equal(types.shift(), 'message_start');
  assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
  let open = -1;
  let next = 0;
  for (const [i, e] of events(body).filter((x) => x.data.type?.startsWith('content_block')).entries()) {
    if (e.data.type === 'content_block_start') {
      assert.equal(open, -1, `block ${e.data.index} starts while ${open} is open (event ${i})`);
      assert.equal(e.data.index, next++);
      open = e.data.index;
    } else {
      assert.equal(e.data.index, open, `${e.data.type} for block ${e.data.index}, open is ${open}`);
      if (e.data.type === 'content_block_stop') open = -1;
    }
  }
  assert.equal(open, -1, 'every block is closed');
}

for (const restateInput of [false, true]) {
  const version = restateInput ? 'message_delta restating input counts (newer API)' : 'input counts only in message_start';
  test(`Anthropic → OpenAI stream, ${version}: SDK result and usage equal the non-streaming translation`, async () => {
    const { out, proc } = translate('anthropic', 'openai', anthropicStream(restateInput, true), true);
    const expected = anthropicToOpenAIResponse(anthropicMessage);
    assert.deepEqual(proc.usage(), fromAnthropicUsage(anthropicMessage.usage));
    const final = await openaiOver(out).chat.completions.stream(openaiParams).finalChatCompletion();
    assert.equal(final.id, expected.id);
    assert.deepEqual(final.choices[0]!.message.content, expected.choices[0].message.content);
    assert.equal(final.choices[0]!.finish_reason, 'tool_calls');
    const call = final.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    assert.deepEqual({ id: call.id, name: call.function.name, args: JSON.parse(call.function.arguments) }, { id: anthropicMessage.content[1].id, name: 'get_weather', args: { city: 'Paris' } });
    assert.deepEqual(final.usage, expected.usage);
    const evs = events(out);
    assert.equal(evs.at(-1)!.data, '[DONE]');
    assert.deepEqual(evs.at(-2)!.data.choices, [], 'usage-only chunk last before [DONE]');
    assert.equal(evs.filter((e) => e.data.choices?.[0]?.finish_reason).length, 1, 'one finish chunk');
  });
}

test('Anthropic → OpenAI stream without include_usage: no usage chunk for the client, usage still metered', async () => {
  const { out, proc } = translate('anthropic', 'openai', anthropicStream(true), false);
  assert.ok(events(out).every((e) => e.data === '[DONE]' || !e.data.usage));
  assert.deepEqual(proc.usage(), fromAnthropicUsage(anthropicMessage.usage));
  assert.equal(proc.text, 'Let me check the weather.{"city": "Paris"}');
});

for (const [name, completion] of [['text', openaiTextCompletion], ['parallel tool calls', openaiToolCompletion]] as const) {
  test(`OpenAI → Anthropic stream (${name}): valid event order, SDK message and usage equal the non-streaming translation`, async () => {
    const { out, proc } = translate('openai', 'anthropic', openaiStream(completion, true), true);
    assertAnthropicOrder(out);
    const expected = openaiToAnthropicResponse(completion);
    assert.deepEqual(proc.usage(), fromOpenAIUsage(completion.usage));
    const final = await anthropicOver(out).messages.stream(anthropicParams).finalMessage();
    assert.equal(final.id, expected.id);
    assert.deepEqual(final.content, expected.content);
    assert.equal(final.stop_reason, expected.stop_reason);
    assert.deepEqual(final.usage, expected.usage);
  });
}

test('OpenAI → Anthropic stream via create({stream:true}) iteration: usage split as Anthropic splits it', async () => {
  const { out } = translate('openai', 'anthropic', openaiStream(openaiTextCompletion, true), false);
  const seen: Json[] = [];
  for await (const ev of await anthropicOver(out).messages.create({ ...anthropicParams, stream: true })) seen.push(ev);
  assert.equal(seen[0]!.type, 'message_start');
  const delta = seen.find((e) => e.type === 'message_delta')!;
  assert.deepEqual(delta.usage, openaiToAnthropicResponse(openaiTextCompletion).usage);
  assert.equal(delta.delta.stop_reason, 'end_turn');
  assert.equal(seen.at(-1)!.type, 'message_stop');
});

test('OpenAI → Anthropic stream with no usage chunk still closes properly; usage left to the estimator', async () => {
  const { out, proc } = translate('openai', 'anthropic', openaiStream(openaiTextCompletion, false), true);
  assertAnthropicOrder(out);
  assert.equal(proc.usage(), undefined);
  const final = await anthropicOver(out).messages.stream(anthropicParams).finalMessage();
  assert.deepEqual(final.content, [{ type: 'text', text: 'Hello there, friend.' }]);
});

test('mid-stream OpenAI error reaches an Anthropic client as an error event the SDK throws (regression: was dropped)', async () => {
  const cut = openaiStream(openaiTextCompletion, true).split('\n\n').slice(0, 3).join('\n\n') + '\n\n';
  const sse = cut + `data: ${JSON.stringify({ error: { message: 'The server had an error', type: 'server_error', param: null, code: null } })}\n\n`;
  const { out, proc } = translate('openai', 'anthropic', sse, true);
  assert.equal(proc.upstreamError, 'The server had an error');
  const last = events(out).at(-1)!;
  assert.deepEqual(last, { event: 'error', data: { type: 'error', error: { type: 'api_error', message: 'The server had an error' } } });
  await assert.rejects(anthropicOver(out).messages.stream(anthropicParams).finalMessage(), /The server had an error/);
});

test('mid-stream Anthropic error reaches an OpenAI client as an error chunk', async () => {
  const cut = anthropicStream(false).split('\n\n').slice(0, 4).join('\n\n') + '\n\n';
  const sse = cut + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
  const { out, proc } = translate('anthropic', 'openai', sse, true);
  assert.equal(proc.upstreamError, 'Overloaded');
  assert.equal(proc.complete, false);
  assert.deepEqual(events(out).at(-1)!.data.error, { message: 'Overloaded', type: 'overloaded_error', code: null, param: null });
  await assert.rejects(openaiOver(out).chat.completions.stream(openaiParams).finalChatCompletion(), /Overloaded/);
});

test('unknown or prototype-named stop reasons map to defaults, never to Object members', () => {
  const sse = anthropicStream(false).replace('"stop_reason":"tool_use"', '"stop_reason":"constructor"');
  const { out } = translate('anthropic', 'openai', sse, false);
  assert.equal(events(out).find((e) => e.data.choices?.[0]?.finish_reason)!.data.choices[0].finish_reason, 'stop');
});

test('an OpenAI refusal streams to an Anthropic client as text with stop_reason refusal, like the whole body', async () => {
  const refusal: Json = { ...openaiTextCompletion, choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: "I can't help." }, logprobs: null, finish_reason: 'stop' }] };
  const chunk = (delta: Json, finish: string | null = null) => `data: ${JSON.stringify({ id: refusal.id, object: 'chat.completion.chunk', model: refusal.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const sse = chunk({ role: 'assistant', content: null, refusal: '' }) + chunk({ refusal: "I can't" }) + chunk({ refusal: ' help.' }) + chunk({}, 'stop') + 'data: [DONE]\n\n';
  const { out } = translate('openai', 'anthropic', sse, true);
  assertAnthropicOrder(out);
  const final = await anthropicOver(out).messages.stream(anthropicParams).finalMessage();
  const whole = openaiToAnthropicResponse(refusal);
  assert.deepEqual(final.content, whole.content);
  assert.equal(final.stop_reason, 'refusal');
});
