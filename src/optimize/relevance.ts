/**
 * Relevance transforms (opt-in per feature), scored with BM25 against the request's question (the text of the last
 * user message, outside any marked document):
 * - retrieved-context trim: documents the client marks with `<costgate:doc>…</costgate:doc>` in message text are
 *   ranked, the top `topK` kept (in their original order) within `maxTokens`, the rest removed; the markers themselves
 *   are always removed (they are costgate's convention, not text for the model);
 * - tool pruning: of the request's tool definitions, the `keep` most relevant are sent; a tool named in `tool_choice`
 *   or called earlier in the conversation is never dropped.
 * Both surfaces: OpenAI chat bodies (string content or text parts) and Anthropic Messages bodies (top-level `system`,
 * text blocks, the text inside `tool_result` blocks; `tools` with `input_schema`). Only text is rewritten and only
 * tool definitions are dropped: every other block and field (images, tool_use ids, cache_control, thinking, metadata)
 * is passed on as it came. New objects are returned; the client's body is not mutated.
 */
import type { Json } from '../providers/adapter.js';
import { countText } from '../tokens/count.js';

const DOC = /<costgate:doc>([\s\S]*?)<\/costgate:doc>/g;

export const words = (t: string): string[] => t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** BM25 scores of `docs` for `query` (k1 1.2, b 0.75; idf over these documents). */
export function bm25(query: string, docs: string[]): number[] {
  const toks = docs.map(words);
  const avg = toks.reduce((a, d) => a + d.length, 0) / Math.max(1, toks.length) || 1;
  const df = new Map<string, number>();
  for (const d of toks) for (const w of new Set(d)) df.set(w, (df.get(w) ?? 0) + 1);
  const q = [...new Set(words(query))];
  return toks.map((d) => {
    const tf = new Map<string, number>();
    for (const w of d) tf.set(w, (tf.get(w) ?? 0) + 1);
    let s = 0;
    for (const w of q) {
      const f = tf.get(w);
      if (!f) continue;
      const idf = Math.log(1 + (docs.length - df.get(w)! + 0.5) / (df.get(w)! + 0.5));
      s += (idf * f * 2.2) / (f + 1.2 * (0.25 + (0.75 * d.length) / avg));
    }
    return s;
  });
}

type Msg = Record<string, any>;

const partsOf = (m: Msg): string[] => (typeof m.content === 'string' ? [m.content] : Array.isArray(m.content) ? m.content.map((p: Msg) => (p?.type === 'text' && typeof p.text === 'string' ? p.text : '')) : []);

/** An Anthropic user message made of tool results only (the answer to tool calls, not the user's words). */
const onlyToolResults = (m: Msg): boolean => Array.isArray(m.content) && m.content.length > 0 && m.content.every((p: Msg) => p?.type === 'tool_result');

/** The question: the last user message's text with marked documents taken out (Anthropic: not a tool-results turn). */
export function questionOf(body: Json): string {
  const msgs: Msg[] = Array.isArray(body.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i]!.role === 'user' && !onlyToolResults(msgs[i]!)) return partsOf(msgs[i]!).join(' ').replace(DOC, ' ');
  return '';
}

/**
 * Rewrites a content value's text with `f`: a string, or the text of text parts / blocks and of the content of
 * Anthropic `tool_result` blocks. The same value when nothing changed (unchanged parts are shared).
 */
function mapContent<T>(c: T, f: (t: string) => string): T {
  if (typeof c === 'string') return f(c) as T;
  if (!Array.isArray(c)) return c;
  let changed = false;
  const out = c.map((p: Msg) => {
    if (p?.type === 'text' && typeof p.text === 'string') {
      const t = f(p.text);
      if (t === p.text) return p;
      changed = true;
      return { ...p, text: t };
    }
    if (p?.type === 'tool_result' && p.content !== undefined) {
      const inner = mapContent(p.content, f);
      if (inner === p.content) return p;
      changed = true;
      return { ...p, content: inner };
    }
    return p;
  });
  return (changed ? out : c) as T;
}

/** Rewrites every text of the body's messages (and Anthropic's top-level `system`) with `f` (a new body). */
function mapTexts(body: Json, f: (t: string) => string): Json {
  // The system first: `f` sees the texts in prompt order.
  const system = body.system !== undefined ? mapContent(body.system, f) : undefined;
  const messages = (body.messages as Msg[]).map((m) => {
    const content = mapContent(m.content, f);
    return content === m.content ? m : { ...m, content };
  });
  return system !== undefined ? { ...body, system, messages } : { ...body, messages };
}

export interface TrimResult {
  body: Json;
  docs: number;
  kept: number;
  tokensBefore: number;
  tokensAfter: number;
}

export function trimDocs(body: Json, model: string, o: { topK: number; maxTokens: number }): TrimResult | undefined {
  if (!Array.isArray(body.messages)) return undefined;
  const docs: string[] = [];
  mapTexts(body, (t) => (t.replace(DOC, (_, d: string) => (docs.push(d), '')), t));
  if (!docs.length) return undefined;
  const scores = bm25(questionOf(body), docs);
  const tokens = docs.map((d) => countText(d, model));
  const order = docs.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const keep = new Set<number>();
  let used = 0;
  for (const i of order) {
    if (keep.size >= o.topK) break;
    if (used + tokens[i]! > o.maxTokens) continue;
    keep.add(i);
    used += tokens[i]!;
  }
  let n = 0;
  const out = mapTexts(body, (t) => t.replace(DOC, (_, d: string) => (keep.has(n++) ? d : '')));
  return { body: out, docs: docs.length, kept: keep.size, tokensBefore: tokens.reduce((a, b) => a + b, 0), tokensAfter: used };
}

const toolName = (t: Msg): string | undefined => t?.function?.name ?? t?.name;

/**
 * Tool names the conversation already used (OpenAI assistant tool_calls, Anthropic tool_use blocks) or that
 * tool_choice names (OpenAI `{function:{name}}`, Anthropic `{type:"tool",name}`).
 */
export function protectedTools(body: Json): Set<string> {
  const out = new Set<string>();
  const tc = body.tool_choice;
  if (tc && typeof tc === 'object' && typeof tc.function?.name === 'string') out.add(tc.function.name);
  if (tc && typeof tc === 'object' && tc.type === 'tool' && typeof tc.name === 'string') out.add(tc.name);
  for (const m of (Array.isArray(body.messages) ? body.messages : []) as Msg[]) {
    if (Array.isArray(m.tool_calls)) for (const c of m.tool_calls) if (typeof c?.function?.name === 'string') out.add(c.function.name);
    if (m.role === 'function' && typeof m.name === 'string') out.add(m.name);
    if (Array.isArray(m.content)) for (const b of m.content as Msg[]) if ((b?.type === 'tool_use' || b?.type === 'server_tool_use') && typeof b.name === 'string') out.add(b.name);
  }
  return out;
}

/** An Anthropic server / built-in tool (`type` like `web_search_20250305`): no description to rank, never dropped. */
const builtIn = (t: Msg, surface: 'openai' | 'anthropic'): boolean => surface === 'anthropic' && typeof t?.type === 'string' && t.type !== 'custom';

export function pruneTools(body: Json, o: { keep: number }, surface: 'openai' | 'anthropic' = 'openai'): { body: Json; before: number; after: number } | undefined {
  const tools = body.tools;
  if (!Array.isArray(tools) || tools.length <= o.keep) return undefined;
  const prot = protectedTools(body);
  for (const t of tools) if (builtIn(t, surface)) prot.add(toolName(t) ?? '');
  const texts = tools.map((t: Msg) => `${toolName(t) ?? ''} ${(toolName(t) ?? '').replace(/[_-]/g, ' ')} ${t?.function?.description ?? t?.description ?? ''}`);
  const scores = bm25(questionOf(body), texts);
  const order = tools.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const keep = new Set<number>(tools.map((t: Msg, i) => (prot.has(toolName(t) ?? '') ? i : -1)).filter((i) => i >= 0));
  for (const i of order) {
    if (keep.size >= o.keep) break;
    keep.add(i);
  }
  if (keep.size === tools.length) return undefined;
  const kept: Msg[] = [];
  // Anthropic: a client's cache_control breakpoint on a dropped tool moves to the last kept tool before it (the end of
  // the same, now shorter, tools section), so the client's breakpoints keep their number and order (TTL order too).
  let carry: unknown;
  tools.forEach((t: Msg, i) => {
    if (keep.has(i)) {
      kept.push(t);
      return;
    }
    if (surface !== 'anthropic' || !t?.cache_control) return;
    const last = kept[kept.length - 1];
    if (last && !last.cache_control) kept[kept.length - 1] = { ...last, cache_control: t.cache_control };
    else if (!last) carry ??= t.cache_control;
  });
  if (carry && kept[0] && !kept[0].cache_control) kept[0] = { ...kept[0], cache_control: carry };
  return { body: { ...body, tools: kept }, before: tools.length, after: kept.length };
}
