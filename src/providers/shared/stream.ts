/**
 * One streaming response, upstream wire → client wire. Same wire: the provider's event bytes are forwarded as they
 * are, and usage is read on the side. Different wire: events are translated. Either way usage comes out once, at the
 * end, and the text generated so far is kept so a stream without usage can still be counted with the tokenizer.
 */
import type { Wire } from '../adapter.js';
import type { SseEvent } from './sse.js';
import { AnthropicToOpenAIStream, OpenAIToAnthropicStream } from './translate-stream.js';
import { fromAnthropicUsage, fromOpenAIUsage, type Usage } from '../usage.js';

type Json = Record<string, any>;

export interface StreamProcessor {
  /** One upstream event in; the SSE text for the client out ('' to send nothing). */
  push(ev: SseEvent): string;
  /** Text to send when the upstream ended normally (closing events a translation still owes). */
  end(): string;
  /** True once the upstream signalled a complete response ([DONE] / message_stop). */
  readonly complete: boolean;
  usage(): Usage | undefined;
  /** Generated text and tool-call arguments so far (for token estimation when usage is missing). */
  readonly text: string;
  /** A mid-stream error event from the upstream, if one arrived. */
  readonly upstreamError?: string;
  /** The last push returned its event exactly as it came (`raw` + blank line): nothing translated or dropped. */
  readonly forwarded: boolean;
}

function safeParse(s: string | undefined): Json | undefined {
  if (s === undefined) return undefined;
  try {
    const v = JSON.parse(s);
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Collect generated text from an OpenAI chunk. */
function openaiChunkText(c: Json): string {
  let s = '';
  for (const ch of c.choices ?? []) {
    const d = ch.delta ?? {};
    if (typeof d.content === 'string') s += d.content;
    for (const tc of d.tool_calls ?? []) if (typeof tc.function?.arguments === 'string') s += tc.function.arguments;
  }
  return s;
}

/**
 * Could this chunk carry usage or an error? Only those need parsing while a same-wire stream is relayed; a chunk that
 * may (an error anywhere, usage that is not null) is parsed, so a false positive costs a parse, never a miss.
 */
const MAY_MATTER = /"usage"\s*:\s*(?!null\b)|"error"/;
/** Unparsed chunk bytes held for `text` before they are folded in (bounds memory on long streams). */
const PENDING_LIMIT = 64 * 1024;

/** How OpenAI (compact JSON, usage the last member) ends every chunk once a stream is asked for usage. */
const NULL_USAGE_TAIL = ',"usage":null}';

/**
 * The chunk's JSON without its top-level `"usage": null`, or undefined when it has none. The usual shape is cut off the
 * end with no parsing: the member just before the closing brace of the document is a top-level one. Any other
 * spelling (spaces, another position, data split over lines) is parsed and re-serialised on one line; `"usage"`
 * inside the content is left alone.
 */
function withoutNullUsage(data: string, oneLine: boolean): string | undefined {
  if (oneLine && data.endsWith(NULL_USAGE_TAIL)) return data.slice(0, data.length - NULL_USAGE_TAIL.length) + '}';
  const c = safeParse(data);
  if (!c || !('usage' in c) || c.usage !== null) return undefined;
  delete c.usage;
  return JSON.stringify(c);
}

class OpenAIUpstream implements StreamProcessor {
  complete = false;
  forwarded = false;
  upstreamError?: string;
  private u: Usage | undefined;
  private readonly toAnthropic?: OpenAIToAnthropicStream;
  private collected = '';
  /** Content chunks not parsed yet: their text is only needed if the stream ends without usage. */
  private pending: string[] = [];
  private pendingChars = 0;

  get text(): string {
    this.fold();
    return this.collected;
  }

  private fold(): void {
    if (this.pending.length === 0) return;
    for (const d of this.pending) {
      const c = safeParse(d);
      if (c) this.collected += openaiChunkText(c);
    }
    this.pending = [];
    this.pendingChars = 0;
  }

  /**
   * An OpenAI client that did not ask for usage gets the stream it would have had without `include_usage` (which the
   * gateway forces upstream): no usage chunk, and no `"usage": null` on every other chunk.
   */
  private readonly stripUsage: boolean;

  /** @param clientWantsUsage the client asked for `stream_options.include_usage` (else the usage chunk is dropped). */
  constructor(private readonly client: Wire, private readonly clientWantsUsage: boolean) {
    if (client === 'anthropic') this.toAnthropic = new OpenAIToAnthropicStream();
    this.stripUsage = client === 'openai' && !clientWantsUsage;
  }

  push(ev: SseEvent): string {
    const out = this.translate(ev);
    this.forwarded = this.client === 'openai' && out.length === ev.raw.length + 2;
    return out;
  }

  private translate(ev: SseEvent): string {
    if (ev.data === undefined) return this.client === 'openai' ? ev.raw + '\n\n' : '';
    if (ev.data === '[DONE]') {
      this.complete = true;
      return this.toAnthropic ? this.toAnthropic.end() : ev.raw + '\n\n';
    }
    if (!this.toAnthropic && !MAY_MATTER.test(ev.data)) {
      // Passthrough of a plain content chunk: forwarded as is, parsed later only if its text is ever needed.
      this.pending.push(ev.data);
      if ((this.pendingChars += ev.data.length) > PENDING_LIMIT) this.fold();
      // A client that asked for usage (or a chunk without the key) keeps the provider's bytes as they are.
      if (this.stripUsage && ev.data.includes('"usage"')) {
        // One `data: ` line (the usual event) is exactly that prefix and the data.
        const d = withoutNullUsage(ev.data, ev.raw.length === ev.data.length + 6);
        if (d !== undefined) return `data: ${d}\n\n`;
      }
      return ev.raw + '\n\n';
    }
    const c = safeParse(ev.data);
    if (!c) return this.client === 'openai' ? ev.raw + '\n\n' : '';
    if (c.error) this.upstreamError = String(c.error.message ?? 'upstream stream error');
    const t = openaiChunkText(c);
    if (t) {
      this.fold(); // keeps the text in stream order
      this.collected += t;
    }
    if (c.usage) this.u = fromOpenAIUsage(c.usage);
    if (this.toAnthropic) return this.toAnthropic.push(c);
    // The usage-only final chunk exists because the gateway asked for it; a client that did not ask never sees it.
    if (this.stripUsage && 'usage' in c) {
      if (c.usage && (!c.choices || c.choices.length === 0)) return '';
      // Usage on a content chunk (some OpenAI-compatible providers), or null: not part of what this client asked for.
      delete c.usage;
      return `data: ${JSON.stringify(c)}\n\n`;
    }
    return ev.raw + '\n\n';
  }

  end(): string {
    return '';
  }

  usage(): Usage | undefined {
    return this.u;
  }
}

class AnthropicUpstream implements StreamProcessor {
  complete = false;
  forwarded = false;
  text = '';
  upstreamError?: string;
  private readonly raw: Json = {};
  private readonly toOpenAI?: AnthropicToOpenAIStream;

  constructor(client: Wire, clientWantsUsage: boolean) {
    if (client === 'openai') this.toOpenAI = new AnthropicToOpenAIStream(clientWantsUsage);
  }

  push(ev: SseEvent): string {
    const out = this.translate(ev);
    this.forwarded = !this.toOpenAI && out.length === ev.raw.length + 2;
    return out;
  }

  private translate(ev: SseEvent): string {
    const d = safeParse(ev.data);
    if (d) {
      const type = ev.event ?? d.type;
      if (type === 'message_start') Object.assign(this.raw, d.message?.usage ?? {});
      else if (type === 'message_delta') {
        for (const [k, v] of Object.entries(d.usage ?? {})) if (v !== null && v !== undefined) this.raw[k] = v;
      } else if (type === 'content_block_delta') {
        const delta = d.delta ?? {};
        if (typeof delta.text === 'string') this.text += delta.text;
        else if (typeof delta.partial_json === 'string') this.text += delta.partial_json;
        else if (typeof delta.thinking === 'string') this.text += delta.thinking;
      } else if (type === 'message_stop') this.complete = true;
      else if (type === 'error') this.upstreamError = String(d.error?.message ?? 'upstream stream error');
      if (this.toOpenAI) return this.toOpenAI.push(type, d);
    } else if (this.toOpenAI) return '';
    return ev.raw + '\n\n';
  }

  end(): string {
    return '';
  }

  usage(): Usage | undefined {
    return Object.keys(this.raw).length ? fromAnthropicUsage(this.raw) : undefined;
  }
}

export function createStreamProcessor(upstream: Wire, client: Wire, clientWantsUsage: boolean): StreamProcessor {
  return upstream === 'openai' ? new OpenAIUpstream(client, clientWantsUsage) : new AnthropicUpstream(client, clientWantsUsage);
}
