/** What-if policy files for `costgate simulate` (YAML or JSON; one zod schema, errors name the field). */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const share = z.number().min(0).max(1);

export const WhatIfPolicySchema = z
  .object({
    name: z.string().min(1).max(80).optional(),
    /** Move calls from a strong model to a weak one, keeping `strongShare` of them on the strong model (the router's dial). */
    routing: z
      .object({
        strong: z.string().min(1),
        weak: z.string().min(1),
        strongShare: share,
        /** The router's measured quality at that share, as a share of all-strong quality (from `npm run eval:routing`). */
        quality: share.optional(),
        /** Only these features (default: all). */
        features: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
    /** Exact response cache: a repeat of an identical prompt within the TTL costs nothing. */
    exactCache: z.object({ ttlMs: z.number().int().positive().default(3_600_000) }).strict().optional(),
    /** Semantic cache, from the gateway's shadow-mode records: would-be hits at or above the threshold. */
    semanticCache: z.object({ threshold: share }).strict().optional(),
    /** Provider prompt caching of stable prefixes: `anthropic` breakpoints (TTL chosen online) or `openai` automatic caching. */
    promptCache: z
      .object({
        style: z.enum(['anthropic', 'openai']).default('anthropic'),
        /** Shortest cacheable prefix (tokens). */
        minTokens: z.number().int().positive().default(1024),
      })
      .strict()
      .optional(),
    /** Output caps: a call's output is at most this many tokens (the gateway's default and ceiling `max_tokens`). */
    outputCap: z.object({ maxTokens: z.number().int().positive(), features: z.record(z.string(), z.number().int().positive()).optional() }).strict().optional(),
    /** Features whose calls can wait: sent through provider Batch APIs at batch prices. */
    batch: z.object({ features: z.array(z.string().min(1)).min(1) }).strict().optional(),
    /**
     * Conversation summarization, replayed on the ledger's stored bodies (`ledger.storeBodies`) with the gateway's own
     * planner; the thresholds default to `optimize.summarize`'s, the summary model to each call's own.
     */
    summarization: z
      .object({
        maxTurns: z.number().int().positive().optional(),
        maxTokens: z.number().int().positive().optional(),
        keepLast: z.number().int().positive().optional(),
        summaryTokens: z.number().int().positive().max(4000).optional(),
        model: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type WhatIfPolicy = z.infer<typeof WhatIfPolicySchema>;

export function parsePolicy(text: string, source: string): WhatIfPolicy {
  let raw: unknown;
  try {
    raw = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${source}: not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  const r = WhatIfPolicySchema.safeParse(raw ?? {});
  if (!r.success) throw new Error(`${source}: invalid policy:\n${r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`);
  return r.data;
}

export const loadPolicy = (path: string): WhatIfPolicy => parsePolicy(readFileSync(path, 'utf8'), path);
