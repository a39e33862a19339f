/**
 * The routing engine: one place that decides which model serves a call, and why. Order:
 *   1. priority rules over signals (highest priority first; the first match wins),
 *   2. the (task, complexity) table,
 *   3. the requested model's own router: `auto[:cheap|balanced|quality]` → tier classifier, `router` → learned
 *      strong-vs-weak router, `cascade` → weak first, verified, escalated once,
 *   4. the catch-all `default`.
 * A target may hand the call on (`@tier`, `@learned`, `@cascade`, `@strong`, `@weak`). Budget pressure is applied
 * last: a strong choice becomes weak when a hard budget of the call is nearly spent. Pure and synchronous: the route
 * stage gathers the inputs (headers, budget state) and resolves the chosen model to deployments.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RoutingConfig, RoutingRule } from '../config/routing-schema.js';
import { classify, shiftTier, type Tier, type TierResult } from './tier.js';
import type { RouteInput } from './signals.js';
import { cosine, hashedEmbedding } from './hash.js';
import { parseModel, score as learnedScore, thresholdForShare, type RouterModel } from './learned/model.js';

export const DEFAULT_MODEL_PATH = fileURLToPath(new URL('../../../data/routing-models/mmlu-weak-fails.json', import.meta.url));

export type DecisionKind = 'rule' | 'task' | 'tier' | 'learned' | 'cascade' | 'default';

export interface Decision {
  kind: DecisionKind;
  /** The model name to resolve (for a cascade: the weak one, tried first). */
  target: string;
  reason: string;
  /** Set for a cascade: escalate to this model when the weak answer fails verification. */
  escalateTo?: string;
}

export interface RouteHints {
  /** x-costgate-task, else the feature. */
  task?: string;
  /** x-costgate-quality 0..1: the learned router's dial (share of strong calls). */
  quality?: number;
  /** x-costgate-strong-share 0..1: the dial as a target share (wins over quality). */
  strongShare?: number;
  /** Highest fraction used among the call's hard budgets (0..1+), when the engine asked for it. */
  budgetUsed?: number;
  /** A tier decided elsewhere (the optional LLM classifier); the local classifier still guesses the task. */
  tier?: { tier: Tier; source: string };
}

const SPECIAL = /^(?:auto(?::(?:cheap|balanced|quality))?|router|cascade)$/;

interface CompiledRule {
  rule: RoutingRule;
  keywords?: RegExp;
  regex?: RegExp;
  examples?: Float32Array[];
}

export class RoutingEngine {
  private readonly rules: CompiledRule[];
  private model?: RouterModel;

  constructor(
    readonly cfg: RoutingConfig,
    private readonly modelPath = cfg.learned.model ?? DEFAULT_MODEL_PATH,
  ) {
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // Stable sort: equal priorities keep their order in the file.
    this.rules = cfg.rules
      .map((rule, i) => ({ rule, i }))
      .sort((a, b) => b.rule.priority - a.rule.priority || a.i - b.i)
      .map(({ rule }) => ({
        rule,
        keywords: rule.when.keywords ? new RegExp(`(?:^|\\W)(?:${rule.when.keywords.map(esc).join('|')})(?:$|\\W)`, 'i') : undefined,
        regex: rule.when.regex ? new RegExp(rule.when.regex, 'i') : undefined,
        examples: rule.when.similarTo?.examples.map((e) => hashedEmbedding(e)),
      }));
    // Loaded at start when it can be used: a bad file fails the start, and no request pays for the load.
    if (cfg.enabled && (cfg.learned.model || (cfg.strong && cfg.weak))) this.learned();
  }

  /** Whether the engine routes a call that names this model. */
  handles(requested: string): boolean {
    return this.configured && (this.cfg.all || SPECIAL.test(requested));
  }

  /** Without any routing config, `auto` and friends are ordinary model names (resolved by aliases / providers). */
  private get configured(): boolean {
    const c = this.cfg;
    return c.enabled && !!(c.strong || c.weak || c.tiers.simple || c.tiers.medium || c.tiers.complex || c.rules.length || c.tasks.length || c.default);
  }

  /** The learned router's model, loaded once (a bad file is a start-up error when configured explicitly). */
  learned(): RouterModel {
    if (!this.model) {
      const src = this.modelPath;
      try {
        this.model = parseModel(JSON.parse(readFileSync(src, 'utf8')), src);
      } catch (e) {
        throw new Error(`routing.learned.model: cannot load ${src}: ${(e as Error).message}`);
      }
    }
    return this.model;
  }

  decide(requested: string, x: RouteInput, h: RouteHints = {}): Decision | undefined {
    if (!this.handles(requested)) return undefined;
    let tierResult: TierResult | undefined;
    const tier = () => (tierResult ??= h.tier ? { ...classify(x), tier: h.tier.tier, score: Number.NaN } : classify(x));
    const mode = requested.startsWith('auto:') ? (requested.slice(5) as 'cheap' | 'balanced' | 'quality') : 'balanced';
    let d: Decision | undefined;
    for (const r of this.rules) {
      if (this.matches(r, requested, x, h, tier)) {
        d = this.expand(r.rule.model, { kind: 'rule', reason: `rule ${r.rule.name} (priority ${r.rule.priority})` }, x, h, tier, mode);
        break;
      }
    }
    if (!d) {
      const task = h.task ?? tier().task;
      const row = this.cfg.tasks.find((t) => (!t.task || t.task.includes(task)) && (!t.complexity || t.complexity.includes(tier().tier)));
      if (row) d = this.expand(row.model, { kind: 'task', reason: `task ${task}/${tier().tier}` }, x, h, tier, mode);
    }
    if (!d && SPECIAL.test(requested)) {
      const t = requested === 'router' ? '@learned' : requested === 'cascade' ? '@cascade' : '@tier';
      d = this.expand(t, { kind: 'default', reason: `model ${requested}` }, x, h, tier, mode);
    }
    if (!d && this.cfg.default) d = this.expand(this.cfg.default, { kind: 'default', reason: 'default' }, x, h, tier, mode);
    if (!d) return undefined;
    const at = this.cfg.budget.preferWeakAt;
    const weak = this.cfg.weak;
    if (at !== undefined && weak && h.budgetUsed !== undefined && h.budgetUsed >= at && d.target !== weak) {
      return { kind: d.kind, target: weak, reason: `${d.reason}; budget ${Math.round(h.budgetUsed * 100)}% used ≥ ${Math.round(at * 100)}% → weak ${weak}` };
    }
    return d;
  }

  private need(name: 'strong' | 'weak'): string {
    const m = this.cfg[name];
    if (!m) throw new Error(`routing.${name} is not set (needed by @${name === 'strong' ? 'strong' : 'weak'}, @learned, @cascade)`);
    return m;
  }

  private expand(target: string, from: { kind: DecisionKind; reason: string }, x: RouteInput, h: RouteHints, tier: () => TierResult, mode: 'cheap' | 'balanced' | 'quality', depth = 0): Decision {
    if (!target.startsWith('@') || depth > 3) return { kind: from.kind, target, reason: `${from.reason} → ${target}` };
    const on = (t: string, kind: DecisionKind, reason: string) => this.expand(t, { kind, reason: `${from.reason}; ${reason}` }, x, h, tier, mode, depth + 1);
    switch (target) {
      case '@strong':
        return on(this.need('strong'), from.kind, 'strong');
      case '@weak':
        return on(this.need('weak'), from.kind, 'weak');
      case '@tier': {
        const r = tier();
        const t: Tier = shiftTier(r.tier, mode);
        const m = this.cfg.tiers[t] ?? (t === 'complex' ? this.cfg.strong : this.cfg.weak);
        if (!m) throw new Error(`routing.tiers.${t} is not set (and no routing.${t === 'complex' ? 'strong' : 'weak'} to default to)`);
        const by = h.tier ? `by ${h.tier.source}` : `score=${r.score.toFixed(2)}`;
        return on(m, 'tier', `tier ${t}${t !== r.tier ? ` (${r.tier}, ${mode})` : ''} ${by} task=${r.task}`);
      }
      case '@learned': {
        const strong = this.need('strong');
        const weak = this.need('weak');
        const m = this.learned();
        const share = h.strongShare ?? h.quality ?? this.cfg.learned.strongShare;
        const thr = thresholdForShare(m, share);
        // The task is a feature only of models trained with it (`router train --use-task`): elsewhere its bucket
        // would collide with an n-gram's weight.
        const s = learnedScore(m, x.userText, m.meta.useTask === true ? h.task : undefined);
        const why = `learned score=${s.toFixed(3)} ${s >= thr ? '≥' : '<'} t=${thr.toFixed(3)} (strong share ${share.toFixed(2)})`;
        if (s >= thr) return on(strong, 'learned', `${why} → strong`);
        if (this.cfg.learned.cascade) return { kind: 'cascade', target: weak, escalateTo: strong, reason: `${from.reason}; ${why} → weak, cascade → ${weak} ⇒ ${strong}` };
        return on(weak, 'learned', `${why} → weak`);
      }
      case '@cascade': {
        const weak = this.need('weak');
        const strong = this.need('strong');
        return { kind: 'cascade', target: weak, escalateTo: strong, reason: `${from.reason}; cascade → ${weak} ⇒ ${strong}` };
      }
      default:
        throw new Error(`routing: unknown target ${target} (use a model name, @strong, @weak, @tier, @learned or @cascade)`);
    }
  }

  private matches(r: CompiledRule, requested: string, x: RouteInput, h: RouteHints, tier: () => TierResult): boolean {
    const w = r.rule.when;
    if (w.requested && !w.requested.includes(requested)) return false;
    if (w.tools !== undefined && w.tools !== x.tools) return false;
    if (w.images !== undefined && w.images !== x.images) return false;
    if (w.minTokens !== undefined && x.tokens < w.minTokens) return false;
    if (w.maxTokens !== undefined && x.tokens > w.maxTokens) return false;
    if (w.minDepth !== undefined && x.depth < w.minDepth) return false;
    if (w.maxDepth !== undefined && x.depth > w.maxDepth) return false;
    if (r.keywords && !r.keywords.test(x.userText)) return false;
    if (r.regex && !r.regex.test(x.userText)) return false;
    if (w.tier && !w.tier.includes(tier().tier)) return false;
    if (w.task && !w.task.includes(h.task ?? tier().task)) return false;
    if (r.examples) {
      const v = hashedEmbedding(x.lastUser || x.userText);
      let best = -1;
      for (const e of r.examples) best = Math.max(best, cosine(v, e));
      if (best < w.similarTo!.threshold) return false;
    }
    return true;
  }
}
