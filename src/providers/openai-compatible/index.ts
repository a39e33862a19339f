/** Self-hosted OpenAI-compatible servers (vLLM, Ollama, llama.cpp, TGI, LM Studio, ...) by base URL. */
import type { ProviderAdapter } from '../adapter.js';
import { openaiPath, bearer } from '../openai/index.js';

export const openaiCompatible: ProviderAdapter = {
  type: 'openai-compatible',
  wire: () => 'openai',
  path: openaiPath,
  authHeaders: (key) => bearer(key),
};
