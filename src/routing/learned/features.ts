/**
 * Features of a prompt for the learned router: hashed word unigrams and bigrams (weighted 1/sqrt(n) so long prompts
 * do not dominate), an optional task token (the `x-costgate-task` header or feature, like MMLU's subject), and a few
 * dense shape signals. Sparse: a list of bucket indices and values, cheap to score.
 */
import { fnv1a, words } from '../hash.js';

export interface SparseVec {
  idx: number[];
  val: number[];
}

/** Dense shape signals, appended after the hashed buckets. */
export const DENSE = ['len', 'digits', 'math', 'code', 'lines', 'question'] as const;

export function featurize(text: string, buckets: number, task?: string): SparseVec {
  const ws = words(text);
  const counts = new Map<number, number>();
  const add = (key: string, w: number) => {
    const b = fnv1a(key) % buckets;
    counts.set(b, (counts.get(b) ?? 0) + w);
  };
  for (let i = 0; i < ws.length; i++) {
    add(ws[i]!, 1);
    if (i > 0) add(ws[i - 1] + ' ' + ws[i], 1);
  }
  const norm = 1 / Math.sqrt(Math.max(1, ws.length));
  const idx: number[] = [];
  const val: number[] = [];
  for (const [b, c] of counts) {
    idx.push(b);
    val.push(c * norm);
  }
  if (task) {
    idx.push(fnv1a('@task:' + task.toLowerCase()) % buckets);
    val.push(1);
  }
  const digits = (text.match(/[0-9]/g)?.length ?? 0) / Math.max(1, text.length);
  const math = (text.match(/[=+*/^<>∫√π]|\\frac|\bsolve\b|\bequation\b|\bprove\b/gi)?.length ?? 0) / Math.max(1, ws.length);
  const code = /```|\bdef |\bfunction\b|\bclass |[{};]\s*$|\breturn\b/m.test(text) ? 1 : 0;
  const lines = Math.min(1, text.split('\n').length / 50);
  const question = /\?\s*$/.test(text.trim()) ? 1 : 0;
  const dense = [Math.log1p(ws.length) / 6, digits * 5, Math.min(1, math * 5), code, lines, question];
  for (let i = 0; i < dense.length; i++) {
    idx.push(buckets + i);
    val.push(dense[i]!);
  }
  return { idx, val };
}
