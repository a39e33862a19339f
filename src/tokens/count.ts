/**
 * Token counting with real tokenizers: o200k_base (gpt-tokenizer) for OpenAI-style models and Anthropic's own
 * tokenizer (@anthropic-ai/tokenizer, WASM, loaded lazily) for Claude models. Used by the simulator's usage blocks
 * and by the ledger when an upstream reports no usage (such records are marked `estimated`).
 *
 * Both tokenizers load on first use, never at import: gpt-tokenizer's o200k tables cost ~70 MB of RSS and keep
 * ~27 MB live on the heap (longer, more frequent major GCs), and a gateway whose upstreams report usage and that runs
 * no simulator never needs them.
 */
import { createRequire } from 'node:module';

type GptTokenizer = typeof import('gpt-tokenizer');

type Json = Record<string, any>;

let claudeCount: ((s: string) => number) | null | undefined;
let gpt: GptTokenizer | undefined;

/**
 * gpt-tokenizer (o200k_base: encode, decode, countTokens), loaded synchronously on first call. Everything in costgate
 * that tokenizes goes through here (the simulator included), so the process holds one copy of the tables.
 */
export function o200k(): GptTokenizer {
  return (gpt ??= createRequire(import.meta.url)('gpt-tokenizer') as GptTokenizer);
}

/** Whether o200k's tables have been loaded in this process (tests: a gateway that never counts must not load them). */
export function tokenizerLoaded(): boolean {
  return gpt !== undefined;
}

interface TiktokenLike {
  encode(text: string, allowedSpecial: 'all'): Uint32Array;
}

/**
 * The package's own `countTokens` builds (and frees) a whole tokenizer per call — ~650 ms each. One instance is
 * built on first use and kept for the life of the process instead.
 */
function claudeCounter(): ((s: string) => number) | null {
  if (claudeCount === undefined) {
    try {
      const req = createRequire(import.meta.url);
      const tok = (req('@anthropic-ai/tokenizer') as { getTokenizer: () => TiktokenLike }).getTokenizer();
      claudeCount = (s: string) => tok.encode(s.normalize('NFKC'), 'all').length;
    } catch {
      claudeCount = null;
    }
  }
  return claudeCount;
}

/** Texts longer than this are counted in windows of it (see `bounded`). */
const WINDOW = 2048;

/**
 * BPE merging is quadratic in the length of one pre-token, and a long run without whitespace is one pre-token:
 * 40,000 × 'x' took 1–2 s to count and a megabyte would pin a core for minutes (any client can send one; the
 * budget, limit and input-cap checks count every prompt). So a long text is counted in windows of WINDOW
 * characters, each cut just before a whitespace in its second half (where pre-tokens break anyway, so prose counts
 * the same) or, inside a long run, hard (a run's count may rise by a token per cut: an over-estimate, the safe side
 * for reservations and caps). Never between the halves of a surrogate pair.
 */
function bounded(text: string, count: (s: string) => number): number {
  if (text.length <= WINDOW) return count(text);
  let n = 0;
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + WINDOW);
    if (end < text.length) {
      for (let j = end; j > i + WINDOW / 2; j--) {
        const c = text.charCodeAt(j);
        if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
          end = j;
          break;
        }
      }
      const prev = text.charCodeAt(end - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) end--;
    }
    n += count(text.slice(i, end));
    i = end;
  }
  return n;
}

/** Tokens in a string for a model family. */
export function countText(text: string, model = ''): number {
  if (!text) return 0;
  if (model.startsWith('claude')) {
    const c = claudeCounter();
    if (c) return bounded(text, c);
  }
  const tok = o200k();
  return bounded(text, (s) => tok.countTokens(s));
}

function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let s = '';
  for (const p of c as Json[]) {
    if (typeof p?.text === 'string') s += p.text;
    else if (typeof p?.content === 'string') s += p.content;
    else if (Array.isArray(p?.content)) s += contentText(p.content);
    else if (p?.type === 'tool_use') s += JSON.stringify(p.input ?? {});
  }
  return s;
}

/**
 * Prompt tokens of a chat (OpenAI) or messages (Anthropic) request body, following OpenAI's published accounting
 * (3 tokens per message of framing, 3 to prime the reply) so estimates land within a few tokens of real counts.
 */
export function countPrompt(body: Json, model = String(body.model ?? '')): number {
  let n = 3;
  if (body.system !== undefined) n += countText(contentText(body.system), model) + 3;
  for (const m of (body.messages ?? []) as Json[]) {
    n += 3 + countText(contentText(m.content), model);
    if (m.name) n += 1;
    for (const tc of m.tool_calls ?? []) n += countText(`${tc.function?.name ?? ''}${tc.function?.arguments ?? ''}`, model) + 3;
  }
  if (Array.isArray(body.tools) && body.tools.length) n += countText(JSON.stringify(body.tools), model);
  if (body.response_format?.json_schema) n += countText(JSON.stringify(body.response_format.json_schema), model);
  return n;
}

/** Tokens of an embeddings request's input. */
export function countEmbeddingInput(input: unknown, model = ''): number {
  if (typeof input === 'string') return countText(input, model);
  if (!Array.isArray(input)) return 0;
  if (input.length && typeof input[0] === 'number') return input.length;
  let n = 0;
  for (const x of input) n += typeof x === 'string' ? countText(x, model) : Array.isArray(x) ? x.length : 0;
  return n;
}
