/**
 * The stable prefix of a chat request, in either wire format: the tool definitions and the system prompt (Anthropic's
 * `system`, OpenAI's leading `system`/`developer` messages). It is what every turn of a conversation and every call of
 * a feature repeats, so its hash identifies "the same cacheable prefix" for `prompt_cache_key`, deployment affinity and
 * the prompt-cache report.
 */
import { createHash } from 'node:crypto';
import type { Json } from '../providers/adapter.js';
import { countText } from '../tokens/count.js';

export interface StablePrefix {
  /** sha256 of the prefix (base64url, 22 characters); '' when the request has no tools and no system prompt. */
  hash: string;
  /** Tokens of the prefix (the model's tokenizer; framing not counted). */
  tokens: number;
  /** The prefix text, system first (what the lint reads). */
  system: string;
  toolNames: string[];
}

const textOf = (c: unknown): string =>
  typeof c === 'string' ? c : Array.isArray(c) ? c.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('\n') : '';

function stripCacheControl(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripCacheControl);
  if (v && typeof v === 'object') {
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'cache_control') out[k] = stripCacheControl(x);
    return out;
  }
  return v;
}

/** (model, prefix hash) → tokens: a feature sends the same prefix on every call, so it is counted once. Bounded. */
const tokenCache = new Map<string, number>();

export function stablePrefix(body: Json, model = String(body.model ?? '')): StablePrefix {
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  let system = '';
  if (body.system !== undefined) system = textOf(body.system);
  else {
    for (const m of (body.messages ?? []) as Json[]) {
      if (m.role !== 'system' && m.role !== 'developer') break;
      system += (system ? '\n' : '') + textOf(m.content);
    }
  }
  const toolNames = tools.map((t) => String(t.name ?? t.function?.name ?? ''));
  if (!tools.length && !system) return { hash: '', tokens: 0, system, toolNames };
  const toolsJson = tools.length ? JSON.stringify(stripCacheControl(tools)) : '';
  const hash = createHash('sha256').update(toolsJson).update('\u0000').update(system).digest('base64url').slice(0, 22);
  const tk = `${model}\u0000${hash}`;
  let tokens = tokenCache.get(tk);
  if (tokens === undefined) {
    tokens = countText(toolsJson, model) + countText(system, model);
    if (tokenCache.size >= 10_000) tokenCache.delete(tokenCache.keys().next().value!);
    tokenCache.set(tk, tokens);
  }
  return { hash, tokens, system, toolNames };
}
