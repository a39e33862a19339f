/**
 * Stored bodies → OpenAI chat fine-tuning JSONL (one `{"messages": [...], "tools"?: [...]}` per line; the supervised
 * format of OpenAI's fine-tuning docs, "chat input"). Only successful (2xx) calls answered upstream (not served from
 * the response cache) with a stored, non-empty answer become lines. OpenAI-surface requests keep their messages
 * (`developer` becomes `system`, which the training format knows), their tools and `parallel_tool_calls`; Anthropic-
 * surface requests are converted when every block is text (system → a system message, text blocks joined), and their
 * tools become function tools. The stored text is already redacted: the `[REDACTED:…]` markers stay in the examples.
 */
import type { BodyRow, BodyQuery, LedgerStore } from '../stores/ledger/types.js';
import { servedFromCache } from '../cache/served.js';
import { pages } from '../stores/ledger/cursor.js';

export type FtMessage = { role: 'system' | 'user' | 'assistant' | 'tool'; content: unknown; name?: string; tool_calls?: unknown[]; tool_call_id?: string };
export interface FtLine {
  messages: FtMessage[];
  tools?: unknown[];
  parallel_tool_calls?: boolean;
}

export type SkipReason = 'status' | 'cache-hit' | 'no-answer' | 'empty-answer' | 'unsupported-content' | 'unreadable';
export type Converted = { line: FtLine } | { skip: SkipReason };

const isText = (c: unknown) => typeof c === 'string' || (Array.isArray(c) && c.every((p) => p && typeof p === 'object' && (p as { type?: unknown }).type === 'text'));
const nonEmpty = (c: unknown) => (typeof c === 'string' ? c.trim() !== '' : Array.isArray(c) && c.length > 0);

function openaiMessage(m: any): FtMessage | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const role = m.role === 'developer' ? 'system' : m.role;
  if (role === 'system' || role === 'user') return { role, content: m.content, ...(typeof m.name === 'string' ? { name: m.name } : {}) };
  if (role === 'assistant') {
    const out: FtMessage = { role, content: m.content ?? null };
    if (Array.isArray(m.tool_calls) && m.tool_calls.length) out.tool_calls = m.tool_calls;
    if (typeof m.name === 'string') out.name = m.name;
    return out;
  }
  if (role === 'tool') return { role, content: m.content, tool_call_id: m.tool_call_id };
  return undefined;
}

function anthropicText(c: unknown): string | undefined {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return undefined;
  if (!c.every((b) => b && typeof b === 'object' && b.type === 'text' && typeof b.text === 'string')) return undefined;
  return c.map((b: { text: string }) => b.text).join('\n\n');
}

/** One stored body → a training line, or why it was skipped. */
export function toFineTuneLine(b: BodyRow): Converted {
  if (b.status < 200 || b.status >= 300) return { skip: 'status' };
  if (servedFromCache(b.cacheStatus)) return { skip: 'cache-hit' };
  if (b.response === null) return { skip: 'no-answer' };
  let req: any;
  let res: any;
  try {
    req = JSON.parse(b.request);
    res = JSON.parse(b.response);
  } catch {
    return { skip: 'unreadable' };
  }
  if (!req || typeof req !== 'object' || !Array.isArray(req.messages)) return { skip: 'unreadable' };
  const messages: FtMessage[] = [];
  let tools: unknown[] | undefined;
  let answer: FtMessage | undefined;
  if (b.surface === 'anthropic') {
    if (req.system !== undefined) {
      const s = anthropicText(req.system);
      if (s === undefined) return { skip: 'unsupported-content' };
      if (s.trim()) messages.push({ role: 'system', content: s });
    }
    for (const m of req.messages) {
      const t = anthropicText(m?.content);
      if (t === undefined || (m.role !== 'user' && m.role !== 'assistant')) return { skip: 'unsupported-content' };
      messages.push({ role: m.role, content: t });
    }
    if (Array.isArray(req.tools)) {
      tools = req.tools
        .filter((t: any) => t && typeof t.name === 'string' && t.input_schema)
        .map((t: any) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema } }));
    }
    const t = anthropicText(res?.content);
    if (t === undefined) return { skip: 'unsupported-content' };
    answer = { role: 'assistant', content: t };
  } else {
    for (const m of req.messages) {
      const x = openaiMessage(m);
      if (!x || (!isText(x.content) && x.role !== 'user' && !(x.role === 'assistant' && x.tool_calls))) return { skip: 'unsupported-content' };
      messages.push(x);
    }
    if (Array.isArray(req.tools) && req.tools.length) tools = req.tools.filter((t: any) => t?.type === 'function').map((t: any) => ({ type: 'function', function: t.function }));
    const m = res?.choices?.[0]?.message;
    if (!m) return { skip: 'no-answer' };
    answer = { role: 'assistant', content: m.content ?? null };
    if (Array.isArray(m.tool_calls) && m.tool_calls.length) answer.tool_calls = m.tool_calls.map((c: any) => ({ id: c.id, type: c.type ?? 'function', function: { name: c.function?.name, arguments: c.function?.arguments } }));
  }
  if (!nonEmpty(answer.content) && !answer.tool_calls) return { skip: 'empty-answer' };
  if (answer.content === null || (typeof answer.content === 'string' && !answer.content.trim())) delete (answer as { content?: unknown }).content;
  const line: FtLine = { messages: [...messages, answer] };
  if (tools?.length) line.tools = tools;
  if (b.surface !== 'anthropic' && typeof req.parallel_tool_calls === 'boolean' && tools?.length) line.parallel_tool_calls = req.parallel_tool_calls;
  return { line };
}

export interface ExportResult {
  lines: number;
  skipped: Partial<Record<SkipReason, number>>;
}

/** Every stored body of the query, oldest first, through `write` (one JSON line each, newline included). */
export async function exportFineTune(store: LedgerStore, q: BodyQuery, write: (line: string) => void): Promise<ExportResult> {
  const r: ExportResult = { lines: 0, skipped: {} };
  for await (const rows of pages((cursor) => store.bodies({ ...q, limit: 1000, cursor }))) {
    for (const b of rows) {
      const c = toFineTuneLine(b);
      if ('skip' in c) r.skipped[c.skip] = (r.skipped[c.skip] ?? 0) + 1;
      else {
        write(JSON.stringify(c.line) + '\n');
        r.lines++;
      }
    }
  }
  return r;
}
