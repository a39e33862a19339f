/**
 * Routing end to end through the real gateway on loopback with the in-process simulator: every decision's reason in
 * the ledger, cascades escalating on each verifier (simulator models with a `:flaw` suffix spoil their answers),
 * the dial header, budget pressure, and `costgate router train` feeding `routing.learned.model`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { BIN } from './helpers/cli.js';
import type { ConfigInput } from '../src/config/schema.js';

const FLAWED = ['badjson', 'refuse', 'idk', 'empty', 'badtool'];
const prices = Object.fromEntries(['', ...FLAWED.map((f) => `:${f}`)].map((s) => [`gpt-4o-mini${s}`, { input: 0.15, output: 0.6 }]));

async function withGateway(routing: ConfigInput['routing'], f: (g: TestGateway) => Promise<void>, extra: Partial<ConfigInput> = {}) {
  const g = await startTestGateway({ config: { ledger: { store: 'memory' }, pricing: { models: prices }, routing, ...extra } });
  try {
    await f(g);
  } finally {
    await g.close();
  }
}

async function chat(g: TestGateway, body: object, headers: Record<string, string> = {}) {
  const res = await fetch(`${g.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  const id = res.headers.get('x-costgate-request-id')!;
  const [row] = await g.gw.request(id);
  return { res, text, json: text.startsWith('{') ? JSON.parse(text) : undefined, row: row! };
}

const user = (content: string) => [{ role: 'user', content }];
const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];

const CASES: { flaw: string; verifier: string; body: object }[] = [
  { flaw: 'badjson', verifier: 'json', body: { messages: user('Give me the weather as JSON'), response_format: { type: 'json_object' } } },
  { flaw: 'refuse', verifier: 'refusal', body: { messages: user('Summarise this ticket') } },
  { flaw: 'idk', verifier: 'refusal', body: { messages: user('Who won the 1974 chess olympiad?') } },
  { flaw: 'empty', verifier: 'empty', body: { messages: user('Say something') } },
  { flaw: 'badtool', verifier: 'tools', body: { messages: user('Weather in Oslo?'), tools } },
];

for (const c of CASES) {
  test(`cascade: ${c.flaw} answer fails the ${c.verifier} verifier → one escalation, both attempts in the ledger`, async () => {
    await withGateway({ strong: 'gpt-4o', weak: `gpt-4o-mini:${c.flaw}` }, async (g) => {
      const r = await chat(g, { model: 'cascade', ...c.body });
      assert.equal(r.res.status, 200, r.text);
      assert.equal(r.res.headers.get('x-costgate-model'), 'gpt-4o');
      assert.equal(r.res.headers.get('x-costgate-cascade'), `escalated:${c.verifier}`);
      assert.equal(r.json.choices.length, 1, 'the client gets one answer');
      assert.equal(r.row.requestedModel, 'cascade');
      assert.equal(r.row.model, 'gpt-4o');
      assert.match(r.row.routeReason!, new RegExp(`^cascade: .*cascade: escalated \\(${c.verifier}: `));
      assert.equal(r.row.attemptCount, 2);
      const [weak, strong] = r.row.attempts;
      assert.equal(weak!.model, `gpt-4o-mini:${c.flaw}`);
      assert.equal(weak!.outcome, 'rejected');
      assert.equal(weak!.errorType, 'cascade_rejected');
      assert.ok(weak!.costNanos > 0, 'the rejected answer was paid for');
      assert.equal(strong!.outcome, 'ok');
      assert.equal(r.row.costNanos, weak!.costNanos + strong!.costNanos, "the call's cost includes both attempts");
    });
  });
}

test('cascade: a good weak answer is accepted (one attempt); streams are buffered, verified and replayed (or go strong); a failing weak deployment escalates', async () => {
  await withGateway({ strong: 'gpt-4o', weak: 'gpt-4o-mini' }, async (g) => {
    const r = await chat(g, { model: 'cascade', messages: user('Give me JSON'), response_format: { type: 'json_object' } });
    assert.equal(r.res.headers.get('x-costgate-cascade'), 'accepted');
    assert.equal(r.row.model, 'gpt-4o-mini');
    assert.equal(r.row.attemptCount, 1);
    assert.match(r.row.routeReason!, /weak answer accepted/);
    const s = await chat(g, { model: 'cascade', messages: user('stream please'), stream: true, stream_options: { include_usage: true } });
    assert.equal(s.res.status, 200);
    assert.match(s.res.headers.get('content-type')!, /text\/event-stream/);
    assert.equal(s.res.headers.get('x-costgate-cascade'), 'accepted');
    assert.match(s.text, /"object":"chat\.completion\.chunk"/);
    assert.match(s.text, /"usage":\{"prompt_tokens":\d+/, 'the usage chunk the client asked for');
    assert.match(s.text, /data: \[DONE\]/);
    assert.equal(s.row.model, 'gpt-4o-mini');
    assert.equal(s.row.stream, true);
  });
  await withGateway({ strong: 'gpt-4o', weak: 'gpt-4o-mini:refuse' }, async (g) => {
    const s = await chat(g, { model: 'cascade', messages: user('stream please'), stream: true });
    assert.equal(s.res.headers.get('x-costgate-cascade'), 'escalated:refusal', 'a buffered stream is verified like a whole answer');
    assert.doesNotMatch(s.text, /sorry/i, 'the refusal never reached the client');
    assert.equal(s.row.model, 'gpt-4o');
    assert.deepEqual(s.row.attempts.map((a) => a.outcome), ['rejected', 'ok']);
  });
  await withGateway({ strong: 'gpt-4o', weak: 'gpt-4o-mini', cascade: { stream: 'strong' } }, async (g) => {
    const s = await chat(g, { model: 'cascade', messages: user('stream please'), stream: true });
    assert.equal(s.res.status, 200);
    await g.waitRecords(1);
    const [row] = await g.gw.request(s.res.headers.get('x-costgate-request-id')!);
    assert.equal(row!.model, 'gpt-4o');
    assert.match(row!.routeReason!, /escalated \(stream: cascade\.stream is strong/);
  });
  await withGateway({ strong: 'gpt-4o', weak: 'no-such-model' }, async (g) => {
    const r = await chat(g, { model: 'cascade', messages: user('hello') });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.row.model, 'gpt-4o');
    assert.match(r.row.routeReason!, /escalated \(weak failed: /);
    assert.equal(r.row.attempts[0]!.outcome, 'error');
  });
});

test('rules, auto tiers and the learned dial: decisions and reasons in the ledger', async () => {
  const routing = {
    strong: 'gpt-4o',
    weak: 'gpt-4o-mini',
    tiers: { simple: 'gpt-4.1-nano', medium: 'gpt-4o-mini', complex: 'gpt-4o' },
    rules: [{ name: 'vision', priority: 10, when: { images: true }, model: 'gpt-4.1' }],
  };
  await withGateway(routing, async (g) => {
    const a = await chat(g, { model: 'auto', messages: user('hi') });
    assert.equal(a.row.model, 'gpt-4.1-nano');
    assert.match(a.row.routeReason!, /^tier: model auto; tier simple score=/);
    const img = await chat(g, { model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] }] });
    assert.equal(img.row.model, 'gpt-4.1');
    assert.match(img.row.routeReason!, /^rule: rule vision \(priority 10\) → gpt-4\.1$/);
    const hi = await chat(g, { model: 'router', messages: user('hi') }, { 'x-costgate-quality': '1' });
    assert.equal(hi.row.model, 'gpt-4o');
    assert.match(hi.row.routeReason!, /^learned: .*learned score=.* → strong/);
    const lo = await chat(g, { model: 'router', messages: user('hi') }, { 'x-costgate-quality': '0' });
    assert.equal(lo.row.model, 'gpt-4o-mini');
    const bad = await chat(g, { model: 'router', messages: user('hi') }, { 'x-costgate-quality': '2' });
    assert.equal(bad.res.status, 400);
    assert.match(bad.json.error.message, /x-costgate-quality must be a number from 0 to 1/);
    const plain = await chat(g, { model: 'gpt-4o', messages: user('hi') });
    assert.equal(plain.row.model, 'gpt-4o', 'a concrete model is not routed without routing.all');
    assert.equal(plain.row.routeReason, 'provider model pattern');
  });
});

test('budget pressure: near a hard budget the strong choice becomes weak', async () => {
  const routing = { strong: 'gpt-4o', weak: 'gpt-4o-mini', budget: { preferWeakAt: 0 }, rules: [{ name: 'strong', when: {}, model: '@strong' }] };
  await withGateway(routing, async (g) => {
    const r = await chat(g, { model: 'auto', messages: user('hi') });
    assert.equal(r.row.model, 'gpt-4o-mini');
    assert.match(r.row.routeReason!, /budget 0% used ≥ 0% → weak gpt-4o-mini/);
  }, { budgets: [{ name: 'all', scope: 'global', amount: 100, window: 'month', mode: 'hard' }] });
  await withGateway(routing, async (g) => {
    const r = await chat(g, { model: 'auto', messages: user('hi') });
    assert.equal(r.row.model, 'gpt-4o', 'no budget applies: no pressure');
  });
});

test('costgate router train: outcomes JSONL → model file → routing.learned.model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-router-'));
  try {
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify(i % 2 ? { prompt: `prove the theorem about integrals ${i}`, strong: 1, weak: 0 } : { prompt: `say hello to my friend ${i}`, strong: 1, weak: 1 }));
    writeFileSync(join(dir, 'o.jsonl'), lines.join('\n') + '\n');
    const out = join(dir, 'm.json');
    const r = spawnSync(process.execPath, [BIN, 'router', 'train', join(dir, 'o.jsonl'), '-o', out, '--buckets', '4096'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /trained on \d+ lines, calibrated on \d+, \d+ held out \(not read\)/);
    await withGateway({ strong: 'gpt-4o', weak: 'gpt-4o-mini', learned: { model: out, strongShare: 0.5 } }, async (g) => {
      assert.equal((await chat(g, { model: 'router', messages: user('prove the theorem about integrals') })).row.model, 'gpt-4o');
      assert.equal((await chat(g, { model: 'router', messages: user('say hello to my friend') })).row.model, 'gpt-4o-mini');
    });
    const bad = spawnSync(process.execPath, [BIN, 'router', 'train', join(dir, 'o.jsonl'), '-o', out, '--label', 'nope'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--label must be strong-wins or weak-fails/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cascade on the Anthropic surface: the refusal is read from content blocks, the client gets one Messages answer', async () => {
  await withGateway({ strong: 'claude-sonnet-4-5', weak: 'gpt-4o-mini:refuse' }, async (g) => {
    const res = await fetch(`${g.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'cascade', max_tokens: 64, messages: user('Summarise this ticket') }),
    });
    const j = await res.json();
    assert.equal(res.status, 200, JSON.stringify(j));
    assert.equal(j.type, 'message');
    assert.equal(res.headers.get('x-costgate-cascade'), 'escalated:refusal');
    const [row] = await g.gw.request(res.headers.get('x-costgate-request-id')!);
    assert.equal(row!.model, 'claude-sonnet-4-5');
    assert.deepEqual(row!.attempts.map((a) => a.outcome), ['rejected', 'ok']);
  });
});

test('LLM classifier mode: a metered side call decides the tier; an unusable answer falls back to the local classifier', async () => {
  const { CLASSIFIER_PROMPT } = await import('../src/routing/llm-classifier.js');
  let verdict = 'complex';
  const g = await startTestGateway({
    config: { ledger: { store: 'memory' }, routing: { tiers: { simple: 'gpt-4.1-nano', medium: 'gpt-4o-mini', complex: 'gpt-4o' }, classifier: { mode: 'llm' } } },
    simulator: { answer: (_m, body) => (body.messages?.[0]?.content === CLASSIFIER_PROMPT ? verdict : undefined) },
  });
  try {
    const r = await chat(g, { model: 'auto', messages: user('hi') });
    assert.equal(r.row.model, 'gpt-4o', 'the LLM said complex although the local classifier says simple');
    assert.match(r.row.routeReason!, /tier complex by llm/);
    const side = (await g.gw.requests({ feature: 'costgate-router' })).rows;
    assert.equal(side.length, 1, 'the classifier call is its own ledger row');
    assert.equal(side[0]!.requestedModel, 'gpt-4.1-nano');
    assert.equal(side[0]!.routeReason, 'provider model pattern', 'the side call itself is not routed');
    verdict = 'banana';
    const f = await chat(g, { model: 'auto', messages: user('hi') });
    assert.equal(f.row.model, 'gpt-4.1-nano');
    assert.match(f.row.routeReason!, /tier simple score=.*llm classifier gave no tier → local/);
  } finally {
    await g.close();
  }
});

test('cascade and hard budgets: both possible answers are reserved up front', async () => {
  await withGateway({ strong: 'gpt-4o', weak: 'gpt-4o-mini' }, async (g) => {
    const body = { messages: user('hello there'), max_tokens: 100 };
    const weak = await chat(g, { model: 'gpt-4o-mini', ...body });
    assert.equal(weak.res.status, 200, 'the weak model alone fits the budget');
    const c = await chat(g, { model: 'cascade', ...body });
    assert.equal(c.res.status, 402, c.text);
    assert.equal(c.json.error.code, 'budget_exceeded');
  }, { budgets: [{ name: 'tiny', scope: 'global', amount: 0.0005, window: 'month', mode: 'hard' }] });
});

test('routing composes with fallbacks: a routed alias whose primary fails falls back to its next deployment', async () => {
  await withGateway({ strong: 'gpt-4o', weak: 'cheap' }, async (g) => {
    const r = await chat(g, { model: 'router', messages: user('hi') }, { 'x-costgate-quality': '0' });
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.row.model, 'gpt-4o-mini');
    assert.equal(r.row.routeDecision, 'broken-mini', 'the decision names the primary the router chose');
    assert.match(r.row.routeReason!, /→ weak → cheap$/);
    assert.deepEqual(r.row.attempts.map((a) => [a.deployment, a.outcome]), [['broken-mini', 'error'], ['mini', 'ok']]);
  }, {
    deployments: [
      { name: 'broken-mini', provider: 'simulator', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '500' } },
      { name: 'mini', provider: 'simulator', model: 'gpt-4o-mini' },
    ],
    models: { cheap: { deployments: ['broken-mini', 'mini'] } },
    retries: { attempts: 1 },
  });
});
