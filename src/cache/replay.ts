/**
 * Stream ↔ document for the cache. A stored entry is always the whole JSON answer in the client's wire format;
 * a streamed miss is assembled into one (`Assembler`), and a streaming hit is replayed from one as a proper SSE
 * stream in that wire format (`replayEvents`): OpenAI `chat.completion.chunk`s ending in `[DONE]` (with a final
 * usage chunk when the client asked for `stream_options.include_usage`), or Anthropic's message_start …
 * message_stop events.
 */
import { sseEvent, SseSplitter } from '../providers/shared/sse.js';
import { toOpenAIUsage, type Usage } from '../providers/usage.js';

type Json = Record<string, any>;

/** Text in pieces of a few words, so a replayed stream arrives as a stream does. */
function pieces(s: string, words = 4): string[] {
  const parts = s.match(/\S+\s*|\s+/g) ?? [];
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += words) out.push(parts.slice(i, i + words).join(''));
  return out.length ? out : [s];
}

function openaiEvents(doc: Json, includeUsage: boolean, usage: Usage | undefined): string[] {
  const base = { id: doc.id, object: 'chat.completion.chunk', created: doc.created, model: doc.model, ...(doc.service_tier !== undefined ? { service_tier: doc.service_tier } : {}), ...(doc.system_fingerprint !== undefined ? { system_fingerprint: doc.system_fingerprint } : {}) };
  const chunk = (choices: Json[], u?: Json | null) => sseEvent(JSON.stringify({ ...base, choices, ...(includeUsage ? { usage: u ?? null } : {}) }));
  const out: string[] = [];
  for (const c of doc.choices ?? []) {
    const m = c.message ?? {};
    const index = c.index ?? 0;
    out.push(chunk([{ index, delta: { role: m.role ?? 'assistant', content: '', ...(m.refusal != null ? { refusal: null } : {}) }, logprobs: null, finish_reason: null }]));
    if (typeof m.content === 'string' && m.content) for (const p of pieces(m.content)) out.push(chunk([{ index, delta: { content: p }, logprobs: null, finish_reason: null }]));
    if (typeof m.refusal === 'string' && m.refusal) out.push(chunk([{ index, delta: { refusal: m.refusal }, logprobs: null, finish_reason: null }]));
    (m.tool_calls ?? []).forEach((t: Json, ti: number) => {
      out.push(chunk([{ index, delta: { tool_calls: [{ index: ti, id: t.id, type: t.type ?? 'function', function: { name: t.function?.name, arguments: '' } }] }, logprobs: null, finish_reason: null }]));
      const args = String(t.function?.arguments ?? '');
      if (args) out.push(chunk([{ index, delta: { tool_calls: [{ index: ti, function: { arguments: args } }] }, logprobs: null, finish_reason: null }]));
    });
    out.push(chunk([{ index, delta: {}, logprobs: null, finish_reason: c.finish_reason ?? 'stop' }]));
  }
  if (includeUsage) out.push(chunk([], doc.usage ?? (usage ? toOpenAIUsage(usage) : null)));
  out.push('data: [DONE]\n\n');
  return out;
}

function anthropicEvents(doc: Json): string[] {
  const ev = (type: string, o: Json) => sseEvent(JSON.stringify({ type, ...o }), type);
  const u = doc.usage ?? {};
  const out = [ev('message_start', { message: { id: doc.id, type: 'message', role: doc.role ?? 'assistant', model: doc.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...u, output_tokens: Math.min(1, u.output_tokens ?? 0) } } })];
  (doc.content ?? []).forEach((b: Json, index: number) => {
    if (b.type === 'text') {
      out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const p of pieces(String(b.text ?? ''))) out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: p } }));
    } else if (b.type === 'tool_use') {
      out.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }));
      out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input ?? {}) } }));
    } else if (b.type === 'thinking') {
      out.push(ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } }));
      if (b.thinking) out.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: b.thinking } }));
      if (b.signature) out.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: b.signature } }));
    } else {
      out.push(ev('content_block_start', { index, content_block: b }));
    }
    out.push(ev('content_block_stop', { index }));
  });
  out.push(ev('message_delta', { delta: { stop_reason: doc.stop_reason ?? 'end_turn', stop_sequence: doc.stop_sequence ?? null }, usage: { output_tokens: u.output_tokens ?? 0 } }));
  out.push(ev('message_stop', {}));
  return out;
}

/** The SSE events a stream of `doc` would have been (the client's wire; usage chunk when it asked for one). */
export function replayEvents(wire: 'openai' | 'anthropic', body: string, includeUsage: boolean, usage?: Usage): string[] {
  const doc = JSON.parse(body) as Json;
  return wire === 'anthropic' ? anthropicEvents(doc) : openaiEvents(doc, includeUsage, usage);
}

/**
 * Rebuilds the whole answer from the client-wire SSE chunks a stream delivered. `complete` is true only for a
 * stream that ended properly (OpenAI `[DONE]` after every choice finished; Anthropic `message_stop`) with no error
 * event: anything else is never stored.
 */
export class Assembler {
  private readonly split = new SseSplitter();
  private failed = false;
  private done = false;
  private head: Json | undefined;
  private readonly choices = new Map<number, { role: string; content: string; refusal: string | null; tools: Map<number, Json>; finish: string | null }>();
  private usage: Json | undefined;
  private msg: Json | undefined;
  private readonly blocks: Json[] = [];
  private readonly partialJson = new Map<number, string>();

  constructor(readonly wire: 'openai' | 'anthropic') {}

  push(chunk: string | Uint8Array): void {
    if (this.failed) return;
    try {
      for (const ev of this.split.push(chunk)) this.event(ev.event, ev.data);
    } catch {
      this.failed = true;
    }
  }

  private event(name: string | undefined, data: string | undefined): void {
    if (data === undefined) return;
    if (this.wire === 'openai') {
      if (data.trim() === '[DONE]') {
        this.done = true;
        return;
      }
      const j = JSON.parse(data) as Json;
      if (j.error) {
        this.failed = true;
        return;
      }
      this.head ??= j;
      if (j.usage) this.usage = j.usage;
      for (const c of j.choices ?? []) {
        const index = c.index ?? 0;
        let s = this.choices.get(index);
        if (!s) this.choices.set(index, (s = { role: 'assistant', content: '', refusal: null, tools: new Map(), finish: null }));
        const d = c.delta ?? {};
        if (typeof d.role === 'string') s.role = d.role;
        if (typeof d.content === 'string') s.content += d.content;
        if (typeof d.refusal === 'string') s.refusal = (s.refusal ?? '') + d.refusal;
        for (const t of d.tool_calls ?? []) {
          const ti = t.index ?? 0;
          let tc = s.tools.get(ti);
          if (!tc) s.tools.set(ti, (tc = { id: t.id, type: t.type ?? 'function', function: { name: t.function?.name ?? '', arguments: '' } }));
          if (t.id) tc.id = t.id;
          if (t.function?.name) tc.function.name = t.function.name;
          if (typeof t.function?.arguments === 'string') tc.function.arguments += t.function.arguments;
        }
        if (c.finish_reason) s.finish = c.finish_reason;
      }
      return;
    }
    const j = JSON.parse(data) as Json;
    switch (j.type ?? name) {
      case 'message_start':
        this.msg = { ...j.message, content: [] };
        break;
      case 'content_block_start':
        this.blocks[j.index] = { ...j.content_block };
        if (j.content_block?.type === 'tool_use') this.partialJson.set(j.index, '');
        break;
      case 'content_block_delta': {
        const b = this.blocks[j.index];
        const d = j.delta ?? {};
        if (!b) throw new Error('delta before block start');
        if (d.type === 'text_delta') b.text = (b.text ?? '') + d.text;
        else if (d.type === 'input_json_delta') this.partialJson.set(j.index, (this.partialJson.get(j.index) ?? '') + d.partial_json);
        else if (d.type === 'thinking_delta') b.thinking = (b.thinking ?? '') + d.thinking;
        else if (d.type === 'signature_delta') b.signature = d.signature;
        else if (d.type === 'citations_delta') (b.citations ??= []).push(d.citation);
        break;
      }
      case 'content_block_stop': {
        const pj = this.partialJson.get(j.index);
        if (pj !== undefined) this.blocks[j.index]!.input = pj ? JSON.parse(pj) : {};
        break;
      }
      case 'message_delta':
        if (!this.msg) throw new Error('message_delta before message_start');
        Object.assign(this.msg, j.delta ?? {});
        if (j.usage) this.msg.usage = { ...this.msg.usage, ...j.usage };
        break;
      case 'message_stop':
        this.done = true;
        break;
      case 'error':
        this.failed = true;
        break;
    }
  }

  get complete(): boolean {
    if (this.failed || !this.done) return false;
    if (this.wire === 'anthropic') return this.msg !== undefined;
    return this.head !== undefined && this.choices.size > 0 && [...this.choices.values()].every((c) => c.finish !== null);
  }

  /** The whole answer as the non-streaming API returns it; `usage` fills a stream that carried none. */
  document(usage?: Usage): string | undefined {
    if (!this.complete) return undefined;
    if (this.wire === 'anthropic') return JSON.stringify({ ...this.msg, content: this.blocks.filter(Boolean) });
    const h = this.head!;
    const choices = [...this.choices.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, c]) => ({
        index,
        message: { role: c.role, content: c.tools.size && !c.content ? null : c.content, refusal: c.refusal, ...(c.tools.size ? { tool_calls: [...c.tools.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t) } : {}) },
        logprobs: null,
        finish_reason: c.finish,
      }));
    return JSON.stringify({
      id: h.id,
      object: 'chat.completion',
      created: h.created,
      model: h.model,
      choices,
      usage: this.usage ?? (usage ? toOpenAIUsage(usage) : undefined),
      ...(h.service_tier !== undefined ? { service_tier: h.service_tier } : {}),
      ...(h.system_fingerprint !== undefined ? { system_fingerprint: h.system_fingerprint } : {}),
    });
  }
}
