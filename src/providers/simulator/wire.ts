/** The simulator's answers in each provider's wire format: whole bodies and SSE event sequences. */
import type { Answer } from './respond.js';
import { tokenLogprobs } from './content.js';
import { toOpenAIUsage, toAnthropicUsage } from '../usage.js';
import { FINISH_TO_STOP } from '../shared/translate-response.js';
import { sseEvent } from '../shared/sse.js';

type Json = Record<string, any>;

/** Split text into word-sized deltas (about one token each). */
export function pieces(text: string): string[] {
  return text.match(/\s*\S+/g) ?? (text ? [text] : []);
}

/**
 * A choice's `logprobs`: null unless requested. Computed piece by piece (salted by the piece's position) so the
 * whole body carries exactly the tokens its stream would, in the same order.
 */
function choiceLogprobs(a: Answer, parts: string[], first = 0): Json | null {
  if (a.topLogprobs === undefined) return null;
  return { content: parts.flatMap((p, i) => tokenLogprobs(p, a.topLogprobs!, first + i)), refusal: null };
}

export function openaiBody(id: string, model: string, answers: Answer[]): Json {
  const usage = { ...answers[0]!.usage };
  for (const a of answers.slice(1)) usage.outputTokens += a.usage.outputTokens;
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: answers.map((a, index) => ({
      index,
      message: {
        role: 'assistant',
        content: a.toolCalls.length ? null : a.text,
        refusal: null,
        annotations: [],
        ...(a.toolCalls.length ? { tool_calls: a.toolCalls.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: t.args } })) } : {}),
      },
      logprobs: choiceLogprobs(a, pieces(a.text)),
      finish_reason: a.finish,
    })),
    usage: toOpenAIUsage(usage),
    service_tier: answers[0]!.serviceTier ?? 'default',
    system_fingerprint: 'fp_costgate_sim',
  };
}

/** OpenAI chunk events (without pacing); `includeUsage` adds `usage: null` to each chunk and a final usage chunk. */
export function openaiEvents(id: string, model: string, answers: Answer[], includeUsage: boolean): string[] {
  const created = Math.floor(Date.now() / 1000);
  // Real chunks carry the tier on every chunk, as the whole body does.
  const service_tier = answers[0]?.serviceTier ?? 'default';
  const chunk = (choices: Json[], usage?: Json | null) =>
    sseEvent(JSON.stringify({ id, object: 'chat.completion.chunk', created, model, service_tier, system_fingerprint: 'fp_costgate_sim', choices, ...(includeUsage ? { usage: usage ?? null } : {}) }));
  const out: string[] = [];
  answers.forEach((a, index) => {
    // OpenAI opens a tool-call turn with `content: null`, a text turn with `content: ""`.
    const opening = a.toolCalls.length && !a.text ? null : '';
    out.push(chunk([{ index, delta: { role: 'assistant', content: opening, refusal: null }, logprobs: null, finish_reason: null }]));
    pieces(a.text).forEach((p, i) => out.push(chunk([{ index, delta: { content: p }, logprobs: choiceLogprobs(a, [p], i), finish_reason: null }])));
    a.toolCalls.forEach((t, ti) => {
      out.push(chunk([{ index, delta: { tool_calls: [{ index: ti, id: t.id, type: 'function', function: { name: t.name, arguments: '' } }] }, logprobs: null, finish_reason: null }]));
      for (let i = 0; i < t.args.length; i += 16) {
        out.push(chunk([{ index, delta: { tool_calls: [{ index: ti, function: { arguments: t.args.slice(i, i + 16) } }] }, logprobs: null, finish_reason: null }]));
      }
    });
    out.push(chunk([{ index, delta: {}, logprobs: null, finish_reason: a.finish }]));
  });
  if (includeUsage) {
    const usage = { ...answers[0]!.usage };
    for (const a of answers.slice(1)) usage.outputTokens += a.usage.outputTokens;
    out.push(chunk([], toOpenAIUsage(usage)));
  }
  out.push('data: [DONE]\n\n');
  return out;
}

/** Anthropic's `stop_reason` and `stop_sequence` for an answer: `stop_sequence` names the sequence it ended on. */
function anthropicStop(a: Answer): { stop_reason: string; stop_sequence: string | null } {
  if (a.stopSequence !== undefined) return { stop_reason: 'stop_sequence', stop_sequence: a.stopSequence };
  return { stop_reason: FINISH_TO_STOP[a.finish]!, stop_sequence: null };
}

export function anthropicBody(id: string, model: string, a: Answer): Json {
  const content: Json[] = [];
  if (a.text) content.push({ type: 'text', text: a.text });
  for (const t of a.toolCalls) content.push({ type: 'tool_use', id: t.id.replace(/^call_/, 'toolu_'), name: t.name, input: JSON.parse(t.args) });
  return { id, type: 'message', role: 'assistant', model, content, ...anthropicStop(a), usage: toAnthropicUsage(a.usage) };
}

export function anthropicEvents(id: string, model: string, a: Answer): string[] {
  const ev = (type: string, data: Json) => sseEvent(JSON.stringify({ type, ...data }), type);
  const u = toAnthropicUsage(a.usage);
  const out = [ev('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...u, output_tokens: 1 } } })];
  let index = 0;
  if (a.text || !a.toolCalls.length) {
    out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    out.push(ev('ping', {}));
    for (const p of pieces(a.text)) out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: p } }));
    out.push(ev('content_block_stop', { index }));
    index++;
  }
  for (const t of a.toolCalls) {
    out.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: t.id.replace(/^call_/, 'toolu_'), name: t.name, input: {} } }));
    for (let i = 0; i < t.args.length; i += 16) out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: t.args.slice(i, i + 16) } }));
    out.push(ev('content_block_stop', { index }));
    index++;
  }
  out.push(ev('message_delta', { delta: anthropicStop(a), usage: { output_tokens: a.usage.outputTokens } }));
  out.push(ev('message_stop', {}));
  return out;
}

/** Deterministic unit vector for a text (same text → same vector), `dims` long. */
export function embedding(seed: number, dims: number): Float32Array {
  const v = new Float32Array(dims);
  let x = seed || 1;
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const f = ((x >>> 0) / 4294967296) * 2 - 1;
    v[i] = f;
    norm += f * f;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dims; i++) v[i]! /= norm;
  return v;
}
