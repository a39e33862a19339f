/**
 * The simulator's model catalog: names match the price catalogs so simulated traffic is priced like real traffic.
 * `quality` is a 0..1 prior: the chance of a correct answer on a prompt the quality table does not list, unless the
 * table sets that model's default (see quality.ts).
 */
export interface SimModel {
  id: string;
  wire: 'openai' | 'anthropic';
  kind: 'chat' | 'embedding';
  tier: 'small' | 'medium' | 'large';
  owned_by: string;
  contextWindow: number;
  quality: number;
  /** Reasoning models report hidden reasoning tokens: this many per visible output token. */
  reasoningRatio?: number;
  /** Anthropic: smallest prefix that can be cached. */
  minCacheTokens?: number;
  dims?: number;
}

import { withoutFlaw } from './flaws.js';

const m = (id: string, wire: SimModel['wire'], tier: SimModel['tier'], quality: number, extra: Partial<SimModel> = {}): SimModel => ({
  id,
  wire,
  kind: 'chat',
  tier,
  owned_by: wire === 'anthropic' ? 'anthropic' : 'openai',
  contextWindow: wire === 'anthropic' ? 200_000 : 128_000,
  quality,
  ...extra,
});

export const SIM_MODELS: SimModel[] = [
  m('gpt-4o-mini', 'openai', 'small', 0.7),
  m('gpt-4o', 'openai', 'large', 0.86),
  m('gpt-4.1-nano', 'openai', 'small', 0.62, { contextWindow: 1_047_576 }),
  m('gpt-4.1-mini', 'openai', 'medium', 0.78, { contextWindow: 1_047_576 }),
  m('gpt-4.1', 'openai', 'large', 0.88, { contextWindow: 1_047_576 }),
  m('o3-mini', 'openai', 'medium', 0.85, { reasoningRatio: 3, contextWindow: 200_000 }),
  m('o4-mini', 'openai', 'medium', 0.87, { reasoningRatio: 3, contextWindow: 200_000 }),
  m('gpt-4-1106-preview', 'openai', 'large', 0.81),
  m('mixtral-8x7b-instruct-v0.1', 'openai', 'small', 0.68, { owned_by: 'mistralai', contextWindow: 32_768 }),
  m('gemini-2.0-flash', 'openai', 'small', 0.74, { owned_by: 'google', contextWindow: 1_048_576 }),
  m('claude-3-5-haiku-20241022', 'anthropic', 'small', 0.72, { minCacheTokens: 2048 }),
  m('claude-haiku-4-5', 'anthropic', 'small', 0.8, { minCacheTokens: 2048 }),
  m('claude-sonnet-4-5', 'anthropic', 'medium', 0.9, { minCacheTokens: 1024 }),
  m('claude-opus-4-1', 'anthropic', 'large', 0.93, { minCacheTokens: 1024 }),
  m('claude-sonnet-4-6', 'anthropic', 'medium', 0.91, { minCacheTokens: 1024 }),
  m('claude-opus-4-6', 'anthropic', 'large', 0.94, { minCacheTokens: 1024 }),
  { id: 'text-embedding-3-small', wire: 'openai', kind: 'embedding', tier: 'small', owned_by: 'openai', contextWindow: 8191, quality: 0.6, dims: 1536 },
  { id: 'text-embedding-3-large', wire: 'openai', kind: 'embedding', tier: 'large', owned_by: 'openai', contextWindow: 8191, quality: 0.7, dims: 3072 },
];

/** Short names, as people type them. */
export const SIM_ALIASES: Record<string, string> = {
  'claude-haiku': 'claude-haiku-4-5',
  'claude-sonnet': 'claude-sonnet-4-5',
  'claude-opus': 'claude-opus-4-1',
  'claude-3-5-haiku-latest': 'claude-3-5-haiku-20241022',
};

const byId = new Map(SIM_MODELS.map((x) => [x.id, x]));

export function findSimModel(id: string): SimModel | undefined {
  const found = byId.get(id) ?? byId.get(SIM_ALIASES[id] ?? '') ?? byId.get(id.replace(/-\d{4}-\d{2}-\d{2}$/, ''));
  // `model:flaw` (flaws.ts) serves as the base model with a spoiled answer.
  const base = found ? undefined : withoutFlaw(id);
  return found ?? (base !== id ? findSimModel(base!) : undefined);
}
