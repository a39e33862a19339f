// Extracts the subset of LiteLLM's price file that costgate ships in data/litellm-prices/:
// first-party OpenAI, Anthropic, Gemini and Mistral chat/embedding models (no routed "provider/model" keys),
// token-price fields only. Used for batch rates (genai-prices has none) and the catalog cross-check test.
// Usage: node scripts/extract-litellm-prices.mjs [../shared/data/litellm-prices/model_prices_and_context_window.json]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';

const src = process.argv[2] ?? '../shared/data/litellm-prices/model_prices_and_context_window.json';
const all = JSON.parse(readFileSync(src, 'utf8'));
const PROVIDERS = new Set(['openai', 'anthropic', 'gemini', 'mistral', 'text-completion-openai']);
const FIELD = /^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost|output_cost_per_reasoning_token)(_above_1hr)?(_above_\d+k_tokens)?(_batches)?$/;
const out = {};
for (const [k, v] of Object.entries(all)) {
  if (k.includes('/') || !v || typeof v !== 'object' || !PROVIDERS.has(v.litellm_provider)) continue;
  if (!['chat', 'embedding', 'responses', 'completion'].includes(v.mode)) continue;
  const e = { litellm_provider: v.litellm_provider, mode: v.mode };
  for (const [f, x] of Object.entries(v)) if (FIELD.test(f) && typeof x === 'number') e[f] = x;
  if (e.input_cost_per_token !== undefined) out[k] = e;
}
mkdirSync('data/litellm-prices', { recursive: true });
writeFileSync('data/litellm-prices/prices-subset.json', JSON.stringify({ last_updated: all.last_updated, models: out }, null, 1) + '\n');
console.log(`wrote ${Object.keys(out).length} models`);
