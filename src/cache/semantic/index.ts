export { createSemanticLayer, answersMatch, type SemanticLayerOptions } from './layer.js';
export { guard, features, type GuardResult } from './guards.js';
export { hashedEmbedder } from './hashed.js';
export type { Embedder, SemanticLayer } from './types.js';
