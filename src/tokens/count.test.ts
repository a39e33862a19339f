import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countEmbeddingInput, countPrompt, countText, o200k, tokenizerLoaded } from './count.js';

// One test: the first assertion depends on nothing in this file having tokenized yet.
test('o200k loads on first use, not at import, and counts like gpt-tokenizer', () => {
  assert.equal(tokenizerLoaded(), false, 'importing tokens/count must not load the o200k tables');
  assert.equal(countText(''), 0);
  assert.equal(tokenizerLoaded(), false, 'an empty string needs no tokenizer');
  // Known o200k_base counts (independent of how the module is loaded).
  assert.equal(countText('hello world'), 2);
  assert.equal(tokenizerLoaded(), true);
  assert.equal(countText('The capital of France is Paris, and it has been for a very long time.', 'gpt-4o-mini'), 17);
  const request = { model: 'local-llama', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is the capital of France?' }] };
  assert.equal(countPrompt(request), 19);
  assert.equal(countEmbeddingInput(['hello world', 'a b']), 4);
  assert.deepEqual(o200k().encode('hello world'), [24912, 2375]);
  assert.equal(o200k().decode([24912, 2375]), 'hello world');
  assert.equal(o200k(), o200k(), 'one instance per process');
});

test('a long run without whitespace is counted in bounded time; long prose counts as before', () => {
  const t0 = performance.now();
  const n = countText('x'.repeat(400_000), 'gpt-4o-mini');
  const c = countText('y'.repeat(200_000), 'claude-haiku-4-5');
  const ms = performance.now() - t0;
  // 40,000 × 'x' alone took over a second before; 600,000 characters now take a fraction of that per 40k.
  assert.ok(ms < 10_000, `${ms} ms`);
  assert.ok(n >= 400_000 / 8 && n <= 400_000 / 8 + 400, `o200k: ${n}`);
  assert.ok(c > 0);
  const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(2000);
  // Counted in windows cut just before a whitespace, prose counts exactly as in one piece.
  assert.equal(countText(prose, 'gpt-4o-mini'), o200k().countTokens(prose));
});
