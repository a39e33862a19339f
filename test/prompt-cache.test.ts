/**
 * Provider prompt caching end to end through the simulator (which implements Anthropic's cache_control caching and
 * OpenAI's automatic caching): what costgate adds to the upstream body, what the provider then reports, and what the
 * ledger records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGateway } from '../src/gateway.js';
import type { Json } from '../src/providers/adapter.js';

// ~1,900 tokens of stable system prompt: over Sonnet's 1,024-token minimum.
const SYSTEM = Array.from({ length: 160 }, (_, i) => `Rule ${i}: answer politely, cite the policy section ${i} and never reveal internal notes.`).join('\n');

function config(promptCache: Json, extra: Json = {}): Json {
  return {
    providers: { sim: { type: 'simulator' } },
    ledger: { store: 'memory' },
    optimize: { promptCache: { enabled: true, ...promptCache } },
    ...extra,
  };
}

async function gatewayCapturing(cfg: Json) {
  const upstream: Json[] = [];
  const gw = await createGateway({
    env: {},
    config: cfg,
    simulator: {
      answer: (_m: string, body: Json) => {
        upstream.push(structuredClone(body));
        return 'ok';
      },
    },
  });
  return { gw, upstream };
}

const markers = (body: Json): string[] => {
  const out: string[] = [];
  const sys = Array.isArray(body.system) ? body.system : [];
  sys.forEach((b: Json, i: number) => b.cache_control && out.push(`system[${i}]:${b.cache_control.ttl ?? '5m'}`));
  (body.messages ?? []).forEach((m: Json, i: number) => {
    if (Array.isArray(m.content)) m.content.forEach((b: Json, j: number) => b.cache_control && out.push(`messages[${i}][${j}]:${b.cache_control.ttl ?? '5m'}`));
  });
  return out;
};

test('Anthropic: breakpoints written through the conversation, read back on the next turn; client body untouched; ledger records it', async () => {
  const { gw, upstream } = await gatewayCapturing(config({ write: 'always', ttl: '5m' }));
  try {
    const turn1 = { model: 'claude-sonnet-4-5', max_tokens: 50, system: SYSTEM, messages: [{ role: 'user', content: 'What is rule 7?' }] };
    const before = structuredClone(turn1);
    const r1 = await gw.handle({ endpoint: 'messages', body: turn1, headers: { 'x-costgate-feature': 'support' } });
    assert.equal(r1.status, 200);
    assert.deepEqual(turn1, before, 'the client request object is not modified');
    // The write breakpoint sits on the last message; the system prompt string became one text block to carry none.
    assert.deepEqual(markers(upstream[0]!), ['messages[0][0]:5m']);
    const u1 = JSON.parse(String(r1.body)).usage;
    assert.ok(u1.cache_creation_input_tokens > 1024, `wrote ${u1.cache_creation_input_tokens}`);
    assert.equal(u1.cache_read_input_tokens, 0);

    const turn2 = { ...turn1, messages: [...turn1.messages, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'And rule 8?' }] };
    const r2 = await gw.handle({ endpoint: 'messages', body: turn2, headers: { 'x-costgate-feature': 'support' } });
    assert.equal(r2.status, 200);
    // Write through the new last message, and a read breakpoint where the previous turn's cached prefix ends.
    assert.deepEqual(markers(upstream[1]!), ['messages[0][0]:5m', 'messages[2][0]:5m']);
    const u2 = JSON.parse(String(r2.body)).usage;
    assert.equal(u2.cache_read_input_tokens, u1.cache_creation_input_tokens, 'turn 2 reads exactly what turn 1 wrote');
    assert.ok(u2.cache_creation_input_tokens > 0 && u2.cache_creation_input_tokens < 50, `turn 2 writes only the new turns (${u2.cache_creation_input_tokens})`);

    const { rows } = await gw.requests({ feature: 'support' });
    const [row2, row1] = rows;
    assert.equal(row1!.cacheReadTokens, 0);
    assert.equal(row1!.cacheWrite5mTokens, u1.cache_creation_input_tokens);
    assert.equal(row2!.cacheReadTokens, u2.cache_read_input_tokens);
    assert.match(row1!.optimize!, /pc:write=5m@2\/2/);
    assert.match(row1!.optimize!, /pc:bp@1:5m/);
    assert.match(row2!.optimize!, /pc:cached@2\/4/);
    assert.match(row2!.optimize!, /pc:bp@3:5m;pc:bp@1:5m|pc:bp@3:5m/);
    assert.equal(row1!.prefixHash, row2!.prefixHash);
    assert.ok(row1!.prefixTokens! > 1024);
    assert.ok(row2!.costNanos < row1!.costNanos * 2, 'the cached turn is cheaper per prompt token');
  } finally {
    await gw.close();
  }
});

test('Anthropic: client breakpoints are kept as they are and count against the limit of 4', async () => {
  const { gw, upstream } = await gatewayCapturing(config({ write: 'always', ttl: '5m' }));
  try {
    const cc = { type: 'ephemeral' };
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 20,
      system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a', cache_control: cc }] },
        { role: 'assistant', content: [{ type: 'text', text: 'b', cache_control: cc }] },
        { role: 'user', content: [{ type: 'text', text: 'c', cache_control: cc }] },
        { role: 'assistant', content: 'd' },
        { role: 'user', content: 'e' },
      ],
    };
    const r = await gw.handle({ endpoint: 'messages', body, headers: {} });
    assert.equal(r.status, 200);
    // Four client markers: none added, none removed, the client's 1h TTL intact.
    assert.deepEqual(markers(upstream[0]!), ['system[0]:1h', 'messages[0][0]:5m', 'messages[1][0]:5m', 'messages[2][0]:5m']);
    const [row] = (await gw.requests({})).rows;
    assert.doesNotMatch(row!.optimize ?? '', /pc:bp@/);
  } finally {
    await gw.close();
  }
});

test('disabled (the default): the upstream body is the client body, no optimize column', async () => {
  const { gw, upstream } = await gatewayCapturing({ providers: { sim: { type: 'simulator' } }, ledger: { store: 'memory' } });
  try {
    const r = await gw.handle({ endpoint: 'messages', body: { model: 'claude-sonnet-4-5', max_tokens: 20, system: SYSTEM, messages: [{ role: 'user', content: 'hi' }] }, headers: {} });
    assert.equal(r.status, 200);
    assert.equal(upstream[0]!.system, SYSTEM);
    assert.deepEqual(markers(upstream[0]!), []);
    const [row] = (await gw.requests({})).rows;
    assert.equal(row!.optimize, null);
    assert.equal(row!.prefixHash, null);
  } finally {
    await gw.close();
  }
});

test('OpenAI: prompt_cache_key from the stable-prefix hash; a client key is kept; automatic cached_tokens reach the ledger', async () => {
  const { gw, upstream } = await gatewayCapturing(config({}));
  try {
    const call = (user: string, extra: Json = {}) =>
      gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: user }], ...extra }, headers: { 'x-costgate-feature': 'faq' } });
    const r1 = await call('first question');
    const r2 = await call('second question');
    const r3 = await call('third', { prompt_cache_key: 'mine' });
    for (const r of [r1, r2, r3]) assert.equal(r.status, 200);
    const k1 = upstream[0]!.prompt_cache_key;
    assert.match(k1, /^cg-[A-Za-z0-9_-]{22}$/);
    assert.equal(upstream[1]!.prompt_cache_key, k1, 'same system prompt, same key');
    assert.equal(upstream[2]!.prompt_cache_key, 'mine');
    const cached = JSON.parse(String(r2.body)).usage.prompt_tokens_details.cached_tokens;
    assert.ok(cached >= 1024, `second call reads the automatic cache (${cached})`);
    const rows = (await gw.requests({ feature: 'faq' })).rows.reverse();
    assert.equal(rows[1]!.cacheReadTokens, cached);
    assert.match(rows[0]!.optimize!, /pc:prompt_cache_key/);
    assert.doesNotMatch(rows[2]!.optimize ?? '', /pc:prompt_cache_key/);
    assert.equal(rows[0]!.prefixHash, k1.slice(3));
  } finally {
    await gw.close();
  }
});

test('per-feature override: a feature can turn prompt caching off while the default is on', async () => {
  const cfg = config({});
  cfg.optimize.features = { raw: { promptCache: { enabled: false } } };
  const g2 = await gatewayCapturing(cfg);
  try {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'x' }] };
    await g2.gw.handle({ endpoint: 'chat', body, headers: { 'x-costgate-feature': 'raw' } });
    await g2.gw.handle({ endpoint: 'chat', body, headers: { 'x-costgate-feature': 'other' } });
    assert.equal(g2.upstream[0]!.prompt_cache_key, undefined);
    assert.match(g2.upstream[1]!.prompt_cache_key, /^cg-/);
  } finally {
    await g2.gw.close();
  }
});

test('config: a bad optimize value names the field', async () => {
  await assert.rejects(createGateway({ env: {}, config: { ledger: { store: 'memory' }, optimize: { promptCache: { ttl: '2h' } } } as Json }), /optimize\.promptCache\.ttl/);
  await assert.rejects(createGateway({ env: {}, config: { ledger: { store: 'memory' }, optimize: { features: { f: { promptCache: { wrte: 'always' } } } } } as Json }), /optimize\.features\.f\.promptCache/);
});

test('report prompt-cache: per feature and prefix — requests, hit rate, $ saved net of writes, $ lost to misses and to volatile prefixes', async () => {
  const { promptCacheReport } = await import('../src/observability/reports/prompt-cache.js');
  const { PriceCatalog } = await import('../src/pricing/catalog.js');
  const cfg = config({ write: 'always', ttl: '5m' });
  cfg.optimize.lint = { enabled: true };
  const { gw } = await gatewayCapturing(cfg);
  try {
    const msgs: Json[] = [];
    for (let i = 0; i < 3; i++) {
      msgs.push({ role: 'user', content: `question ${i}` });
      const r = await gw.handle({ endpoint: 'messages', body: { model: 'claude-sonnet-4-5', max_tokens: 20, system: SYSTEM, messages: [...msgs] }, headers: { 'x-costgate-feature': 'support' } });
      assert.equal(r.status, 200);
      msgs.push({ role: 'assistant', content: 'ok' });
    }
    for (const t of ['2026-12-02T19:40:11Z', '2026-12-02T19:41:12Z']) {
      const r = await gw.handle({ endpoint: 'messages', body: { model: 'claude-sonnet-4-5', max_tokens: 20, system: `Now: ${t}\n${SYSTEM}`, messages: [{ role: 'user', content: 'hi' }] }, headers: { 'x-costgate-feature': 'clock' } });
      assert.equal(r.status, 200);
    }
    const rows = (await gw.requests({})).rows;
    const report = await promptCacheReport(gw.ledger.store, new PriceCatalog());
    const support = report.filter((r) => r.feature === 'support');
    assert.equal(support.length, 1);
    const s = support[0]!;
    assert.equal(s.requests, 3);
    assert.equal(s.hits, 2);
    assert.ok(Math.abs(s.hitRate - 2 / 3) < 1e-9);
    const sRows = rows.filter((r) => r.feature === 'support');
    const reads = sRows.reduce((a, r) => a + r.cacheReadTokens, 0);
    const writes = sRows.reduce((a, r) => a + r.cacheWrite5mTokens, 0);
    assert.equal(s.cacheReadTokens, reads);
    assert.equal(s.cacheWriteTokens, writes);
    // claude-sonnet-4-5: input $3/M, cache read $0.30/M, 5m write $3.75/M → 2,700 n$ saved per read token, 750 n$ premium per written token.
    assert.ok(Math.abs(Number(s.savedNanos) - (reads * 2700 - writes * 750)) <= 1, `saved ${s.savedNanos}`);
    assert.ok(s.savedNanos > 0n);
    assert.deepEqual(s.volatile, []);
    assert.equal(s.volatileLostNanos, 0n);
    // The clock feature: the timestamp makes every call a new prefix — two prefixes, no hits, all of it lost to volatility.
    const clock = report.filter((r) => r.feature === 'clock');
    assert.equal(clock.length, 2);
    for (const c of clock) {
      assert.equal(c.requests, 1);
      assert.equal(c.hits, 0);
      assert.deepEqual(c.volatile, ['timestamp']);
      assert.ok(c.cacheableTokens > 1024);
      assert.ok(Math.abs(Number(c.missLostNanos) - c.cacheableTokens * 2700) <= 1);
      assert.equal(c.volatileLostNanos, c.missLostNanos);
    }
    assert.match(rows.find((r) => r.feature === 'clock')!.optimize!, /lint:timestamp/);
  } finally {
    await gw.close();
  }
});

test('compress (opt-in): a pretty-printed JSON tool result goes upstream minified; fewer prompt tokens; ledger records before>after', async () => {
  const cfg: Json = { providers: { sim: { type: 'simulator' } }, ledger: { store: 'memory' }, optimize: { compress: { enabled: true } } };
  const { gw, upstream } = await gatewayCapturing(cfg);
  try {
    const pretty = JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] })) }, null, 4);
    const body = {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: 'list items' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'list', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: pretty },
      ],
    };
    const r = await gw.handle({ endpoint: 'chat', body, headers: {} });
    assert.equal(r.status, 200);
    assert.equal(body.messages[2]!.content, pretty, 'client object untouched');
    assert.equal(upstream[0]!.messages[2].content, JSON.stringify(JSON.parse(pretty)));
    const [row] = (await gw.requests({})).rows;
    const m = /compress:tool_results=1,tokens=(\d+)>(\d+)/.exec(row!.optimize ?? '');
    assert.ok(m, row!.optimize ?? 'no optimize');
    assert.ok(Number(m[2]) < Number(m[1]));
    // Without compression the same request costs more prompt tokens.
    const { gw: plain } = await gatewayCapturing({ providers: { sim: { type: 'simulator' } }, ledger: { store: 'memory' } });
    try {
      await plain.handle({ endpoint: 'chat', body, headers: {} });
      const [p] = (await plain.requests({})).rows;
      assert.equal(p!.inputTokens - row!.inputTokens, Number(m[1]) - Number(m[2]));
    } finally {
      await plain.close();
    }
  } finally {
    await gw.close();
  }
});

test('instructions (opt-in per feature): appended to the system prompt on both surfaces; other features untouched', async () => {
  const cfg: Json = { providers: { sim: { type: 'simulator' } }, ledger: { store: 'memory' }, optimize: { features: { brief: { instructions: { maxSentences: 2, jsonOnly: true } } } } };
  const { gw, upstream } = await gatewayCapturing(cfg);
  try {
    const text = 'Answer in at most 2 sentences. Respond with JSON only, no prose and no code fences.';
    await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'x' }] }, headers: { 'x-costgate-feature': 'brief' } });
    await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, headers: { 'x-costgate-feature': 'brief' } });
    await gw.handle({ endpoint: 'messages', body: { model: 'claude-sonnet-4-5', max_tokens: 20, system: 'Be kind.', messages: [{ role: 'user', content: 'x' }] }, headers: { 'x-costgate-feature': 'brief' } });
    await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, headers: { 'x-costgate-feature': 'other' } });
    assert.equal(upstream[0]!.messages[0].content, `Be kind.\n\n${text}`);
    assert.deepEqual(upstream[1]!.messages[0], { role: 'system', content: text });
    assert.equal(upstream[2]!.system, `Be kind.\n\n${text}`);
    assert.deepEqual(upstream[3]!.messages, [{ role: 'user', content: 'x' }]);
    const rows = (await gw.requests({})).rows.reverse();
    assert.deepEqual(rows.map((r) => r.optimize), ['instructions', 'instructions', 'instructions', null]);
  } finally {
    await gw.close();
  }
});

test('affinity: two deployments of one model — each prefix always reaches the same one, prefixes spread over both, ledger says which', async () => {
  const cfg: Json = {
    providers: { simA: { type: 'simulator' }, simB: { type: 'simulator' } },
    deployments: [{ name: 'a', provider: 'simA', model: 'gpt-4o-mini' }, { name: 'b', provider: 'simB', model: 'gpt-4o-mini' }],
    models: { fast: { deployments: ['a', 'b'] } },
    ledger: { store: 'memory' },
    optimize: { promptCache: { enabled: true } },
  };
  const gw = await createGateway({ env: {}, config: cfg });
  try {
    const served = new Map<string, Set<string>>();
    for (let round = 0; round < 3; round++) {
      for (let p = 0; p < 8; p++) {
        const r = await gw.handle({ endpoint: 'chat', body: { model: 'fast', messages: [{ role: 'system', content: `persona ${p}` }, { role: 'user', content: `q${round}` }] }, headers: {} });
        assert.equal(r.status, 200);
        const dep = r.headers['x-costgate-model'] && (await gw.request(r.headers['x-costgate-request-id']!))[0]!.deployment!;
        (served.get(`persona ${p}`) ?? served.set(`persona ${p}`, new Set()).get(`persona ${p}`)!).add(dep);
      }
    }
    for (const [p, deps] of served) assert.equal(deps.size, 1, `${p} went to ${[...deps]}`);
    const used = new Set([...served.values()].map((s) => [...s][0]));
    assert.deepEqual([...used].sort(), ['a', 'b'], 'eight prefixes use both deployments');
    const rows = (await gw.requests({ limit: 100 })).rows;
    const moved = rows.filter((r) => r.deployment === 'b');
    assert.ok(moved.length > 0);
    for (const r of moved) {
      assert.match(r.optimize!, /pc:affinity=b/);
      assert.match(r.routeReason!, /prefix affinity/);
    }
  } finally {
    await gw.close();
  }
});

test('OpenAI client → Claude deployment: breakpoints planned on the translated body and read back, usage in OpenAI shape', async () => {
  const { gw, upstream } = await gatewayCapturing(config({ write: 'always', ttl: '5m' }));
  try {
    const msgs: Json[] = [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'first' }];
    const r1 = await gw.handle({ endpoint: 'chat', body: { model: 'claude-sonnet-4-5', max_tokens: 20, messages: msgs }, headers: {} });
    assert.equal(r1.status, 200);
    assert.equal(upstream[0]!.system, SYSTEM, 'the OpenAI system message became Anthropic system, unmarked');
    assert.deepEqual(markers(upstream[0]!), ['messages[0][0]:5m']);
    const r2 = await gw.handle({ endpoint: 'chat', body: { model: 'claude-sonnet-4-5', max_tokens: 20, messages: [...msgs, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'second' }] }, headers: {} });
    assert.equal(r2.status, 200);
    assert.deepEqual(markers(upstream[1]!), ['messages[0][0]:5m', 'messages[2][0]:5m']);
    const u1 = JSON.parse(String(r1.body)).usage;
    const u2 = JSON.parse(String(r2.body)).usage;
    assert.equal(u1.prompt_tokens_details.cached_tokens, 0);
    assert.equal(u2.prompt_tokens_details.cached_tokens, u1.cache_creation_input_tokens);
    assert.ok(u2.prompt_tokens_details.cached_tokens > 1024);
  } finally {
    await gw.close();
  }
});
