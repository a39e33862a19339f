// The semantic layer's contract with the cache stage (identical to the one in src/cache/types.ts).
export type { SemanticLayer } from '../types.js';

/** Turns texts into unit-length vectors. */
export interface Embedder {
  readonly name: string;
  embed(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
  /** False while a model is still loading: lookups are misses meanwhile (absent: always ready). */
  ready?(): boolean;
  /** Resolves once the model is loaded (starts loading it). */
  whenReady?(): Promise<void>;
}
