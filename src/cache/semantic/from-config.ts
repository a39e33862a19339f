/** The semantic layer a config asks for (`cache.semanticLayer`), installed by createGateway / `costgate start`. */
import type { ResolvedCache } from '../../config/load.js';
import { createSemanticLayer, type Layer } from './layer.js';
import { hashedEmbedder } from './hashed.js';
import { openaiEmbedder } from './openai-embedder.js';
import { useLiteEmbedder } from './use-lite.js';
import type { Embedder } from './types.js';

/** Whether any policy (section default, a route, a feature) turns the semantic layer on or to shadow. */
export function semanticWanted(c: ResolvedCache): boolean {
  const on = (m: string | undefined) => m === 'on' || m === 'shadow';
  return on(c.semantic) || [...Object.values(c.routes), ...Object.values(c.features)].some((p) => on(p.semantic));
}

export function embedderFromConfig(s: ResolvedCache['semanticLayer']): Embedder {
  const e = s.embedder;
  if (e.kind === 'use-lite') return useLiteEmbedder({ maxBatch: e.maxBatch, batchWaitMs: e.batchWaitMs, cacheSize: e.cacheSize, warm: e.warm });
  if (e.kind === 'openai') return openaiEmbedder({ baseUrl: e.baseUrl, apiKey: s.apiKeyValue, model: e.model, dimensions: e.dimensions, timeoutMs: e.timeoutMs, cacheSize: e.cacheSize });
  return hashedEmbedder(e.dims);
}

export function semanticLayerFromConfig(c: ResolvedCache, onError?: (e: unknown) => void): Layer {
  const s = c.semanticLayer;
  return createSemanticLayer({
    embedder: embedderFromConfig(s),
    decision: { threshold: s.threshold, maxUnmatched: s.maxUnmatched, perUnmatched: s.perUnmatched, maxRare: s.maxRare, allowSwaps: s.allowSwaps },
    maxPerScope: s.maxPerScope,
    annAbove: s.annAbove,
    hnsw: s.hnsw,
    maxChars: s.maxChars,
    onError,
  });
}
