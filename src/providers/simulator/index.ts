/**
 * The simulator as a provider: it speaks OpenAI's wire format for OpenAI-style models and Anthropic's for `claude-*`,
 * exactly like the real providers, so translation, usage extraction and streaming are exercised end to end.
 */
import type { ProviderAdapter, Wire, Operation } from '../adapter.js';
import { bearer } from '../openai/index.js';
import { anthropicHeaders } from '../anthropic/index.js';
import { anthropicPromptCache } from '../anthropic/prompt-cache.js';
import { openaiPromptCache } from '../openai/prompt-cache.js';
import { anthropicStructured } from '../anthropic/structured.js';

export const simulatorWire = (model: string): Wire => (model.startsWith('claude') ? 'anthropic' : 'openai');

export const simulator: ProviderAdapter = {
  type: 'simulator',
  wire: simulatorWire,
  path(op: Operation, wire: Wire) {
    if (wire === 'anthropic') return op === 'chat' ? '/messages' : undefined;
    return op === 'chat' ? '/chat/completions' : '/embeddings';
  },
  authHeaders: (key, wire) => (wire === 'anthropic' ? anthropicHeaders(key) : bearer(key)),
  // The simulator implements both providers' caches, so it takes both providers' hints.
  promptCache: {
    usesBreakpoints: (wire) => wire === 'anthropic',
    boundaries: (body, wire) => (wire === 'anthropic' ? anthropicPromptCache.boundaries(body) : undefined),
    minTokens: anthropicPromptCache.minTokens,
    apply: (body, plan, wire) => (wire === 'anthropic' ? anthropicPromptCache.apply(body, plan) : openaiPromptCache.apply(body, plan)),
  },
  // On its Anthropic wire, Anthropic's native schema mode (a forced tool), which the simulator answers with a tool_use.
  structured: anthropicStructured,
};
