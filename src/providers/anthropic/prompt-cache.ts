/**
 * Anthropic prompt caching: where a Messages request's stable prefix boundaries are (tools, system, each message),
 * and placing `cache_control` breakpoints on them.
 *
 * Rules kept here (Anthropic's documentation): at most 4 breakpoints per request; a breakpoint's prefix must reach the
 * model's minimum cacheable length or it is ignored; breakpoints with a 1 h TTL must come before 5 m ones. Breakpoints
 * the client set are never removed, moved or changed; costgate only adds markers to blocks that have none, within the
 * remaining budget.
 */
import { createHash } from 'node:crypto';
import type { Json } from '../adapter.js';
import { countText } from '../../tokens/count.js';

export const MAX_BREAKPOINTS = 4;

/** Minimum cacheable prompt length per model (tokens), from Anthropic's prompt-caching documentation. */
export function minCacheableTokens(model: string, overrides: Record<string, number> = {}): number {
  for (const [glob, n] of Object.entries(overrides)) if (globMatch(glob, model)) return n;
  if (/haiku/.test(model)) return 2048;
  return 1024;
}

function globMatch(glob: string, s: string): boolean {
  const re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(s);
}

/** A place a breakpoint can go: the end of the tools, of the system prompt, or of one message. */
export interface Boundary {
  kind: 'tools' | 'system' | 'message';
  /** Message index for `message`. */
  index?: number;
  /** sha256 (base64url, 22 chars) of everything up to and including this boundary, cache_control markers excluded. */
  key: string;
  /** Tokens of the segment ending here (estimated with the model's tokenizer). */
  tokens: number;
  /** The client already placed a breakpoint on this segment's last block. */
  clientMarked: boolean;
  /** TTL of a client breakpoint anywhere in this segment ('1h' wins), if any. */
  clientTtl?: '5m' | '1h';
}

/**
 * Token counts of blocks already seen (a conversation resends every earlier message on each turn): block hash → tokens.
 * Counting with Claude's tokenizer costs ~0.5 ms per KB; with this a turn counts only its new blocks. Bounded.
 */
const counted = new Map<string, number>();
const MAX_COUNTED = 50_000;

function countCached(text: string, model: string): number {
  if (text.length < 64) return countText(text, model);
  const k = createHash('sha1').update(model).update('\u0000').update(text).digest('base64');
  let n = counted.get(k);
  if (n === undefined) {
    n = countText(text, model);
    if (counted.size >= MAX_COUNTED) counted.delete(counted.keys().next().value!);
    counted.set(k, n);
  }
  return n;
}

const blocksOf = (c: unknown): Json[] => (typeof c === 'string' ? [{ type: 'text', text: c }] : Array.isArray(c) ? (c as Json[]) : []);

/** A block's content for hashing, without `cache_control` (adding a marker must not change the prefix identity). */
function canonical(b: Json): string {
  const { cache_control: _cc, ...rest } = b;
  return JSON.stringify(rest);
}

function ttlOf(b: Json): '5m' | '1h' | undefined {
  const cc = b?.cache_control;
  if (!cc || typeof cc !== 'object') return undefined;
  return cc.ttl === '1h' ? '1h' : '5m';
}

function textForCount(b: Json): string {
  if (typeof b.text === 'string') return b.text;
  if (b.type === 'tool_use') return JSON.stringify(b.input ?? {});
  if (b.type === 'tool_result') return typeof b.content === 'string' ? b.content : JSON.stringify(b.content ?? '');
  return '';
}

/** The boundaries of a Messages body, in prompt order (Anthropic caches tools, then system, then messages). */
export function boundaries(body: Json): Boundary[] {
  const model = String(body.model ?? '');
  const out: Boundary[] = [];
  const h = createHash('sha256');
  h.update(`model:${model}\n`);
  const segment = (kind: Boundary['kind'], blocks: Json[], index: number | undefined, extra: (b: Json) => string, count: (b: Json) => string) => {
    let tokens = 0;
    let clientTtl: '5m' | '1h' | undefined;
    for (const b of blocks) {
      h.update(extra(b));
      h.update('\u0000');
      tokens += countCached(count(b), model) + 3;
      const t = ttlOf(b);
      if (t && clientTtl !== '1h') clientTtl = t;
    }
    const last = blocks[blocks.length - 1];
    out.push({ kind, index, key: h.copy().digest('base64url').slice(0, 22), tokens, clientMarked: !!last && ttlOf(last) !== undefined, clientTtl });
  };
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  if (tools.length) segment('tools', tools, undefined, canonical, (t) => JSON.stringify({ n: t.name, d: t.description, s: t.input_schema }));
  const sys = blocksOf(body.system);
  if (sys.length) segment('system', sys, undefined, (b) => `system:${canonical(b)}`, textForCount);
  (body.messages ?? []).forEach((m: Json, i: number) => {
    const blocks = blocksOf(m.content);
    if (blocks.length) segment('message', blocks, i, (b) => `${m.role}:${canonical(b)}`, textForCount);
  });
  return out;
}

/** Every `cache_control` marker the client set (tools, system blocks, message blocks). */
export function clientBreakpoints(body: Json): number {
  let n = 0;
  for (const t of (body.tools ?? []) as Json[]) if (ttlOf(t)) n++;
  for (const b of blocksOf(body.system)) if (ttlOf(b)) n++;
  for (const m of (body.messages ?? []) as Json[]) for (const b of blocksOf(m.content)) if (ttlOf(b)) n++;
  return n;
}

export interface Placement {
  /** Index into `boundaries(body)`. */
  boundary: number;
  ttl: '5m' | '1h';
}

const marker = (ttl: '5m' | '1h'): Json => (ttl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' });

/**
 * Add breakpoints at the given boundaries (most important first): skips boundaries the client marked, stops at the
 * 4-breakpoint limit, and lowers a 1 h TTL to 5 m when a 5 m breakpoint comes earlier in the prompt (Anthropic
 * requires longer TTLs first). Returns a new body (the input is not mutated) and the placements actually made.
 */
export function placeBreakpoints(body: Json, want: Placement[], bounds = boundaries(body)): { body: Json; placed: Placement[] } {
  let budget = MAX_BREAKPOINTS - clientBreakpoints(body);
  // A client 1 h breakpoint after one of ours would make ours (a 5 m) come first: such boundaries are left alone.
  let lastClient1h = -1;
  bounds.forEach((b, i) => {
    if (b.clientTtl === '1h') lastClient1h = i;
  });
  const chosen: Placement[] = [];
  for (const p of want) {
    if (budget <= 0) break;
    const b = bounds[p.boundary];
    if (!b || b.clientMarked || chosen.some((c) => c.boundary === p.boundary)) continue;
    if (p.boundary < lastClient1h && p.ttl === '5m') continue;
    chosen.push({ ...p });
    budget--;
  }
  if (!chosen.length) return { body, placed: [] };
  // TTL order: walk the prompt; once a 5 m breakpoint (client's or ours) is seen, later 1 h ones become 5 m.
  const ours = new Map(chosen.map((c) => [c.boundary, c]));
  let seen5m = false;
  bounds.forEach((b, i) => {
    const c = ours.get(i);
    if (c) {
      if (c.ttl === '1h' && seen5m) c.ttl = '5m';
      if (c.ttl === '5m') seen5m = true;
    }
    if (b.clientTtl === '5m') seen5m = true;
  });
  const out: Json = { ...body };
  for (const c of chosen) {
    const b = bounds[c.boundary]!;
    if (b.kind === 'tools') {
      const tools = [...out.tools];
      tools[tools.length - 1] = { ...tools[tools.length - 1], cache_control: marker(c.ttl) };
      out.tools = tools;
    } else if (b.kind === 'system') {
      const sys = blocksOf(out.system).map((x) => ({ ...x }));
      sys[sys.length - 1]!.cache_control = marker(c.ttl);
      out.system = sys;
    } else {
      const messages = out.messages === body.messages ? [...out.messages] : out.messages;
      const m = messages[b.index!];
      const blocks = blocksOf(m.content).map((x) => ({ ...x }));
      blocks[blocks.length - 1]!.cache_control = marker(c.ttl);
      messages[b.index!] = { ...m, content: blocks };
      out.messages = messages;
    }
  }
  return { body: out, placed: chosen };
}

/** The adapter hook (Anthropic wire only). */
export const anthropicPromptCache = {
  boundaries: (body: Json) => boundaries(body),
  minTokens: minCacheableTokens,
  apply(body: Json, plan: { breakpoints?: Placement[] }): { body: Json; applied: string[] } {
    if (!plan.breakpoints?.length) return { body, applied: [] };
    const r = placeBreakpoints(body, plan.breakpoints);
    return { body: r.body, applied: r.placed.map((p) => `bp@${p.boundary}:${p.ttl}`) };
  },
};
