/**
 * Governance through the real gateway and simulator: tier / key / feature rate limits (429, Retry-After,
 * x-ratelimit-* headers, the ledger), the input-token cap (413 before any upstream call), default and ceiling
 * max_tokens (what the upstream receives), priority shedding by budget fraction and by capacity, and the ledger's
 * record of every such decision. Redis-shared limits across two gateways are at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestGateway, withTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import { startCapture } from './helpers/capture.js';
import { requireRedis, REDIS_URL } from './helpers/services.js';
import { Redis } from 'ioredis';

const chat = (content = 'hello limits', extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });
const post = (t: TestGateway, body: unknown, headers: Record<string, string> = {}) => postJson(`${t.url}/v1/chat/completions`, body, headers);

async function ledgerRow(t: TestGateway, id: string) {
  const rows = await t.gw.request(id);
  assert.equal(rows.length, 1, `one ledger row for ${id}`);
  return rows[0]!;
}

test('tier limit: the 4th call of a free user in a day is 429 with Retry-After, x-ratelimit-* and the limit named; other users unaffected', async () => {
  await withTestGateway(
    { config: { ledger: { store: 'memory' }, limits: { tiers: { free: { requestsPerDay: 3 }, paid: { requestsPerDay: 100 } }, users: { ann: 'free', bob: 'paid' } } } },
    async (t) => {
      for (let i = 0; i < 3; i++) {
        const r = await post(t, chat(), { 'x-costgate-user': 'ann' });
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-ratelimit-limit-requests'), '3');
        assert.equal(r.headers.get('x-ratelimit-remaining-requests'), String(2 - i));
        assert.match(r.headers.get('x-ratelimit-reset-requests')!, /^(\d+h)?(\d+m)?\d+s$/);
        assert.equal(r.headers.get('x-costgate-ratelimit'), 'requests=tier:free/day');
      }
      const r = await post(t, chat(), { 'x-costgate-user': 'ann' });
      assert.equal(r.status, 429);
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 86_400, `retry-after ${retry}`);
      assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
      assert.equal(r.json.error.code, 'rate_limited');
      assert.equal(r.json.error.type, 'rate_limit_error');
      assert.match(r.json.error.message, /Rate limit reached for the 'free' tier: 3 requests per day/);
      assert.deepEqual(
        { ...r.json.error.rate_limit, resets_at: undefined },
        { name: 'tier:free', tier: 'free', scope: 'user', subject: 'ann', metric: 'requests', per: 'day', limit: 3, used: 3, resets_at: undefined, reset_in_seconds: retry },
      );
      const id = r.headers.get('x-costgate-request-id')!;
      const row = await ledgerRow(t, id);
      assert.equal(row.status, 429);
      assert.equal(row.governance, 'rate_limited:tier:free/requests/day');
      assert.equal(row.attemptCount, 0, 'no upstream call');
      // bob is paid, carol has no tier (no defaultTier): both unaffected
      assert.equal((await post(t, chat(), { 'x-costgate-user': 'bob' })).status, 200);
      const c = await post(t, chat(), { 'x-costgate-user': 'carol' });
      assert.equal(c.status, 200);
      assert.equal(c.headers.get('x-ratelimit-limit-requests'), null, 'no limit applies: no headers');
    },
  );
});

test('tier from x-costgate-tier (trusted by default, ignored with trustTierHeader: false); defaultTier; anonymous callers share one counter', async () => {
  const limits = { tiers: { free: { requestsPerDay: 1 }, enterprise: { requestsPerDay: 1000 } }, defaultTier: 'free' };
  await withTestGateway({ config: { ledger: { store: 'memory' }, limits } }, async (t) => {
    assert.equal((await post(t, chat(), { 'x-costgate-user': 'u1', 'x-costgate-tier': 'enterprise' })).headers.get('x-ratelimit-limit-requests'), '1000');
    assert.equal((await post(t, chat(), { 'x-costgate-user': 'u2' })).status, 200);
    assert.equal((await post(t, chat(), { 'x-costgate-user': 'u2' })).status, 429, 'defaultTier free: 1 a day');
    assert.equal((await post(t, chat())).status, 200);
    const anon = await post(t, chat());
    assert.equal(anon.status, 429);
    assert.equal(anon.json.error.rate_limit.subject, 'anonymous');
    const keyed = await post(t, chat(), { authorization: 'Bearer sk-one' });
    assert.equal(keyed.status, 200, 'a call with a key and no user counts per key');
  });
  await withTestGateway({ config: { ledger: { store: 'memory' }, limits: { ...limits, trustTierHeader: false } } }, async (t) => {
    const r = await post(t, chat(), { 'x-costgate-user': 'u1', 'x-costgate-tier': 'enterprise' });
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '1', 'header ignored: defaultTier applies');
  });
});

test('config: unknown tier names, empty limits and a global limit with a value are errors naming the field', async () => {
  const { parseConfig } = await import('../src/config/load.js');
  assert.throws(() => parseConfig({ limits: { tiers: { free: { requestsPerDay: 1 } }, users: { ann: 'gold' } } }, 't'), /limits\.users\.ann: no tier "gold" in limits\.tiers \(free\)/);
  assert.throws(() => parseConfig({ limits: { defaultTier: 'x' } }, 't'), /limits\.defaultTier: no tier "x"/);
  assert.throws(() => parseConfig({ limits: { rateLimits: [{ scope: 'key' }] } }, 't'), /limits\.rateLimits\.0: set at least one of requestsPerMinute/);
  assert.throws(() => parseConfig({ limits: { rateLimits: [{ scope: 'global', value: 'x', requestsPerDay: 1 }] } }, 't'), /limits\.rateLimits\.0\.value: a global limit has no value/);
  assert.throws(() => parseConfig({ features: { f: { priority: 'urgent' } } }, 't'), /features\.f\.priority/);
  assert.throws(() => parseConfig({ priorities: { budgetFraction: { optional: 1.5 } } }, 't'), /priorities\.budgetFraction\.optional/);
});

test('key limit per minute and feature token limit: tokens are settled to what the call used', async () => {
  await withTestGateway(
    {
      config: {
        ledger: { store: 'memory' },
        limits: { rateLimits: [{ name: 'per-key', scope: 'key', requestsPerMinute: 2 }, { name: 'search-tokens', scope: 'feature', value: 'search', tokensPerMinute: 400 }] },
      },
    },
    async (t) => {
      const k1 = { authorization: 'Bearer sk-key-one' };
      assert.equal((await post(t, chat(), k1)).headers.get('x-ratelimit-remaining-requests'), '1');
      assert.equal((await post(t, chat(), k1)).headers.get('x-ratelimit-remaining-requests'), '0');
      const third = await post(t, chat(), k1);
      assert.equal(third.status, 429);
      assert.equal(third.json.error.rate_limit.name, 'per-key');
      assert.equal(third.json.error.rate_limit.per, 'minute');
      assert.ok(Number(third.headers.get('retry-after')) <= 60);
      assert.equal((await post(t, chat(), { authorization: 'Bearer sk-key-two' })).status, 200, 'another key has its own counter');

      // Tokens: reserved = prompt + max_tokens, settled to the usage reported.
      const s = { 'x-costgate-feature': 'search', authorization: 'Bearer sk-key-3' };
      const a = await post(t, chat('search one', { max_tokens: 100 }), s);
      assert.equal(a.status, 200);
      const reserved = 400 - Number(a.headers.get('x-ratelimit-remaining-tokens'));
      const used = a.json.usage.prompt_tokens + a.json.usage.completion_tokens;
      assert.ok(reserved > used, `reserved ${reserved} (prompt + max_tokens) > used ${used}`);
      await t.waitRecords(t.records.length); // settled
      await new Promise((r) => setTimeout(r, 20));
      const b = await post(t, chat('search two', { max_tokens: 10 }), { ...s, authorization: 'Bearer sk-key-4' });
      const bReserved = b.json.usage.prompt_tokens + 10;
      assert.equal(Number(b.headers.get('x-ratelimit-remaining-tokens')), 400 - used - bReserved, 'the first call counts what it used, not what it reserved');
      const big = await post(t, chat('search three', { max_tokens: 1000 }), { ...s, authorization: 'Bearer sk-key-5' });
      assert.equal(big.status, 429);
      assert.match(big.json.error.message, /400 tokens per minute \(this call needs \d+\)/);
      assert.equal(big.headers.get('x-ratelimit-limit-tokens'), '400');
      assert.equal(big.headers.get('x-ratelimit-limit-requests'), null, 'a refusal reports the counter that refused');
    },
  );
});

test('input-token cap: a 50,000-word paste is 413 with both counts and never reaches the upstream; per-feature caps; both wire formats', async () => {
  await withTestGateway({ config: { ledger: { store: 'memory' }, features: { tiny: { maxInputTokens: 20 } } } }, async (t) => {
    const paste = Array.from({ length: 50_000 }, (_, i) => `word${i % 97}`).join(' ');
    const r = await post(t, chat(paste));
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, 'input_too_large');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.equal(r.json.error.param, 'messages');
    assert.equal(r.json.error.max_input_tokens, 32_000);
    assert.ok(r.json.error.input_tokens > 50_000, `counted ${r.json.error.input_tokens}`);
    assert.match(r.json.error.message, new RegExp(`has ${r.json.error.input_tokens} input tokens; the limit for this gateway is 32000`));
    assert.equal(r.headers.get('x-costgate-cost-usd'), '0.000000000');
    const row = await ledgerRow(t, r.headers.get('x-costgate-request-id')!);
    assert.equal(row.status, 413);
    assert.equal(row.attemptCount, 0, 'no upstream spend');
    assert.equal(row.costNanos, 0);
    assert.equal(row.governance, `rejected:input_tokens=${r.json.error.input_tokens}>32000`);

    const small = await post(t, chat('a prompt of more than twenty tokens, which the tiny feature does not accept at all, no'), { 'x-costgate-feature': 'tiny' });
    assert.equal(small.status, 413);
    assert.match(small.json.error.message, /the limit for feature 'tiny' is 20/);
    assert.equal((await post(t, chat('short'), { 'x-costgate-feature': 'tiny' })).status, 200);

    const m = await postJson(`${t.url}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: paste }] });
    assert.equal(m.status, 413);
    assert.equal(m.json.type, 'error');
    assert.equal(m.json.error.type, 'request_too_large');
    const e = await postJson(`${t.url}/v1/embeddings`, { model: 'text-embedding-3-small', input: 'x y z '.repeat(20) }, { 'x-costgate-feature': 'tiny' });
    assert.equal(e.status, 413);
    assert.equal(e.json.error.param, 'input');
    const batch = await postJson(`${t.url}/v1/embeddings`, { model: 'text-embedding-3-small', input: Array.from({ length: 400 }, (_, i) => `${i} ${'word '.repeat(99)}`) });
    assert.equal(batch.status, 200, 'a 40,000-token embeddings batch is not under the chat default');
  });
});

test('max_tokens: the feature default is set when the call sets none, a larger ask is lowered to the ceiling; the upstream receives it, the ledger records it', async () => {
  const cap = await startCapture();
  try {
    await withTestGateway(
      {
        env: { UP_KEY: 'sk-up' },
        config: {
          ledger: { store: 'memory' },
          providers: { up: { type: 'openai', baseUrl: `${cap.url}/v1`, apiKeyEnv: 'UP_KEY' } },
          deployments: [{ name: 'd', provider: 'up', model: 'gpt-4o-mini' }],
          models: { m: { deployments: ['d'] } },
          limits: { maxTokensCeiling: 2000 },
          features: { summary: { defaultMaxTokens: 300, maxTokensCeiling: 500 } },
        },
      },
      async (t) => {
        const body = (extra = {}) => ({ model: 'm', messages: [{ role: 'user', content: 'sum up' }], ...extra });
        const ids: string[] = [];
        for (const [extra, h] of [[{}, { 'x-costgate-feature': 'summary' }], [{ max_tokens: 5000 }, { 'x-costgate-feature': 'summary' }], [{ max_completion_tokens: 9000 }, {}], [{ max_tokens: 100 }, { 'x-costgate-feature': 'summary' }], [{}, {}]] as const) {
          const r = await post(t, body(extra), h);
          assert.equal(r.status, 200, r.text);
          ids.push(r.headers.get('x-costgate-request-id')!);
        }
        assert.deepEqual(cap.requests.map((c) => c.json.max_completion_tokens ?? c.json.max_tokens ?? null), [300, 500, 2000, 100, null]);
        const gov = await Promise.all(ids.map(async (id) => (await ledgerRow(t, id)).governance));
        assert.deepEqual(gov, ['default:max_tokens=300', 'capped:max_tokens=500(asked 5000)', 'capped:max_completion_tokens=2000(asked 9000)', null, null]);
      },
    );
  } finally {
    await cap.close();
  }
});

test('priority: optional calls are shed (503) once a budget passes 80 %, important and critical go on; critical may be exempt from the hard budget', async () => {
  // Each call reserves its maximum cost: max_tokens 1000 on gpt-4o-mini ≈ $0.0006; the budget holds ~5 of them.
  const budget = { name: 'daily', scope: 'global', window: 'day', amount: '0.0031' } as const;
  await withTestGateway(
    { config: { ledger: { store: 'memory' }, budgets: [{ ...budget, exemptPriorities: ['critical'] }], features: { bg: { priority: 'optional' } } } },
    async (t) => {
      const call = (h: Record<string, string>) => post(t, chat('priority please', { max_tokens: 1000, temperature: 0 }), h);
      // Spend real money until optional is shed.
      let shed;
      for (let i = 0; i < 300 && !shed; i++) {
        const r = await call({ 'x-costgate-feature': 'bg' });
        if (r.status === 503) shed = r;
        else assert.equal(r.status, 200);
        await new Promise((res) => setTimeout(res, 5));
      }
      assert.ok(shed, 'optional was shed');
      assert.equal(shed.json.error.code, 'load_shed');
      assert.equal(shed.json.error.type, 'server_error');
      assert.equal(shed.headers.get('x-costgate-shed'), 'budget:daily');
      assert.ok(Number(shed.headers.get('retry-after')) >= 1);
      assert.deepEqual([shed.json.error.shed.reason, shed.json.error.shed.priority, shed.json.error.shed.fraction], ['budget', 'optional', 0.8]);
      assert.match(shed.json.error.message, /Shed \(optional priority\): budget 'daily' is past the 80%/);
      const row = await ledgerRow(t, shed.headers.get('x-costgate-request-id')!);
      assert.deepEqual([row.status, row.errorType, row.priority, row.governance], [503, 'load_shed', 'optional', 'shed:budget:daily@80%']);
      // An important call still fits (it may use the whole budget), then it gets the budget's own 402.
      let important;
      for (let i = 0; i < 200; i++) {
        important = await call({ 'x-costgate-priority': 'important' });
        if (important.status !== 200) break;
        await new Promise((res) => setTimeout(res, 5));
      }
      assert.equal(important!.status, 402, 'important is refused only by the full budget');
      // Critical is exempt: counted, never refused.
      const before = BigInt((await t.gw.report()).total.costNanos);
      for (let i = 0; i < 3; i++) assert.equal((await call({ 'x-costgate-priority': 'critical' })).status, 200);
      assert.ok(BigInt((await t.gw.report()).total.costNanos) > before, 'critical spend is counted');
    },
  );
});

test('capacity: at maxInFlight optional is shed at once, important waits in the queue (recorded), critical always goes through; a full queue and a timeout shed', async () => {
  await withTestGateway(
    {
      config: {
        ledger: { store: 'memory' },
        providers: { sim: { type: 'simulator', simulator: { ttftMs: 300 } } },
        priorities: { maxInFlight: 2, optionalShedAt: 0.5, queue: { maxSize: 1, timeoutMs: 5000 } },
      },
    },
    async (t) => {
      const call = (p: string) => post(t, chat(`capacity ${p}`, { max_tokens: 5 }), { 'x-costgate-priority': p });
      const first = call('important'); // 1 in flight: optional's limit (0.5 × 2) is reached
      await new Promise((r) => setTimeout(r, 50));
      const opt = await call('optional');
      assert.equal(opt.status, 503);
      assert.equal(opt.headers.get('x-costgate-shed'), 'capacity');
      assert.equal(opt.headers.get('retry-after'), '1');
      assert.equal(opt.json.error.shed.reason, 'capacity');
      const second = call('important'); // 2 in flight
      await new Promise((r) => setTimeout(r, 50));
      const queued = call('important'); // waits
      await new Promise((r) => setTimeout(r, 50));
      const full = await call('important');
      assert.equal(full.status, 503, 'queue of 1 is full');
      assert.equal(full.json.error.shed.reason, 'queue_full');
      const crit = await call('critical');
      assert.equal(crit.status, 200, 'critical is admitted over capacity');
      const [a, b, q] = await Promise.all([first, second, queued]);
      assert.deepEqual([a.status, b.status, q.status], [200, 200, 200]);
      const waited = Number(q.headers.get('x-costgate-queued-ms'));
      assert.ok(waited > 50, `queued ${waited} ms`);
      const row = await ledgerRow(t, q.headers.get('x-costgate-request-id')!);
      assert.equal(row.governance, 'queued:capacity');
      assert.ok(row.queueMs! > 50);
      const shedRows = (await t.gw.requests({ status: 'error' })).rows.map((r) => r.governance).sort();
      assert.deepEqual(shedRows, ['shed:capacity', 'shed:queue_full']);
    },
  );
  await withTestGateway(
    {
      config: {
        ledger: { store: 'memory' },
        providers: { sim: { type: 'simulator', simulator: { ttftMs: 400 } } },
        priorities: { maxInFlight: 1, queue: { maxSize: 5, timeoutMs: 100 } },
      },
    },
    async (t) => {
      const busy = post(t, chat('busy', { max_tokens: 5 }));
      await new Promise((r) => setTimeout(r, 50));
      const late = await post(t, chat('late', { max_tokens: 5 }));
      assert.equal(late.status, 503);
      assert.equal(late.json.error.shed.reason, 'queue_timeout');
      // The queue timeout (100 ms) elapsed; a timer may fire a fraction of a millisecond early by performance.now().
      assert.ok(late.json.error.shed.queued_ms >= 99, `queued ${late.json.error.shed.queued_ms} ms`);
      const row = await ledgerRow(t, late.headers.get('x-costgate-request-id')!);
      assert.equal(row.governance, 'shed:queue_timeout');
      assert.equal(row.queueMs, late.json.error.shed.queued_ms);
      assert.equal((await busy).status, 200);
    },
  );
});

test('priority defaults: header, then the feature, then priorities.default; recorded in the ledger', async () => {
  await withTestGateway({ config: { ledger: { store: 'memory' }, features: { batchy: { priority: 'optional' } }, priorities: { default: 'critical' } } }, async (t) => {
    const a = await post(t, chat(), { 'x-costgate-feature': 'batchy' });
    const b = await post(t, chat(), { 'x-costgate-feature': 'batchy', 'x-costgate-priority': 'important' });
    const c = await post(t, chat());
    const pr = await Promise.all([a, b, c].map(async (r) => (await ledgerRow(t, r.headers.get('x-costgate-request-id')!)).priority));
    assert.deepEqual(pr, ['optional', 'important', 'critical']);
  });
});

test('redis: two gateways sharing Redis admit exactly the limit between them', async (t) => {
  if (!(await requireRedis())) return void t.skip(`redis unavailable at ${REDIS_URL}`);
  const prefix = `costgate:test:rl:${randomBytes(6).toString('hex')}:`;
  const config = { ledger: { store: 'memory' }, budgetStore: { kind: 'redis', url: REDIS_URL, prefix }, limits: { rateLimits: [{ scope: 'user', value: 'shared', requestsPerMinute: 25 }] } } as never;
  const g1 = await startTestGateway({ config });
  const g2 = await startTestGateway({ config });
  try {
    const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => post(i % 2 ? g1 : g2, chat(`r${i}`, { max_tokens: 3 }), { 'x-costgate-user': 'shared' })));
    const ok = rs.filter((r) => r.status === 200).length;
    assert.deepEqual([...new Set(rs.map((r) => r.status))].sort(), [200, 429], rs.find((r) => r.status !== 200 && r.status !== 429)?.text);
    assert.equal(ok, 25);
    assert.equal(rs.filter((r) => r.status === 429).length, 35);
  } finally {
    await g1.close();
    await g2.close();
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  }
});

test('rate limits on the Anthropic surface and on streams: headers on the admitted stream, Anthropic error shape on the 429', async () => {
  await withTestGateway({ config: { ledger: { store: 'memory' }, limits: { rateLimits: [{ scope: 'global', requestsPerMinute: 1 }] } } }, async (t) => {
    const res = await fetch(`${t.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.equal(res.headers.get('x-costgate-ratelimit'), 'requests=global/minute');
    assert.match(await res.text(), /event: message_stop/);
    const r = await postJson(`${t.url}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 429);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'rate_limit_error');
    assert.equal(r.json.error.rate_limit.name, 'global');
    assert.ok(Number(r.headers.get('retry-after')) >= 1 && Number(r.headers.get('retry-after')) <= 60);
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '1');
  });
});

test('attribution values that name Object.prototype members (constructor, toString, __proto__) are plain values, not config entries', async () => {
  await withTestGateway(
    { config: { ledger: { store: 'memory' }, limits: { tiers: { free: { requestsPerDay: 100 } }, users: { ann: 'free' } }, features: { f: { priority: 'optional' } }, cache: { enabled: true, features: { f: { ttl: '1m' } } }, batch: { features: { f: '6h' } } } as never },
    async (t) => {
      for (const v of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
        const r = await post(t, chat('proto', { temperature: 0 }), { 'x-costgate-feature': v, 'x-costgate-user': v, 'x-costgate-tier': v, 'x-costgate-team': v });
        assert.equal(r.status, 200, `${v}: ${r.text}`);
      }
    },
  );
});
