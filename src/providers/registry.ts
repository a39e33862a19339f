/** Provider type → adapter. */
import type { ProviderAdapter, ProviderType } from './adapter.js';
import { openai } from './openai/index.js';
import { anthropic } from './anthropic/index.js';
import { gemini } from './gemini/index.js';
import { openaiCompatible } from './openai-compatible/index.js';
import { simulator } from './simulator/index.js';

export const ADAPTERS: Record<ProviderType, ProviderAdapter> = {
  openai,
  anthropic,
  gemini,
  'openai-compatible': openaiCompatible,
  simulator,
};
