import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { answersMatch, createSemanticLayer, decide, DEFAULT_DECISION, ExactIndex, guard, Hnsw, hashedEmbedder } from './index.js';
import { normalize } from './hashed.js';

test('guards: on/off lights never hit; numbers, negation, entities, dates, question type differ', () => {
  assert.deepEqual(guard('turn on the lights', 'turn off the lights').reason, 'polarity');
  assert.equal(guard('Turn on the lights', 'turn on the lights please').ok, true);
  assert.equal(guard('what is 2 + 3', 'what is 2 + 4').reason, 'numbers');
  assert.equal(guard('area of the triangle (1, 0), (0, 0)', 'area of the triangle (0, 0), (0, 0)').reason, 'numbers');
  assert.equal(guard('can I eat eggs', 'can I not eat eggs').reason, 'negation');
  assert.equal(guard("can I eat eggs", "can't I eat eggs").reason, 'negation');
  assert.equal(guard('who is the CEO of Apple', 'who is the CEO of Google').reason, 'entities');
  // Entities compare case-insensitively: users do not capitalise consistently.
  assert.equal(guard('How do I learn Java?', 'how do i learn java').ok, true);
  assert.equal(guard('weather in march', 'weather in june').reason, 'dates');
  assert.equal(guard('who wrote hamlet', 'when wrote hamlet').reason, 'question-type');
  assert.equal(guard('Which of the following explains why enzymes work?', 'Why of the following explains why enzymes work?').reason, 'question-type');
  assert.equal(guard('how do I bake bread', 'how do I fix a bicycle').reason, 'content-words');
  assert.equal(guard('How do I convert a string to an integer in Java?', 'How do I convert an integer to a string in Java?').reason, 'order');
  assert.equal(guard('What is the difference between a virus and bacteria?', "What's the difference between bacteria and a virus?").ok, true);
});

test('decide: cosine AND guards; a swapped content word or a rare differing word is another question', () => {
  assert.equal(decide('turn on the lights', 'turn off the lights', 0.92).hit, false);
  assert.equal(decide('What is the function of the liver?', 'What is the function of the kidney?', 0.95).hit, false);
  assert.equal(decide('What is the main function of the human liver in digestion?', 'What is the main function of the human kidney in digestion?', 0.95).reason, 'key-words');
  assert.equal(decide('What is the best way to cook rice at home?', 'What is the best way to cook rice at school?', 0.97).reason, 'word-swap');
  assert.equal(decide('How can I lose weight fast?', 'How can I lose weight quickly?', 0.9).hit, true, 'built-in synonym group');
  // Ways of asking "how" are one question type; speed is not dropped.
  assert.equal(decide('What is the best way to lose weight?', 'How can I lose weight?', 0.9).hit, true);
  assert.equal(decide('What is the fastest way to lose weight?', 'How can I lose weight?', 0.9).hit, false);
  assert.equal(decide('Can you tell me: what is the capital of France?', 'What is the capital of France?', 0.9).hit, true);
  assert.equal(decide('What is the capital of France?', 'What is the capital of France?', 0.79).reason, 'similarity');
  // Each unmatched (added) word raises the similarity needed.
  assert.equal(decide('what is the capital of france', 'what is the capital city of france', 0.81).reason, 'similarity');
  assert.equal(decide('what is the capital of france', 'what is the capital city of france', 0.84).hit, true);
  assert.equal(decide('turn on the lights', 'turn off the lights', 0.92, { ...DEFAULT_DECISION, guards: false }).hit, true);
});

test('decide on the vendored pairs (held-out split, USE-Lite scores): precision ≥ 0.98 on hard negatives, recall > 0.5; guards beat cosine alone', () => {
  const { pairs } = JSON.parse(readFileSync(new URL('../../../../test/fixtures/semantic-pairs.json', import.meta.url), 'utf8')) as { pairs: Array<{ a: string; b: string; label: number; set: string; score: number }> };
  const m = (ps: typeof pairs, hit: (p: (typeof pairs)[number]) => boolean) => {
    const tp = ps.filter((p) => p.label && hit(p)).length, fp = ps.filter((p) => !p.label && hit(p)).length;
    return { p: tp / Math.max(1, tp + fp), r: tp / ps.filter((p) => p.label).length, fp };
  };
  const hard = pairs.filter((p) => p.set === 'hard');
  assert.ok(hard.length > 200);
  const g = m(hard, (p) => decide(p.a, p.b, p.score).hit);
  const c = m(hard, (p) => p.score >= DEFAULT_DECISION.threshold);
  assert.ok(g.p >= 0.98, `precision ${g.p}`);
  assert.ok(g.r > 0.5, `recall ${g.r}`);
  assert.ok(c.p < 0.5, `cosine alone is fooled by the hard negatives (${c.p})`);
  const gc = m(pairs.filter((p) => p.set === 'gptcache'), (p) => decide(p.a, p.b, p.score).hit);
  assert.equal(gc.fp, 0);
});

function randomUnit(n: number, dims: number, seed: number): Float32Array[] {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  return Array.from({ length: n }, () => normalize(Float32Array.from({ length: dims }, r)));
}

test('HNSW: recall@1 vs the exact scan ≥ 0.95 on 3,000 random 64-d vectors; removed ids never returned', () => {
  const vs = randomUnit(3000, 64, 1);
  let seed = 7;
  const h = new Hnsw({ random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647) });
  const e = new ExactIndex();
  vs.forEach((v, i) => {
    h.add(i, v);
    e.add(i, v);
  });
  const qs = randomUnit(200, 64, 99);
  let same = 0;
  for (const q of qs) if (h.search(q, 1)[0]!.id === e.search(q, 1)[0]!.id) same++;
  assert.ok(same / qs.length >= 0.95, `recall@1 ${same / qs.length}`);
  // A query equal to a stored vector finds it, unless it was removed.
  assert.equal(h.search(vs[42]!, 1)[0]!.id, 42);
  h.remove(42);
  assert.notEqual(h.search(vs[42]!, 1)[0]!.id, 42);
  assert.equal(h.size, 2999);
});

test('layer: scope isolation, threshold, guards on the best candidate; switches to HNSW above annAbove', async () => {
  const l = createSemanticLayer({ threshold: 0.5, annAbove: 20 });
  await l.insert('s1', 'turn on the lights', 'k-on');
  await l.idle();
  assert.equal(await l.lookup('s2', 'turn on the lights', {}), undefined);
  const hit = await l.lookup('s1', 'turn on the lights', {});
  assert.equal(hit?.key, 'k-on');
  assert.ok(hit!.score > 0.99);
  assert.equal(await l.lookup('s1', 'turn off the lights', {}), undefined);
  assert.equal(await l.lookup('s1', 'turn on the lights', { threshold: 1.01 }), undefined);
  for (let i = 0; i < 30; i++) await l.insert('s3', `question ${i} about topic ${i * 7}`, `k${i}`);
  await l.idle();
  assert.equal(l.indexKind('s3'), 'hnsw');
  assert.equal((await l.lookup('s3', 'question 12 about topic 84', {}))?.key, 'k12');
  await l.close();
});

test('layer: an embedder still loading makes lookups misses, and inserts land once it is ready', async () => {
  let ready = false;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const inner = hashedEmbedder();
  const embedder = { ...inner, name: 'slow', ready: () => ready, whenReady: () => gate };
  const l = createSemanticLayer({ embedder, threshold: 0.5 });
  await l.insert('s', 'what is the capital of France', 'k');
  assert.equal(await l.lookup('s', 'what is the capital of France', {}), undefined);
  ready = true;
  release();
  await l.idle();
  assert.equal((await l.lookup('s', 'what is the capital of France', {}))?.key, 'k');
  await l.close();
});

test('answersMatch: same answer matches, different number does not', async () => {
  assert.equal((await answersMatch('The capital of France is Paris.', 'The capital of France is Paris')).match, true);
  const r = await answersMatch('It takes 5 minutes.', 'It takes 50 minutes.');
  assert.equal(r.match, false);
  assert.equal(r.reason, 'numbers');
});
