/** SSE framing and the same-wire (passthrough) stream path: exact bytes out, usage read on the side. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { SseSplitter, parseEvent, sseEvent, type SseEvent } from './sse.js';
import { createStreamProcessor } from './stream.js';
import { fromAnthropicUsage, fromOpenAIUsage } from '../usage.js';
import { anthropicMessage, anthropicStream, openaiTextCompletion, openaiStream, pieces } from './wire-fixtures.js';

function splitAll(chunks: Iterable<Uint8Array | string>): { events: SseEvent[]; rest: string } {
  const s = new SseSplitter();
  const events: SseEvent[] = [];
  for (const c of chunks) events.push(...s.push(c));
  return { events, rest: s.rest() };
}

test('SseSplitter: events survive any chunking, including one byte at a time and split UTF-8 characters', () => {
  const text = sseEvent('{"t":"héllo → 世界 🎉"}', 'content_block_delta') + ': keep-alive comment\n\n' + sseEvent('[DONE]');
  for (const size of [1, 2, 3, 5, 64]) {
    const { events, rest } = splitAll(pieces(text, size));
    assert.deepEqual(events.map((e) => [e.event, e.data]), [['content_block_delta', '{"t":"héllo → 世界 🎉"}'], [undefined, undefined], [undefined, '[DONE]']], `size ${size}`);
    assert.equal(rest, '');
  }
});

test('SseSplitter: a CRLF split across chunks does not cut an event in two (regression)', () => {
  const text = 'event: message_delta\r\ndata: {"a":1}\r\n\r\nevent: message_stop\r\ndata: {}\r\n\r\n';
  for (let cut = 1; cut < text.length; cut++) {
    const { events, rest } = splitAll([text.slice(0, cut), text.slice(cut)]);
    assert.deepEqual(events.map((e) => [e.event, e.data]), [['message_delta', '{"a":1}'], ['message_stop', '{}']], `cut at ${cut}`);
    assert.equal(rest, '');
  }
});

test('SseSplitter: lone CR line endings, multi-line data, a bare data field, and an unterminated tail', () => {
  assert.deepEqual(splitAll(['data: a\rdata: b\r\r']).events.map((e) => e.data), ['a\nb']);
  assert.equal(parseEvent('data').data, '');
  assert.equal(parseEvent('data:x').data, 'x');
  assert.equal(parseEvent('event:ping\ndata:  two spaces').data, ' two spaces');
  assert.equal(splitAll(['data: {"cut":', '"here']).rest, 'data: {"cut":"here');
});

test('Anthropic → Anthropic passthrough forwards the exact event text and meters usage (both API versions)', async () => {
  for (const restate of [false, true]) {
    const sse = anthropicStream(restate);
    const proc = createStreamProcessor('anthropic', 'anthropic', true);
    const split = new SseSplitter();
    let out = '';
    for (const p of pieces(sse, 11)) for (const ev of split.push(p)) out += proc.push(ev);
    assert.ok(proc.complete);
    out += proc.end();
    assert.equal(out, sse);
    assert.deepEqual(proc.usage(), fromAnthropicUsage(anthropicMessage.usage));
    const client = new Anthropic({ apiKey: 'x', fetch: async () => new Response(out, { headers: { 'content-type': 'text/event-stream' } }) });
    const final = await client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    // The SDK keeps message_start's TTL breakdown and takes any restated totals: the same usage as the whole body.
    assert.deepEqual(final.usage, anthropicMessage.usage);
  }
});

test('OpenAI → OpenAI passthrough: the usage chunk the gateway asked for is stripped unless the client asked too', () => {
  const sse = openaiStream(openaiTextCompletion, true);
  for (const wants of [false, true]) {
    const proc = createStreamProcessor('openai', 'openai', wants);
    const split = new SseSplitter();
    let out = '';
    for (const p of pieces(sse)) for (const ev of split.push(p)) out += proc.push(ev);
    assert.ok(proc.complete);
    assert.deepEqual(proc.usage(), fromOpenAIUsage(openaiTextCompletion.usage));
    assert.equal(proc.text, 'Hello there, friend.');
    const usageChunk = sse.split('\n\n').at(-3)! + '\n\n';
    assert.match(usageChunk, /"choices":\[\],"usage":\{"prompt_tokens":2006/);
    // A client that did not ask gets exactly the stream the provider sends without include_usage: no usage chunk, and
    // no `"usage":null` on the others.
    assert.equal(out, wants ? sse : openaiStream(openaiTextCompletion, false));
  }
});

test('OpenAI → OpenAI: a client that asked for usage gets the provider bytes untouched (every event forwarded as is)', () => {
  const sse = openaiStream(openaiTextCompletion, true);
  const proc = createStreamProcessor('openai', 'openai', true);
  const split = new SseSplitter();
  for (const p of pieces(sse)) {
    for (const ev of split.push(p)) {
      assert.equal(proc.push(ev), ev.raw + '\n\n');
      assert.equal(proc.forwarded, true);
    }
  }
});

test('OpenAI → OpenAI, client without include_usage: "usage": null dropped in any spelling or position, content left alone', () => {
  const strip = (raw: string) => {
    const proc = createStreamProcessor('openai', 'openai', false);
    const out = proc.push(parseEvent(raw));
    return { out, forwarded: proc.forwarded, text: proc.text };
  };
  const tail = strip('data: {"id":"c1","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}');
  assert.deepEqual(tail, { out: 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n', forwarded: false, text: 'hi' });
  // Python-style separators, usage first or in the middle: parsed, top-level key removed.
  for (const raw of [
    'data: {"id": "c1", "choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": null}',
    'data: {"usage":null,"id":"c1","choices":[{"index":0,"delta":{"content":"hi"}}]}',
    'data: {"id":"c1","usage":null,"choices":[{"index":0,"delta":{"content":"hi"}}]}',
    'data: {"id":"c1",\ndata: "choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}',
  ]) {
    const r = strip(raw);
    assert.deepEqual(JSON.parse(r.out.slice(6)), { id: 'c1', choices: [{ index: 0, delta: { content: 'hi' } }] }, raw);
    assert.ok(r.out.endsWith('}\n\n') && r.out.indexOf('\n') === r.out.length - 2, 'one data line');
  }
  // "usage" as content, or a nested usage, is not the top-level key: forwarded as is.
  for (const raw of ['data: {"id":"c1","choices":[{"index":0,"delta":{"content":"usage"}}]}', 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"x"},"usage":null}],"x":1}']) {
    assert.deepEqual(strip(raw).out, raw + '\n\n', raw);
  }
  // Usage on a content chunk (some OpenAI-compatible providers): metered, and not shown to this client.
  const proc = createStreamProcessor('openai', 'openai', false);
  const out = proc.push(parseEvent('data: {"id":"c1","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}'));
  assert.equal(out, 'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n');
  assert.equal(proc.usage()?.inputTokens, 3);
  // The same chunk to a client that asked keeps its usage.
  const asked = createStreamProcessor('openai', 'openai', true);
  const raw = 'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}';
  assert.equal(asked.push(parseEvent(raw)), raw + '\n\n');
});

test('OpenAI passthrough marks an error chunk and forwards it untouched', () => {
  const proc = createStreamProcessor('openai', 'openai', false);
  const raw = 'data: {"error":{"message":"boom","type":"server_error"}}';
  assert.equal(proc.push(parseEvent(raw)), raw + '\n\n');
  assert.equal(proc.upstreamError, 'boom');
  assert.equal(proc.complete, false);
});
