/**
 * The official `openai` SDK against costgate, as one suite run by every entry point: a plain client over HTTP and a
 * `wrapOpenAI` client in-process run the same test bodies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { recordFor, tagged, longText, type Target } from './anthropic-checks.js';

type FnCall = OpenAI.ChatCompletionMessageFunctionToolCall;

const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

export function openaiChecks(label: string, target: () => Target<OpenAI>): void {
  const c = () => target().client;

  describe(`${label}: OpenAI SDK`, () => {
    test('chat completion (non-streaming) with usage as recorded', async () => {
      const { id, opts } = tagged();
      const r = await c().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 20 }, opts);
      assert.equal(r.object, 'chat.completion');
      assert.equal(r.choices.length, 1);
      assert.ok(r.choices[0]!.message.content!.length > 0);
      assert.equal(r.usage!.completion_tokens, 20);
      assert.ok(r.usage!.prompt_tokens > 0);
      const rec = await recordFor(target(), id);
      assert.deepEqual([rec.usage?.inputTokens, rec.usage?.outputTokens, rec.usage?.estimated], [r.usage!.prompt_tokens, 20, false]);
    });

    test('chat completion streaming with include_usage', async () => {
      const stream = await c().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Stream please' }], stream: true, stream_options: { include_usage: true }, max_tokens: 12 });
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
      const { id, opts } = tagged();
      const stream = await c().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'no usage for me' }], stream: true, max_tokens: 7 }, opts);
      let sawUsage = false;
      for await (const chunk of stream) if (chunk.usage) sawUsage = true;
      assert.equal(sawUsage, false);
      const rec = await recordFor(target(), id);
      assert.equal(rec.usage?.outputTokens, 7);
      assert.equal(rec.usage?.estimated, false);
    });

    test('tools / function calling, non-streaming and streaming', async () => {
      const r = await c().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool] });
      const call = r.choices[0]!.message.tool_calls![0]! as FnCall;
      assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
      assert.equal(call.function.name, 'get_weather');
      assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
      const final = await c().chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools: [weatherTool] }).finalChatCompletion();
      const fc = final.choices[0]!.message.tool_calls![0]! as FnCall;
      assert.equal(fc.function.name, 'get_weather');
      assert.deepEqual(Object.keys(JSON.parse(fc.function.arguments)), ['city']);
    });

    test('tools served by an Anthropic model through the OpenAI surface, with a tool result turn', async () => {
      const ask: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'Weather in Rome?' };
      const r = await c().chat.completions.create({ model: 'claude-haiku-4-5', messages: [ask], tools: [weatherTool] });
      const call = r.choices[0]!.message.tool_calls![0]! as FnCall;
      assert.equal(call.function.name, 'get_weather');
      assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
      const turn: OpenAI.ChatCompletionMessageParam[] = [ask, r.choices[0]!.message as OpenAI.ChatCompletionAssistantMessageParam, { role: 'tool', tool_call_id: call.id, content: 'sunny' }];
      const s = await c().chat.completions.stream({ model: 'claude-haiku-4-5', messages: turn, tools: [weatherTool], stream_options: { include_usage: true } }).finalChatCompletion();
      assert.equal(s.choices[0]!.finish_reason, 'stop');
      assert.ok(s.choices[0]!.message.content!.length > 0);
      assert.ok(s.usage!.prompt_tokens > 0 && s.usage!.completion_tokens > 0);
    });

    test('response_format json_schema returns schema-shaped JSON', async () => {
      const r = await c().chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Classify' }],
        response_format: { type: 'json_schema', json_schema: { name: 'c', schema: { type: 'object', properties: { label: { type: 'string', enum: ['a', 'b'] }, score: { type: 'number' } }, required: ['label', 'score'] } } },
      });
      const v = JSON.parse(r.choices[0]!.message.content!);
      assert.ok(['a', 'b'].includes(v.label));
      assert.equal(typeof v.score, 'number');
    });

    test('n and stop', async () => {
      const r = await c().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two answers' }], n: 2, max_tokens: 30 });
      assert.equal(r.choices.length, 2);
      const word = r.choices[0]!.message.content!.split(' ')[3]!;
      const s = await c().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'two answers' }], max_tokens: 30, stop: [` ${word}`] });
      assert.ok(!s.choices[0]!.message.content!.includes(` ${word}`));
      assert.equal(s.choices[0]!.finish_reason, 'stop');
    });

    test('stop served by an Anthropic model: its stop_sequence stop reads as finish_reason stop', async () => {
      const ask = { model: 'claude-haiku-4-5', messages: [{ role: 'user' as const, content: 'stop early' }], max_tokens: 30 };
      const full = (await c().chat.completions.create(ask)).choices[0]!.message.content!;
      const word = full.split(' ')[3]!;
      const r = await c().chat.completions.create({ ...ask, stop: [` ${word}`] });
      assert.ok(full.startsWith(r.choices[0]!.message.content!) && !r.choices[0]!.message.content!.includes(` ${word}`));
      assert.equal(r.choices[0]!.finish_reason, 'stop');
      const s = await c().chat.completions.stream({ ...ask, stop: [` ${word}`] }).finalChatCompletion();
      assert.equal(s.choices[0]!.message.content, r.choices[0]!.message.content);
      assert.equal(s.choices[0]!.finish_reason, 'stop');
    });

    test('max_completion_tokens is honoured', async () => {
      const r = await c().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 5 });
      assert.equal(r.usage!.completion_tokens, 5);
      assert.equal(r.choices[0]!.finish_reason, 'length');
    });

    test('embeddings (the SDK asks for base64 and decodes it)', async () => {
      const r = await c().embeddings.create({ model: 'text-embedding-3-small', input: ['hello', 'world'] });
      assert.equal(r.data.length, 2);
      assert.equal(r.data[0]!.embedding.length, 1536);
      const norm = Math.sqrt(r.data[0]!.embedding.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3);
      assert.ok(r.usage.prompt_tokens >= 2);
      const f = await c().embeddings.create({ model: 'text-embedding-3-small', input: 'hello', encoding_format: 'float', dimensions: 64 });
      assert.equal(f.data[0]!.embedding.length, 64);
      assert.deepEqual(f.data[0]!.embedding.slice(0, 3).map((x) => typeof x), ['number', 'number', 'number']);
    });

    test('models list', async () => {
      const ids = (await c().models.list()).data.map((m) => m.id);
      for (const id of ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5', 'claude-sonnet-4-5', 'claude-opus-4-1']) assert.ok(ids.includes(id), id);
    });

    test('prompt caching: a repeated ≥1024-token prompt to gpt-4o reports cached_tokens on the second call', async () => {
      const body = { model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'system' as const, content: longText('openai-cache') }, { role: 'user' as const, content: 'go' }] };
      const first = await c().chat.completions.create(body);
      assert.equal(first.usage!.prompt_tokens_details!.cached_tokens, 0);
      const { id, opts } = tagged();
      const second = await c().chat.completions.create(body, opts);
      const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
      assert.ok(cached >= 1024 && cached % 128 === 0 && cached <= second.usage!.prompt_tokens, `cached ${cached}`);
      assert.equal(second.usage!.prompt_tokens, first.usage!.prompt_tokens);
      assert.equal((await recordFor(target(), id)).usage?.cacheReadTokens, cached);
      const streamed = await c().chat.completions.stream({ ...body, stream_options: { include_usage: true } }).finalChatCompletion();
      assert.deepEqual(streamed.usage, second.usage);
    });

    test('prompt caching through the OpenAI surface to claude-sonnet-4-5: cache_control parts write, then read', async () => {
      // cache_control on a part is the gateway's extension for Anthropic models; the SDK's types do not know it.
      const system = [{ type: 'text', text: longText('openai-surface-claude-cache'), cache_control: { type: 'ephemeral' } }] as unknown as OpenAI.ChatCompletionContentPartText[];
      const body = { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'system' as const, content: system }, { role: 'user' as const, content: 'go' }] };
      const first = (await c().chat.completions.create(body)).usage as OpenAI.CompletionUsage & { cache_creation_input_tokens?: number };
      assert.ok(first.cache_creation_input_tokens! >= 1024);
      assert.equal(first.prompt_tokens_details!.cached_tokens, 0);
      const second = (await c().chat.completions.create(body)).usage!;
      assert.equal(second.prompt_tokens_details!.cached_tokens, first.cache_creation_input_tokens);
      assert.equal(second.prompt_tokens, first.prompt_tokens, 'prompt_tokens counts cached and fresh alike');
    });

    test('SDK errors: unknown model is a 404 NotFoundError, a bad field a 400, both in OpenAI error shape', async () => {
      await assert.rejects(c().chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }), (e: any) => {
        assert.equal(e.status, 404);
        assert.equal(e.error?.type, 'invalid_request_error');
        assert.equal(e.error?.code, 'model_not_found');
        return true;
      });
      await assert.rejects(c().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], temperature: 7 }), (e: any) => {
        assert.equal(e.status, 400);
        assert.equal(e.error?.param, 'temperature');
        return true;
      });
    });

    test('attribution headers and body metadata are recorded; provider headers are returned', async () => {
      await c().chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'attr' }], metadata: { team: 'core' } },
        { headers: { 'x-costgate-feature': 'search', 'x-costgate-user': 'u-42', 'x-costgate-priority': 'critical', 'x-costgate-request-id': `my-req-${label}` } },
      );
      const rec = await recordFor(target(), `my-req-${label}`);
      assert.deepEqual([rec.feature, rec.team, rec.user, rec.priority], ['search', 'core', 'u-42', 'critical']);
      const raw = await c().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'attr' }] }).withResponse();
      assert.match(raw.response.headers.get('x-costgate-request-id')!, /^cg-/);
      assert.equal(raw.response.headers.get('x-costgate-provider'), 'simulator');
      assert.equal(raw.response.headers.get('x-costgate-model'), 'gpt-4o-mini');
    });
  });
}
