/**
 * OpenAI prompt caching is automatic (prompts of 1,024+ tokens); what a gateway can do is route requests that share a
 * prefix to the same cache machine, by sending the same `prompt_cache_key`. A key the client set is never replaced.
 */
import type { Json } from '../adapter.js';

export const openaiPromptCache = {
  apply(body: Json, plan: { cacheKey?: string }): { body: Json; applied: string[] } {
    if (!plan.cacheKey || body.prompt_cache_key !== undefined) return { body, applied: [] };
    return { body: { ...body, prompt_cache_key: plan.cacheKey }, applied: ['prompt_cache_key'] };
  },
};
