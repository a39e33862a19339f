/**
 * An OpenAI-compatible `/v1/embeddings` deployment as the semantic layer's embedder (OpenAI, Azure-style proxies,
 * a local server, or the built-in simulator). Concurrent lookups are micro-batched into one call (`input: [...]`)
 * and vectors are kept in an LRU, so the same question asked again costs no embedding call.
 */
import { request } from 'undici';
import { Lru } from './lru.js';
import { normalize } from './hashed.js';
import type { Embedder } from './types.js';

export interface OpenAIEmbedderOptions {
  /** e.g. https://api.openai.com/v1 (the `/embeddings` path is appended). */
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Requested dimensions (models that support it). */
  dimensions?: number;
  timeoutMs?: number;
  maxBatch?: number;
  batchWaitMs?: number;
  cacheSize?: number;
}

interface Pending { text: string; resolve: (v: Float32Array) => void; reject: (e: Error) => void }

export function openaiEmbedder(o: OpenAIEmbedderOptions): Embedder {
  const url = o.baseUrl.replace(/\/+$/, '') + '/embeddings';
  const lru = new Lru<string, Float32Array>(o.cacheSize ?? 10_000);
  const maxBatch = o.maxBatch ?? 64;
  const wait = o.batchWaitMs ?? 3;
  let queue: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  async function call(batch: Pending[]): Promise<void> {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ model: o.model, input: batch.map((p) => p.text), ...(o.dimensions ? { dimensions: o.dimensions } : {}) }),
        headersTimeout: o.timeoutMs ?? 10_000,
        bodyTimeout: o.timeoutMs ?? 10_000,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`embeddings ${res.statusCode}: ${text.slice(0, 200)}`);
      const j = JSON.parse(text) as { data?: Array<{ index: number; embedding: number[] }> };
      const data = j.data ?? [];
      if (data.length !== batch.length) throw new Error(`embeddings: ${data.length} vectors for ${batch.length} inputs`);
      for (const d of data) {
        const p = batch[d.index];
        if (!p || !Array.isArray(d.embedding)) throw new Error('embeddings: malformed data');
        const v = normalize(Float32Array.from(d.embedding));
        lru.set(p.text, v);
        p.resolve(v);
      }
    } catch (e) {
      for (const p of batch) p.reject(e as Error);
    }
  }

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    while (queue.length) void call(queue.splice(0, maxBatch));
  }

  return {
    name: `openai-compatible ${o.model} (${new URL(url).host})`,
    async embed(texts) {
      if (closed) throw new Error('embedder closed');
      return Promise.all(
        texts.map((text) => {
          const hit = lru.get(text);
          if (hit) return hit;
          return new Promise<Float32Array>((resolve, reject) => {
            queue.push({ text, resolve, reject });
            if (queue.length >= maxBatch) flush();
            else timer ??= setTimeout(flush, wait);
          });
        }),
      );
    },
    async close() {
      closed = true;
      flush();
      lru.clear();
    },
  };
}
