/**
 * Fine-tune candidates (a worked example with stated prices and a word-count tokenizer, so every number below is
 * checkable by hand) and the fine-tuning JSONL lines (each validated against OpenAI's chat fine-tuning input schema,
 * rebuilt from spec/openai-subset.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteLedger } from '../stores/ledger/sqlite.js';
import { PriceCatalog } from '../pricing/catalog.js';
import { toScaled } from '../pricing/decimal.js';
import { finetuneCandidates, fewShotOf, ratio2, type FinetuneOptions } from './finetune.js';
import { toFineTuneLine, exportFineTune } from './finetune-export.js';
import { makeRow, makeBody, T0, HOUR } from '../../test/fixtures/ledger-rows.js';
import { fineTuneLineValidator } from '../../test/helpers/finetune-schema.js';

const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
const twenty = (i: number) => `ticket ${i} ` + Array.from({ length: 18 }, (_, k) => `w${k}`).join(' '); // 20 words
const SYSTEM = 'Label the ticket.'; // 3 words
const EXAMPLES = [0, 1, 2].flatMap((i) => [{ role: 'user', content: twenty(i) }, { role: 'assistant', content: `label${i}` }]);
const fewShotRequest = (q: string) => JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'system', content: SYSTEM }, ...EXAMPLES, { role: 'user', content: q }] });
const answer = (a: string) => JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: a }, finish_reason: 'stop' }] });

const base: FinetuneOptions = {
  since: T0, until: T0 + HOUR, minMonthlyRequests: 10_000, minExamples: 2, minPrefixTokens: 50, flagshipTiers: [], flagshipMinInput: toScaled('2.5'),
  target: { model: 'ft:gpt-4o-mini', input: toScaled('0.30'), output: toScaled('1.20') }, epochs: 3, examples: 100, trainingPerMTok: toScaled('3'), tokens: words,
};

async function seeded(): Promise<SqliteLedger> {
  const store = new SqliteLedger(':memory:');
  await store.init();
  const rows = [];
  for (let i = 0; i < 20; i++) {
    const common = { ts: T0 + i * 60_000, model: 'gpt-4o', requestedModel: 'gpt-4o', inputTokens: 1000, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: 10, costNanos: 2_600_000, optimize: null, status: 200 };
    rows.push(makeRow({ ...common, feature: 'classify' }), makeRow({ ...common, feature: 'chat' }), makeRow({ ...common, feature: 'nobodies' }));
    rows.push(makeRow({ ...common, feature: 'tiny', model: 'gpt-4o-mini', requestedModel: 'gpt-4o-mini' }));
  }
  const bodies = Array.from({ length: 10 }, (_, i) => makeBody({ requestId: `c-${i}`, ts: T0 + i * 60_000, feature: 'classify', request: fewShotRequest(`new ticket ${i}`), response: answer(`label${i % 3}`) }));
  // Conversations (history, not examples): each different, so no stable prefix.
  for (let i = 0; i < 5; i++) {
    const req = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: `hi ${i}` }, { role: 'assistant', content: `hello ${i}` }, { role: 'user', content: `topic ${i}` }, { role: 'assistant', content: `sure ${i}` }, { role: 'user', content: 'more' }] });
    bodies.push(makeBody({ requestId: `h-${i}`, ts: T0 + i * 60_000, feature: 'chat', request: req, response: answer('ok') }));
  }
  await store.write(rows, [], bodies);
  return store;
}

test('worked example: 20 gpt-4o calls in an hour with 3 stable example pairs → fine-tuned gpt-4o-mini at $0.30/$1.20 per M', async () => {
  const store = await seeded();
  try {
    const rows = await finetuneCandidates(store, new PriceCatalog(), base);
    const c = rows.find((r) => r.feature === 'classify')!;
    assert.ok(c.candidate, c.reasons.join('; '));
    assert.equal(c.monthlyRequests, 14_400, '20 calls/hour × 720 hours');
    // prefix = system (3 words + 3 framing) + 3 pairs × (20 + 1 words + 2 × 3 framing) = 6 + 81; removed = the pairs.
    assert.deepEqual({ ...c.fewShot }, { storedCalls: 10, fewShotCalls: 10, stablePrefixShare: 1, avgExamplePairs: 3, avgPrefixTokens: 87, avgRemovedTokens: 81, exportable: 10 });
    // now: 20 × (1000 × $2.50 + 10 × $10)/M = 20 × 2,600,000 n$ per hour, × 720.
    assert.equal(c.currentMonthlyNanos, 37_440_000_000n);
    // target: 20 × ((1000 − 81) × $0.30 + 10 × $1.20)/M = 20 × 287,700 n$, × 720.
    assert.equal(c.targetMonthlyNanos, 4_142_880_000n);
    assert.equal(c.monthlySavingNanos, 33_297_120_000n);
    // training: 100 examples × 3 epochs × (919 + 10) tokens × $3/M.
    assert.equal(c.trainingTokens, 278_700);
    assert.equal(c.trainingCostNanos, 836_100_000n);
    assert.equal(c.breakEvenMonths, '0.03');
    assert.equal(c.firstYearNetNanos, 12n * 33_297_120_000n - 836_100_000n);
    const chat = rows.find((r) => r.feature === 'chat')!;
    assert.equal(chat.candidate, false);
    assert.match(chat.reasons.join(';'), /prefix stable in 20%/);
    const none = rows.find((r) => r.feature === 'nobodies')!;
    assert.deepEqual(none.reasons, ['few-shot unknown: no stored bodies (ledger.storeBodies)']);
    assert.equal(rows.find((r) => r.feature === 'tiny'), undefined, 'gpt-4o-mini ($0.15/M input) is not flagship');
    // Thresholds and flat training cost.
    const strict = await finetuneCandidates(store, new PriceCatalog(), { ...base, minMonthlyRequests: 20_000, trainingPerMTok: undefined, trainingFlatNanos: 25_000_000_000n });
    const s = strict.find((r) => r.feature === 'classify')!;
    assert.deepEqual(s.reasons, ['14400 requests/month < 20000']);
    assert.equal(s.trainingCostNanos, 25_000_000_000n);
    assert.equal(s.breakEvenMonths, ratio2(25_000_000_000n, 33_297_120_000n));
    assert.equal(s.breakEvenMonths, '0.75');
    const named = await finetuneCandidates(store, new PriceCatalog(), { ...base, flagship: ['gpt-4o-mini'] });
    assert.deepEqual(named.map((r) => r.feature), ['tiny'], 'an explicit flagship list replaces the price rule');
  } finally {
    await store.close();
  }
});

test('few-shot shapes: example pairs before the last user turn, and examples inside a system prompt', () => {
  const a = fewShotOf(fewShotRequest('q'), 'openai', 'gpt-4o', words)!;
  assert.equal(a.pairs, 3);
  assert.equal(a.removedTokens, 81);
  const sys = 'You classify.\nExample 1:\nInput: good product\nOutput: positive\nExample 2:\nInput: awful\nOutput: negative';
  const b = fewShotOf(JSON.stringify({ model: 'claude-sonnet-4-5', system: sys, messages: [{ role: 'user', content: 'meh' }] }), 'anthropic', 'claude-sonnet-4-5', words)!;
  assert.equal(b.pairs, 0);
  assert.equal(b.systemExamples, 2);
  assert.equal(b.removedTokens, words(sys.slice(sys.indexOf('Example 1:'))));
  assert.equal(fewShotOf(JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), 'openai', '', words)!.pairs, 0);
  assert.equal(fewShotOf('not json', 'openai', '', words), undefined);
});

test('JSONL lines conform to OpenAI\'s chat fine-tuning input; failures, cache hits and empty answers are skipped', async () => {
  const valid = fineTuneLineValidator();
  const tool = { type: 'function', function: { name: 'lookup', description: 'find', parameters: { type: 'object', properties: { q: { type: 'string' } } } } };
  const bodies = [
    makeBody({ request: fewShotRequest('hello'), response: answer('label1') }),
    makeBody({ request: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'developer', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'parts' }] }], tools: [tool], parallel_tool_calls: false }), response: JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] } }] }) }),
    makeBody({ surface: 'anthropic', endpoint: 'messages', request: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 10, system: [{ type: 'text', text: 'sys' }], messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'lookup', input_schema: { type: 'object' } }] }), response: JSON.stringify({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hello' }] }) }),
    makeBody({ stream: true, request: fewShotRequest('streamed'), response: JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'assembled text' }, finish_reason: 'stop' }], assembled: true }) }),
  ];
  const skipped = [
    makeBody({ status: 500 }),
    makeBody({ cacheStatus: 'exact' }),
    makeBody({ response: answer('') }),
    makeBody({ response: null }),
    makeBody({ surface: 'anthropic', request: JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'image', source: {} }] }] }), response: JSON.stringify({ content: [{ type: 'text', text: 'x' }] }) }),
  ];
  for (const b of bodies) {
    const c = toFineTuneLine(b);
    assert.ok('line' in c, JSON.stringify(c));
    assert.equal(valid(c.line), undefined, JSON.stringify(c.line));
    assert.equal(c.line.messages.at(-1)!.role, 'assistant');
  }
  const dev = toFineTuneLine(bodies[1]!);
  assert.ok('line' in dev && dev.line.messages[0]!.role === 'system' && dev.line.tools?.length === 1 && dev.line.parallel_tool_calls === false);
  assert.deepEqual(skipped.map((b) => toFineTuneLine(b)), [{ skip: 'status' }, { skip: 'cache-hit' }, { skip: 'empty-answer' }, { skip: 'no-answer' }, { skip: 'unsupported-content' }]);
  // The validator is not a rubber stamp.
  assert.notEqual(valid({ messages: [] }), undefined);
  assert.notEqual(valid({ messages: [{ role: 'wizard', content: 'x' }] }), undefined);
  assert.notEqual(valid({ prompt: 'x', completion: 'y' }), undefined);
  // Through a store: oldest first, counts by reason.
  const store = new SqliteLedger(':memory:');
  await store.init();
  try {
    await store.write([], [], [...bodies, ...skipped].map((b, i) => ({ ...b, ts: T0 + i })));
    const lines: string[] = [];
    const r = await exportFineTune(store, { feature: 'search' }, (l) => lines.push(l));
    assert.equal(r.lines, 4);
    assert.deepEqual(r.skipped, { status: 1, 'cache-hit': 1, 'empty-answer': 1, 'no-answer': 1, 'unsupported-content': 1 });
    assert.ok(lines.every((l) => l.endsWith('\n') && valid(JSON.parse(l)) === undefined));
  } finally {
    await store.close();
  }
});
