/**
 * What the gateway keeps in memory: a gateway whose upstreams report usage and that runs no simulator never loads
 * the tokenizer's tables (~70 MB of RSS), and the recent-records window is a fixed ring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RecentRing } from '../src/gateway.js';
import { startTestGateway } from './helpers/gateway.js';

const dist = (p: string) => new URL(`../src/${p}`, import.meta.url).href;

/** Runs `body` as an ES module in a fresh node process (so nothing earlier in this file has loaded anything). */
function fresh(body: string): { status: number | null; stdout: string; stderr: string } {
  const script = `import { createGateway } from ${JSON.stringify(dist('gateway.js'))};
import { tokenizerLoaded } from ${JSON.stringify(dist('tokens/count.js'))};
${body}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)), timeout: 30_000 });
}

test('a gateway with a real-provider config does not load the tokenizer until it must count', () => {
  const r = fresh(`
import { createServer } from 'node:http';
let withUsage = true;
const up = createServer((req, res) => {
  let b = '';
  req.on('data', (c) => (b += c));
  req.on('end', () => {
    const j = JSON.parse(b);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: j.model, choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
      ...(withUsage ? { usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 } } : {}) }));
  });
});
await new Promise((r) => up.listen(0, '127.0.0.1', r));
const gw = await createGateway({ env: {}, config: { providers: { up: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:' + up.address().port + '/v1', models: ['*'] } }, ledger: { store: 'memory' } } });
const out = { atStart: tokenizerLoaded() };
const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is the capital of France?' }] };
let res = await gw.handle({ endpoint: 'chat', body, headers: {} });
out.status = res.status;
out.afterUsage = tokenizerLoaded();
withUsage = false;
res = await gw.handle({ endpoint: 'chat', body, headers: {} });
out.afterNoUsage = tokenizerLoaded();
out.usage = gw.recent().map((r) => r.usage);
await gw.close();
up.close();
console.log(JSON.stringify(out));
`);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.status, 200);
  assert.equal(out.atStart, false, 'createGateway loaded the tokenizer');
  assert.equal(out.afterUsage, false, 'a response with usage loaded the tokenizer');
  assert.equal(out.afterNoUsage, true);
  assert.equal(out.usage[0].inputTokens, 11);
  assert.notEqual(out.usage[0].estimated, true);
  // Estimated with o200k: 3 priming + (3 + 7) for the message; "Paris." is 2 tokens.
  assert.deepEqual([out.usage[1].inputTokens, out.usage[1].outputTokens, out.usage[1].estimated], [13, 2, true]);
});

test('the in-process simulator is loaded on demand and still serves (and counts) in-process', async () => {
  const t = await startTestGateway();
  try {
    const res = await t.gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello world' }], logprobs: true, top_logprobs: 2 }, headers: {} });
    assert.equal(res.status, 200);
    const body = JSON.parse(String(res.body));
    assert.ok(body.choices[0].message.content.length > 0);
    assert.ok(body.choices[0].logprobs.content.length > 0);
    assert.equal(body.usage.prompt_tokens, 3 + 3 + 2);
    assert.equal(t.gw.models().data.some((m) => m.id === 'gpt-4o-mini'), true);
  } finally {
    await t.close();
  }
});

test('RecentRing keeps the last N, oldest first', () => {
  const r = new RecentRing<number>(3);
  assert.deepEqual(r.toArray(), []);
  r.push(1);
  r.push(2);
  assert.deepEqual(r.toArray(), [1, 2]);
  r.push(3);
  r.push(4);
  r.push(5);
  assert.deepEqual(r.toArray(), [3, 4, 5]);
  assert.equal(r.length, 3);
  for (let i = 6; i <= 10; i++) r.push(i);
  assert.deepEqual(r.toArray(), [8, 9, 10]);
});

test('gw.recent() holds the last 1,000 records in order', async () => {
  const t = await startTestGateway();
  try {
    for (let i = 0; i < 1003; i++) {
      // Rejected requests are recorded too, and cost no upstream call: a quick way past the window.
      await t.gw.handle({ endpoint: 'chat', body: { model: `m-${i}` }, headers: {} });
    }
    const recent = t.gw.recent();
    assert.equal(recent.length, 1000);
    assert.equal(recent[0]!.requestedModel, 'm-3');
    assert.equal(recent.at(-1)!.requestedModel, 'm-1002');
  } finally {
    await t.close();
  }
});
