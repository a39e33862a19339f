import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answersMatch, createSemanticLayer, guard } from './index.js';

test('guards: on/off lights never hit; numbers, negation, entities, dates, question type differ', () => {
  assert.deepEqual(guard('turn on the lights', 'turn off the lights'), { ok: false, reason: 'polarity' });
  assert.equal(guard('Turn on the lights', 'turn on the lights please').ok, true);
  assert.equal(guard('what is 2 + 3', 'what is 2 + 4').reason, 'numbers');
  assert.equal(guard('can I eat eggs', 'can I not eat eggs').reason, 'negation');
  assert.equal(guard('who is the CEO of Apple', 'who is the CEO of Google').reason, 'entities');
  assert.equal(guard('weather in march', 'weather in june').reason, 'dates');
  assert.equal(guard('who wrote hamlet', 'when wrote hamlet').reason, 'question-type');
  assert.equal(guard('how do I bake bread', 'how do I fix a bicycle').reason, 'content-words');
});

test('layer: scope isolation, threshold, guards on the best candidate', async () => {
  const l = createSemanticLayer({ threshold: 0.5 });
  await l.insert('s1', 'turn on the lights', 'k-on');
  assert.equal(await l.lookup('s2', 'turn on the lights', {}), undefined);
  const hit = await l.lookup('s1', 'turn on the lights', {});
  assert.equal(hit?.key, 'k-on');
  assert.ok(hit!.score > 0.99);
  assert.equal(await l.lookup('s1', 'turn off the lights', {}), undefined);
  assert.equal(await l.lookup('s1', 'turn on the lights', { threshold: 1.01 }), undefined);
  await l.close();
});

test('answersMatch: same answer matches, different number does not', async () => {
  assert.equal((await answersMatch('The capital of France is Paris.', 'The capital of France is Paris')).match, true);
  const r = await answersMatch('It takes 5 minutes.', 'It takes 50 minutes.');
  assert.equal(r.match, false);
  assert.equal(r.reason, 'numbers');
});
