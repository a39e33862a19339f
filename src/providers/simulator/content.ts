/** Deterministic simulated answers: prose, JSON that satisfies a schema, and tool calls with schema-valid arguments. */
import { createHash } from 'node:crypto';
import { o200k } from '../../tokens/count.js';

type Json = Record<string, any>;

const WORDS = (
  'the a gateway cost token model cache answer request budget route user feature team provider stream usage price ' +
  'latency quality batch prompt context output input simple clear result value check data service system reply ' +
  'because therefore however first next finally also which when where this that with from into over under about'
).split(' ');

export function hashSeed(...parts: string[]): number {
  const h = createHash('sha1');
  for (const p of parts) h.update(p).update('\0');
  return h.digest().readUInt32LE(0);
}

/** `n` words of deterministic prose seeded by `seed`. */
export function prose(seed: number, n: number): string {
  const out: string[] = [];
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.push(WORDS[(x >>> 0) % WORDS.length]!);
  }
  const s = out.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1) + '.';
}

/** A small instance of a JSON schema (enough for validators: required props, types, enums, arrays). */
export function instanceOf(schema: Json | undefined, seed: number, depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 6) return {};
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[seed % schema.enum.length];
  if (schema.const !== undefined) return schema.const;
  const anyOf = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(anyOf) && anyOf.length) return instanceOf(anyOf[0], seed, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type) {
    case 'string':
      return schema.format === 'date' ? '2026-01-01' : prose(seed, 2).replace(/\.$/, '');
    case 'integer':
      return Math.max(schema.minimum ?? 0, seed % 100);
    case 'number':
      return Math.max(schema.minimum ?? 0, (seed % 1000) / 10);
    case 'boolean':
      return seed % 2 === 0;
    case 'array':
      return [instanceOf(schema.items, seed + 1, depth + 1)];
    case 'null':
      return null;
    default: {
      const out: Json = {};
      const props: Json = schema.properties ?? {};
      for (const [k, v] of Object.entries(props)) out[k] = instanceOf(v as Json, seed + k.length, depth + 1);
      return out;
    }
  }
}

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

/** OpenAI's ChatCompletionTokenLogprob: the chosen token, its log probability, and the `top` likeliest at that position. */
export interface TokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

const tokenEntry = (token: string, logprob: number): TopLogprob => ({ token, logprob, bytes: [...Buffer.from(token, 'utf8')] });

/**
 * Deterministic logprobs for `text` (the same text and salt give the same numbers, so streamed and whole answers
 * agree). The chosen token is always the likeliest, as with greedy decoding: alternatives are strictly less likely.
 */
export function tokenLogprobs(text: string, top: number, salt: number): TokenLogprob[] {
  const { encode, decode } = o200k();
  return encode(text).map((id, i) => {
    let x = hashSeed(String(salt), String(i), String(id)) || 1;
    const next = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 4294967296;
    };
    const token = decode([id]);
    let lp = -next() * 0.5;
    const chosen = tokenEntry(token, lp);
    const alternatives: TopLogprob[] = [chosen];
    // Distinct tokens, as a real top-k is; top_logprobs is at most 20 and WORDS is longer, so this terminates.
    const used = new Set([token]);
    let w = Math.floor(next() * WORDS.length);
    for (let k = 1; k < top; k++) {
      let alt: string;
      do alt = ` ${WORDS[w++ % WORDS.length]}`;
      while (used.has(alt));
      used.add(alt);
      lp -= 0.1 + next() * 2;
      alternatives.push(tokenEntry(alt, lp));
    }
    return { ...chosen, top_logprobs: top > 0 ? alternatives : [] };
  });
}
