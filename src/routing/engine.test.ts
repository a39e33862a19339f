import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingEngine } from './engine.js';
import { RoutingSchema } from '../config/routing-schema.js';
import { routeInput } from './signals.js';
import { classify } from './tier.js';

const cfg = (c: object) => RoutingSchema.parse({ strong: 'big', weak: 'small', ...c });
const body = (content: string, extra: object = {}) => ({ messages: [{ role: 'user', content }], ...extra });
const decide = (e: RoutingEngine, model: string, b: object, h = {}) => e.decide(model, routeInput(b as Record<string, unknown>), h);

test('rules: highest priority first, file order among equals, first match wins', () => {
  const e = new RoutingEngine(
    cfg({
      all: true,
      rules: [
        { name: 'low', priority: 1, when: { keywords: ['invoice'] }, model: 'm-low' },
        { name: 'high', priority: 9, when: { keywords: ['invoice'] }, model: 'm-high' },
        { name: 'high-too', priority: 9, when: { keywords: ['invoice'] }, model: 'm-high-2' },
      ],
    }),
  );
  const d = decide(e, 'gpt-4o', body('Please check this invoice'))!;
  assert.equal(d.target, 'm-high');
  assert.match(d.reason, /rule high \(priority 9\)/);
  assert.equal(decide(e, 'gpt-4o', body('nothing relevant')), undefined, 'no match and no default: the requested model stands');
});

test('rules: each signal (keywords, regex, tokens, tools, images, depth, similarity, tier, task, requested)', () => {
  const rule = (when: object) => new RoutingEngine(cfg({ all: true, rules: [{ name: 'r', when, model: 'hit' }], default: 'miss' }));
  const t = (when: object, b: object, h = {}) => decide(rule(when), 'x', b, h)!.target;
  assert.equal(t({ keywords: ['refund'] }, body('I want a REFUND now')), 'hit');
  assert.equal(t({ keywords: ['refund'] }, body('refunding is different')), 'miss', 'whole words only');
  assert.equal(t({ regex: '\\bSKU-\\d+' }, body('where is sku-123')), 'hit');
  assert.equal(t({ minTokens: 100 }, body('short')), 'miss');
  assert.equal(t({ minTokens: 100 }, body('word '.repeat(200))), 'hit');
  assert.equal(t({ maxTokens: 10 }, body('short')), 'hit');
  const tools = { tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] };
  assert.equal(t({ tools: true }, body('hi', tools)), 'hit');
  assert.equal(t({ tools: true }, body('hi')), 'miss');
  const img = { messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:,' } }] }] };
  assert.equal(t({ images: true }, img), 'hit');
  assert.equal(t({ images: true }, body('no image')), 'miss');
  const deep = { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }, { role: 'user', content: 'e' }] };
  assert.equal(t({ minDepth: 3 }, deep), 'hit');
  assert.equal(t({ minDepth: 3 }, body('one turn')), 'miss');
  const sim = { similarTo: { examples: ['reset my account password please'], threshold: 0.5 } };
  assert.equal(t(sim, body('please reset my password for my account')), 'hit');
  assert.equal(t(sim, body('write a haiku about autumn leaves')), 'miss');
  assert.equal(t({ tier: ['complex'] }, body('Prove step by step that the algorithm runs in O(n log n); analyze the recursion and compare trade-offs. Implement it in Python with a function and compute the integral.')), 'hit');
  assert.equal(t({ tier: ['complex'] }, body('hi')), 'miss');
  assert.equal(t({ task: ['billing'] }, body('hi'), { task: 'billing' }), 'hit');
  assert.equal(t({ task: ['billing'] }, body('hi'), { task: 'support' }), 'miss');
  assert.equal(decide(rule({ requested: ['cheap-please'] }), 'cheap-please', body('x'))!.target, 'hit');
  assert.equal(decide(rule({ requested: ['cheap-please'] }), 'other', body('x'))!.target, 'miss');
});

test('task table: (task, complexity) → model after the rules; the header task wins over the classifier', () => {
  const e = new RoutingEngine(cfg({ all: true, tasks: [{ task: ['code'], complexity: ['complex'], model: 'coder-big' }, { task: ['code'], model: 'coder' }, { model: 'anything' }] }));
  assert.equal(decide(e, 'x', body('hi'), { task: 'code' })!.target, 'coder');
  assert.equal(decide(e, 'x', body('hi'), { task: 'chat' })!.target, 'anything');
  const hard = 'Implement a Python function with recursion; debug the algorithm, explain its complexity step by step and compare trade-offs.';
  assert.equal(classify(routeInput(body(hard))).task, 'code');
  assert.equal(decide(e, 'x', body(hard))!.target, 'coder-big');
});

test('auto: tiers map to models; auto:cheap shifts down and auto:quality up', () => {
  const e = new RoutingEngine(cfg({ tiers: { simple: 't-simple', medium: 't-medium', complex: 't-complex' } }));
  const medium = 'Explain why the sky is blue and compare it with sunsets, in a short paragraph for a curious student.';
  assert.equal(classify(routeInput(body(medium))).tier, 'medium');
  assert.equal(decide(e, 'auto', body(medium))!.target, 't-medium');
  assert.equal(decide(e, 'auto:balanced', body(medium))!.target, 't-medium');
  assert.equal(decide(e, 'auto:cheap', body(medium))!.target, 't-simple');
  assert.equal(decide(e, 'auto:quality', body(medium))!.target, 't-complex');
  assert.equal(decide(e, 'auto', body('hi'))!.target, 't-simple');
  assert.equal(decide(e, 'auto', body('hi'))!.kind, 'tier');
  assert.equal(e.handles('gpt-4o'), false, 'without routing.all, concrete models are not routed');
  assert.equal(new RoutingEngine(RoutingSchema.parse({})).handles('auto'), false, 'no routing config: auto is an ordinary name');
});

test('learned: the dial is monotone — a higher quality setting never sends fewer prompts strong', () => {
  const e = new RoutingEngine(cfg({}));
  const prompts = [
    'hi',
    'What is 2+2?',
    'Translate "cat" to French.',
    'Prove that there are infinitely many primes.',
    'Which of the following is a prime number?\nA. 21\nB. 27\nC. 29\nD. 33\nAnswer:',
    'A 45-year-old patient presents with chest pain radiating to the left arm. Which of the following is the most likely diagnosis?\nA. GERD\nB. Myocardial infarction\nC. Pneumonia\nD. Costochondritis\nAnswer:',
    'Write a limerick about budgets.',
    'Explain the difference between TCP and UDP.',
  ];
  let prev = -1;
  let prevSet = new Set<number>();
  for (let q = 0; q <= 1.0001; q += 0.05) {
    const strong = new Set(prompts.map((p, i) => (decide(e, 'router', body(p), { quality: q })!.target === 'big' ? i : -1)).filter((i) => i >= 0));
    assert.ok(strong.size >= prev, `quality ${q.toFixed(2)}: ${strong.size} strong < ${prev}`);
    for (const i of prevSet) assert.ok(strong.has(i), `quality ${q.toFixed(2)} sent prompt ${i} weak again`);
    prev = strong.size;
    prevSet = strong;
  }
  assert.equal(prev, prompts.length, 'quality 1 sends everything strong');
  assert.equal(prompts.filter((p) => decide(e, 'router', body(p), { quality: 0 })!.target === 'big').length, 0, 'quality 0 sends nothing strong');
  const d = decide(e, 'router', body('hi'), { strongShare: 1, quality: 0 })!;
  assert.equal(d.target, 'big', 'x-costgate-strong-share wins over x-costgate-quality');
  assert.match(d.reason, /learned score=\d\.\d+ ≥ t=/);
});

test('learned + cascade: weak decisions go through the cascade', () => {
  const e = new RoutingEngine(cfg({ learned: { cascade: true } }));
  const d = decide(e, 'router', body('hi'), { quality: 0 })!;
  assert.equal(d.kind, 'cascade');
  assert.equal(d.target, 'small');
  assert.equal(d.escalateTo, 'big');
});

test('budget pressure: a strong choice becomes weak once a budget is nearly spent', () => {
  const e = new RoutingEngine(cfg({ budget: { preferWeakAt: 0.9 }, rules: [{ name: 'all-strong', when: {}, model: '@strong' }] }));
  assert.equal(decide(e, 'auto', body('x'), { budgetUsed: 0.5 })!.target, 'big');
  const d = decide(e, 'auto', body('x'), { budgetUsed: 0.95 })!;
  assert.equal(d.target, 'small');
  assert.match(d.reason, /budget 95% used ≥ 90% → weak small/);
});

test('config: unknown @targets and @strong without routing.strong are errors naming the field', () => {
  assert.throws(() => RoutingSchema.parse({ rules: [{ name: 'r', model: '@bogus' }] }), /unknown target @bogus/);
  const r = RoutingSchema.safeParse({ weak: 'w', rules: [{ name: 'r', model: '@strong' }] });
  assert.equal(r.success, false);
  assert.deepEqual(r.error!.issues[0]!.path, ['rules', 0, 'model']);
  assert.throws(() => RoutingSchema.parse({ rules: [{ name: 'r', when: { regex: '(' }, model: 'm' }] }), /not a valid regular expression/);
  assert.throws(() => RoutingSchema.parse({ learnd: {} }), /learnd/);
});

test('tier classifier latency (measured, not asserted)', () => {
  const prompts = ['hi', 'Explain why the sky is blue.', 'Implement quicksort in Rust and prove its complexity step by step. '.repeat(20)];
  const ts: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t0 = process.hrtime.bigint();
    classify(routeInput(body(prompts[i % 3]!)));
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ts.sort((a, b) => a - b);
  console.log(`tier classifier: p50 ${ts[1500]!.toFixed(4)} ms, p99 ${ts[2970]!.toFixed(4)} ms over 3000 calls`);
});
