export { createSemanticLayer, answersMatch, type SemanticLayerOptions, type Layer } from './layer.js';
export { guard, features, stem, type GuardResult } from './guards.js';
export { decide, DEFAULT_DECISION, type DecisionOptions } from './decide.js';
export { hashedEmbedder } from './hashed.js';
export { useLiteEmbedder, type UseLiteOptions } from './use-lite.js';
export { openaiEmbedder, type OpenAIEmbedderOptions } from './openai-embedder.js';
export { ExactIndex, Hnsw, type VectorIndex } from './hnsw.js';
export type { Embedder, SemanticLayer } from './types.js';
