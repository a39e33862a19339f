/**
 * cache: after route (the routed model is part of the key), before budget (a hit never reserves budget, and costs
 * nothing upstream). In order:
 *
 * 1. Policy: the feature's settings, else the route's (requested model / alias), else `cache.*`. Disabled: the call
 *    passes untouched (no header). `Cache-Control: no-store` from the client: no lookup, no store (`bypass`).
 *    A sampled request (see `nonDeterministic`) bypasses unless the policy allows it.
 * 2. Exact lookup (skipped under `Cache-Control: no-cache`, which still stores the fresh answer): a live entry is
 *    served with `x-costgate-cache: hit` and `Age`, as JSON or replayed as SSE in the client's wire format.
 * 3. Semantic lookup (when a layer is installed, the policy says `on` or `shadow`, and the call has no tools unless
 *    `semanticWithTools`): `on` serves the entry it
 *    names (`x-costgate-cache: semantic`); `shadow` only records the would-be hit, its score and whether the real
 *    answer matched it (ledger `cache_status = 'shadow'`, `cache_score`, `shadow_match`).
 * 4. In-flight dedup (src/cache/flights.ts): identical calls in flight share one upstream call (`dedup`).
 * 5. Miss: the call goes on; a successful complete answer (200, a stream that ended properly) is stored.
 *
 * A hit or a dedup follower has no upstream attempt: its record carries the original call's usage with
 * `cacheStatus` `exact` / `semantic` / `dedup`, so the pricer prices it at $0 with `avoidedCostNanos`.
 * A cache store failing is a miss (with a warning), never a failed call.
 */
import type { Stage } from '../compose.js';
import { elapsed, type Ctx, type GatewayResponse, type Outcome } from '../ctx.js';
import { GatewayError, toGatewayError } from '../errors.js';
import { clientClosed } from './upstream-errors.js';
import type { ResolvedCache, ResolvedCachePolicy } from '../../config/load.js';
import type { CacheEntry, CacheHeader, CacheStore, SemanticLayer } from '../../cache/types.js';
import { cacheKey, nonDeterministic, semanticParts } from '../../cache/key.js';
import { Assembler, replayEvents } from '../../cache/replay.js';
import { Flights, Tee, responseOf, sameForAll, type FlightResult } from '../../cache/flights.js';
import { own } from '../../util/own.js';

export interface CacheStageOptions {
  config: ResolvedCache;
  store: CacheStore;
  flights?: Flights;
  semantic?: SemanticLayer;
  /** Injectable clock (TTL tests). */
  now?: () => number;
  onError?: (e: unknown, what: string) => void;
}

/** The policy that applies to a call: feature over route over the section's defaults. */
export function cachePolicy(c: ResolvedCache, ctx: Pick<Ctx, 'model' | 'meta'>, deployment?: string): Required<Omit<ResolvedCachePolicy, 'threshold'>> & { threshold?: number } {
  const route = own(c.routes, ctx.model) ?? own(c.routes, deployment) ?? {};
  const feat = own(c.features, ctx.meta.feature) ?? {};
  const pick = <K extends keyof ResolvedCachePolicy>(k: K) => feat[k] ?? route[k];
  return {
    enabled: pick('enabled') ?? c.enabled,
    ttlMs: pick('ttlMs') ?? c.ttlMs,
    nonDeterministic: pick('nonDeterministic') ?? c.nonDeterministic,
    dedup: pick('dedup') ?? c.dedup,
    semantic: pick('semantic') ?? c.semantic,
    threshold: pick('threshold') ?? c.threshold,
    semanticWithTools: pick('semanticWithTools') ?? c.semanticWithTools,
  };
}

/** `no-store` / `no-cache` directives of the client's Cache-Control (also Pragma: no-cache). */
export function clientDirectives(h: Record<string, string | undefined>): { noStore: boolean; noCache: boolean } {
  const cc = (h['cache-control'] ?? '').toLowerCase();
  const has = (d: string) => cc.split(',').some((x) => x.trim().split('=')[0] === d);
  return { noStore: has('no-store'), noCache: has('no-cache') || (h.pragma ?? '').toLowerCase().includes('no-cache') };
}

/** Response headers an entry keeps (who served it, the simulator's verdict); the rest are per call. */
const KEEP = /^(x-costgate-provider|x-costgate-model|x-costgate-upstream-request-id|x-sim-correct|x-sim-quality-source)$/;

function keptHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (KEEP.test(k)) out[k] = v;
  return out;
}

const normText = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** The answer's text (content and tool-call arguments), for shadow-mode matching. */
export function answerText(body: string): string {
  try {
    const j = JSON.parse(body);
    if (Array.isArray(j.content)) return j.content.map((b: any) => (b.type === 'text' ? b.text : b.type === 'tool_use' ? JSON.stringify(b.input) : '')).join('');
    return (j.choices ?? []).map((c: any) => (c.message?.content ?? '') + (c.message?.tool_calls ?? []).map((t: any) => t.function?.arguments ?? '').join('')).join('\n');
  } catch {
    return '';
  }
}

export const cache = (o: CacheStageOptions): Stage => {
  const flights = o.flights ?? new Flights();
  const now = o.now ?? Date.now;
  const warn = (e: unknown, what: string) => (o.onError ? o.onError(e, what) : process.emitWarning(`costgate: cache ${what} failed (served as a miss): ${(e as Error)?.message ?? e}`));
  const maxEntry = o.config.maxEntryBytes;

  /** Serve an entry: JSON, or a replayed SSE stream in the client's wire format. */
  function serve(ctx: Ctx, e: CacheEntry, status: 'hit' | 'semantic', score?: number): GatewayResponse {
    const headers: Record<string, string> = { ...e.headers, 'x-costgate-cache': status, age: String(Math.max(0, Math.floor((now() - e.createdAt) / 1000))) };
    const outcome = (extra: Partial<Outcome> = {}): Outcome => ({
      status: 200, provider: e.provider, deployment: e.deployment, model: e.model, upstreamModel: e.upstreamModel, usage: e.usage,
      cacheStatus: status === 'hit' ? 'exact' : 'semantic', ...(score !== undefined ? { cacheScore: score } : {}), latencyMs: elapsed(ctx), ttftMs: elapsed(ctx), streamed: ctx.stream, ...extra,
    });
    if (!ctx.stream) {
      ctx.settle(outcome());
      return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: e.body };
    }
    const events = replayEvents(e.wire, e.body, ctx.clientWantsUsage, e.usage);
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
    return { status: 200, headers, stream: replay(ctx, events, (complete) => ctx.settle(complete ? outcome() : outcome({ status: 499, errorCode: 'client_aborted', clientAborted: true }))) };
  }

  /** The replayed events; `end` runs exactly once: at the end, or when the consumer stops (even before the first). */
  function replay(_ctx: Ctx, events: string[], end: (complete: boolean) => void): AsyncIterableIterator<string> {
    let i = 0;
    let over = false;
    const finish = (complete: boolean) => {
      if (over) return;
      over = true;
      end(complete);
    };
    const it: AsyncIterableIterator<string> = {
      async next() {
        if (over) return { done: true, value: undefined };
        if (i < events.length) return { done: false, value: events[i++]! };
        finish(true);
        return { done: true, value: undefined };
      },
      async return() {
        finish(i >= events.length);
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  async function lookup(key: string): Promise<CacheEntry | undefined> {
    try {
      return await o.store.get(key, now());
    } catch (e) {
      warn(e, 'lookup');
      return undefined;
    }
  }

  async function store(ctx: Ctx, key: string, wire: 'openai' | 'anthropic', body: string, headers: Record<string, string>, ttlMs: number, sem?: { scope: string; text: string }): Promise<void> {
    const out = ctx.outcome;
    if (!out || out.status !== 200 || out.clientAborted || Buffer.byteLength(body) > maxEntry) return;
    const t = now();
    const entry: CacheEntry = { wire, body, usage: out.usage, provider: out.provider ?? '', deployment: out.deployment ?? '', model: out.model ?? '', upstreamModel: out.upstreamModel, headers: keptHeaders(headers), createdAt: t, expiresAt: t + ttlMs };
    try {
      await o.store.set(key, entry);
      // Not awaited: embedding the question must not delay the answer it came with (the layer tracks it).
      if (sem && o.semantic) o.semantic.insert(sem.scope, sem.text, key).catch((e) => warn(e, 'semantic insert'));
    } catch (e) {
      warn(e, 'store');
    }
  }

  return async function cache(ctx, next) {
    const dep = ctx.route?.deployments[0];
    if (!dep) return next();
    const pol = cachePolicy(o.config, ctx, dep.name);
    if (!pol.enabled) return next();
    const bypass = async (): Promise<GatewayResponse> => {
      const res = await next();
      res.headers['x-costgate-cache'] = 'bypass';
      return res;
    };
    const dir = clientDirectives(ctx.req.headers);
    if (dir.noStore) return bypass();
    const body = ctx.body as Record<string, any>;
    if (!pol.nonDeterministic && ctx.endpoint !== 'embeddings' && nonDeterministic(ctx.surface, body)) return bypass();
    const family = dep.provider.type === 'openai-compatible' ? `openai-compatible:${dep.provider.name}` : dep.provider.type;
    const parts = { surface: ctx.surface, family, model: dep.model, body };
    const key = cacheKey(parts);
    // Calls with tools are agentic: a paraphrase may need another tool call, so they are excluded unless the policy allows.
    const tools = (Array.isArray(body.tools) && body.tools.length > 0) || (Array.isArray(body.functions) && body.functions.length > 0);
    const sem = pol.semantic !== 'off' && o.semantic && ctx.endpoint !== 'embeddings' && (!tools || pol.semanticWithTools) ? semanticParts(parts) : undefined;
    let shadow: { entry: CacheEntry; score: number } | undefined;
    if (!dir.noCache) {
      const hit = await lookup(key);
      if (hit) return serve(ctx, hit, 'hit');
      if (sem) {
        try {
          const m = await o.semantic!.lookup(sem.scope, sem.text, { threshold: pol.threshold });
          const e = m ? await lookup(m.key) : undefined;
          if (m && e) {
            if (pol.semantic === 'on') return serve(ctx, e, 'semantic', m.score);
            shadow = { entry: e, score: m.score };
          }
        } catch (e) {
          warn(e, 'semantic lookup');
        }
      }
    }

    // Shadow mode: hold the outcome until the real answer is known, then record the would-be hit with it.
    let release: ((answer: string | undefined) => void) | undefined;
    if (shadow) {
      const orig = ctx.settle.bind(ctx);
      let held: Outcome | undefined;
      let holding = true;
      ctx.settle = (out) => {
        if (holding) held ??= out;
        else orig(out);
      };
      release = (answer) => {
        if (!holding) return;
        holding = false;
        if (held) orig({ ...held, cacheStatus: 'shadow', cacheScore: shadow!.score, ...(answer !== undefined ? { shadowMatch: normText(answer) === normText(answerText(shadow!.entry.body)) } : {}) });
      };
    }

    const wire = ctx.surface;
    // A shadow would-be hit's answer is stored for exact repeats but not indexed semantically: with the policy `on`
    // it would have been served, never stored or indexed, so the shadow index stays the one `on` would have, and
    // later calls are compared with the same neighbours (the what-if simulator replays the shadow records as hits).
    const semInsert = shadow ? undefined : sem;
    const headerOf = (res: GatewayResponse, h: CacheHeader) => {
      res.headers['x-costgate-cache'] = h;
      return res;
    };
    /** Go upstream as the leader (or alone); hand the result to followers when a flight is given. */
    const lead = async (flight?: ReturnType<Flights['lead']>): Promise<GatewayResponse> => {
      if (flight) ctx.req.signal = flight.signal;
      let res: GatewayResponse;
      try {
        res = await next();
      } catch (e) {
        release?.(undefined);
        const err = toGatewayError(e);
        flight?.finish({ kind: 'failed', error: err, retryable: !sameForAll(err.status) });
        flight?.done();
        throw e;
      }
      if (res.stream) {
        const asm = ctx.endpoint === 'embeddings' ? undefined : new Assembler(wire);
        const source = res.stream[Symbol.asyncIterator]();
        const tee = new Tee(observe(source, asm, async () => {
          const doc = asm?.document(ctx.outcome?.usage);
          release?.(doc ? answerText(doc) : undefined);
          if (doc && asm!.complete) await store(ctx, key, wire, doc, res.headers, pol.ttlMs, semInsert);
          flight?.done();
        }));
        flight?.finish({ kind: 'stream', headers: { ...res.headers }, tee, outcome: () => ctx.outcome });
        return headerOf({ ...res, stream: tee.reader() }, 'miss');
      }
      const text = res.body === undefined ? undefined : typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString('utf8');
      release?.(res.status === 200 && text !== undefined ? answerText(text) : undefined);
      if (res.status === 200 && text !== undefined) await store(ctx, key, wire, text, res.headers, pol.ttlMs, semInsert);
      if (flight) {
        if (res.status === 200 && res.body !== undefined) flight.finish({ kind: 'json', status: res.status, headers: { ...res.headers }, body: res.body, outcome: ctx.outcome });
        else flight.finish({ kind: 'failed', error: undefined, retryable: true });
        flight.done();
      }
      return headerOf(res, 'miss');
    };

    if (!pol.dedup || shadow) return lead();
    const dk = `${key}|${ctx.stream ? 's' : 'j'}${ctx.clientWantsUsage ? 'u' : ''}`;
    for (let gen = 0; ; gen++) {
      const f = flights.get(dk);
      if (!f) return lead(flights.lead(dk, ctx.req.signal));
      f.join(ctx.req.signal);
      const r = await waitFor(f.result, o.config.dedupWaitMs, ctx.req.signal);
      if (r === 'timeout' || r === 'aborted') {
        if (r === 'aborted') {
          const f = clientClosed();
          ctx.settle({ status: 499, errorCode: 'client_aborted', errorMessage: f.error.message, latencyMs: elapsed(ctx), streamed: false, clientAborted: true, cacheStatus: 'dedup' });
          throw f.error;
        }
        return lead();
      }
      if (r.kind === 'failed') {
        // An identical request fails the same way; otherwise one follower becomes the next leader.
        if ((!r.retryable || gen >= MAX_GENERATIONS - 1) && r.error) throw copyError(r.error);
        continue;
      }
      return follow(ctx, r);
    }
  };
};

/** Each follower's own copy of the leader's error: the meter adds the call's own cost headers to it. */
function copyError(e: unknown): GatewayError {
  const g = toGatewayError(e);
  return new GatewayError(g.code, g.message, { status: g.status, param: g.param ?? undefined, retryAfterSec: g.retryAfterSec, headers: g.headers, details: g.details });
}

/** Followers retry as leader at most this many times before taking the last leader's error. */
export const MAX_GENERATIONS = 3;

async function waitFor(p: Promise<FlightResult>, ms: number, signal: AbortSignal | undefined): Promise<FlightResult | 'timeout' | 'aborted'> {
  if (signal?.aborted) return 'aborted';
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms))),
      new Promise<'aborted'>((r) => {
        onAbort = () => r('aborted');
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/** A follower's response: the leader's JSON, or its stream from the beginning. No upstream attempt of its own. */
function follow(ctx: Ctx, r: Exclude<FlightResult, { kind: 'failed' }>): GatewayResponse {
  const base = (o: Outcome | undefined, extra: Partial<Outcome> = {}): Outcome => ({
    status: o?.status ?? 200, errorCode: o?.errorCode, errorMessage: o?.errorMessage, provider: o?.provider, deployment: o?.deployment, model: o?.model, upstreamModel: o?.upstreamModel, usage: o?.usage,
    cacheStatus: 'dedup', latencyMs: elapsed(ctx), ttftMs: o?.ttftMs === undefined ? undefined : elapsed(ctx), streamed: ctx.stream, ...extra,
  });
  if (r.kind === 'json') {
    ctx.settle(base(r.outcome));
    const res = responseOf(r);
    res.headers['x-costgate-cache'] = 'dedup';
    return res;
  }
  const headers = { ...r.headers, 'x-costgate-cache': 'dedup' };
  let first: number | undefined;
  const reader = r.tee.reader((complete) => {
    const lo = r.outcome();
    ctx.settle(complete ? base(lo, { ttftMs: first }) : base(lo, { status: 499, errorCode: 'client_aborted', errorMessage: 'client closed the stream', clientAborted: true, ttftMs: first }));
  });
  const stream: AsyncIterableIterator<string | Uint8Array> = {
    async next() {
      const v = await reader.next();
      if (!v.done) first ??= elapsed(ctx);
      return v;
    },
    return: () => reader.return!(),
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return { status: 200, headers, stream };
}

/** The leader's stream, seen on the way by the assembler; `end` runs once the source is over (the leader has settled). */
async function* observe(src: AsyncIterator<string | Uint8Array>, asm: Assembler | undefined, end: () => Promise<void>): AsyncGenerator<string | Uint8Array> {
  let done = false;
  try {
    for (;;) {
      const r = await src.next();
      if (r.done) break;
      asm?.push(r.value);
      yield r.value;
    }
    done = true;
  } finally {
    // Stopped early (every reader left): stop the relay too, which cancels the upstream call and settles.
    if (!done) await src.return?.();
    await end();
  }
}
