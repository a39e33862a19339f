/**
 * The official Anthropic SDK against costgate, as one suite run by every entry point (HTTP server, in-process fetch).
 * Each check runs with a Claude model (same wire, forwarded) and an OpenAI model (translated both ways).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type { RequestRecord } from '../../src/pipeline/record.js';

export interface Target<C> {
  client: C;
  records: RequestRecord[];
}

/** The gateway record of the request sent with `x-costgate-request-id: id` (streams settle after their last byte). */
export async function recordFor(t: Target<unknown>, id: string): Promise<RequestRecord> {
  for (let i = 0; i < 2000; i++) {
    const r = t.records.find((x) => x.id === id);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 5));
  }
  throw new Error(`no record for ${id}`);
}

/** Per-request options naming the request, so its record can be found. */
export const tagged = (prefix = 'req'): { id: string; opts: { headers: Record<string, string> } } => {
  const id = `${prefix}-${randomUUID()}`;
  return { id, opts: { headers: { 'x-costgate-request-id': id } } };
};

/** ≥1024 tokens for either tokenizer, unique per call site so no earlier test has cached it. */
export const longText = (tag: string): string => `[${tag} ${randomUUID()}] ` + 'The gateway meters every request and attributes its cost. '.repeat(120);

/** What the client was told must be what the ledger recorded (Anthropic input_tokens excludes cache reads/writes). */
export function assertUsageRecorded(u: Anthropic.Usage, rec: RequestRecord): void {
  const read = u.cache_read_input_tokens ?? 0;
  const write = u.cache_creation_input_tokens ?? 0;
  assert.ok(rec.usage, 'record has usage');
  assert.equal(rec.usage.estimated, false);
  assert.equal(rec.usage.inputTokens, u.input_tokens + read + write);
  assert.equal(rec.usage.cacheReadTokens, read);
  assert.equal(rec.usage.cacheWrite5mTokens, u.cache_creation?.ephemeral_5m_input_tokens ?? write);
  assert.equal(rec.usage.cacheWrite1hTokens, u.cache_creation?.ephemeral_1h_input_tokens ?? 0);
  assert.equal(rec.usage.outputTokens, u.output_tokens);
}

// The SDK warns on every claude-sonnet-4-5 call (a deprecation notice about the real model); the caching checks
// must use that model, and the notice is noise in test output.
const warn = console.warn;
console.warn = (...a: unknown[]) => (/is deprecated and will reach end-of-life/.test(String(a[0])) ? undefined : warn(...a));

const weatherTool: Anthropic.Tool = { name: 'get_weather', description: 'Current weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

export function anthropicChecks(label: string, target: () => Target<Anthropic>): void {
  for (const model of ['claude-haiku-4-5', 'gpt-4o']) {
    describe(`${label}: Anthropic SDK, ${model}${model.startsWith('claude') ? ' (same wire)' : ' (translated)'}`, () => {
      test('messages.create with a system prompt: message shape and usage as recorded', async () => {
        const t = target();
        const { id, opts } = tagged();
        const r = await t.client.messages.create({ model, max_tokens: 200, system: 'You are terse.', messages: [{ role: 'user', content: 'Say hello' }] }, opts);
        assert.equal(r.type, 'message');
        assert.equal(r.role, 'assistant');
        assert.match(r.id, /^msg_/);
        assert.equal(r.content[0]!.type, 'text');
        assert.ok((r.content[0] as Anthropic.TextBlock).text.length > 0);
        assert.equal(r.stop_reason, 'end_turn');
        assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
        assert.equal(r.usage.cache_read_input_tokens, 0);
        assert.equal(r.usage.cache_creation_input_tokens, 0);
        const rec = await recordFor(t, id);
        assert.equal(rec.surface, 'anthropic');
        assert.equal(rec.model, model);
        assertUsageRecorded(r.usage, rec);
      });

      test('max_tokens cuts the answer: stop_reason max_tokens, output_tokens ≤ max_tokens', async () => {
        const r = await target().client.messages.create({ model, max_tokens: 5, messages: [{ role: 'user', content: 'Tell me a long story' }] });
        assert.equal(r.stop_reason, 'max_tokens');
        assert.ok(r.usage.output_tokens <= 5 && r.usage.output_tokens > 0);
      });

      test('messages.stream + finalMessage: same text and usage as the non-streaming call', async () => {
        const t = target();
        const body = { model, max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user' as const, content: `stream ${randomUUID()}` }] };
        const whole = await t.client.messages.create(body);
        const { id, opts } = tagged();
        const s = t.client.messages.stream(body, opts);
        let text = '';
        s.on('text', (d) => (text += d));
        const final = await s.finalMessage();
        assert.equal(text, (final.content[0] as Anthropic.TextBlock).text);
        assert.deepEqual(final.content, whole.content);
        assert.equal(final.stop_reason, whole.stop_reason);
        assert.deepEqual(final.usage, whole.usage);
        assertUsageRecorded(final.usage, await recordFor(t, id));
      });

      test('create({stream:true}) iteration yields events in Anthropic order', async () => {
        const stream = await target().client.messages.create({ model, max_tokens: 30, stream: true, messages: [{ role: 'user', content: 'iterate' }] });
        const types: string[] = [];
        let output = -1;
        for await (const ev of stream) {
          types.push(ev.type);
          if (ev.type === 'message_delta') output = ev.usage.output_tokens;
        }
        assert.equal(types[0], 'message_start');
        assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
        assert.deepEqual([...new Set(types.slice(1, -2))], ['content_block_start', 'content_block_delta', 'content_block_stop']);
        assert.ok(output > 0);
      });

      test('tools: tool_use, then a tool_result turn gets a text answer (non-streaming and streaming)', async () => {
        const c = target().client;
        const ask: Anthropic.MessageParam = { role: 'user', content: 'Weather in Paris?' };
        const first = await c.messages.create({ model, max_tokens: 200, tools: [weatherTool], messages: [ask] });
        assert.equal(first.stop_reason, 'tool_use');
        const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
        assert.equal(use.name, 'get_weather');
        assert.equal(typeof (use.input as { city: unknown }).city, 'string');
        const streamed = await c.messages.stream({ model, max_tokens: 200, tools: [weatherTool], messages: [ask] }).finalMessage();
        assert.deepEqual(streamed.content, first.content);
        const turn: Anthropic.MessageParam[] = [ask, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18°C, sunny' }] }];
        const second = await c.messages.create({ model, max_tokens: 200, tools: [weatherTool], messages: turn });
        assert.equal(second.stop_reason, 'end_turn');
        assert.equal(second.content[0]!.type, 'text');
        const third = await c.messages.stream({ model, max_tokens: 200, tools: [weatherTool], messages: turn }).finalMessage();
        assert.deepEqual(third.content, second.content);
      });

      test('tool_choice forces the named tool', async () => {
        const other: Anthropic.Tool = { name: 'get_time', input_schema: { type: 'object', properties: { tz: { type: 'string' } } } };
        const r = await target().client.messages.create({ model, max_tokens: 200, tools: [weatherTool, other], tool_choice: { type: 'tool', name: 'get_time' }, messages: [{ role: 'user', content: 'x' }] });
        assert.equal((r.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock).name, 'get_time');
      });

      test('stop_sequences end the answer before the sequence', async () => {
        const c = target().client;
        const msg: Anthropic.MessageParam[] = [{ role: 'user', content: 'a few words please' }];
        const full = (await c.messages.create({ model, max_tokens: 40, messages: msg })).content[0] as Anthropic.TextBlock;
        const word = full.text.split(' ')[3]!;
        const body = { model, max_tokens: 40, messages: msg, stop_sequences: ['no such sequence', ` ${word}`] };
        const r = await c.messages.create(body);
        const text = (r.content[0] as Anthropic.TextBlock).text;
        assert.ok(full.text.startsWith(text) && !text.includes(` ${word}`), text);
        // Anthropic names the sequence it stopped on; an OpenAI upstream only says "stop", which reads as end_turn.
        const expected = model.startsWith('claude') ? { stop_reason: 'stop_sequence', stop_sequence: ` ${word}` } : { stop_reason: 'end_turn', stop_sequence: null };
        assert.deepEqual({ stop_reason: r.stop_reason, stop_sequence: r.stop_sequence }, expected);
        let delta: Anthropic.MessageDeltaEvent['delta'] | undefined;
        for await (const ev of await c.messages.create({ ...body, stream: true })) if (ev.type === 'message_delta') delta = ev.delta;
        assert.deepEqual({ stop_reason: delta?.stop_reason, stop_sequence: delta?.stop_sequence }, expected, 'streaming message_delta');
        const streamed = await c.messages.stream(body).finalMessage();
        assert.deepEqual({ stop_reason: streamed.stop_reason, stop_sequence: streamed.stop_sequence }, expected, 'messages.stream');
        assert.deepEqual(streamed.content, r.content);
      });
    });
  }

  describe(`${label}: Anthropic SDK prompt caching and errors`, () => {
    for (const ttl of [undefined, '1h'] as const) {
      test(`claude-sonnet-4-5 cache_control ${ttl ?? '5m (default)'}: write on the first call, read on the second`, async () => {
        const t = target();
        const system: Anthropic.TextBlockParam[] = [{ type: 'text', text: longText('anthropic-cache'), cache_control: { type: 'ephemeral', ...(ttl ? { ttl } : {}) } }];
        const body = { model: 'claude-sonnet-4-5', max_tokens: 20, system, messages: [{ role: 'user' as const, content: 'Summarise the policy.' }] };
        const a = tagged();
        const first = await t.client.messages.create(body, a.opts);
        const written = first.usage.cache_creation_input_tokens!;
        assert.ok(written >= 1024, `wrote ${written}`);
        assert.equal(first.usage.cache_read_input_tokens, 0);
        assert.deepEqual(first.usage.cache_creation, ttl ? { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: written } : { ephemeral_5m_input_tokens: written, ephemeral_1h_input_tokens: 0 });
        assertUsageRecorded(first.usage, await recordFor(t, a.id));
        const b = tagged();
        const second = await t.client.messages.create(body, b.opts);
        assert.equal(second.usage.cache_read_input_tokens, written);
        assert.equal(second.usage.cache_creation_input_tokens, 0);
        assert.equal(second.usage.input_tokens, first.usage.input_tokens);
        assertUsageRecorded(second.usage, await recordFor(t, b.id));
        const streamed = await t.client.messages.stream(body).finalMessage();
        assert.deepEqual(streamed.usage, second.usage);
      });
    }

    test('gpt-4o behind the Anthropic surface: a repeated long prompt reports cache_read_input_tokens', async () => {
      const c = target().client;
      const body = { model: 'gpt-4o', max_tokens: 20, system: longText('openai-cache-via-anthropic'), messages: [{ role: 'user' as const, content: 'go' }] };
      const first = await c.messages.create(body);
      assert.equal(first.usage.cache_read_input_tokens, 0);
      const second = await c.messages.create(body);
      const read = second.usage.cache_read_input_tokens!;
      assert.ok(read >= 1024 && read % 128 === 0, `read ${read}`);
      assert.equal(second.usage.input_tokens + read, first.usage.input_tokens);
      assert.deepEqual((await c.messages.stream(body).finalMessage()).usage, second.usage);
    });

    test('unknown model: NotFoundError with the Anthropic error shape', async () => {
      await assert.rejects(target().client.messages.create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }), (e: any) => {
        assert.equal(e.status, 404);
        assert.equal(e.error?.type, 'error');
        assert.equal(e.error?.error?.type, 'not_found_error');
        return true;
      });
    });

    test('invalid request: BadRequestError naming the field', async () => {
      const bad = { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming;
      await assert.rejects(target().client.messages.create(bad), (e: any) => {
        assert.equal(e.status, 400);
        assert.equal(e.error?.error?.type, 'invalid_request_error');
        assert.match(e.error?.error?.message, /max_tokens/);
        return true;
      });
    });
  });
}
