/** Anthropic Messages API. */
import type { ProviderAdapter } from '../adapter.js';
import { anthropicPromptCache } from './prompt-cache.js';
import { anthropicStructured } from './structured.js';

export const ANTHROPIC_VERSION = '2023-06-01';

export function anthropicHeaders(apiKey: string | undefined): Record<string, string> {
  const h: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION };
  if (apiKey) h['x-api-key'] = apiKey;
  return h;
}

export const anthropic: ProviderAdapter = {
  type: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com/v1',
  defaultKeyEnv: 'ANTHROPIC_API_KEY',
  wire: () => 'anthropic',
  path: (op, wire) => (op === 'chat' && wire === 'anthropic' ? '/messages' : undefined),
  authHeaders: (key) => anthropicHeaders(key),
  promptCache: {
    usesBreakpoints: (wire) => wire === 'anthropic',
    boundaries: (body, wire) => (wire === 'anthropic' ? anthropicPromptCache.boundaries(body) : undefined),
    minTokens: anthropicPromptCache.minTokens,
    apply: (body, plan, wire) => (wire === 'anthropic' ? anthropicPromptCache.apply(body, plan) : { body, applied: [] }),
  },
  // json_schema requests from the OpenAI surface: a forced tool (src/providers/anthropic/structured.ts).
  structured: anthropicStructured,
};
