/**
 * The learned strong-vs-weak router (RouteLLM-style): a logistic regression over hashed prompt features giving
 * P(the strong model answers better than the weak one). The cost/quality dial is a threshold on that score,
 * calibrated as RouteLLM does: the (1 − s) quantile of the scores on a calibration set routes a share s of calls to
 * the strong model. The model file is JSON, small enough to commit.
 */
import { featurize, DENSE, type SparseVec } from './features.js';
import { seededRandom } from '../../util/seeded-random.js';

export interface RouterModel {
  kind: 'costgate-router/logreg-hashed';
  version: 1;
  buckets: number;
  bias: number;
  /** buckets + DENSE.length weights (in memory; the file holds them int8-quantised, see toFile). */
  weights: Float32Array;
  /** What the label meant (`strong-wins`: strong better than weak; `weak-fails`: the weak model failed). */
  label: string;
  /** thresholds[i] routes about shares[i] of calls to strong (scores ≥ threshold go strong). Non-increasing. */
  calibration: { shares: number[]; thresholds: number[] };
  meta: Record<string, unknown>;
}

export interface Example {
  prompt: string;
  task?: string;
  /** 1 when the strong model did better than the weak one, else 0 (ties are 0: strong money buys nothing). */
  y: number;
}

export interface TrainOptions {
  buckets?: number;
  epochs?: number;
  /** L2 strength (per example, per step). */
  l2?: number;
  lr?: number;
  /** Deterministic shuffling. */
  seed?: number;
  label?: string;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function dotSparse(w: ArrayLike<number>, bias: number, x: SparseVec): number {
  let z = bias;
  for (let i = 0; i < x.idx.length; i++) z += w[x.idx[i]!]! * x.val[i]!;
  return z;
}


/** Logistic regression by AdaGrad over sparse features; deterministic for a seed. */
export function train(examples: Example[], o: TrainOptions = {}): RouterModel {
  const buckets = o.buckets ?? 1 << 14;
  const epochs = o.epochs ?? 8;
  const l2 = o.l2 ?? 1e-4;
  const lr = o.lr ?? 0.2;
  const dim = buckets + DENSE.length;
  const w = new Float64Array(dim);
  const g2 = new Float64Array(dim).fill(1e-8);
  let bias = 0;
  let gb = 1e-8;
  const xs = examples.map((e) => featurize(e.prompt, buckets, e.task));
  const order = examples.map((_, i) => i);
  const rnd = seededRandom(o.seed ?? 7);
  for (let ep = 0; ep < epochs; ep++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const k of order) {
      const x = xs[k]!;
      const g = sigmoid(dotSparse(w, bias, x)) - examples[k]!.y;
      for (let i = 0; i < x.idx.length; i++) {
        const j = x.idx[i]!;
        const gj = g * x.val[i]! + l2 * w[j]!;
        g2[j]! += gj * gj;
        w[j]! -= (lr * gj) / Math.sqrt(g2[j]!);
      }
      gb += g * g;
      bias -= (lr * g) / Math.sqrt(gb);
    }
  }
  return {
    kind: 'costgate-router/logreg-hashed',
    version: 1,
    buckets,
    bias,
    weights: Float32Array.from(w),
    label: o.label ?? 'strong-wins',
    calibration: { shares: [], thresholds: [] },
    meta: { examples: examples.length, positives: examples.filter((e) => e.y > 0.5).length, epochs, l2, lr },
  };
}

/** P(strong beats weak) for a prompt. */
export function score(m: RouterModel, prompt: string, task?: string): number {
  return sigmoid(dotSparse(m.weights, m.bias, featurize(prompt, m.buckets, task)));
}

/** Thresholds for strong shares 0, 0.01, …, 1 from calibration-set scores (RouteLLM's quantile calibration). */
export function calibrate(m: RouterModel, scores: number[]): RouterModel {
  const sorted = [...scores].sort((a, b) => b - a);
  const shares: number[] = [];
  const thresholds: number[] = [];
  for (let p = 0; p <= 100; p++) {
    const s = p / 100;
    const k = Math.round(s * sorted.length);
    // Route the top k: threshold at the k-th score; share 0 means nothing qualifies (threshold above every score).
    const t = k === 0 ? Number.POSITIVE_INFINITY : sorted[k - 1]!;
    shares.push(s);
    thresholds.push(t);
  }
  return { ...m, calibration: { shares, thresholds: thresholds.map((t) => (Number.isFinite(t) ? t : 2)) } };
}

/** The score threshold for a target share of strong calls (0..1), interpolating the calibration table. */
export function thresholdForShare(m: RouterModel, share: number): number {
  const { shares, thresholds } = m.calibration;
  if (!shares.length) return 1 - Math.min(1, Math.max(0, share));
  const s = Math.min(1, Math.max(0, share));
  // The ends are exact whatever the calibration set held: 0 sends nothing strong, 1 everything (scores are in (0, 1)).
  if (s <= 0) return 2;
  if (s >= 1) return 0;
  const i = Math.min(shares.length - 1, Math.round(s * (shares.length - 1)));
  return thresholds[i]!;
}

/** The model file: weights int8-quantised (per-model scale) and base64, so a 65k-bucket model is ~90 kB of JSON. */
export interface RouterModelFile extends Omit<RouterModel, 'weights'> {
  weights: { scale: number; int8: string };
}

export function toFile(m: RouterModel): RouterModelFile {
  let max = 0;
  for (const w of m.weights) max = Math.max(max, Math.abs(w));
  const scale = max / 127 || 1;
  const q = new Int8Array(m.weights.length);
  for (let i = 0; i < q.length; i++) q[i] = Math.round(m.weights[i]! / scale);
  return { ...m, weights: { scale, int8: Buffer.from(q.buffer).toString('base64') } };
}

export function parseModel(json: unknown, source: string): RouterModel {
  const f = json as RouterModelFile;
  const bad = () => new Error(`${source}: not a costgate router model (kind costgate-router/logreg-hashed, buckets + ${DENSE.length} int8 weights)`);
  if (!f || f.kind !== 'costgate-router/logreg-hashed' || typeof f.buckets !== 'number' || typeof f.weights?.int8 !== 'string') throw bad();
  const b = Buffer.from(f.weights.int8, 'base64');
  if (b.length !== f.buckets + DENSE.length) throw bad();
  const q = new Int8Array(b.buffer, b.byteOffset, b.length);
  const weights = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) weights[i] = q[i]! * f.weights.scale;
  return { ...f, weights };
}
