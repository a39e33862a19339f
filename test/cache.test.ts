/** Response cache: exact hits (JSON and SSE replay, both wires), TTL, Cache-Control, sampled requests, dedup, stores, ledger. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import { startSimulator, type Simulator } from '../src/providers/simulator/server.js';
import type { SemanticLayer } from '../src/cache/types.js';
import type { GatewayOptions } from '../src/gateway.js';

const CHAT = '/v1/chat/completions';
const MSGS = '/v1/messages';

interface Rig {
  t: TestGateway;
  sim: Simulator;
  calls(path?: string): number;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  close(): Promise<void>;
}

async function rig(cache: Record<string, unknown>, o: { sim?: Parameters<typeof startSimulator>[0]; deps?: Record<string, unknown>[]; retries?: number; gw?: GatewayOptions } = {}): Promise<Rig> {
  const sim = await startSimulator({ ...o.sim });
  const config = {
    providers: { sim: { type: 'simulator', baseUrl: sim.baseUrl } },
    deployments: o.deps ?? [],
    models: o.deps ? { m: { deployments: o.deps.map((d) => String(d.name)) } } : {},
    retries: { attempts: o.retries ?? 1, baseDelayMs: 1, maxDelayMs: 5 },
    circuitBreaker: { failureThreshold: 1000, cooldownMs: 60_000 },
    ledger: { store: 'memory' },
    cache: { enabled: true, ...cache },
  };
  const t = await startTestGateway({ config: config as never, ...o.gw });
  return {
    t,
    sim,
    calls: (path = CHAT) => sim.counts[path] ?? 0,
    post: (path, body, headers = {}) => postJson(t.url + path, body, { ...(path === MSGS ? { 'anthropic-version': '2023-06-01' } : {}), ...headers }),
    async close() {
      await t.close();
      await sim.close();
    },
  };
}

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', temperature: 0, max_tokens: 20, messages: [{ role: 'user', content }], ...extra });
const claude = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'claude-haiku-4-5', temperature: 0, max_tokens: 20, messages: [{ role: 'user', content }], ...extra });

/** SSE text → the data payloads (JSON-parsed, `[DONE]` kept as a string) and event names. */
function sse(text: string): { events: (string | undefined)[]; data: any[] } {
  const events: (string | undefined)[] = [];
  const data: any[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    const ev = /^event: (.*)$/m.exec(block)?.[1];
    const d = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    events.push(ev);
    data.push(d === '[DONE]' ? d : JSON.parse(d));
  }
  return { events, data };
}

const openaiStreamText = (text: string) => sse(text).data.filter((d) => typeof d === 'object').map((d) => d.choices?.[0]?.delta?.content ?? '').join('');
const anthropicStreamText = (text: string) => sse(text).data.filter((d) => d.type === 'content_block_delta').map((d) => d.delta.text ?? '').join('');

async function ledger(r: Rig, n: number) {
  await r.t.waitRecords(n);
  const { rows } = await r.t.gw.requests({ limit: 1000 });
  return rows.reverse();
}

test('exact hit (OpenAI JSON): miss then hit with Age, same body, no upstream call, $0 with avoided cost in the ledger', async () => {
  const r = await rig({});
  try {
    const a = await r.post(CHAT, chat('What is the capital of France?'));
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-costgate-cache'), 'miss');
    assert.equal(a.headers.get('age'), null);
    // Key order and attribution fields do not change the key.
    const b = await r.post(CHAT, { max_tokens: 20, messages: [{ content: 'What is the capital of France?', role: 'user' }], temperature: 0, model: 'gpt-4o-mini', user: 'someone-else' }, { 'x-costgate-feature': 'f2' });
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('x-costgate-cache'), 'hit');
    assert.match(b.headers.get('age') ?? '', /^\d+$/);
    assert.equal(b.headers.get('content-type'), 'application/json');
    assert.equal(b.headers.get('x-costgate-cost-usd'), '0.000000000');
    assert.equal(b.headers.get('x-costgate-provider'), 'sim');
    assert.deepEqual(b.json, a.json);
    assert.equal(r.calls(), 1);
    const [m, h] = await ledger(r, 2);
    assert.equal(m!.cacheStatus, 'miss');
    assert.ok(m!.costNanos > 0);
    assert.equal(h!.cacheStatus, 'exact');
    assert.equal(h!.costNanos, 0);
    assert.equal(h!.avoidedCostNanos, m!.costNanos);
    assert.equal(h!.attemptCount, 0);
    assert.equal(h!.outputTokens, m!.outputTokens);
    assert.equal((await r.t.gw.request(h!.requestId))[0]!.attempts.length, 0);
    const rep = await r.t.gw.report({}, []);
    assert.equal(rep.total.cacheHits, 1);
    assert.equal(rep.total.avoidedCostNanos, BigInt(m!.costNanos));
    // A different question, or another model, is another key.
    const c = await r.post(CHAT, chat('What is the capital of Spain?'));
    assert.equal(c.headers.get('x-costgate-cache'), 'miss');
    const d = await r.post(CHAT, { ...chat('What is the capital of France?'), model: 'gpt-4o' });
    assert.equal(d.headers.get('x-costgate-cache'), 'miss');
    assert.equal(r.calls(), 3);
  } finally {
    await r.close();
  }
});

test('OpenAI stream: a streamed miss is stored whole; replays as SSE (usage chunk only when asked) and as JSON', async () => {
  const r = await rig({});
  try {
    const q = chat('Tell me about streams', { stream: true, stream_options: { include_usage: true } });
    const a = await r.post(CHAT, q);
    assert.equal(a.headers.get('x-costgate-cache'), 'miss');
    const text = openaiStreamText(a.text);
    assert.ok(text.length > 0);
    const b = await r.post(CHAT, q);
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('x-costgate-cache'), 'hit');
    assert.match(b.headers.get('content-type') ?? '', /^text\/event-stream/);
    const s = sse(b.text);
    assert.equal(s.data.at(-1), '[DONE]');
    assert.equal(s.data[0].object, 'chat.completion.chunk');
    assert.equal(s.data[0].choices[0].delta.role, 'assistant');
    assert.ok(s.data.length > 4, 'replayed in several chunks');
    assert.equal(openaiStreamText(b.text), text);
    const usage = s.data.filter((d) => typeof d === 'object' && d.usage)[0];
    const origUsage = sse(a.text).data.filter((d) => typeof d === 'object' && d.usage)[0];
    assert.deepEqual(usage.usage, origUsage.usage);
    assert.deepEqual(usage.choices, []);
    assert.equal(s.data.filter((d) => typeof d === 'object' && d.choices?.[0]?.finish_reason)[0].choices[0].finish_reason, sse(a.text).data.filter((d) => typeof d === 'object' && d.choices?.[0]?.finish_reason)[0].choices[0].finish_reason);
    // Without include_usage: no usage chunk.
    const c = await r.post(CHAT, chat('Tell me about streams', { stream: true }));
    assert.equal(c.headers.get('x-costgate-cache'), 'hit');
    assert.equal(sse(c.text).data.filter((d) => typeof d === 'object' && d.usage).length, 0);
    assert.equal(openaiStreamText(c.text), text);
    // The same question without streaming: the stored document.
    const d = await r.post(CHAT, chat('Tell me about streams'));
    assert.equal(d.headers.get('x-costgate-cache'), 'hit');
    assert.equal(d.json.object, 'chat.completion');
    assert.equal(d.json.choices[0].message.content, text);
    assert.equal(d.json.usage.completion_tokens, origUsage.usage.completion_tokens);
    assert.equal(r.calls(), 1);
    const rows = await ledger(r, 4);
    assert.deepEqual(rows.map((x) => x.cacheStatus), ['miss', 'exact', 'exact', 'exact']);
    for (const h of rows.slice(1)) {
      assert.equal(h.costNanos, 0);
      assert.equal(h.avoidedCostNanos, rows[0]!.costNanos);
      assert.ok(h.avoidedCostNanos > 0);
    }
  } finally {
    await r.close();
  }
});

test('Anthropic messages: JSON and streamed hits replay the message in Anthropic events', async () => {
  const r = await rig({});
  try {
    const a = await r.post(MSGS, claude('Name three rivers'));
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-costgate-cache'), 'miss');
    const b = await r.post(MSGS, claude('Name three rivers', { stream: true }));
    assert.equal(b.headers.get('x-costgate-cache'), 'hit');
    const s = sse(b.text);
    assert.deepEqual([s.events[0], s.events[1], s.events.at(-2), s.events.at(-1)], ['message_start', 'content_block_start', 'message_delta', 'message_stop']);
    assert.equal(s.data[0].message.id, a.json.id);
    assert.equal(anthropicStreamText(b.text), a.json.content.map((c: any) => c.text).join(''));
    assert.equal(s.data.at(-2).delta.stop_reason, a.json.stop_reason);
    assert.equal(s.data.at(-2).usage.output_tokens, a.json.usage.output_tokens);
    const c = await r.post(MSGS, claude('Name three rivers'));
    assert.deepEqual(c.json, a.json);
    // A streamed miss is stored too.
    const d = await r.post(MSGS, claude('Name three lakes', { stream: true }));
    assert.equal(d.headers.get('x-costgate-cache'), 'miss');
    const e = await r.post(MSGS, claude('Name three lakes'));
    assert.equal(e.headers.get('x-costgate-cache'), 'hit');
    assert.equal(e.json.type, 'message');
    assert.equal(e.json.content[0].text, anthropicStreamText(d.text));
    assert.equal(r.calls(MSGS), 2);
    const rows = await ledger(r, 5);
    assert.deepEqual(rows.map((x) => x.cacheStatus), ['miss', 'exact', 'exact', 'miss', 'exact']);
    assert.ok(rows.filter((x) => x.cacheStatus === 'exact').every((x) => x.costNanos === 0 && x.avoidedCostNanos > 0));
  } finally {
    await r.close();
  }
});

test('TTL: an entry is served until it expires (injected clock), then the call goes upstream again', async () => {
  let now = 1_000_000;
  const r = await rig({ ttl: '10s', routes: { 'gpt-4o-mini': { ttl: 2000 } } }, { gw: { cacheNow: () => now } });
  try {
    assert.equal((await r.post(CHAT, chat('ttl question'))).headers.get('x-costgate-cache'), 'miss');
    now += 1999;
    const b = await r.post(CHAT, chat('ttl question'));
    assert.equal(b.headers.get('x-costgate-cache'), 'hit');
    assert.equal(b.headers.get('age'), '1');
    now += 1;
    assert.equal((await r.post(CHAT, chat('ttl question'))).headers.get('x-costgate-cache'), 'miss');
    assert.equal(r.calls(), 2);
    // Another model falls back to the section's 10 s.
    assert.equal((await r.post(CHAT, { ...chat('ttl question'), model: 'gpt-4o' })).headers.get('x-costgate-cache'), 'miss');
    now += 9999;
    assert.equal((await r.post(CHAT, { ...chat('ttl question'), model: 'gpt-4o' })).headers.get('x-costgate-cache'), 'hit');
  } finally {
    await r.close();
  }
});

test('Cache-Control: no-store neither reads nor writes; no-cache skips the lookup but stores the fresh answer', async () => {
  const r = await rig({});
  try {
    const a = await r.post(CHAT, chat('cc question'), { 'cache-control': 'no-store' });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-costgate-cache'), 'bypass');
    // Not stored by the no-store call:
    assert.equal((await r.post(CHAT, chat('cc question'))).headers.get('x-costgate-cache'), 'miss');
    // Stored now, but a no-store call does not read it:
    assert.equal((await r.post(CHAT, chat('cc question'), { 'cache-control': 'no-store' })).headers.get('x-costgate-cache'), 'bypass');
    assert.equal(r.calls(), 3);
    // no-cache: revalidate (upstream), and the fresh answer replaces the entry.
    const n = await r.post(CHAT, chat('cc question'), { 'cache-control': 'no-cache' });
    assert.equal(n.headers.get('x-costgate-cache'), 'miss');
    assert.equal(r.calls(), 4);
    const h = await r.post(CHAT, chat('cc question'));
    assert.equal(h.headers.get('x-costgate-cache'), 'hit');
    assert.equal(h.json.id, n.json.id);
    assert.equal(r.calls(), 4);
    const rows = await ledger(r, 5);
    assert.deepEqual(rows.map((x) => x.cacheStatus), ['miss', 'miss', 'miss', 'miss', 'exact']);
  } finally {
    await r.close();
  }
});

test('sampled requests (temperature > 0 or unset without seed, n > 1) bypass unless the route allows them', async () => {
  const r = await rig({ routes: { 'gpt-4o': { nonDeterministic: true } } });
  try {
    for (const body of [chat('sampled', { temperature: 0.7 }), { model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'sampled' }] }, chat('sampled', { n: 2 })]) {
      assert.equal((await r.post(CHAT, body)).headers.get('x-costgate-cache'), 'bypass');
      assert.equal((await r.post(CHAT, body)).headers.get('x-costgate-cache'), 'bypass');
    }
    assert.equal(r.calls(), 6);
    // A seed makes a sampled OpenAI call reproducible: cacheable.
    assert.equal((await r.post(CHAT, chat('seeded', { temperature: 0.7, seed: 42 }))).headers.get('x-costgate-cache'), 'miss');
    assert.equal((await r.post(CHAT, chat('seeded', { temperature: 0.7, seed: 42 }))).headers.get('x-costgate-cache'), 'hit');
    assert.equal((await r.post(CHAT, chat('seeded', { temperature: 0.7, seed: 43 }))).headers.get('x-costgate-cache'), 'miss');
    // The route that opts in caches them.
    const body = { ...chat('sampled', { temperature: 0.9 }), model: 'gpt-4o' };
    assert.equal((await r.post(CHAT, body)).headers.get('x-costgate-cache'), 'miss');
    assert.equal((await r.post(CHAT, body)).headers.get('x-costgate-cache'), 'hit');
    assert.equal(r.calls(), 9);
  } finally {
    await r.close();
  }
});

test('per-feature enablement: a feature turned off passes untouched, one turned on is cached while the section is off', async () => {
  const r = await rig({ enabled: false, features: { faq: { enabled: true } } });
  try {
    const a = await r.post(CHAT, chat('feature q'));
    assert.equal(a.headers.get('x-costgate-cache'), null);
    assert.equal((await r.post(CHAT, chat('feature q'), { 'x-costgate-feature': 'faq' })).headers.get('x-costgate-cache'), 'miss');
    assert.equal((await r.post(CHAT, chat('feature q'), { 'x-costgate-feature': 'faq' })).headers.get('x-costgate-cache'), 'hit');
    assert.equal((await r.post(CHAT, chat('feature q'))).headers.get('x-costgate-cache'), null);
    assert.equal(r.calls(), 3);
  } finally {
    await r.close();
  }
});

test('errors and cut streams are never stored', async () => {
  const r = await rig({}, { deps: [{ name: 'bad', provider: 'sim', model: 'gpt-4o-mini', headers: { 'x-sim-fault': 'cut-stream:3@1' } }] });
  try {
    const q = { ...chat('cut me', { stream: true }), model: 'm' };
    const a = await r.post(CHAT, q);
    assert.equal(a.status, 200);
    assert.ok(a.text.includes('"error"'), 'in-stream error event');
    const b = await r.post(CHAT, q);
    assert.equal(b.headers.get('x-costgate-cache'), 'miss');
    assert.ok(b.text.includes('[DONE]'));
    assert.equal((await r.post(CHAT, q)).headers.get('x-costgate-cache'), 'hit');
    assert.equal(r.calls(), 2);
  } finally {
    await r.close();
  }
});

test('dedup: 100 identical concurrent JSON calls → 1 upstream call; 99 dedup rows at $0 with avoided cost', async () => {
  const r = await rig({}, { sim: { ttftMs: 400 } });
  try {
    const res = await Promise.all(Array.from({ length: 100 }, () => r.post(CHAT, chat('dedup me'))));
    assert.equal(r.calls(), 1);
    assert.ok(res.every((x) => x.status === 200));
    const hdr = res.map((x) => x.headers.get('x-costgate-cache'));
    assert.equal(hdr.filter((h) => h === 'miss').length, 1);
    assert.equal(hdr.filter((h) => h === 'dedup').length, 99);
    assert.ok(res.every((x) => x.text === res[0]!.text));
    const rows = await ledger(r, 100);
    const lead = rows.filter((x) => x.cacheStatus === 'miss');
    const foll = rows.filter((x) => x.cacheStatus === 'dedup');
    assert.equal(lead.length, 1);
    assert.equal(foll.length, 99);
    assert.ok(foll.every((x) => x.costNanos === 0 && x.avoidedCostNanos === lead[0]!.costNanos && x.attemptCount === 0 && x.status === 200));
    // And then it is a plain hit.
    assert.equal((await r.post(CHAT, chat('dedup me'))).headers.get('x-costgate-cache'), 'hit');
  } finally {
    await r.close();
  }
});

test('dedup: 100 identical concurrent streams → 1 upstream call, every follower gets the same stream chunk for chunk', async () => {
  const r = await rig({}, { sim: { ttftMs: 300, perTokenMs: 5 } });
  try {
    const q = chat('stream dedup', { stream: true, stream_options: { include_usage: true } });
    const res = await Promise.all(Array.from({ length: 100 }, () => r.post(CHAT, q)));
    assert.equal(r.calls(), 1);
    assert.ok(res.every((x) => x.status === 200));
    assert.equal(res.filter((x) => x.headers.get('x-costgate-cache') === 'dedup').length, 99);
    assert.ok(res[0]!.text.endsWith('data: [DONE]\n\n'));
    assert.ok(res.every((x) => x.text === res[0]!.text), 'identical bytes');
    const rows = await ledger(r, 100);
    const foll = rows.filter((x) => x.cacheStatus === 'dedup');
    assert.equal(foll.length, 99);
    assert.ok(foll.every((x) => x.status === 200 && x.costNanos === 0 && x.avoidedCostNanos > 0 && x.outputTokens > 0));
    // A JSON call for the same question is a different flight but the stored stream serves it.
    assert.equal((await r.post(CHAT, chat('stream dedup'))).headers.get('x-costgate-cache'), 'hit');
  } finally {
    await r.close();
  }
});

test('dedup: the leader failing does not fail its followers — one of them leads again', async () => {
  const r = await rig({}, { sim: { ttftMs: 300 }, deps: [{ name: 'flaky', provider: 'sim', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '500@1' } }] });
  try {
    const res = await Promise.all(Array.from({ length: 20 }, () => r.post(CHAT, { ...chat('leader fails'), model: 'm' })));
    assert.equal(r.calls(), 2);
    const statuses = res.map((x) => x.status).sort();
    assert.equal(statuses.filter((s) => s === 502).length, 1, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 200).length, 19);
    const ok = res.filter((x) => x.status === 200);
    assert.equal(ok.filter((x) => x.headers.get('x-costgate-cache') === 'miss').length, 1);
    assert.equal(ok.filter((x) => x.headers.get('x-costgate-cache') === 'dedup').length, 18);
    assert.ok(ok.every((x) => x.text === ok[0]!.text));
  } finally {
    await r.close();
  }
});

test('dedup: a client error is the same for every identical call — followers get it without another upstream call', async () => {
  const r = await rig({}, { sim: { ttftMs: 200 }, deps: [{ name: 'refuses', provider: 'sim', model: 'gpt-4o-mini', headers: { 'x-sim-fault': 'status:400' } }] });
  try {
    // In-process, so all ten reach the cache stage before the simulator's error comes back (it answers faults at once).
    const res = await Promise.all(Array.from({ length: 10 }, () => r.t.gw.handle({ endpoint: 'chat', body: { ...chat('bad request'), model: 'm' }, headers: {} })));
    assert.equal(r.calls(), 1);
    assert.ok(res.every((x) => x.status === 400), JSON.stringify(res.map((x) => x.status)));
    const msgs = res.map((x) => JSON.parse(String(x.body)).error.message);
    assert.ok(msgs.every((m) => m === msgs[0]));
    assert.equal((await r.post(CHAT, { ...chat('bad request'), model: 'm' })).status, 400);
    assert.equal(r.calls(), 2, 'an error is never stored');
  } finally {
    await r.close();
  }
});

test('SQLite store: entries survive a gateway restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-cache-'));
  const path = join(dir, 'cache.db');
  try {
    let r = await rig({ store: { kind: 'sqlite', path } });
    assert.equal((await r.post(CHAT, chat('persist me'))).headers.get('x-costgate-cache'), 'miss');
    const first = await r.post(CHAT, chat('persist me'));
    await r.close();
    r = await rig({ store: { kind: 'sqlite', path } });
    try {
      const b = await r.post(CHAT, chat('persist me'));
      assert.equal(b.headers.get('x-costgate-cache'), 'hit');
      assert.deepEqual(b.json, first.json);
      assert.equal(r.calls(), 0);
      const b2 = await r.post(CHAT, chat('persist me', { stream: true }));
      assert.equal(b2.headers.get('x-costgate-cache'), 'hit');
      assert.equal(openaiStreamText(b2.text), first.json.choices[0].message.content);
    } finally {
      await r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('memory store: the byte limit evicts the least recently used entries', async () => {
  const r = await rig({ store: { kind: 'memory', maxBytes: 4096 } });
  try {
    const qs = Array.from({ length: 8 }, (_, i) => chat(`lru question ${i}`));
    await r.post(CHAT, qs[0]);
    const store = r.t.gw.cacheStore as import('../src/stores/cache/memory.js').MemoryCacheStore;
    const one = store.bytes;
    assert.ok(one > 500 && one < 2048, `entry size ${one}`);
    const fits = Math.floor(4096 / one);
    for (const q of qs.slice(1, fits)) await r.post(CHAT, q);
    assert.equal(store.size, fits);
    // Touch the oldest, then add one more: the second oldest goes, the touched one stays.
    assert.equal((await r.post(CHAT, qs[0])).headers.get('x-costgate-cache'), 'hit');
    await r.post(CHAT, qs[fits]);
    assert.ok(store.bytes <= 4096);
    assert.equal(store.evictions, 1);
    assert.equal((await r.post(CHAT, qs[0])).headers.get('x-costgate-cache'), 'hit');
    assert.equal((await r.post(CHAT, qs[1])).headers.get('x-costgate-cache'), 'miss');
  } finally {
    await r.close();
  }
});

/** A tiny in-test semantic layer: the same words, case and punctuation aside, with a fixed score. */
class FakeSemantic implements SemanticLayer {
  readonly entries: { scope: string; text: string; key: string }[] = [];
  lookups = 0;
  private norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9 ]/g, '').trim();
  async lookup(scope: string, text: string, o: { threshold?: number }) {
    this.lookups++;
    const e = this.entries.find((x) => x.scope === scope && this.norm(x.text) === this.norm(text));
    return e && (o.threshold ?? 0) <= 0.95 ? { key: e.key, score: 0.95, text: e.text } : undefined;
  }
  async insert(scope: string, text: string, key: string) {
    this.entries.push({ scope, text, key });
  }
  async close() {}
}

test('semantic hook: on → served with x-costgate-cache: semantic; multi-turn scope isolation; threshold passed through', async () => {
  const semantic = new FakeSemantic();
  const r = await rig({ semantic: 'on', routes: { 'gpt-4o': { threshold: 0.99 } } }, { gw: { semantic } });
  try {
    const a = await r.post(CHAT, chat('What is the capital of France?'));
    assert.equal(a.headers.get('x-costgate-cache'), 'miss');
    assert.equal(semantic.entries.length, 1);
    assert.equal(semantic.entries[0]!.text, 'What is the capital of France?');
    const b = await r.post(CHAT, chat('what is the capital of france'));
    assert.equal(b.headers.get('x-costgate-cache'), 'semantic');
    assert.equal(b.json.choices[0].message.content, a.json.choices[0].message.content);
    // The same last question after a different conversation is another scope: no hit.
    const conv = { ...chat('x'), messages: [{ role: 'user', content: 'I live in Texas.' }, { role: 'assistant', content: 'Nice.' }, { role: 'user', content: 'what is the capital of france' }] };
    assert.equal((await r.post(CHAT, conv)).headers.get('x-costgate-cache'), 'miss');
    // A different system prompt is another scope too.
    const sys = { ...chat('x'), messages: [{ role: 'system', content: 'Answer in French.' }, { role: 'user', content: 'what is the capital of france' }] };
    assert.equal((await r.post(CHAT, sys)).headers.get('x-costgate-cache'), 'miss');
    // The route's threshold (0.99) is above the fake's score: no hit on gpt-4o.
    await r.post(CHAT, { ...chat('Capital of Italy?'), model: 'gpt-4o' });
    assert.equal((await r.post(CHAT, { ...chat('capital of italy'), model: 'gpt-4o' })).headers.get('x-costgate-cache'), 'miss');
    assert.equal(r.calls(), 5);
    const rows = await ledger(r, 6);
    const sem = rows.find((x) => x.cacheStatus === 'semantic')!;
    assert.equal(sem.costNanos, 0);
    assert.equal(sem.avoidedCostNanos, rows[0]!.costNanos);
    assert.equal(sem.cacheScore, 0.95);
    assert.equal((await r.t.gw.report({}, [])).total.cacheHits, 1);
  } finally {
    await r.close();
  }
});

test('semantic hook: shadow mode does not serve; the ledger records the would-be hit, its score and whether the answer matched', async () => {
  const semantic = new FakeSemantic();
  // Everest questions get one answer however they are put; Hamlet answers quote the question, so they differ.
  const answer = (_m: string, body: any) => {
    const q = String(body.messages.at(-1).content);
    if (/everest/i.test(q)) return 'Mount Everest is 8,849 metres tall.';
    if (/hamlet/i.test(q)) return `You asked: ${q}`;
    return undefined;
  };
  const r2 = await rig({ semantic: 'shadow' }, { sim: { answer }, gw: { semantic } });
  try {
    const a = await r2.post(CHAT, chat('How tall is Mount Everest?', { max_tokens: 40 }));
    assert.equal(a.json.choices[0].message.content, 'Mount Everest is 8,849 metres tall.');
    const b = await r2.post(CHAT, chat('how tall is mount everest', { max_tokens: 40 }));
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('x-costgate-cache'), 'miss');
    assert.notEqual(b.json.id, a.json.id);
    const bs = await r2.post(CHAT, chat('HOW TALL IS MOUNT EVEREST', { max_tokens: 40, stream: true }));
    assert.equal(bs.headers.get('x-costgate-cache'), 'miss');
    await r2.post(CHAT, chat('Who wrote Hamlet?', { max_tokens: 40 }));
    await r2.post(CHAT, chat('who wrote hamlet', { max_tokens: 40 }));
    assert.equal(r2.calls(), 5);
    const rows = await ledger(r2, 5);
    assert.deepEqual(rows.map((x) => x.cacheStatus), ['miss', 'shadow', 'shadow', 'miss', 'shadow']);
    assert.deepEqual(rows.map((x) => x.shadowMatch), [null, true, true, null, false]);
    assert.deepEqual(rows.map((x) => x.cacheScore), [null, 0.95, 0.95, null, 0.95]);
    // Would-be hits are not indexed (with `on` they would have been served, not stored): the index is the one `on` has.
    assert.deepEqual(semantic.entries.map((x) => x.text), ['How tall is Mount Everest?', 'Who wrote Hamlet?']);
    for (const x of rows) {
      assert.ok(x.costNanos > 0, 'a shadow call is paid for');
      assert.equal(x.avoidedCostNanos, 0);
    }
    assert.equal((await r2.t.gw.report({}, [])).total.cacheHits, 0);
  } finally {
    await r2.close();
  }
});

test('dedup stream: the leader\'s client leaving does not cut its followers; the upstream call finishes once', async () => {
  const r = await rig({}, { sim: { ttftMs: 100, perTokenMs: 20 } });
  try {
    const q = JSON.stringify(chat('leader leaves', { stream: true, max_tokens: 30 }));
    const ac = new AbortController();
    const leader = await fetch(r.t.url + CHAT, { method: 'POST', headers: { 'content-type': 'application/json' }, body: q, signal: ac.signal });
    assert.equal(leader.headers.get('x-costgate-cache'), 'miss');
    const follower = fetch(r.t.url + CHAT, { method: 'POST', headers: { 'content-type': 'application/json' }, body: q }).then(async (x) => ({ h: x.headers.get('x-costgate-cache'), text: await x.text() }));
    const reader = leader.body!.getReader();
    await reader.read();
    await new Promise((res) => setTimeout(res, 50));
    ac.abort();
    const f = await follower;
    assert.equal(f.h, 'dedup');
    assert.ok(f.text.endsWith('data: [DONE]\n\n'), f.text.slice(-200));
    assert.ok(openaiStreamText(f.text).length > 0);
    assert.equal(r.calls(), 1);
    // The whole answer was stored.
    const h = await r.post(CHAT, chat('leader leaves', { max_tokens: 30 }));
    assert.equal(h.headers.get('x-costgate-cache'), 'hit');
    assert.equal(h.json.choices[0].message.content, openaiStreamText(f.text));
    const rows = await ledger(r, 3);
    assert.deepEqual(rows.map((x) => x.cacheStatus).sort(), ['dedup', 'exact', 'miss']);
  } finally {
    await r.close();
  }
});

test('bad cache config is refused with the field named', async () => {
  const { parseConfig } = await import('../src/config/load.js');
  assert.throws(() => parseConfig({ cache: { ttl: 'forever' } }), /cache\.ttl/);
  assert.throws(() => parseConfig({ cache: { store: { kind: 'disk' } } }), /cache\.store/);
  assert.throws(() => parseConfig({ cache: { routes: { m: { semantic: 'maybe' } } } }), /cache\.routes\.m\.semantic/);
  assert.throws(() => parseConfig({ cache: { enabeld: true } }), /enabeld/);
});

test('a hit never reserves budget: with the budget spent, the cached question is served and a new one is refused', async () => {
  // The call's maximum cost, as the budget stage computes it, read from a refusal.
  let max: string;
  const sim = await startSimulator({});
  const cfg = (amount: string) => ({ providers: { sim: { type: 'simulator', baseUrl: sim.baseUrl } }, ledger: { store: 'memory' }, budgets: [{ name: 'tiny', scope: 'global', window: 'day', amount }], cache: { enabled: true } });
  try {
    const t0 = await startTestGateway({ config: cfg('0.000000001') as never });
    try {
      const refused = await t0.gw.handle({ endpoint: 'chat', body: chat('budget question'), headers: {} });
      assert.equal(refused.status, 402);
      max = JSON.parse(String(refused.body)).error.budget.max_call_cost_usd;
    } finally {
      await t0.close();
    }
    // Exactly one call's maximum: the first fits, and after it spent anything no second miss does.
    const t = await startTestGateway({ config: cfg(max) as never });
    try {
      const a = await t.gw.handle({ endpoint: 'chat', body: chat('budget question'), headers: {} });
      assert.equal(a.status, 200);
      assert.equal(a.headers['x-costgate-cache'], 'miss');
      await t.waitRecords(1);
      await new Promise((r) => setTimeout(r, 20));
      const b = await t.gw.handle({ endpoint: 'chat', body: chat('budget question'), headers: {} });
      assert.equal(b.status, 200);
      assert.equal(b.headers['x-costgate-cache'], 'hit');
      const c = await t.gw.handle({ endpoint: 'chat', body: chat('another budget question'), headers: {} });
      assert.equal(c.status, 402);
      assert.equal(JSON.parse(String(c.body)).error.code, 'budget_exceeded');
      assert.equal(sim.counts[CHAT], 1);
    } finally {
      await t.close();
    }
  } finally {
    await sim.close();
  }
});

test('dedup on the Anthropic surface: concurrent identical streams share one upstream call and one event stream', async () => {
  const r = await rig({}, { sim: { ttftMs: 300 } });
  try {
    const q = claude('Anthropic dedup', { stream: true });
    const res = await Promise.all(Array.from({ length: 10 }, () => r.post(MSGS, q)));
    assert.equal(r.calls(MSGS), 1);
    assert.ok(res.every((x) => x.status === 200 && x.text === res[0]!.text));
    assert.equal(res.filter((x) => x.headers.get('x-costgate-cache') === 'dedup').length, 9);
    assert.equal(sse(res[0]!.text).events.at(-1), 'message_stop');
    const rows = await ledger(r, 10);
    assert.equal(rows.filter((x) => x.cacheStatus === 'dedup' && x.costNanos === 0 && x.avoidedCostNanos > 0).length, 9);
  } finally {
    await r.close();
  }
});

test('dedup: a deployment that keeps failing gets at most 3 leaders; then every follower has the last error', async () => {
  const r = await rig({}, { sim: { ttftMs: 200 }, deps: [{ name: 'down', provider: 'sim', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '503' } }] });
  try {
    const res = await Promise.all(Array.from({ length: 12 }, () => r.t.gw.handle({ endpoint: 'chat', body: { ...chat('always down'), model: 'm' }, headers: {} })));
    assert.equal(r.calls(), 3);
    assert.ok(res.every((x) => x.status === 502 || x.status === 503), JSON.stringify(res.map((x) => x.status)));
    const codes = new Set(res.map((x) => JSON.parse(String(x.body)).error.code));
    assert.equal(codes.size, 1);
    // Each response has its own request id and cost headers (the error object is not shared).
    assert.equal(new Set(res.map((x) => x.headers['x-costgate-request-id'])).size, 12);
    assert.ok(res.every((x) => x.headers['x-costgate-cost-usd'] === '0.000000000'));
    const rows = await ledger(r, 12);
    assert.equal(rows.filter((x) => x.attemptCount === 1).length, 3);
    assert.equal(rows.filter((x) => x.attemptCount === 0).length, 9);
  } finally {
    await r.close();
  }
});

test('embeddings are cached too (JSON): same input → hit at $0 with the avoided cost', async () => {
  const r = await rig({});
  try {
    const body = { model: 'text-embedding-3-small', input: ['cache this sentence', 'and this one'] };
    const a = await r.post('/v1/embeddings', body);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-costgate-cache'), 'miss');
    const b = await r.post('/v1/embeddings', body);
    assert.equal(b.headers.get('x-costgate-cache'), 'hit');
    assert.deepEqual(b.json, a.json);
    assert.equal((await r.post('/v1/embeddings', { ...body, dimensions: 256 })).headers.get('x-costgate-cache'), 'miss');
    assert.equal(r.calls('/v1/embeddings'), 2);
    const rows = await ledger(r, 3);
    assert.equal(rows[1]!.cacheStatus, 'exact');
    assert.equal(rows[1]!.costNanos, 0);
    assert.equal(rows[1]!.avoidedCostNanos, rows[0]!.costNanos);
    assert.ok(rows[0]!.costNanos > 0);
  } finally {
    await r.close();
  }
});
