/** Google Gemini through its OpenAI-compatible endpoint. */
import type { ProviderAdapter, Json, Operation } from '../adapter.js';
import { openaiPath, bearer } from '../openai/index.js';

export const gemini: ProviderAdapter = {
  type: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai',
  defaultKeyEnv: 'GEMINI_API_KEY',
  wire: () => 'openai',
  path: openaiPath,
  authHeaders: (key) => bearer(key),
  prepare(body: Json, op: Operation): Json {
    // Gemini's compatibility layer rejects a few OpenAI-only fields instead of ignoring them.
    if (op !== 'chat') return body;
    const { store, metadata, prompt_cache_key, service_tier, ...rest } = body;
    void store; void metadata; void prompt_cache_key; void service_tier;
    return rest;
  },
};
