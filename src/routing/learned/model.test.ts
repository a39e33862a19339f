import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrate, parseModel, score, thresholdForShare, toFile, train } from './model.js';
import { parseCsv, splitOf } from './routellm.js';
import { curve, summary } from './metrics.js';
import { trainFromOutcomes } from './train-outcomes.js';

const examples = Array.from({ length: 400 }, (_, i) => (i % 2 ? { prompt: `integral derivative proof number ${i}`, y: 1 } : { prompt: `hello thanks friend ${i}`, y: 0 }));

test('train: the learned score separates a learnable signal; the file round-trips within quantisation error', () => {
  const m = train(examples, { buckets: 1024, epochs: 4 });
  const hard = score(m, 'an integral and a derivative');
  const easy = score(m, 'hello friend');
  assert.ok(hard > 0.7 && easy < 0.3, `hard ${hard}, easy ${easy}`);
  const back = parseModel(JSON.parse(JSON.stringify(toFile(m))), 'test');
  assert.ok(Math.abs(score(back, 'an integral and a derivative') - hard) < 0.05);
  assert.throws(() => parseModel({ kind: 'other' }, 'f.json'), /f\.json: not a costgate router model/);
});

test('calibrate: thresholds are quantiles of calibration scores; higher share → lower threshold', () => {
  const m = calibrate(train(examples, { buckets: 1024, epochs: 2 }), Array.from({ length: 100 }, (_, i) => i / 100));
  assert.equal(thresholdForShare(m, 0.25), 0.75);
  assert.equal(thresholdForShare(m, 1), 0);
  assert.ok(thresholdForShare(m, 0) > 1, 'share 0: nothing qualifies');
  for (let s = 0; s < 1; s += 0.01) assert.ok(thresholdForShare(m, s + 0.01) <= thresholdForShare(m, s));
});

test('split: fixed by prompt hash (60/10/30)', () => {
  assert.equal(splitOf('same prompt'), splitOf('same prompt'));
  const n = { train: 0, calibration: 0, heldout: 0 };
  for (let i = 0; i < 5000; i++) n[splitOf(`prompt ${i}`)]++;
  assert.ok(Math.abs(n.train / 5000 - 0.6) < 0.03 && Math.abs(n.heldout / 5000 - 0.3) < 0.03, JSON.stringify(n));
});

test('trainFromOutcomes: never reads held-out lines', () => {
  const lines = Array.from({ length: 300 }, (_, i) => ({ prompt: `question ${i} ${i % 3 ? 'easy' : 'integral proof'}`, strong: 1, weak: i % 3 ? 1 : 0 }));
  const run = trainFromOutcomes(lines, { label: 'weak-fails', buckets: 512, epochs: 2, weakPass: 1, useTask: false, source: 't' });
  const held = lines.filter((l) => splitOf(l.prompt) === 'heldout').length;
  assert.equal(run.counts.heldout, held);
  assert.equal(run.counts.train + run.counts.calibration + held, 300);
  assert.equal(run.model.meta.examples, run.counts.train);
});

test('parseCsv: quotes, doubled quotes, newlines in fields', () => {
  assert.deepEqual(parseCsv('a,b\n"x, ""y""\nz",True\n'), [['a', 'b'], ['x, "y"\nz', 'True']]);
});

test('metrics: oracle APGR > random; CPT finds the first share reaching the gap', () => {
  const items = [{ weak: 0, strong: 1 }, { weak: 1, strong: 1 }, { weak: 0, strong: 0 }, { weak: 0, strong: 1 }];
  const oracle = summary(items, curve(items, items.map((i) => i.strong - i.weak)));
  assert.equal(oracle.cpt50, 0.25);
  assert.equal(oracle.cpt80, 0.5);
  const worst = summary(items, curve(items, items.map((i) => i.weak - i.strong)));
  assert.ok(oracle.apgr > 0.5 && worst.apgr < 0.5);
});
