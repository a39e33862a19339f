/** The quality table: loading and merging, prompt keys, table verdicts, seeded defaults and multiple-choice letters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSimModel } from './catalog.js';
import { choiceLetters, judge, loadQualityTable, promptHash, verdictHeaders } from './quality.js';
import { SimulatorQualitySchema } from '../../config/schema.js';

const strong = findSimModel('gpt-4-1106-preview')!;
const weak = findSimModel('mixtral-8x7b-instruct-v0.1')!;
const MC = 'What is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 22\nAnswer:';
const table = (q: unknown) => loadQualityTable(SimulatorQualitySchema.parse(q));

test('promptHash: 16 hex digits of sha256, CRLF and surrounding space ignored', () => {
  assert.match(promptHash(MC), /^[0-9a-f]{16}$/);
  assert.equal(promptHash(`  ${MC.replace(/\n/g, '\r\n')}\n`), promptHash(MC));
  assert.notEqual(promptHash(MC), promptHash(MC.replace('2 + 2', '2 + 3')));
});

test('choiceLetters: the last A.. run of a prompt ending in "Answer:", else undefined', () => {
  assert.deepEqual(choiceLetters(MC), ['A', 'B', 'C', 'D']);
  const fiveShot = `Q1?\nA. x\nB. y\nAnswer: B\n\n${MC}`;
  assert.deepEqual(choiceLetters(fiveShot), ['A', 'B', 'C', 'D']);
  assert.equal(choiceLetters('What is 2 + 2?\nA. 3\nB. 4'), undefined);
  assert.equal(choiceLetters('Say hello. Answer:'), undefined);
});

test('a listed prompt is right or wrong exactly as the table says, by prompt text, hash or id', () => {
  const t = table({
    prompts: [
      { prompt: MC, answer: 'B', correct: { 'gpt-4-1106-preview': true, 'mixtral-8x7b-instruct-v0.1': false } },
      { hash: promptHash('hello'), correct: { 'gpt-4-1106-preview': false } },
      { id: 'q-7', correct: { 'mixtral-8x7b-instruct-v0.1': true } },
    ],
  });
  for (const seed of [1, 2, 3]) {
    assert.deepEqual(judge(t, strong, MC, undefined, seed), { correct: true, source: 'table', letter: 'B' });
    const w = judge(t, weak, MC, undefined, seed);
    assert.equal(w.correct, false);
    assert.equal(w.source, 'table');
    assert.ok(w.letter && 'ACD'.includes(w.letter), `wrong letter ${w.letter}`);
  }
  assert.deepEqual(judge(t, strong, 'hello', undefined, 1), { correct: false, source: 'table' });
  assert.deepEqual(judge(t, weak, 'anything at all', 'q-7', 1), { correct: true, source: 'table' });
  // A model the row does not mention falls back to its default.
  assert.equal(judge(t, weak, 'hello', undefined, 1).source, 'default');
});

test('unlisted prompts: correct with the default probability, the same verdict every time for a seed', () => {
  const t = table({ models: { 'gpt-4-1106-preview': 0.8 } });
  const prompts = Array.from({ length: 2000 }, (_, i) => `question ${i}`);
  const run = () => prompts.map((p) => judge(t, strong, p, undefined, 1).correct);
  const first = run();
  assert.deepEqual(run(), first);
  const right = first.filter(Boolean).length;
  // A hash draw per prompt: the share is near p (binomial sd ≈ 9 at n = 2000), and exactly reproducible.
  assert.ok(Math.abs(right - 1600) < 60, `${right} of 2000`);
  assert.ok(first.every((_, i) => judge(t, strong, prompts[i]!, undefined, 1).source === 'default'));
  // Defaults 0 and 1 are never and always; a model the table omits uses the catalog prior.
  assert.equal(prompts.some((p) => judge(table({ models: { 'gpt-4-1106-preview': 0 } }), strong, p, undefined, 1).correct), false);
  assert.equal(prompts.every((p) => judge(table({ models: { 'gpt-4-1106-preview': 1 } }), strong, p, undefined, 1).correct), true);
  const prior = prompts.filter((p) => judge(t, weak, p, undefined, 1).correct).length / prompts.length;
  assert.ok(Math.abs(prior - weak.quality) < 0.04, `mixtral prior ${prior}`);
  // Another seed draws other verdicts.
  assert.notDeepEqual(prompts.map((p) => judge(t, strong, p, undefined, 2).correct), first);
});

test('file and inline entries merge (inline wins); model aliases resolve to catalog ids', () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-quality-'));
  try {
    const file = join(dir, 'q.json');
    writeFileSync(file, JSON.stringify({ source: 'test', models: { 'gpt-4-1106-preview': 0 }, prompts: [{ prompt: MC, correct: { 'claude-sonnet': true } }] }));
    const t = table({ file, models: { 'gpt-4-1106-preview': 1 } });
    assert.equal(t.defaults.get('gpt-4-1106-preview'), 1);
    assert.equal(judge(t, findSimModel('claude-sonnet-4-5')!, MC, undefined, 1).correct, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad tables fail with the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-quality-'));
  try {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ prompts: [{ correct: { 'gpt-4o': true } }] }));
    assert.throws(() => table({ file }), /bad\.json: prompts\.0: needs an id, a hash or a prompt/);
    writeFileSync(file, JSON.stringify({ models: { 'gpt-4o': 1.5 } }));
    assert.throws(() => table({ file }), /bad\.json: models\.gpt-4o/);
    writeFileSync(file, JSON.stringify({ prompts: [{ prompt: MC, hash: '0000000000000000', correct: {} }] }));
    assert.throws(() => table({ file }), /hash does not match its prompt/);
    assert.throws(() => table({ file: join(dir, 'missing.json') }), /missing\.json/);
    assert.throws(() => SimulatorQualitySchema.parse({ prompts: [{ id: 'x', correct: {}, extra: 1 }] }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('verdictHeaders: x-sim-correct and x-sim-quality-source, nothing without a table', () => {
  assert.deepEqual(verdictHeaders({ correct: false, source: 'default' }), { 'x-sim-correct': 'false', 'x-sim-quality-source': 'default' });
  assert.deepEqual(verdictHeaders(undefined), {});
});
