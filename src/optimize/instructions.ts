/**
 * Per-feature output instructions ("answer in under N sentences", "JSON only"): output tokens cost 2–8× input, and a
 * standing instruction is the cheapest way to shorten answers. Appended to the system prompt — the same text on every
 * call of a feature, so it never breaks prompt caching — only for features that configure it.
 */
import type { Json } from '../providers/adapter.js';

export interface InstructionConfig {
  maxSentences?: number;
  jsonOnly?: boolean;
  text?: string;
}

export function instructionText(c: InstructionConfig): string | undefined {
  const parts: string[] = [];
  if (c.maxSentences !== undefined) parts.push(`Answer in at most ${c.maxSentences} sentence${c.maxSentences === 1 ? '' : 's'}.`);
  if (c.jsonOnly) parts.push('Respond with JSON only, no prose and no code fences.');
  if (c.text) parts.push(c.text);
  return parts.length ? parts.join(' ') : undefined;
}

/** The body with `text` appended to its system prompt (added when there is none). Never mutates `body`. */
export function withInstruction(body: Json, surface: 'openai' | 'anthropic', text: string): Json {
  if (surface === 'anthropic') {
    if (body.system === undefined || body.system === '') return { ...body, system: text };
    if (typeof body.system === 'string') return { ...body, system: `${body.system}\n\n${text}` };
    return { ...body, system: [...body.system, { type: 'text', text }] };
  }
  const messages = (body.messages ?? []) as Json[];
  const first = messages[0];
  if (first && (first.role === 'system' || first.role === 'developer')) {
    const content = typeof first.content === 'string' ? `${first.content}\n\n${text}` : [...(first.content ?? []), { type: 'text', text }];
    return { ...body, messages: [{ ...first, content }, ...messages.slice(1)] };
  }
  return { ...body, messages: [{ role: 'system', content: text }, ...messages] };
}
