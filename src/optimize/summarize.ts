/**
 * Conversation summarisation (opt-in per feature): when a chat exceeds `maxTurns` non-system messages or `maxTokens`
 * prompt tokens, the older turns are replaced by one summary message; the system prompt(s) and the last `keepLast`
 * messages stay verbatim. The summary is made once per conversation prefix (sha-256 of the replaced messages and the
 * summary model) by an upstream call the caller provides (the gateway sends it through its own pipeline, so it is a
 * ledger row of its own, attributed to the feature), and reused by every later turn that starts with the same prefix —
 * later turns replace *the same* older messages, so their prompt (and its provider prompt-cache prefix) stays stable
 * until the conversation grows past the next threshold.
 *
 * Both surfaces. OpenAI chat bodies: the leading system/developer messages are the head, and the summary is a system
 * message after them. Anthropic Messages bodies: `system` is top-level and stays as it is, and the summary is appended
 * to it (a text block after the client's, so client `cache_control` markers on the system keep their place); the kept
 * part starts at a user message that carries no `tool_result` (an orphaned tool_result is a 400 upstream), and every
 * kept message — images, tool_use ids, cache_control, thinking blocks — is passed on as the client sent it.
 */
import { createHash } from 'node:crypto';
import type { Json } from '../providers/adapter.js';
import { countPrompt } from '../tokens/count.js';

export interface SummarizeSettings {
  maxTurns: number;
  maxTokens: number;
  keepLast: number;
  summaryTokens: number;
}

/** Makes a summary of a transcript with `model` (at most `maxTokens` output tokens). */
export type SummaryCall = (transcript: string, maxTokens: number) => Promise<string>;

type Msg = { role?: unknown; content?: unknown; tool_calls?: unknown; [k: string]: unknown };

/** A part's / block's text for the transcript: text as is; Anthropic tool calls, tool results and images described. */
function partText(p: unknown): string {
  if (!p || typeof p !== 'object') return '';
  const b = p as Msg;
  if (typeof b.text === 'string') return b.text;
  if (b.type === 'tool_use') return ` [tool call ${String(b.name)}: ${JSON.stringify(b.input ?? {})}]`;
  if (b.type === 'tool_result') return ` [tool result: ${textOf(b.content)}]`;
  if (b.type === 'image' || b.type === 'image_url') return ' [image]';
  if (b.type === 'document') return ' [document]';
  return '';
}

const textOf = (c: unknown): string => (typeof c === 'string' ? c : Array.isArray(c) ? c.map(partText).join('') : '');

export function transcriptOf(msgs: Msg[]): string {
  return msgs.map((m) => `${String(m.role)}: ${textOf(m.content)}${m.tool_calls ? ` [tool calls: ${JSON.stringify(m.tool_calls)}]` : ''}`).join('\n');
}

export const SUMMARY_PREFIX = 'Summary of the earlier conversation (made by costgate; the older turns were replaced): ';

export type Surface = 'openai' | 'anthropic';

/** An Anthropic user message that answers tool calls: it must stay right after the assistant turn that made them. */
const answersTools = (m: Msg | undefined): boolean => Array.isArray(m?.content) && (m!.content as Msg[]).some((b) => b?.type === 'tool_result');

export interface SummaryPlan {
  surface: Surface;
  /** Leading system messages, kept. */
  head: Msg[];
  /** Replaced by the summary. */
  older: Msg[];
  /** Kept verbatim. */
  recent: Msg[];
  key: string;
  tokensBefore: number;
}

/** Whether and where to cut a chat body; undefined when under the thresholds or nothing can be replaced. */
export function planSummary(body: Json, model: string, s: SummarizeSettings, summaryModel: string, surface: Surface = 'openai'): SummaryPlan | undefined {
  const msgs = body.messages;
  if (!Array.isArray(msgs)) return undefined;
  let h = 0;
  if (surface === 'openai') while (h < msgs.length && (msgs[h]?.role === 'system' || msgs[h]?.role === 'developer')) h++;
  const turns = msgs.slice(h) as Msg[];
  const tokensBefore = countPrompt(body, model);
  if (turns.length <= s.maxTurns && tokensBefore <= s.maxTokens) return undefined;
  // The cut moves in steps of keepLast, so the next few turns replace the same older messages and reuse the summary
  // (and keep the same prompt prefix); at least keepLast messages stay verbatim. The kept part starts at a user
  // message: never between an assistant's tool call and its tool result (on Anthropic's wire a user message carrying
  // tool_result blocks is that result, so the kept part never starts there).
  let cut = Math.floor(Math.max(0, turns.length - s.keepLast) / s.keepLast) * s.keepLast;
  while (cut > 0 && (turns[cut]?.role !== 'user' || answersTools(turns[cut]))) cut--;
  if (cut < 2) return undefined;
  const older = turns.slice(0, cut);
  const key = createHash('sha256').update(summaryModel).update('\u0000').update(JSON.stringify(older)).digest('hex').slice(0, 32);
  return { surface, head: msgs.slice(0, h) as Msg[], older, recent: turns.slice(cut), key, tokensBefore };
}

/** The body with the older turns replaced by the summary (a new object; the client's is not mutated). */
export function applySummary(body: Json, p: SummaryPlan, summary: string): Json {
  if (p.surface === 'anthropic') {
    const text = SUMMARY_PREFIX + summary;
    const sys = body.system;
    const system = sys === undefined || sys === '' ? text : typeof sys === 'string' ? [{ type: 'text', text: sys }, { type: 'text', text }] : [...(sys as Msg[]), { type: 'text', text }];
    return { ...body, system, messages: p.recent };
  }
  return { ...body, messages: [...p.head, { role: 'system', content: SUMMARY_PREFIX + summary }, ...p.recent] };
}

/** Summaries by conversation-prefix key; one in-flight call per key (concurrent turns wait for the same summary). */
export class SummaryCache {
  private readonly done = new Map<string, string>();
  private readonly pending = new Map<string, Promise<string>>();
  constructor(private readonly max = 10_000) {}

  /** The summary for `key`, and whether it was made by this call. */
  async get(key: string, make: () => Promise<string>): Promise<{ text: string; made: boolean }> {
    const hit = this.done.get(key);
    if (hit !== undefined) return { text: hit, made: false };
    const inflight = this.pending.get(key);
    if (inflight) return { text: await inflight, made: false };
    const p = make();
    this.pending.set(key, p);
    try {
      const text = await p;
      if (this.done.size >= this.max) this.done.delete(this.done.keys().next().value!);
      this.done.set(key, text);
      return { text, made: true };
    } finally {
      this.pending.delete(key);
    }
  }
}

export function summaryPrompt(transcript: string, maxTokens: number): Json {
  return {
    messages: [
      { role: 'system', content: `Summarise the conversation below in at most ${maxTokens} tokens. Keep facts, names, numbers, decisions and open questions; no preamble.` },
      { role: 'user', content: transcript },
    ],
    max_tokens: maxTokens,
  };
}
