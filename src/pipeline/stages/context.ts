/**
 * context: token optimization before the budget check (meter → auth → limits → route → cache → context → budget → …).
 * Everything here is opt-in per feature in `optimize` and recorded in the ledger (`optimize`, `prefix_hash`,
 * `prefix_tokens`). Today:
 * - provider prompt caching: plans breakpoints (Anthropic wire) with the online TTL policy and a `prompt_cache_key`
 *   (OpenAI wire) for the primary deployment; the provider's adapter writes them into the upstream body
 *   (dispatch-request.ts), so no provider field is set outside its provider folder;
 * - cache affinity: among leading deployments serving the same model, one prefix always goes to the same one;
 * - prefix-stability lint: volatile content in the stable prefix (observes only);
 * - lossless compression (`optimize.compress`): JSON tool results minified;
 * - retrieved-context trim (`optimize.trim`), tool pruning (`optimize.tools`), conversation summarisation
 *   (`optimize.summarize`, an own upstream call through the gateway) — these replace `ctx.body` only when switched on
 *   (the client's object is copied, never mutated); both surfaces (OpenAI chat and Anthropic Messages bodies);
 * - structured output (`optimize.structured`): on the OpenAI surface the provider's native schema mode where the
 *   serving adapter has one (`ctx.structuredNative`, applied by dispatch); after the response, a json_schema answer
 *   (OpenAI surface) or a forced tool's input (Anthropic surface) that does not validate gets at most one repair call
 *   (src/optimize/structured.ts).
 */
import { createHash } from 'node:crypto';
import type { Stage } from '../compose.js';
import type { Ctx } from '../ctx.js';
import type { Deployment } from '../../config/load.js';
import type { OptimizeConfig, PromptCacheConfig, SummarizeConfig, TrimConfig, ToolPruneConfig, StructuredConfig } from '../../config/schema.js';
import { forcedToolOf, invalidReason, repairPrompt, schemaOf, unfence } from '../../optimize/structured.js';
import type { GatewayResponse } from '../ctx.js';
import { pruneTools, trimDocs } from '../../optimize/relevance.js';
import type { Json, PromptCachePlan } from '../../providers/adapter.js';
import { wireBody } from './dispatch-request.js';
import { stablePrefix } from '../../optimize/prefix.js';
import { TtlPolicy, type Ttl } from '../../optimize/ttl-policy.js';
import { PrefixLinter } from '../../optimize/lint.js';
import { compressToolResults } from '../../optimize/compress.js';
import { instructionText, withInstruction } from '../../optimize/instructions.js';
import { SummaryCache, applySummary, planSummary, transcriptOf, type SummaryPlan } from '../../optimize/summarize.js';
import { GatewayError } from '../errors.js';
import { countPrompt } from '../../tokens/count.js';

/** The gateway's own upstream call for a summary: through the pipeline, attributed to `feature`. */
export type Summarizer = (req: { model?: string; transcript: string; maxTokens: number; headers: Record<string, string | undefined> }) => Promise<string>;

/** The gateway's own chat call (repairs): the answer's content, or a throw. */
export type InternalChat = (req: { model?: string; body: Json; headers: Record<string, string | undefined>; note: string }) => Promise<string>;

export interface ContextOptions {
  optimize: OptimizeConfig;
  summarize?: Summarizer;
  internalChat?: InternalChat;
  /** Injectable clock (tests). */
  now?: () => number;
}

/** Effective settings for a feature: the global section with the feature's overrides on top. */
export function settingsFor(o: OptimizeConfig, feature: string | undefined): { promptCache: PromptCacheConfig; lint: boolean; compress: boolean; instruction?: string; summarize: SummarizeConfig; trim: TrimConfig; tools: ToolPruneConfig; structured: StructuredConfig } {
  const f = feature !== undefined && Object.hasOwn(o.features, feature) ? o.features[feature] : undefined;
  return {
    promptCache: { ...o.promptCache, ...(f?.promptCache ?? {}) },
    lint: f?.lint?.enabled ?? o.lint.enabled,
    compress: f?.compress?.enabled ?? o.compress.enabled,
    // A feature's instructions replace the global ones (they are one sentence each, not merged).
    instruction: instructionText(f?.instructions ?? o.instructions),
    summarize: { ...o.summarize, ...(f?.summarize ?? {}) },
    trim: { ...o.trim, ...(f?.trim ?? {}) },
    tools: { ...o.tools, ...(f?.tools ?? {}) },
    structured: { ...o.structured, ...(f?.structured ?? {}) },
  };
}

const score = (key: string, name: string) => createHash('sha256').update(key).update('\u0000').update(name).digest().readUInt32BE(0);

/**
 * Rendezvous (highest-random-weight) hashing over the leading run of deployments that serve the primary's model: the
 * same prefix picks the same deployment while the set is unchanged, and removing one moves only its own prefixes.
 * Fallbacks after that run keep their order.
 */
export function affinityOrder(deps: Deployment[], key: string): Deployment[] {
  const model = deps[0]?.model;
  let n = 0;
  while (n < deps.length && deps[n]!.model === model) n++;
  if (n < 2) return deps;
  const group = deps.slice(0, n).map((d) => ({ d, s: score(key, d.name) }));
  group.sort((a, b) => b.s - a.s || (a.d.name < b.d.name ? -1 : 1));
  return [...group.map((g) => g.d), ...deps.slice(n)];
}

/** Where a structured answer is in a response body (per surface), and how to put a repaired one back. */
interface Target {
  schema: Json;
  get(j: Json): string | undefined;
  set(j: Json, text: string): void;
  /** Output tokens of the rejected answer (the retry waste). */
  wasted(j: Json): number;
  /** Whether a (schema-valid) repaired text can replace the answer. */
  accepts(text: string): boolean;
}

function openaiTarget(schema: Json | undefined): Target | undefined {
  if (!schema) return undefined;
  return {
    schema,
    get: (j) => (typeof j.choices?.[0]?.message?.content === 'string' ? j.choices[0].message.content : undefined),
    set: (j, text) => void (j.choices[0].message.content = text),
    wasted: (j) => Number(j.usage?.completion_tokens ?? 0),
    accepts: () => true,
  };
}

function anthropicTarget(tool: { name: string; schema: Json } | undefined): Target | undefined {
  if (!tool) return undefined;
  const block = (j: Json): Json | undefined => (Array.isArray(j.content) ? j.content.find((b: Json) => b?.type === 'tool_use' && b.name === tool.name) : undefined);
  return {
    schema: tool.schema,
    get: (j) => {
      const b = block(j);
      return b ? JSON.stringify(b.input ?? {}) : undefined;
    },
    set: (j, text) => void (block(j)!.input = JSON.parse(text)),
    wasted: (j) => Number(j.usage?.output_tokens ?? 0),
    // A tool's input is an object.
    accepts: (text) => {
      const v = JSON.parse(text);
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    },
  };
}

export const context = (o: ContextOptions): Stage => {
  const policies = new Map<string, TtlPolicy>();
  const summaries = new SummaryCache();
  const linter = new PrefixLinter();
  const now = o.now ?? Date.now;
  const policyFor = (dep: Deployment, ttl: PromptCacheConfig['ttl']): TtlPolicy => {
    const k = `${dep.name}\u0000${ttl}`;
    let p = policies.get(k);
    if (!p) policies.set(k, (p = new TtlPolicy({ ttls: ttl === 'auto' ? ['5m', '1h'] : [ttl] })));
    return p;
  };

  return async function context(ctx, next) {
    if (ctx.op !== 'chat') return next();
    if (ctx.req.repairCall) ctx.optimize.push(ctx.req.repairCall);
    const s = settingsFor(o.optimize, ctx.meta.feature);
    const st = s.structured;
    if (st.enabled && st.native && ctx.surface === 'openai' && !ctx.req.repairCall && schemaOf(ctx.body)) ctx.structuredNative = true;
    if (!st.enabled || !o.internalChat || ctx.req.repairCall || ctx.req.summaryCall || ctx.body.stream === true) return before(ctx, s, next);
    // OpenAI surface: response_format json_schema → the message content. Anthropic surface: a tool forced by
    // tool_choice → that tool_use's input, checked against the tool's input_schema (a forced tool is not strict).
    const target = ctx.surface === 'openai' ? openaiTarget(schemaOf(ctx.body)) : anthropicTarget(forcedToolOf(ctx.body));
    const res = await before(ctx, s, next);
    return target ? repair(ctx, res, target, st) : res;
  };

  /** At most one repair call for an answer that does not validate against the request's schema. */
  async function repair(ctx: Ctx, res: GatewayResponse, t: Target, st: StructuredConfig): Promise<GatewayResponse> {
    if (res.status !== 200 || res.body === undefined) return res;
    let j: Json;
    try {
      j = JSON.parse(typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString('utf8'));
    } catch {
      return res;
    }
    const answer = t.get(j);
    if (answer === undefined) return res;
    const { schema } = t;
    const reason = invalidReason(unfence(answer), schema);
    if (!reason) {
      if (unfence(answer) === answer) return res;
      t.set(j, unfence(answer));
      return rewrite(res, j, 'unfenced');
    }
    const wasted = t.wasted(j);
    let fixed: string | undefined;
    try {
      const out = unfence(await o.internalChat!({ model: st.model, body: repairPrompt(answer, schema, reason, st.maxTokens), headers: ctx.req.headers, note: `structured:repair-call,for=${ctx.id},wasted_output=${wasted}` }));
      if (!invalidReason(out, schema) && t.accepts(out)) fixed = out;
    } catch {
      fixed = undefined;
    }
    if (fixed === undefined) return rewrite(res, undefined, 'invalid');
    t.set(j, fixed);
    return rewrite(res, j, 'repaired');
  }

  function rewrite(res: GatewayResponse, j: Json | undefined, state: string): GatewayResponse {
    const headers: Record<string, string> = { ...res.headers, 'x-costgate-structured': state };
    delete headers['content-length'];
    return j ? { ...res, headers, body: JSON.stringify(j) } : { ...res, headers };
  }

  async function before(ctx: Ctx, s: ReturnType<typeof settingsFor>, next: () => Promise<GatewayResponse>): Promise<GatewayResponse> {
    if (ctx.req.summaryCall) ctx.optimize.push('summarize:call');
    const pc = s.promptCache;
    const sum = s.summarize.enabled && o.summarize && !ctx.req.summaryCall;
    const trim = s.trim.enabled;
    const tools = s.tools.enabled;
    if (!pc.enabled && !s.lint && !s.compress && !s.instruction && !sum && !trim && !tools) return next();
    if (trim) {
      const t = trimDocs(ctx.body, ctx.model, s.trim);
      if (t) {
        ctx.body = t.body;
        ctx.bodyChanged = true;
        ctx.optimize.push(`trim:docs=${t.docs}>${t.kept},tokens=${t.tokensBefore}>${t.tokensAfter}`);
      }
    }
    if (tools) {
      const t = pruneTools(ctx.body, s.tools, ctx.surface);
      if (t) {
        ctx.body = t.body;
        ctx.bodyChanged = true;
        ctx.optimize.push(`tools:${t.before}>${t.after}`);
      }
    }
    if (sum) await summarize(ctx, s.summarize);
    if (s.instruction) {
      ctx.body = withInstruction(ctx.body, ctx.surface, s.instruction);
      ctx.bodyChanged = true;
      ctx.optimize.push('instructions');
    }
    if (s.compress) {
      // Before prompt-cache planning, so the planned boundaries are those of the body actually sent.
      const c = compressToolResults(ctx.body, ctx.model);
      if (c.changed) {
        ctx.body = c.body;
        ctx.bodyChanged = true;
        ctx.optimize.push(`compress:tool_results=${c.changed},tokens=${c.before}>${c.after}`);
      }
    }
    const prefix = stablePrefix(ctx.body, ctx.model);
    if (prefix.hash) ctx.prefix = { hash: prefix.hash, tokens: prefix.tokens };
    if (s.lint) for (const f of linter.check(ctx.meta.feature ?? '', prefix)) ctx.optimize.push(`lint:${f.kind}`);
    if (pc.enabled && ctx.route?.deployments.length) planPromptCache(ctx, pc, prefix.hash);
    return next();
  };

  async function summarize(ctx: Ctx, cfg: SummarizeConfig): Promise<void> {
    const p: SummaryPlan | undefined = planSummary(ctx.body, ctx.model, cfg, cfg.model ?? '', ctx.surface);
    if (!p) return;
    let got: { text: string; made: boolean };
    try {
      got = await summaries.get(p.key, () => o.summarize!({ model: cfg.model, transcript: transcriptOf(p.older), maxTokens: cfg.summaryTokens, headers: ctx.req.headers }));
    } catch (e) {
      // A failed summary leaves the request as the client sent it (the failed call is in the ledger as its own row).
      ctx.optimize.push(`summarize:failed=${e instanceof GatewayError ? e.code : 'error'}`);
      return;
    }
    ctx.body = applySummary(ctx.body, p, got.text);
    ctx.bodyChanged = true;
    const after = countPrompt(ctx.body, ctx.model);
    ctx.optimize.push(`summarize:${got.made ? 'made' : 'reused'},turns=${p.older.length + p.recent.length}>${p.recent.length + 1},tokens=${p.tokensBefore}>${after},key=${p.key.slice(0, 12)}`);
  }

  function planPromptCache(ctx: Ctx, pc: PromptCacheConfig, prefixHash: string): void {
    const route = ctx.route!;
    if (pc.affinity && prefixHash) {
      const ordered = affinityOrder(route.deployments, prefixHash);
      if (ordered[0] !== route.deployments[0]) {
        route.deployments = ordered;
        route.decision = ordered[0]!.name;
        route.reason += ', prefix affinity';
        ctx.optimize.push(`pc:affinity=${ordered[0]!.name}`);
      }
    }
    const dep = route.deployments[0]!;
    const hook = dep.provider.adapter.promptCache;
    if (!hook) return;
    const wire = dep.provider.adapter.wire(dep.model);
    const plan: PromptCachePlan = {};
    if (pc.breakpoints && hook.boundaries && hook.usesBreakpoints?.(wire)) {
      // The body dispatch will send (translation and native structured output included), so boundaries match.
      let body: Json = ctx.surface === wire ? ctx.body : wireBody(ctx, dep.provider.adapter, wire).body;
      if (body.model !== dep.model) body = { ...body, model: dep.model };
      const bounds = hook.boundaries(body, wire);
      if (bounds?.length) {
        const min = hook.minTokens?.(dep.model, pc.minTokens) ?? 1024;
        const segs = bounds.map((b) => ({ key: b.key, tokens: b.tokens }));
        const cum: number[] = [];
        segs.reduce((a, g, i) => (cum[i] = a + g.tokens), 0);
        const policy = policyFor(dep, pc.ttl);
        const t = now();
        const p = policy.plan(t, segs, min);
        const want: { boundary: number; ttl: Ttl }[] = [];
        if (pc.write === 'always') {
          const last = segs.length - 1;
          if (cum[last]! >= min) want.push({ boundary: last, ttl: pc.ttl === 'auto' ? p.write?.ttl ?? '5m' : pc.ttl });
          p.write = cum[last]! >= min ? { index: last, ttl: want[0]!.ttl, value: 0 } : undefined;
        } else if (p.write) want.push({ boundary: p.write.index, ttl: p.write.ttl });
        // The prefix already cached is read through a breakpoint at its end (it also refreshes its TTL).
        if (p.cached >= 0 && cum[p.cached]! >= min && p.cached !== p.write?.index) want.push({ boundary: p.cached, ttl: p.cachedTtl ?? '5m' });
        if (want.length) plan.breakpoints = want;
        policy.commit(t, segs, p);
        ctx.optimize.push(p.write ? `pc:write=${p.write.ttl}@${p.write.index + 1}/${segs.length}` : 'pc:nowrite');
        if (p.cached >= 0) ctx.optimize.push(`pc:cached@${p.cached + 1}/${segs.length}`);
      }
    }
    // Adapters whose provider has no routing key (Anthropic) ignore it.
    if (pc.cacheKey && prefixHash) plan.cacheKey = `cg-${prefixHash}`;
    if (plan.breakpoints || plan.cacheKey) ctx.promptCache = { wire, deployment: dep.name, plan };
  }
};
