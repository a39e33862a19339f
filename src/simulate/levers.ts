/**
 * The what-if levers: each takes the calls (as they stand after the levers before it) and returns them changed, with
 * how many calls it touched and the quality risk it carries. Pure functions of the workload and the policy, so a
 * replay is deterministic and a live run of the same workload through the gateway can be compared with it.
 */
import { TtlPolicy, type Segment } from '../optimize/ttl-policy.js';
import { ProviderCache, segmentsOf as traceSegments } from '../optimize/prompt-cache-sim.js';
import type { Call } from './workload.js';
import type { WhatIfPolicy } from './policy.js';
import { planSummary, applySummary, transcriptOf, summaryPrompt } from '../optimize/summarize.js';
import { countPrompt } from '../tokens/count.js';
import { SummarizeSchema } from '../config/schema.js';
import type { Json } from '../providers/adapter.js';

export interface SimCall extends Call {
  /** Served by a response cache in the simulation (costs nothing). */
  served?: 'exact' | 'semantic';
  routedFrom?: string;
}

export interface LeverResult {
  calls: SimCall[];
  touched: number;
  /** Quality risk in words (and a number when one is measured). */
  risk: string;
  /** Why the lever could not run on this workload, when it could not. */
  na?: string;
}

export type LeverName = 'routing' | 'exactCache' | 'semanticCache' | 'promptCache' | 'outputCap' | 'batch' | 'summarization';
/** The order the gateway applies them in (route before cache lookups; output and batch pricing last). */
export const LEVERS: LeverName[] = ['routing', 'exactCache', 'semanticCache', 'promptCache', 'outputCap', 'batch', 'summarization'];

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A stable per-call fraction in [0,1) (FNV-1a of the call's time and position): which calls the router keeps strong. */
function unit(c: Call, i: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${c.ts}:${i}:${c.inputTokens}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

export function applyLever(name: LeverName, calls: SimCall[], p: WhatIfPolicy): LeverResult | undefined {
  switch (name) {
    case 'routing': {
      const r = p.routing;
      if (!r) return undefined;
      // The moved calls keep their recorded token counts: the weak model is assumed to read the prompt in as many tokens
      // (same tokenizer family) and to answer at the same length.
      const feats = r.features ? new Set(r.features) : undefined;
      let touched = 0;
      let candidates = 0;
      const out = calls.map((c, i) => {
        if (c.served || c.model !== r.strong || (feats && !feats.has(c.feature ?? ''))) return c;
        candidates++;
        if (unit(c, i) < r.strongShare) return c;
        touched++;
        // Cache tokens recorded on the strong model do not carry over to another model's cache.
        return { ...c, model: r.weak, provider: undefined, routedFrom: c.model, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0 };
      });
      const risk = r.quality !== undefined ? `router quality ${pct(r.quality)} of all-${r.strong} at ${pct(r.strongShare)} strong calls` : `unmeasured: set routing.quality from \`npm run eval:routing\``;
      return { calls: out, touched, risk, ...(candidates === 0 ? { na: `no calls on ${r.strong}` } : {}) };
    }
    case 'exactCache': {
      // Every repeat within the TTL counts, sampled calls included (their fingerprints repeat too): the live
      // equivalent is the response cache with `nonDeterministic: true`, or clients sending temperature 0 / a seed.
      if (!p.exactCache) return undefined;
      if (!calls.some((c) => c.fingerprint)) return { calls, touched: 0, risk: 'none (identical prompts)', na: 'the source records no prompt fingerprints (the ledger records them while alerts.rules.duplicateShare is on, or from bodies stored with ledger.storeBodies)' };
      const ttl = p.exactCache.ttlMs;
      const seen = new Map<string, number>();
      let touched = 0;
      const out = calls.map((c) => {
        if (c.served || !c.fingerprint) return c;
        const key = `${c.model}|${c.fingerprint}`;
        const at = seen.get(key);
        // Served from the response cache as recorded: already free (not a change), and its entry was there.
        if (c.cacheHit) {
          if (at === undefined) seen.set(key, c.ts);
          return c;
        }
        if (at !== undefined && c.ts - at <= ttl) {
          touched++;
          return { ...c, served: 'exact' as const };
        }
        seen.set(key, c.ts);
        return c;
      });
      return { calls: out, touched, risk: 'none: identical requests get the identical answer' };
    }
    case 'semanticCache': {
      if (!p.semanticCache) return undefined;
      const th = p.semanticCache.threshold;
      const shadowed = calls.filter((c) => c.shadow);
      if (!shadowed.length) return { calls, touched: 0, risk: 'unmeasured', na: 'no semantic-cache shadow records: run the cache in shadow mode first' };
      let touched = 0;
      let good = 0;
      let bad = 0;
      const out = calls.map((c) => {
        if (c.served || !c.shadow || c.shadow.score < th) return c;
        touched++;
        if (c.shadow.match === true) good++;
        else if (c.shadow.match === false) bad++;
        return { ...c, served: 'semantic' as const };
      });
      let risk = good + bad ? `shadow precision ${pct(good / (good + bad))} (${bad} of ${good + bad} would-be hits answered differently)` : 'shadow hits without a verdict';
      // Exact when the shadow run used this threshold. From one at a lower threshold it is approximate: at a higher one
      // a question whose content words differ needs more cosine (the layer's perUnmatched per word) than its recorded
      // score says, and the lower run's extra would-be hits were left out of its index (README "Checked against a
      // live replay"). Records below this threshold say the run was lower.
      // (a loop, not Math.min(...spread): a ledger's worth of records overflows the call stack)
      let lowest = Infinity;
      for (const c of shadowed) if (c.shadow!.score < lowest) lowest = c.shadow!.score;
      if (lowest < th) risk += `; shadow records go down to ${lowest.toFixed(3)}: from a shadow run below this threshold the count is approximate (record one at ${th})`;
      return { calls: out, touched, risk };
    }
    case 'promptCache':
      return p.promptCache ? promptCache(calls, p.promptCache.style, p.promptCache.minTokens) : undefined;
    case 'outputCap': {
      const o = p.outputCap;
      if (!o) return undefined;
      let touched = 0;
      const out = calls.map((c) => {
        const cap = (c.feature && o.features?.[c.feature]) || o.maxTokens;
        if (c.served || c.outputTokens <= cap) return c;
        touched++;
        return { ...c, outputTokens: cap };
      });
      const live = calls.filter((c) => !c.served).length;
      return { calls: out, touched, risk: `${pct(live ? touched / live : 0)} of answers would be cut at the cap (check those features' answers)` };
    }
    case 'batch': {
      const b = p.batch;
      if (!b) return undefined;
      const feats = new Set(b.features);
      let touched = 0;
      const out = calls.map((c) => {
        if (c.served || c.batch || !feats.has(c.feature ?? '')) return c;
        touched++;
        return { ...c, batch: true };
      });
      return { calls: out, touched, risk: 'none on quality; answers arrive within the batch window (up to 24 h)', ...(touched === 0 ? { na: `no calls from ${b.features.join(', ')}` } : {}) };
    }
    case 'summarization':
      return p.summarization ? summarization(calls, p.summarization) : undefined;
  }
}

/**
 * Provider prompt caching over the calls' prefixes (the ledger's stable-prefix hash and tokens, or Mooncake's block
 * chain), through the one provider-cache model `ProviderCache` of `src/optimize/prompt-cache-sim.ts` (the Mooncake
 * eval's): reads refresh the TTL; Anthropic-style writes are chosen online by the gateway's `TtlPolicy` (one per model,
 * asked with `minTokens` as the gateway asks it); OpenAI-style caching is automatic.
 */
function promptCache(calls: SimCall[], style: 'anthropic' | 'openai', minTokens: number): LeverResult {
  const withPrefix = calls.filter((c) => !c.served && (c.blocks?.length || c.prefixHash));
  if (!withPrefix.length) return { calls, touched: 0, risk: 'none (the provider serves the same tokens)', na: 'the source records no prompt prefixes' };
  const cache = new ProviderCache();
  const learners = new Map<string, TtlPolicy>();
  let touched = 0;
  const out = calls.map((c) => {
    if (c.served) return c;
    const segs = segmentsOf(c);
    if (!segs.length) return c;
    // One cache for every model: a prefix is cached per model.
    const keyed = segs.map((s) => ({ ...s, key: `${c.model}|${s.key}` }));
    const now = c.ts;
    let step;
    if (style === 'openai') step = cache.openai(now, keyed, c.inputTokens, minTokens);
    else {
      let learner = learners.get(c.model);
      if (!learner) learners.set(c.model, (learner = new TtlPolicy()));
      const plan = learner.plan(now, keyed, minTokens);
      step = cache.anthropic(now, keyed, () => plan.write);
      learner.commit(now, keyed, plan);
    }
    if (step.read || step.write5m || step.write1h) touched++;
    return { ...c, cacheReadTokens: step.read, cacheWrite5mTokens: step.write5m, cacheWrite1hTokens: step.write1h };
  });
  return { calls: out, touched, risk: 'none: the provider serves the same tokens' };
}

function segmentsOf(c: Call): Segment[] {
  if (c.blocks?.length) return traceSegments({ timestamp: c.ts, input_length: c.inputTokens, output_length: c.outputTokens, hash_ids: c.blocks });
  return c.prefixHash && c.prefixTokens ? [{ key: c.prefixHash, tokens: Math.min(c.prefixTokens, c.inputTokens) }] : [];
}

/**
 * Conversation summarization on the stored bodies (`ledger.storeBodies`), with the gateway's planner (planSummary):
 * a call over the thresholds loses the older turns' tokens and gains a summary of `summaryTokens`; each distinct
 * summary (its conversation-prefix key) costs one summary call: the gateway's summary prompt with the transcript in,
 * `summaryTokens` out, on the summary model (default: the call's own). Cache reads recorded on a changed call are dropped (its prompt changed).
 */
function summarization(calls: SimCall[], o: NonNullable<WhatIfPolicy['summarization']>): LeverResult {
  const risk = 'unmeasured: older turns are replaced by a summary (measure with `npm run eval:summarize`)';
  if (!calls.some((c) => c.body)) return { calls, touched: 0, risk, na: 'needs stored conversations: turn on ledger.storeBodies (traces hold no message text)' };
  const d = SummarizeSchema.parse({});
  const s = { maxTurns: o.maxTurns ?? d.maxTurns, maxTokens: o.maxTokens ?? d.maxTokens, keepLast: o.keepLast ?? d.keepLast, summaryTokens: o.summaryTokens ?? d.summaryTokens };
  const made = new Set<string>();
  const extra: SimCall[] = [];
  let touched = 0;
  const out = calls.map((c) => {
    if (c.served || !c.body) return c;
    const model = o.model ?? c.model;
    const plan = planSummary(c.body as Json, c.model, s, model);
    if (!plan) return c;
    const after = countPrompt(applySummary(c.body as Json, plan, ''), c.model) + s.summaryTokens;
    const removed = plan.tokensBefore - after;
    if (removed <= 0) return c;
    touched++;
    if (!made.has(plan.key)) {
      made.add(plan.key);
      extra.push({ ts: c.ts, model, feature: c.feature, inputTokens: countPrompt(summaryPrompt(transcriptOf(plan.older), s.summaryTokens), model), outputTokens: s.summaryTokens, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, batch: false, cacheHit: false });
    }
    // inputTokens is the whole prompt, cache reads included (the pricer charges reads out of it).
    const input = Math.max(0, c.inputTokens - removed);
    return { ...c, inputTokens: input, cacheReadTokens: 0 };
  });
  return { calls: [...out, ...extra], touched, risk: `${risk}; ${extra.length} summary calls included` };
}
