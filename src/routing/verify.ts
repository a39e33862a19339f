/**
 * Cascade verifiers: cheap checks on the weak model's answer that say "escalate". Each returns why it failed, or
 * undefined. They read the answer in the client's wire format (OpenAI chat completion or Anthropic message).
 */
import type { RouteInput } from './signals.js';

type Json = Record<string, any>;
export type Verifier = 'json' | 'refusal' | 'empty' | 'tools' | 'logprob';

export interface Answer {
  text: string;
  refusal?: string;
  toolCalls: { name: string; args: unknown; raw: string }[];
  logprobs?: number[];
}

export function readAnswer(j: Json): Answer {
  if (Array.isArray(j.content)) {
    const text = j.content.filter((b: Json) => b.type === 'text').map((b: Json) => b.text).join('');
    const toolCalls = j.content.filter((b: Json) => b.type === 'tool_use').map((b: Json) => ({ name: String(b.name), args: b.input, raw: JSON.stringify(b.input) }));
    return { text, toolCalls };
  }
  const m = j.choices?.[0]?.message ?? {};
  const toolCalls = (m.tool_calls ?? []).map((t: Json) => {
    const raw = String(t.function?.arguments ?? '');
    let args: unknown;
    try {
      args = JSON.parse(raw);
    } catch {
      args = undefined;
    }
    return { name: String(t.function?.name ?? ''), args, raw };
  });
  const lp = j.choices?.[0]?.logprobs?.content;
  return { text: typeof m.content === 'string' ? m.content : '', refusal: typeof m.refusal === 'string' ? m.refusal : undefined, toolCalls, logprobs: Array.isArray(lp) ? lp.map((t: Json) => Number(t.logprob)) : undefined };
}

const REFUSAL = /^(?:\W*)(?:(?:i'?m|i am) (?:sorry|afraid|unable|not able|not sure)|i (?:can(?:'|no)t|cannot|won'?t be able to|do(?:n'?t| not) know)|as an ai\b|unfortunately,? i (?:can(?:'|no)t|cannot|am unable))/i;
const IDK = /\b(?:i do(?:n'?t| not) know|i'?m not sure|i cannot (?:help|answer|assist)|i can'?t (?:help|answer|assist)|unable to (?:help|answer|assist))\b/i;

/** A small JSON Schema subset (type, enum, const, required, properties, additionalProperties: false, items). */
export function schemaProblem(v: unknown, s: Json | undefined, path = '$'): string | undefined {
  if (!s || typeof s !== 'object') return undefined;
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  const typeOf = (x: unknown) => (x === null ? 'null' : Array.isArray(x) ? 'array' : Number.isInteger(x) ? 'integer' : typeof x);
  if (types.length && !types.some((t: string) => t === typeOf(v) || (t === 'number' && typeof v === 'number'))) return `${path}: expected ${types.join('|')}, got ${typeOf(v)}`;
  if (Array.isArray(s.enum) && !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(v))) return `${path}: not one of the enum values`;
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(v)) return `${path}: not the const value`;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Json;
    for (const r of s.required ?? []) if (!(r in o)) return `${path}: missing required property ${r}`;
    for (const [k, sub] of Object.entries((s.properties ?? {}) as Json)) {
      if (k in o) {
        const p = schemaProblem(o[k], sub as Json, `${path}.${k}`);
        if (p) return p;
      }
    }
    if (s.additionalProperties === false) for (const k of Object.keys(o)) if (!(k in (s.properties ?? {}))) return `${path}: unexpected property ${k}`;
  }
  if (Array.isArray(v) && s.items) {
    for (let i = 0; i < v.length; i++) {
      const p = schemaProblem(v[i], s.items, `${path}[${i}]`);
      if (p) return p;
    }
  }
  return undefined;
}

export interface VerifyOptions {
  verifiers: Verifier[];
  minChars: number;
  minMeanLogprob: number;
  /** Tool names the request defined. */
  toolNames: string[];
}

/** The first failing check as `verifier: why`, or undefined when the answer passes them all. */
export function verifyAnswer(a: Answer, x: RouteInput, o: VerifyOptions): { verifier: Verifier; why: string } | undefined {
  for (const v of o.verifiers) {
    const why = check(v, a, x, o);
    if (why) return { verifier: v, why };
  }
  return undefined;
}

function check(v: Verifier, a: Answer, x: RouteInput, o: VerifyOptions): string | undefined {
  switch (v) {
    case 'empty':
      return a.toolCalls.length === 0 && a.text.trim().length < o.minChars ? `answer shorter than ${o.minChars} characters` : undefined;
    case 'refusal':
      if (a.refusal) return 'refused';
      return REFUSAL.test(a.text) || (a.text.length < 400 && IDK.test(a.text)) ? 'refusal or "I don\'t know"' : undefined;
    case 'json': {
      if (!x.responseFormat || a.toolCalls.length) return undefined;
      let doc: unknown;
      try {
        doc = JSON.parse(a.text);
      } catch {
        return 'not valid JSON';
      }
      if (x.responseFormat.type === 'json_object') return doc && typeof doc === 'object' && !Array.isArray(doc) ? undefined : 'not a JSON object';
      return schemaProblem(doc, x.responseFormat.schema);
    }
    case 'tools':
      for (const t of a.toolCalls) {
        if (o.toolNames.length && !o.toolNames.includes(t.name)) return `unknown tool ${t.name}`;
        if (!t.args || typeof t.args !== 'object' || Array.isArray(t.args)) return `tool ${t.name}: arguments are not a JSON object`;
      }
      return undefined;
    case 'logprob': {
      if (!a.logprobs?.length) return undefined;
      const mean = a.logprobs.reduce((s, l) => s + l, 0) / a.logprobs.length;
      return mean < o.minMeanLogprob ? `mean logprob ${mean.toFixed(2)} < ${o.minMeanLogprob}` : undefined;
    }
  }
}
