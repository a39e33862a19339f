/**
 * The `routing` config section: every routing kind (priority rules over signals, the task × complexity table, the
 * `auto` tier classifier, the learned strong-vs-weak router, cascades, budget pressure) configured in one place.
 * Targets are model names as a client would send them (aliases, deployments, provider/model), or `@strong`, `@weak`,
 * `@learned`, `@cascade`, `@tier`, which hand the call on to that router.
 */
import { z } from 'zod';

const TARGETS = ['@strong', '@weak', '@tier', '@learned', '@cascade'];
const TIER = z.enum(['simple', 'medium', 'complex']);
const target = z.string().min(1).max(256);

/** Signals a priority rule can test; every one given must hold (AND). */
export const RuleWhenSchema = z
  .object({
    /** Any of these words/phrases (case-insensitive, whole words) in the conversation's user text. */
    keywords: z.array(z.string().min(1)).min(1).optional(),
    /** A JavaScript regular expression tested on the user text (flags: i). */
    regex: z
      .string()
      .min(1)
      .refine((r) => {
        try {
          new RegExp(r, 'i');
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .optional(),
    /** Estimated prompt tokens (all messages, ≈ chars/4) at least / at most. */
    minTokens: z.number().int().nonnegative().optional(),
    maxTokens: z.number().int().nonnegative().optional(),
    /** The request defines tools (true) or not (false). */
    tools: z.boolean().optional(),
    /** Any message has an image part. */
    images: z.boolean().optional(),
    /** User turns in the conversation, at least / at most. */
    minDepth: z.number().int().nonnegative().optional(),
    maxDepth: z.number().int().nonnegative().optional(),
    /** Cosine similarity (local hashed embedding) to the nearest example ≥ threshold. */
    similarTo: z.object({ examples: z.array(z.string().min(1)).min(1), threshold: z.number().min(0).max(1).default(0.5) }).strict().optional(),
    /** The tier classifier's output. */
    tier: z.array(TIER).min(1).optional(),
    /** The task (x-costgate-task header, else the feature, else the classifier's guess). */
    task: z.array(z.string().min(1)).min(1).optional(),
    /** Only for these requested models (default: any the engine sees). */
    requested: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

export const RoutingRuleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, '1-64 of A-Z a-z 0-9 . _ : -'),
    /** Higher first; equal priorities keep their order in the file. */
    priority: z.number().int().default(0),
    when: RuleWhenSchema.default({}),
    model: target,
  })
  .strict();

export const TaskRuleSchema = z
  .object({
    /** Task names this row covers; omitted = any task. */
    task: z.array(z.string().min(1)).min(1).optional(),
    /** Complexity tiers this row covers; omitted = any. */
    complexity: z.array(TIER).min(1).optional(),
    model: target,
  })
  .strict();

export const RoutingSchema = z
  .object({
    /** Off: only aliases and fallbacks (the core resolver). */
    enabled: z.boolean().default(true),
    /**
     * Which requested models the engine routes. `auto`, `auto:cheap|balanced|quality`, `router` and `cascade` are
     * always routed when `strong`/`weak`/`tiers` are set; `all: true` also runs the rules on every other request.
     */
    all: z.boolean().default(false),
    /** The two models of the strong/weak routers and the cascade. */
    strong: target.optional(),
    weak: target.optional(),
    /** Tier → model for `auto` (defaults: simple and medium → weak, complex → strong). */
    tiers: z.object({ simple: target.optional(), medium: target.optional(), complex: target.optional() }).strict().default({}),
    /** Priority rules over signals, highest priority first; the first that matches decides. */
    rules: z.array(RoutingRuleSchema).default([]),
    /** The (task, complexity) → model table, first matching row; consulted after the priority rules. */
    tasks: z.array(TaskRuleSchema).default([]),
    /** Catch-all when nothing matched: a target; omitted = the requested model's own resolution (or `@tier` for auto). */
    default: target.optional(),
    learned: z
      .object({
        /** A model file from `costgate router train`; default: the shipped one trained on RouteLLM's MMLU outcomes. */
        model: z.string().min(1).optional(),
        /** Share of calls sent strong when the request sets no dial (x-costgate-quality / x-costgate-strong-share). */
        strongShare: z.number().min(0).max(1).default(0.3),
        /** Send the learned router's weak decisions through the cascade (verify, escalate once). */
        cascade: z.boolean().default(false),
      })
      .strict()
      .default({ strongShare: 0.3, cascade: false }),
    cascade: z
      .object({
        /** Checks on the weak answer; any failing escalates once to the strong model. */
        verifiers: z.array(z.enum(['json', 'refusal', 'empty', 'tools', 'logprob'])).min(1).default(['json', 'refusal', 'empty', 'tools']),
        /** `empty`: an answer shorter than this many characters (trimmed) fails. */
        minChars: z.number().int().nonnegative().default(1),
        /** `logprob`: mean token logprob below this fails (only when the weak answer carries logprobs: ask for `logprobs: true`). */
        minMeanLogprob: z.number().max(0).default(-1),
        /** Streaming calls: `buffer` = verify the whole weak answer, then replay the accepted one as SSE; `strong` = skip the cascade. */
        stream: z.enum(['buffer', 'strong']).default('buffer'),
      })
      .strict()
      .default({ verifiers: ['json', 'refusal', 'empty', 'tools'], minChars: 1, minMeanLogprob: -1, stream: 'buffer' }),
    classifier: z
      .object({
        /** `local` (default): the lexical tier classifier. `llm`: ask a model (one extra, metered call per routed request). */
        mode: z.enum(['local', 'llm']).default('local'),
        /** The model asked in `llm` mode (default: routing.tiers.simple, else routing.weak). */
        model: target.optional(),
        /** Give up on the LLM after this long and use the local classifier. */
        timeoutMs: z.number().int().positive().default(2000),
      })
      .strict()
      .default({ mode: 'local', timeoutMs: 2000 }),
    budget: z
      .object({
        /** When any hard budget this call counts against is at least this fraction used, route weak. */
        preferWeakAt: z.number().min(0).max(1).optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Unknown @targets and @strong/@weak without the models are config errors, not first-request surprises.
    const check = (t: string, path: (string | number)[]) => {
      if (!t.startsWith('@')) return;
      if (!TARGETS.includes(t)) ctx.addIssue({ code: 'custom', path, message: `unknown target ${t} (use a model name or ${TARGETS.join(', ')})` });
      if (['@strong', '@learned', '@cascade'].includes(t) && !c.strong) ctx.addIssue({ code: 'custom', path, message: `${t} needs routing.strong` });
      if (['@weak', '@learned', '@cascade'].includes(t) && !c.weak) ctx.addIssue({ code: 'custom', path, message: `${t} needs routing.weak` });
    };
    c.rules.forEach((r, i) => check(r.model, ['rules', i, 'model']));
    c.tasks.forEach((r, i) => check(r.model, ['tasks', i, 'model']));
    if (c.default) check(c.default, ['default']);
    if (c.classifier.mode === 'llm' && !(c.classifier.model ?? c.tiers.simple ?? c.weak)) ctx.addIssue({ code: 'custom', path: ['classifier', 'model'], message: 'llm mode needs a model (or routing.tiers.simple / routing.weak)' });
  });

export type RoutingConfig = z.infer<typeof RoutingSchema>;
export type RoutingRule = z.infer<typeof RoutingRuleSchema>;
