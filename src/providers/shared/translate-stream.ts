/**
 * Streaming translation between OpenAI chat.completion.chunk SSE and Anthropic Messages SSE. Each translator takes
 * one parsed upstream event and returns the SSE text to send the client (possibly empty), so it composes with the
 * passthrough path: the dispatch stage feeds events, and usage is read from the same events on the side.
 */
import { sseEvent } from './sse.js';
import { STOP_TO_FINISH, FINISH_TO_STOP } from './translate-response.js';
import { fromAnthropicUsage, toAnthropicUsage, toOpenAIUsage, fromOpenAIUsage, type Usage } from '../usage.js';

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
        return this.chunk({}, STOP_TO_FINISH[data.delta?.stop_reason] ?? 'stop');
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

/** OpenAI chunks → Anthropic stream events. */
export class OpenAIToAnthropicStream {
  private started = false;
  private id = '';
  private model = '';
  private blockIndex = -1;
  private openBlock: 'text' | 'tool' | null = null;
  private toolBlocks = new Map<number, number>();
  private finish: string | null = null;
  private usageValue: Usage | undefined;
  private done = false;

  usage(): Usage | undefined {
    return this.usageValue;
  }

  private start(chunk: Json): string {
    this.started = true;
    this.id = `msg_${String(chunk.id ?? '').replace(/^chatcmpl-/, '')}`;
    this.model = chunk.model ?? '';
    const message = { id: this.id, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } };
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
    let out = this.started ? '' : this.start(chunk);
    if (chunk.usage) this.usageValue = fromOpenAIUsage(chunk.usage);
    const choice = chunk.choices?.[0];
    if (choice) {
      const d = choice.delta ?? {};
      if (typeof d.content === 'string' && d.content) {
        out += this.openText();
        out += sseEvent(JSON.stringify({ type: 'content_block_delta', index: this.blockIndex, delta: { type: 'text_delta', text: d.content } }), 'content_block_delta');
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
      JSON.stringify({ type: 'message_delta', delta: { stop_reason: FINISH_TO_STOP[this.finish ?? 'stop'] ?? 'end_turn', stop_sequence: null }, usage }),
      'message_delta',
    );
    out += sseEvent(JSON.stringify({ type: 'message_stop' }), 'message_stop');
    return out;
  }
}
