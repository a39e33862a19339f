/**
 * The exact-cache key: a SHA-256 over everything that determines the answer — the client's wire format, the
 * provider family and model the call is routed to, and the request body in canonical form (object keys sorted,
 * fields that do not change the answer removed). Two requests with the same key get the same answer from a
 * deterministic model, whatever the order of their JSON keys, their attribution or whether they stream.
 */
import { createHash } from 'node:crypto';

type Json = Record<string, any>;

/**
 * Body fields that never change the answer's content: transport (`stream`, `stream_options`), attribution
 * (`user`, `metadata`), storage and billing options (`store`, `service_tier`), and costgate's own fields.
 */
export const IGNORED_FIELDS = new Set(['stream', 'stream_options', 'user', 'metadata', 'store', 'service_tier', 'prompt_cache_key', 'safety_identifier']);

/** JSON with object keys sorted at every level (arrays keep their order: message order matters). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Json;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

export interface KeyParts {
  /** The client's wire format (the stored body is in it). */
  surface: string;
  /** Provider family of the routed deployment (openai, anthropic, simulator, …). */
  family: string;
  /** The routed deployment's model. */
  model: string;
  body: Json;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export function answerFields(body: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(body)) if (!IGNORED_FIELDS.has(k) && k !== 'model') out[k] = v;
  return out;
}

export function cacheKey(p: KeyParts): string {
  return `x1:${sha(canonicalJson({ s: p.surface, f: p.family, m: p.model, b: answerFields(p.body) }))}`;
}

/**
 * Sampled answers differ call to call: temperature above 0 (or unset: both providers default to 1) without a
 * `seed`, or several choices (`n > 1`). Caching them replays one sample, so it needs the route's consent.
 * Anthropic has no seed; `top_k: 1` is greedy decoding whatever the temperature.
 */
export function nonDeterministic(surface: string, body: Json): string | undefined {
  if (typeof body.n === 'number' && body.n > 1) return 'n>1';
  if (surface === 'anthropic' && body.top_k === 1) return undefined;
  const t = typeof body.temperature === 'number' ? body.temperature : 1;
  if (t > 0 && !(surface === 'openai' && body.seed !== undefined && body.seed !== null)) return body.temperature === undefined ? 'temperature unset (defaults to 1), no seed' : `temperature ${t}, no seed`;
  return undefined;
}

/** Text of one message's content: a string, or the text parts of a content array. */
function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p: Json) => (p && typeof p === 'object' && p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('\n');
  return '';
}

/**
 * What a semantic layer compares: `scope` is a hash of the family, model, system prompt, tools, every answer-
 * determining field and all messages but the last user turn (so a follow-up never matches another conversation);
 * `text` is the last user message's text. Undefined when the last message is not a user turn with text.
 */
export function semanticParts(p: KeyParts): { scope: string; text: string } | undefined {
  const msgs: Json[] = Array.isArray(p.body.messages) ? p.body.messages : [];
  const last = msgs[msgs.length - 1];
  if (!last || last.role !== 'user') return undefined;
  if (Array.isArray(last.content) && last.content.some((x: Json) => x && x.type !== 'text')) return undefined;
  const text = contentText(last.content).trim();
  if (!text) return undefined;
  const rest = answerFields(p.body);
  rest.messages = msgs.slice(0, -1);
  return { scope: `s1:${sha(canonicalJson({ s: p.surface, f: p.family, m: p.model, b: rest }))}`, text };
}
