/**
 * `npm run eval:semantic-cache`: precision, recall and hit rate of the semantic cache's decision across thresholds,
 * cosine alone vs cosine + guards (src/cache/semantic/decide.ts), on
 *   - gptcache: ../shared/data/gptcache-mock-pairs (paraphrase positives, mismatched rows as negatives), and
 *   - hard: rewrites and answer-changing edits of MMLU / MT-Bench questions (bench/semantic-pairs.ts), split into the
 *     `tune` part the defaults were chosen on and the `heldout` part they were not.
 * Without ../shared it runs on the vendored subset test/fixtures/semantic-pairs.json and says so.
 *
 * Also measures the embedder's throughput (one at a time, and micro-batched) and the process RSS.
 * Env: EVAL_EMBEDDER=use-lite (default) | hashed, EVAL_THROUGHPUT_ONLY=1 (throughput and RSS only), SHARED_DIR, EVAL_PER_SUBJECT (MMLU questions per subject, 12),
 * EVAL_DUMP=path (write pairs with scores as JSON).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { decide, DEFAULT_DECISION, type DecisionOptions } from '../src/cache/semantic/decide.js';
import { hashedEmbedder, dot } from '../src/cache/semantic/hashed.js';
import { useLiteEmbedder } from '../src/cache/semantic/use-lite.js';
import type { Embedder } from '../src/cache/semantic/types.js';
import { gptcachePairs, hardPairs, type Pair } from './semantic-pairs.js';

export interface Scored extends Pair { score: number }
export interface Metrics { precision: number; recall: number; hitRate: number; tp: number; fp: number; n: number }

export function metrics(pairs: Scored[], hit: (p: Scored) => boolean): Metrics {
  let tp = 0, fp = 0, pos = 0;
  for (const p of pairs) {
    const h = hit(p);
    if (p.label) pos++;
    if (h && p.label) tp++;
    if (h && !p.label) fp++;
  }
  return { precision: tp + fp ? tp / (tp + fp) : 1, recall: pos ? tp / pos : 0, hitRate: pairs.length ? (tp + fp) / pairs.length : 0, tp, fp, n: pairs.length };
}

export const guarded = (d: DecisionOptions) => (p: Scored) => decide(p.a, p.b, p.score, d).hit;
export const cosineOnly = (t: number) => (p: Scored) => p.score >= t;

const f3 = (x: number) => x.toFixed(3);

async function throughput(e: Embedder, texts: string[]): Promise<{ single: number; batched: number }> {
  const one = texts.slice(0, 48);
  let t = performance.now();
  for (const x of one) await e.embed([`${x} (single)`]);
  const single = (one.length * 1000) / (performance.now() - t);
  const many = texts.slice(48, 48 + 320).map((x) => `${x} (batched)`);
  t = performance.now();
  await e.embed(many);
  return { single, batched: (many.length * 1000) / (performance.now() - t) };
}

async function main(): Promise<void> {
  const shared = resolve(process.env.SHARED_DIR ?? '../shared');
  const gDir = join(shared, 'data', 'gptcache-mock-pairs');
  const rDir = join(shared, 'data', 'routellm-evals');
  let pairs: Pair[];
  if (existsSync(gDir) && existsSync(rDir)) {
    pairs = [...gptcachePairs(gDir), ...hardPairs(rDir, Number(process.env.EVAL_PER_SUBJECT ?? 12))];
    console.log(`data: ${gDir} and ${rDir}`);
  } else {
    const fx = fileURLToPath(new URL('../../test/fixtures/semantic-pairs.json', import.meta.url));
    pairs = (JSON.parse(readFileSync(fx, 'utf8')) as { pairs: Pair[] }).pairs;
    console.log(`data: ${shared} not found — running on the vendored subset ${fx} (${pairs.length} pairs), not the full sets`);
  }
  // Hand-written user-style pairs (vendored), written after the defaults were chosen: a check, never tuned on.
  const hand = (JSON.parse(readFileSync(fileURLToPath(new URL('../../test/fixtures/semantic-handmade.json', import.meta.url)), 'utf8')) as { pairs: Array<[string, string, number]> }).pairs;
  pairs.push(...hand.map(([a, b, label]): Pair => ({ a, b, label: label ? 1 : 0, kind: label ? 'hand-same' : 'hand-different', split: 'heldout', set: 'hand' })));
  if (process.env.EVAL_SCORES) {
    // Re-score a dump (EVAL_DUMP) with the current decision code: no model needed.
    console.log(`scores: ${process.env.EVAL_SCORES} (from an earlier EVAL_DUMP run; embedding skipped)`);
    return report(JSON.parse(readFileSync(process.env.EVAL_SCORES, 'utf8')) as Scored[]);
  }
  const useHashed = process.env.EVAL_EMBEDDER === 'hashed';
  const e = useHashed ? hashedEmbedder() : useLiteEmbedder();
  const t0 = performance.now();
  await (e as ReturnType<typeof useLiteEmbedder>).whenReady?.();
  const loadMs = performance.now() - t0;
  const texts = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const load0 = loadavg()[0]!;
  const tp = await throughput(e, texts);
  // Short questions (10 words), the typical chat question: the eval texts average 18.7 words (MMLU stems, doc sentences).
  const short = await throughput(e, Array.from({ length: 400 }, (_, i) => `question number ${i} about the history of cats and dogs`));
  const tpLine = `throughput (eval texts): ${tp.single.toFixed(1)} sentences/s one at a time, ${tp.batched.toFixed(1)} sentences/s micro-batched (32); short questions: ${short.single.toFixed(1)} / ${short.batched.toFixed(1)}; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} on ${(await import('node:os')).cpus().length} CPUs`;
  if (process.env.EVAL_THROUGHPUT_ONLY) {
    console.log(`embedder: ${e.name}; model load ${loadMs.toFixed(0)} ms\n${tpLine}`);
    await e.close();
    return;
  }
  const vecs = new Map<string, Float32Array>();
  for (let i = 0; i < texts.length; i += 256) {
    const chunk = texts.slice(i, i + 256);
    (await e.embed(chunk)).forEach((v, j) => vecs.set(chunk[j]!, v));
  }
  const rss = process.memoryUsage().rss;
  await e.close();
  const scored: Scored[] = pairs.map((p) => ({ ...p, score: dot(vecs.get(p.a)!, vecs.get(p.b)!) }));
  if (process.env.EVAL_DUMP) writeFileSync(process.env.EVAL_DUMP, JSON.stringify(scored));

  console.log(`embedder: ${e.name}; model load ${loadMs.toFixed(0)} ms; ${texts.length} texts`);
  console.log(`${tpLine}; RSS after embedding every text ${(rss / 2 ** 20).toFixed(0)} MiB`);
  report(scored);
}

function report(scored: Scored[]): void {
  const sets: Array<[string, Scored[]]> = [
    ['gptcache (all)', scored.filter((p) => p.set === 'gptcache')],
    ['hard (tune)', scored.filter((p) => p.set === 'hard' && p.split === 'tune')],
    ['hard (heldout)', scored.filter((p) => p.set === 'hard' && p.split === 'heldout')],
    ['hand-written user questions (check only)', scored.filter((p) => p.set === 'hand')],
  ];
  for (const [name, ps] of sets) {
    if (!ps.length) continue;
    const pos = ps.filter((p) => p.label).length;
    console.log(`\n${name}: ${ps.length} pairs (${pos} positive, ${ps.length - pos} negative)`);
    console.log('| threshold | cosine only P | R | hit rate | cosine + guards P | R | hit rate |');
    console.log('|---|---|---|---|---|---|---|');
    for (const t of [0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]) {
      if (t === 0.6 && name.startsWith('hand')) continue;
      const c = metrics(ps, cosineOnly(t));
      const g = metrics(ps, guarded({ ...DEFAULT_DECISION, threshold: t }));
      const mark = t === DEFAULT_DECISION.threshold ? ' (default)' : '';
      console.log(`| ${t}${mark} | ${f3(c.precision)} | ${f3(c.recall)} | ${f3(c.hitRate)} | ${f3(g.precision)} | ${f3(g.recall)} | ${f3(g.hitRate)} |`);
    }
  }
  const held = scored.filter((p) => p.set === 'hard' && p.split === 'heldout');
  console.log(`\nhard (heldout) at the default threshold ${DEFAULT_DECISION.threshold}: share of each kind served from cache`);
  console.log('| kind | label | pairs | cosine only | cosine + guards |');
  console.log('|---|---|---|---|---|');
  for (const kind of [...new Set(held.map((p) => p.kind))]) {
    const ps = held.filter((p) => p.kind === kind);
    const share = (f: (p: Scored) => boolean) => f3(ps.filter(f).length / ps.length);
    console.log(`| ${kind} | ${ps[0]!.label ? 'same' : 'different'} | ${ps.length} | ${share(cosineOnly(DEFAULT_DECISION.threshold))} | ${share(guarded(DEFAULT_DECISION))} |`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
