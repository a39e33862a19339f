/** OpenAI (api.openai.com) and the shared base for every OpenAI-compatible provider. */
import type { ProviderAdapter, Wire, Operation, Json } from '../adapter.js';
import { openaiPromptCache } from './prompt-cache.js';

/** Paths of the OpenAI wire format, relative to a base URL that ends in `/v1` (or a provider's equivalent). */
export function openaiPath(op: Operation, wire: Wire): string | undefined {
  if (wire !== 'openai') return undefined;
  return op === 'chat' ? '/chat/completions' : '/embeddings';
}

export function bearer(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

export const openai: ProviderAdapter = {
  type: 'openai',
  defaultBaseUrl: 'https://api.openai.com/v1',
  defaultKeyEnv: 'OPENAI_API_KEY',
  wire: () => 'openai',
  path: openaiPath,
  authHeaders: (key) => bearer(key),
  prepare(body: Json, op: Operation): Json {
    // Reasoning models reject `max_tokens`; `max_completion_tokens` is accepted by every current chat model.
    if (op === 'chat' && body.max_tokens !== undefined && body.max_completion_tokens === undefined && /^(o\d|gpt-5)/.test(String(body.model))) {
      const { max_tokens, ...rest } = body;
      return { ...rest, max_completion_tokens: max_tokens };
    }
    return body;
  },
  promptCache: { apply: (body, plan, wire) => (wire === 'openai' ? openaiPromptCache.apply(body, plan) : { body, applied: [] }) },
};
