/**
 * `costgate demo`: the workload (workload.ts) through the gateway and the simulator, first with no policy on a frontier
 * model, then with costgate's recommended policies added one at a time, so every step of the savings waterfall is
 * measured (a fresh gateway and ledger per step, the same simulator), not assumed. Quality is scored per answer from
 * RouteLLM's outcomes: the frontier model plays GPT-4-1106's results, the small model Mixtral-8x7B's; a cached answer
 * scores as the answer it replays (found by its response id), so a semantic-cache hit for another question scores 0.
 */
import { createGateway } from '../gateway.js';
import { startHttpServer } from '../server/http.js';
import { startSimulator, type Simulator } from '../providers/simulator/server.js';
import type { Embedder } from '../cache/semantic/types.js';
import { buildWorkload, loadQuestions, STRONG_DATA, WEAK_DATA, type DemoRequest, type Question } from './workload.js';
import { servedFromCache } from '../cache/served.js';

export const FRONTIER = 'claude-opus-4-6';
export const SMALL = 'claude-haiku-4-5';

export interface DemoOptions {
  support?: number;
  nightly?: number;
  runaway?: number;
  /** Strong-call share of the learned router (the dial). */
  strongShare?: number;
  onProgress?: (phase: string, done: number, total: number) => void;
  /** Keep the last step's gateway running (for the dashboard); the caller closes it. */
  keep?: boolean;
  /** Extra config merged into every step (tests). */
  config?: Record<string, unknown>;
}

export interface StepResult {
  name: string;
  costNanos: number;
  /** Mean quality of the scored answers (0..1). */
  quality: number;
  scored: number;
  strongCalls: number;
  weakCalls: number;
  cacheHits: { exact: number; semantic: number; dedup: number };
  rejected: number;
  deferred: number;
  cacheReadTokens: number;
  outputTokens: number;
  seconds: number;
}

export interface DemoResult {
  steps: StepResult[];
  requests: number;
  url?: string;
  close?: () => Promise<void>;
}

type Cfg = Record<string, unknown>;

function merge(a: Cfg, b: Cfg): Cfg {
  const out: Cfg = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? merge(cur as Cfg, v as Cfg) : v;
  }
  return out;
}

/** The recommended policies, in the order the waterfall adds them. */
export function steps(strongShare: number): { name: string; config: Cfg }[] {
  return [
    { name: 'baseline (frontier model, no policy)', config: {} },
    { name: '+ routing (learned router)', config: { routing: { all: true, default: '@learned', strong: FRONTIER, weak: SMALL, learned: { strongShare } } } },
    { name: '+ prompt caching', config: { optimize: { promptCache: { enabled: true } } } },
    { name: '+ token caps (input cap, default max_tokens)', config: { limits: { maxInputTokens: 32_000, defaultMaxTokens: 300 } } },
    { name: '+ batching (nightly job)', config: { batch: { features: { nightly: '6h' } } } },
    { name: '+ response cache (exact + dedup)', config: { cache: { enabled: true } } },
    // USE-Lite in a worker (the default embedder); the step waits for it to load before sending.
    { name: '+ semantic cache (guarded)', config: { cache: { semantic: 'on' } } },
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A response made upstream (not replayed): which request made it. */
interface Answer {
  requestId: string;
  questionId?: string;
}

async function post(url: string, r: DemoRequest): Promise<{ status: number; json: any; cache: string | null }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-costgate-feature': r.feature, 'x-costgate-user': r.user, 'x-costgate-request-id': r.id },
    body: JSON.stringify(r.body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, cache: res.headers.get('x-costgate-cache') };
}

export function qualityOf(q: Question | undefined, model: string): number | undefined {
  if (!q) return undefined;
  return q.quality[model === FRONTIER ? STRONG_DATA : model === SMALL ? WEAK_DATA : ''];
}

async function runStep(sim: Simulator, name: string, config: Cfg, work: DemoRequest[], byId: Map<string, Question>, o: DemoOptions, keep: boolean): Promise<StepResult & { url?: string; close?: () => Promise<void> }> {
  const t0 = Date.now();
  const full = merge(
    merge(
      {
        providers: { sim: { type: 'simulator', baseUrl: sim.baseUrl } },
        ledger: { store: 'memory' },
        limits: { maxInputTokens: 0 },
        batch: { maxAgeMs: 200, tickMs: 25, pollIntervalMs: 40, fallbackMarginMs: 0 },
      },
      config,
    ),
    o.config ?? {},
  );
  const gw = await createGateway({ env: {}, config: full as never });
  const http = await startHttpServer(gw, { host: '127.0.0.1', port: 0 });
  // Lookups before the local embedding model has loaded are misses; a demo step measures the loaded cache.
  const embedder = (gw.semantic as { embedder?: Embedder } | undefined)?.embedder;
  if (embedder?.whenReady) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the semantic cache embedder did not load in 60 s')), 60_000)));
    try {
      await Promise.race([embedder.whenReady(), late]);
    } finally {
      clearTimeout(timer);
    }
  }
  const close = async () => {
    await http.close(1000);
    await gw.close();
  };
  try {
    const answers = new Map<string, Answer>();
    /** Scored calls: the request, its question, and the response id it was answered with. */
    const scored: { requestId: string; questionId: string; responseId: string; hit: boolean }[] = [];
    const res: StepResult = { name, costNanos: 0, quality: 0, scored: 0, strongCalls: 0, weakCalls: 0, cacheHits: { exact: 0, semantic: 0, dedup: 0 }, rejected: 0, deferred: 0, cacheReadTokens: 0, outputTokens: 0, seconds: 0 };
    const deferred: string[] = [];
    for (const [i, r] of work.entries()) {
      const a = await post(http.url, r);
      if (a.status === 202) deferred.push(a.json.id);
      else if (a.status !== 200) res.rejected++;
      else {
        const id = String(a.json?.id ?? '');
        const hit = a.cache === 'hit' || a.cache === 'semantic' || a.cache === 'dedup';
        if (hit) res.cacheHits[a.cache === 'hit' ? 'exact' : (a.cache as 'semantic' | 'dedup')]++;
        else answers.set(id, { requestId: r.id, questionId: r.questionId });
        if (r.questionId) scored.push({ requestId: r.id, questionId: r.questionId, responseId: id, hit });
      }
      if (i % 25 === 0) o.onProgress?.(name, i, work.length);
    }
    for (const id of deferred) {
      for (let n = 0; ; n++) {
        const j = (await (await fetch(`${http.url}/v1/costgate/deferred/${id}`)).json()) as { status: string };
        if (j.status === 'completed' || j.status === 'failed') break;
        if (n > 1500) throw new Error(`deferred job ${id} still ${j.status} after 30 s`);
        await sleep(20);
      }
    }
    res.deferred = deferred.length;
    o.onProgress?.(name, work.length, work.length);
    await gw.ledger.writer.flushNow();
    // The model that served each request, from the ledger (the response's `model` echoes what the client asked for).
    const servedBy = new Map<string, string>();
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = await gw.requests({ limit: 1000, cursor });
      for (const row of page.rows) {
        res.costNanos += row.costNanos;
        res.cacheReadTokens += row.cacheReadTokens;
        res.outputTokens += row.outputTokens;
        if (row.model) servedBy.set(row.requestId, row.model);
        if (servedFromCache(row.cacheStatus)) continue;
        if (row.model === FRONTIER) res.strongCalls++;
        else if (row.model === SMALL) res.weakCalls++;
      }
      cursor = page.nextCursor;
    }
    let qualitySum = 0;
    for (const x of scored) {
      // A replayed answer scores as the answer it replays; one made for another question is wrong.
      const src = x.hit ? answers.get(x.responseId) : { requestId: x.requestId, questionId: x.questionId };
      const model = src ? servedBy.get(src.requestId) : undefined;
      qualitySum += src && model && src.questionId === x.questionId ? qualityOf(byId.get(x.questionId), model) ?? 0 : 0;
    }
    res.scored = scored.length;
    res.quality = res.scored ? qualitySum / res.scored : 0;
    res.seconds = (Date.now() - t0) / 1000;
    if (keep) return { ...res, url: http.url, close };
    await close();
    return res;
  } catch (e) {
    await close();
    throw e;
  }
}

export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const questions = loadQuestions();
  const byId = new Map(questions.map((q) => [q.id, q]));
  const work = buildWorkload({ model: FRONTIER, support: o.support ?? 600, nightly: o.nightly ?? 120, runaway: o.runaway ?? 3 }, questions);
  const sim = await startSimulator({ defaultOutputTokens: 350, batchCompletionMs: 100 });
  const plan = steps(o.strongShare ?? 0.5);
  const out: StepResult[] = [];
  let last: { url?: string; close?: () => Promise<void> } = {};
  let acc: Cfg = {};
  try {
    for (const [i, s] of plan.entries()) {
      acc = merge(acc, s.config);
      const keep = o.keep === true && i === plan.length - 1;
      const r = await runStep(sim, s.name, acc, work, byId, o, keep);
      out.push(r);
      if (keep) last = { url: r.url, close: r.close };
    }
  } finally {
    if (!last.close) await sim.close();
  }
  const close = last.close;
  return { steps: out, requests: work.length, ...(last.url ? { url: last.url } : {}), ...(close ? { close: async () => { await close(); await sim.close(); } } : {}) };
}

const usd = (n: number) => `$${(n / 1e9).toFixed(4)}`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The savings waterfall. */
export function waterfall(r: DemoResult): string {
  const base = r.steps[0]!;
  const rows = [['step', 'cost', 'step saves', 'total saved', 'quality', 'strong/weak calls', 'cache hits', 'notes']];
  let prev = base.costNanos;
  for (const s of r.steps) {
    const notes = [s.rejected ? `${s.rejected} rejected (413)` : '', s.deferred ? `${s.deferred} batched` : '', s.cacheReadTokens ? `${s.cacheReadTokens.toLocaleString('en-US')} tokens read from the prompt cache` : ''].filter(Boolean).join('; ');
    rows.push([s.name, usd(s.costNanos), s === base ? '' : pct((prev - s.costNanos) / base.costNanos), s === base ? '' : pct((base.costNanos - s.costNanos) / base.costNanos), pct(base.quality ? s.quality / base.quality : 0), `${s.strongCalls}/${s.weakCalls}`, String(s.cacheHits.exact + s.cacheHits.semantic + s.cacheHits.dedup), notes]);
    prev = s.costNanos;
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  const line = (x: string[]) => x.map((c, i) => (i === 0 || i === x.length - 1 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  const last = r.steps[r.steps.length - 1]!;
  const saved = (base.costNanos - last.costNanos) / base.costNanos;
  const kept = last.quality / base.quality;
  return [
    line(rows[0]!),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.slice(1).map(line),
    '',
    `total: ${usd(base.costNanos)} → ${usd(last.costNanos)}, ${pct(saved)} lower cost (target ≥ 62 %: ${saved >= 0.62 ? 'met' : 'NOT met'}), quality ${pct(kept)} of baseline (target ≥ 95 %: ${kept >= 0.95 ? 'met' : 'NOT met'})`,
    `quality: ${base.scored} scored answers per step from RouteLLM's outcomes (${FRONTIER} plays GPT-4-1106, ${SMALL} Mixtral-8x7B; MMLU right/wrong, MT-Bench judge score / 10).`,
  ].join('\n');
}
