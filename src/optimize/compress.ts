/**
 * Lossless compression of tool results: a tool result that is valid JSON has the whitespace between its tokens
 * removed. Purely lexical — string contents, key order, duplicate keys and number spellings are kept byte for byte —
 * so the model sees the same JSON document, minus indentation. Anything that is not valid JSON is left alone.
 */
import type { Json } from '../providers/adapter.js';
import { countText } from '../tokens/count.js';

/** JSON with insignificant whitespace removed, or undefined when `s` is not a JSON object/array or nothing changes. */
export function minifyJson(s: string): string | undefined {
  const t = s.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    JSON.parse(t);
  } catch {
    return undefined;
  }
  let out = '';
  let inStr = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (inStr) {
      out += c;
      if (c === '\\') out += t[++i] ?? '';
      else if (c === '"') inStr = false;
    } else if (c === '"') {
      inStr = true;
      out += c;
    } else if (c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') out += c;
  }
  return out.length < s.length ? out : undefined;
}

export interface CompressResult {
  body: Json;
  /** Tokens of the changed tool results before and after. */
  before: number;
  after: number;
  changed: number;
}

/** Minify JSON tool results (OpenAI `role: tool` messages, Anthropic `tool_result` blocks). Never mutates `body`. */
export function compressToolResults(body: Json, model: string): CompressResult {
  let before = 0;
  let after = 0;
  let changed = 0;
  const mini = (s: string): string => {
    const m = minifyJson(s);
    if (m === undefined) return s;
    before += countText(s, model);
    after += countText(m, model);
    changed++;
    return m;
  };
  const textParts = (c: unknown): unknown => {
    if (typeof c === 'string') return mini(c);
    if (!Array.isArray(c)) return c;
    let any = false;
    const out = c.map((p: Json) => {
      if (p?.type !== 'text' || typeof p.text !== 'string') return p;
      const t = mini(p.text);
      if (t === p.text) return p;
      any = true;
      return { ...p, text: t };
    });
    return any ? out : c;
  };
  const messages = (body.messages ?? []) as Json[];
  let outMsgs: Json[] | undefined;
  messages.forEach((m, i) => {
    let next = m;
    if (m.role === 'tool') {
      const c = textParts(m.content);
      if (c !== m.content) next = { ...m, content: c };
    } else if (m.role === 'user' && Array.isArray(m.content)) {
      let any = false;
      const blocks = m.content.map((b: Json) => {
        if (b?.type !== 'tool_result') return b;
        const c = textParts(b.content);
        if (c === b.content) return b;
        any = true;
        return { ...b, content: c };
      });
      if (any) next = { ...m, content: blocks };
    }
    if (next !== m) (outMsgs ??= [...messages])[i] = next;
  });
  return { body: outMsgs ? { ...body, messages: outMsgs } : body, before, after, changed };
}
