/**
 * Streaming translation between OpenAI chat.completion.chunk SSE and Anthropic Messages SSE. Each translator takes
 * one parsed upstream event and returns the SSE text to send the client (possibly empty), so it composes with the
 * passthrough path: the dispatch stage feeds events, and usage is read from the same events on the side.
 */
import { sseEvent } from './sse.js';
import { finishOf, stopOf } from './translate-response.js';
import { fromAnthropicUsage, toAnthropicUsage, toOpenAIUsage, fromOpenAIUsage, emptyUsage, type Usage } from '../usage.js';

type Json = Record<string, any>;

/** Anthropic stream events → OpenAI chunks. */
export class AnthropicToOpenAIStream {
  private id = '';
  private model = '';
  private readonly created = Math.floor(Date.now() / 1000);
  private toolIndex = -1;
  private blockIsTool = new Map<number, number>();
  private usageRaw: Json = {};

  constructor(private readonly includeUsage: boolean) {}

  private chunk(delta: Json, finish: string | null = null): string {
    return sseEvent(
      JSON.stringify({
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      }),
    );
  }

  usage(): Usage | undefined {
    return Object.keys(this.usageRaw).length ? fromAnthropicUsage(this.usageRaw) : undefined;
  }

  push(type: string | undefined, data: Json): string {
    switch (type ?? data.type) {
      case 'message_start': {
        const msg = data.message ?? {};
        this.id = `chatcmpl-${String(msg.id ?? '').replace(/^msg_/, '')}`;
        this.model = msg.model ?? '';
        Object.assign(this.usageRaw, msg.usage ?? {});
        return this.chunk({ role: 'assistant', content: '', refusal: null });
      }
      case 'content_block_start': {
        const b = data.content_block ?? {};
        if (b.type === 'tool_use') {
          this.toolIndex += 1;
          this.blockIsTool.set(data.index, this.toolIndex);
          return this.chunk({ tool_calls: [{ index: this.toolIndex, id: b.id, type: 'function', function: { name: b.name, arguments: '' } }] });
        }
        if (b.type === 'text' && b.text) return this.chunk({ content: b.text });
        return '';
      }
      case 'content_block_delta': {
        const d = data.delta ?? {};
        if (d.type === 'text_delta') return this.chunk({ content: d.text });
        if (d.type === 'input_json_delta') {
          const ti = this.blockIsTool.get(data.index) ?? this.toolIndex;
          return this.chunk({ tool_calls: [{ index: ti, function: { arguments: d.partial_json } }] });
        }
        return '';
      }
      case 'message_delta': {
        for (const [k, v] of Object.entries(data.usage ?? {})) if (v !== null && v !== undefined) this.usageRaw[k] = v;
        return this.chunk({}, finishOf(data.delta?.stop_reason));
      }
      case 'message_stop': {
        let out = '';
        const u = this.usage();
        if (this.includeUsage && u) {
          out += sseEvent(
            JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: toOpenAIUsage(u) }),
          );
        }
        return out + 'data: [DONE]\n\n';
      }
      case 'error':
        return sseEvent(JSON.stringify({ error: { message: data.error?.message ?? 'upstream error', type: data.error?.type ?? 'upstream_error', code: null, param: null } }));
      default:
        return '';
    }
  }
}

const OPENAI_TO_ANTHROPIC_ERROR = new Map([
  ['invalid_request_error', 'invalid_request_error'],
  ['rate_limit_error', 'rate_limit_error'],
  ['rate_limit_exceeded', 'rate_limit_error'],
  ['server_error', 'api_error'],
  ['overloaded', 'overloaded_error'],
]);

/** OpenAI chunks → Anthropic stream events. */
export class OpenAIToAnthropicStream {
  private started = false;
  private id = '';
  private model = '';
  private blockIndex = -1;
  private openBlock: 'text' | 'tool' | null = null;
  private toolBlocks = new Map<number, number>();
  private finish: string | null = null;
  private refused = false;
  private usageValue: Usage | undefined;
  private done = false;

  usage(): Usage | undefined {
    return this.usageValue;
  }

  private start(chunk: Json): string {
    this.started = true;
    this.id = `msg_${String(chunk.id ?? '').replace(/^chatcmpl-/, '')}`;
    this.model = chunk.model ?? '';
    // OpenAI reports usage only at the end, so message_start carries zeros (or a usage an early chunk already gave) in
    // the full shape: the Anthropic SDK copies input and cache totals from message_delta but keeps `cache_creation`
    // from here, so it must exist.
    const usage = toAnthropicUsage(this.usageValue ?? emptyUsage());
    const message = { id: this.id, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage };
    return sseEvent(JSON.stringify({ type: 'message_start', message }), 'message_start');
  }

  private closeBlock(): string {
    if (this.openBlock === null) return '';
    this.openBlock = null;
    return sseEvent(JSON.stringify({ type: 'content_block_stop', index: this.blockIndex }), 'content_block_stop');
  }

  private openText(): string {
    if (this.openBlock === 'text') return '';
    let out = this.closeBlock();
    this.blockIndex += 1;
    this.openBlock = 'text';
    out += sseEvent(JSON.stringify({ type: 'content_block_start', index: this.blockIndex, content_block: { type: 'text', text: '' } }), 'content_block_start');
    return out;
  }

  push(chunk: Json): string {
    if (this.done) return '';
    if (chunk.error) {
      // After an error event the Anthropic SDK throws; nothing (not even message_stop) may follow it.
      this.done = true;
      const e = chunk.error;
      const error = { type: OPENAI_TO_ANTHROPIC_ERROR.get(e.type) ?? OPENAI_TO_ANTHROPIC_ERROR.get(e.code) ?? 'api_error', message: String(e.message ?? 'upstream error') };
      return sseEvent(JSON.stringify({ type: 'error', error }), 'error');
    }
    if (chunk.usage) this.usageValue = fromOpenAIUsage(chunk.usage);
    let out = this.started ? '' : this.start(chunk);
    const choice = chunk.choices?.[0];
    if (choice) {
      const d = choice.delta ?? {};
      // A refusal streams in its own field; Anthropic streams refusals as text and ends with stop_reason 'refusal'.
      if (typeof d.refusal === 'string' && d.refusal) this.refused = true;
      const text = typeof d.content === 'string' && d.content ? d.content : typeof d.refusal === 'string' ? d.refusal : '';
      if (text) {
        out += this.openText();
        out += sseEvent(JSON.stringify({ type: 'content_block_delta', index: this.blockIndex, delta: { type: 'text_delta', text } }), 'content_block_delta');
      }
      for (const tc of d.tool_calls ?? []) {
        if (!this.toolBlocks.has(tc.index)) {
          out += this.closeBlock();
          this.blockIndex += 1;
          this.openBlock = 'tool';
          this.toolBlocks.set(tc.index, this.blockIndex);
          const block = { type: 'tool_use', id: tc.id, name: tc.function?.name, input: {} };
          out += sseEvent(JSON.stringify({ type: 'content_block_start', index: this.blockIndex, content_block: block }), 'content_block_start');
        }
        const args = tc.function?.arguments;
        if (args) {
          const idx = this.toolBlocks.get(tc.index)!;
          out += sseEvent(JSON.stringify({ type: 'content_block_delta', index: idx, delta: { type: 'input_json_delta', partial_json: args } }), 'content_block_delta');
        }
      }
      if (choice.finish_reason) this.finish = choice.finish_reason;
    }
    return out;
  }

  /** Called at `[DONE]` (or end of stream): closes blocks and emits message_delta with the final usage. */
  end(): string {
    if (this.done) return '';
    this.done = true;
    let out = this.started ? '' : this.start({});
    out += this.closeBlock();
    const usage = this.usageValue ? toAnthropicUsage(this.usageValue) : { output_tokens: 0 };
    out += sseEvent(
      JSON.stringify({ type: 'message_delta', delta: { stop_reason: this.refused ? 'refusal' : stopOf(this.finish ?? 'stop'), stop_sequence: null }, usage }),
      'message_delta',
    );
    out += sseEvent(JSON.stringify({ type: 'message_stop' }), 'message_stop');
    return out;
  }
}
