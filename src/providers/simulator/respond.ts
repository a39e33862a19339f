/**
 * What the simulator answers for a request: the message (text, JSON or tool calls), its finish reason and an
 * honest usage block counted with the real tokenizers, including prompt-cache hits.
 */
import { createHash } from 'node:crypto';
import type { SimModel } from './catalog.js';
import type { Verdict } from './quality.js';
import { hashSeed, prose, instanceOf } from './content.js';
import { PrefixStore, openaiCachedTokens, anthropicCache, type Breakpoint } from './prompt-cache.js';
import { countPrompt, countText, o200k } from '../../tokens/count.js';
import type { Usage } from '../usage.js';
import { flawOf, spoil } from './flaws.js';

type Json = Record<string, any>;

export interface ToolCall {
  id: string;
  name: string;
  args: string;
}

export interface Answer {
  text: string;
  toolCalls: ToolCall[];
  finish: 'stop' | 'length' | 'tool_calls';
  usage: Usage;
  /** The stop sequence the answer ended on (cut before it); Anthropic reports it as `stop_sequence`. */
  stopSequence?: string;
  /** OpenAI wire, `logprobs: true`: how many `top_logprobs` to report per token (0 reports the chosen token only). */
  topLogprobs?: number;
  /** OpenAI wire: the `service_tier` the response reports, i.e. the tier that served it. */
  serviceTier?: string;
}

/** Tiers OpenAI reports back as requested; `auto` (and no tier) is served, and reported, as `default`. */
const ECHOED_TIERS = new Set(['flex', 'priority', 'scale']);

/** Per-prompt answer override (e.g. data-driven quality for routing evaluations). */
export type AnswerHook = (model: string, body: Json) => string | undefined;

export interface RespondOptions {
  outputTokens: number;
  answer?: AnswerHook;
  /** The quality table's verdict on this prompt: a multiple-choice prompt is answered with its letter. */
  verdict?: Verdict;
}

/** The last user message's text (what quality tables and answer seeds key on). */
export function lastUserText(body: Json): string {
  const msgs: Json[] = body.messages ?? [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i]!;
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    return (m.content ?? []).map((p: Json) => p.text ?? (typeof p.content === 'string' ? p.content : '')).join(' ');
  }
  return '';
}

/** Does the conversation end with a tool result (so the model should answer in text now)? */
function endsWithToolResult(body: Json): boolean {
  const last = (body.messages ?? [])[body.messages?.length - 1];
  if (!last) return false;
  if (last.role === 'tool') return true;
  return Array.isArray(last.content) && last.content.some((b: Json) => b.type === 'tool_result');
}

function pickTool(body: Json, wire: 'openai' | 'anthropic'): { name: string; schema: Json; forced: boolean } | undefined {
  const tc = body.tool_choice;
  // OpenAI custom (free-form) tools have no JSON-Schema arguments to fill, and `allowed_tools` narrows the set.
  const allowed = wire === 'openai' && tc?.type === 'allowed_tools' ? new Set((tc.allowed_tools?.tools ?? []).map((x: Json) => x.function?.name)) : undefined;
  const tools: Json[] = (body.tools ?? []).filter((t: Json) => wire !== 'openai' || ((t.type ?? 'function') === 'function' && (!allowed || allowed.has(t.function?.name))));
  if (!tools.length || endsWithToolResult(body)) return undefined;
  const name = (t: Json) => (wire === 'openai' ? t.function?.name : t.name);
  const schema = (t: Json) => (wire === 'openai' ? t.function?.parameters : t.input_schema) ?? {};
  if (tc === 'none' || tc?.type === 'none') return undefined;
  const forced = wire === 'openai' ? tc?.function?.name : tc?.type === 'tool' ? tc.name : undefined;
  const t = forced ? tools.find((x) => name(x) === forced) : tools[0];
  return t ? { name: name(t), schema: schema(t), forced: forced !== undefined && forced === name(t) } : undefined;
}

function isJsonObject(s: string): boolean {
  try {
    const v = JSON.parse(s);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

function jsonSchemaOf(body: Json): Json | undefined | null {
  const rf = body.response_format;
  if (rf?.type === 'json_schema') return rf.json_schema?.schema ?? {};
  if (rf?.type === 'json_object') return { type: 'object', properties: { answer: { type: 'string' } } };
  return null;
}

/** Cut `text` before the earliest stop sequence it contains; `matched` is that sequence. */
function applyStop(text: string, stop: unknown): { text: string; matched?: string } {
  const list = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : [];
  let cut = -1;
  let matched: string | undefined;
  for (const s of list) {
    const i = typeof s === 'string' && s ? text.indexOf(s) : -1;
    if (i >= 0 && (cut < 0 || i < cut)) {
      cut = i;
      matched = s as string;
    }
  }
  return matched !== undefined ? { text: text.slice(0, cut), matched } : { text };
}

/**
 * Cached tokens of an OpenAI prompt of `promptTokens` (as reported in `prompt_tokens`). The prefixes are hashed over a
 * serialization that frames messages differently from the count, so its tokens are fitted to the counted length (cut,
 * or padded with a filler token): otherwise a repeated 1024–1027-token prompt cached nothing, and content parts
 * (serialized as JSON, longer than their counted text) reported cached counts off the 128-token grid.
 */
function openaiPromptCache(store: PrefixStore, model: SimModel, body: Json, promptTokens: number): number {
  if (promptTokens < 1024) return 0;
  const serial = (body.tools ? JSON.stringify(body.tools) : '') + (body.messages ?? []).map((m: Json) => `${m.role}\n${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`).join('\n');
  const tokens = o200k().encode(serial);
  const fitted = tokens.length >= promptTokens ? tokens.slice(0, promptTokens) : tokens.concat(new Array<number>(promptTokens - tokens.length).fill(0));
  return openaiCachedTokens(store, model.id, fitted);
}

function anthropicBreakpoints(body: Json, model: string): Breakpoint[] {
  const bps: Breakpoint[] = [];
  const hash = createHash('sha1');
  let tokens = 0;
  const visit = (block: Json, text: string) => {
    hash.update(text);
    tokens += countText(text, model) + 3;
    const cc = block.cache_control;
    if (cc && cc.type === 'ephemeral') bps.push({ tokens, key: hash.copy().digest('base64'), ttl: cc.ttl === '1h' ? '1h' : '5m' });
  };
  for (const t of body.tools ?? []) visit(t, JSON.stringify({ n: t.name, d: t.description, s: t.input_schema }));
  const sys = typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : body.system ?? [];
  for (const b of sys) visit(b, b.text ?? '');
  for (const m of body.messages ?? []) {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content ?? [];
    for (const b of blocks) visit(b, `${m.role}:${b.text ?? JSON.stringify(b.input ?? b.content ?? b.source ?? '')}`);
  }
  return bps;
}

export function respond(model: SimModel, wire: 'openai' | 'anthropic', body: Json, store: PrefixStore, opts: RespondOptions, choice = 0): Answer {
  const seed = hashSeed(model.id, lastUserText(body), String(choice));
  const limit = wire === 'openai' ? body.max_completion_tokens ?? body.max_tokens : body.max_tokens;
  let text = '';
  const toolCalls: ToolCall[] = [];
  let finish: Answer['finish'] = 'stop';
  const tool = pickTool(body, wire);
  const schema = jsonSchemaOf(body);
  const hooked = opts.answer?.(model.id, body);
  if (hooked !== undefined) {
    // A tool forced by name is always called (as the providers do): a hooked JSON object answer becomes its input.
    if (tool?.forced && isJsonObject(hooked)) {
      toolCalls.push({ id: `call_${seed.toString(36)}${choice}`, name: tool.name, args: hooked });
      finish = 'tool_calls';
    } else text = hooked;
  } else if (tool) {
    toolCalls.push({ id: `call_${seed.toString(36)}${choice}`, name: tool.name, args: JSON.stringify(instanceOf(tool.schema, seed)) });
    finish = 'tool_calls';
  } else if (schema !== null) text = JSON.stringify(instanceOf(schema ?? {}, seed));
  else if (opts.verdict?.letter !== undefined) text = opts.verdict.letter;
  else {
    const want = Math.max(1, opts.outputTokens);
    const n = typeof limit === 'number' ? Math.min(want, limit) : want;
    text = prose(seed, Math.max(1, n - 1));
    if (typeof limit === 'number' && want > limit) finish = 'length';
  }
  const flaw = flawOf(body.model);
  if (flaw && hooked === undefined) {
    const sp = spoil(flaw, text);
    if (sp.text !== undefined && finish !== 'tool_calls') text = sp.text;
    if (sp.toolArgs !== undefined) for (const t of toolCalls) t.args = sp.toolArgs;
  }
  let stopSequence: string | undefined;
  if (finish !== 'tool_calls') {
    const s = applyStop(text, wire === 'openai' ? body.stop : body.stop_sequences);
    text = s.text;
    if (s.matched !== undefined) {
      finish = 'stop';
      stopSequence = s.matched;
    }
  }
  const visible = countText(text + toolCalls.map((t) => t.name + t.args).join(''), model.id);
  const reasoning = model.reasoningRatio ? Math.round(visible * model.reasoningRatio) : 0;
  // The prompt is counted once per request (choice 0, whose usage the wire bodies report); later choices of an
  // `n` > 1 request carry their output only, so n = 128 costs 128 short generations, not 128 prompt tokenizations.
  const input = choice === 0 ? countPrompt(body, model.id) : 0;
  const usage: Usage = { inputTokens: input, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: visible + reasoning, reasoningTokens: reasoning, estimated: false };
  if (choice === 0) {
    if (wire === 'openai') usage.cacheReadTokens = Math.min(input, openaiPromptCache(store, model, body, input));
    else {
      const c = anthropicCache(store, model.id, anthropicBreakpoints(body, model.id), model.minCacheTokens ?? 1024);
      usage.cacheReadTokens = Math.min(input, c.read);
      usage.cacheWrite5mTokens = c.write5m;
      usage.cacheWrite1hTokens = c.write1h;
      usage.inputTokens = Math.max(input, c.read + c.write5m + c.write1h);
    }
  }
  const answer: Answer = { text, toolCalls, finish, usage };
  if (stopSequence !== undefined) answer.stopSequence = stopSequence;
  if (wire === 'openai') {
    answer.serviceTier = ECHOED_TIERS.has(body.service_tier) ? body.service_tier : 'default';
    if (body.logprobs === true) answer.topLogprobs = typeof body.top_logprobs === 'number' ? body.top_logprobs : 0;
  }
  return answer;
}
