/**
 * Retries, fallbacks and the circuit breaker, end to end: a real gateway over HTTP in front of two in-process
 * simulator providers (`a` primary, `b` fallback) whose deployments inject faults through `x-sim-fault`. Each test
 * gets a fresh gateway, so fault counters (`@N`) and breaker state never leak between tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startTestGateway, trail, type TestGateway } from './helpers/gateway.js';
import type { RequestRecord } from '../src/pipeline/record.js';

type Surface = 'openai' | 'anthropic';
interface Dep {
  name: string;
  provider?: string;
  fault?: string;
}
interface Setup {
  deps: Dep[];
  retries?: Record<string, number>;
  breaker?: Record<string, number>;
  /** Extra providers (e.g. one whose baseUrl refuses connections). */
  providers?: Record<string, unknown>;
}

const MODEL: Record<Surface, string> = { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' };
const COMBOS = (['openai', 'anthropic'] as Surface[]).flatMap((surface) => [false, true].map((stream) => ({ surface, stream })));

async function withGateway(surface: Surface, s: Setup, fn: (t: TestGateway) => Promise<void>): Promise<void> {
  // No timeout is under test here (see faults.test.ts); a generous first-byte budget keeps the simulator's Claude
  // tokenizer (~100+ ms a request) from causing timeouts nobody asked for.
  const timeouts = { firstByteMs: 5000, connectMs: 300 };
  const t = await startTestGateway({
    config: {
      providers: { a: { type: 'simulator', timeouts }, b: { type: 'simulator', timeouts }, ...(s.providers ?? {}) },
      deployments: s.deps.map((d) => ({ name: d.name, provider: d.provider ?? 'a', model: MODEL[surface], headers: d.fault ? { 'x-sim-fault': d.fault } : {} })),
      models: { m: { deployments: s.deps.map((d) => d.name) } },
      retries: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 1000, ...s.retries },
      circuitBreaker: { failureThreshold: 100, cooldownMs: 60_000, ...s.breaker },
    } as never,
  });
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
  rec: RequestRecord;
}

async function call(t: TestGateway, surface: Surface, stream = false): Promise<Reply> {
  const before = t.records.length;
  const path = surface === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  const body = { model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hello there' }], ...(stream ? { stream: true } : {}) };
  const res = await fetch(t.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const recs = await t.waitRecords(before + 1);
  return { status: res.status, headers: res.headers, text, json, rec: recs[before]! };
}

/** `deployment:status:errorCode` per attempt, for compact assertions. */

function assertSuccess(r: Reply, surface: Surface, stream: boolean, provider: string): void {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-costgate-provider'), provider);
  assert.equal(r.rec.status, 200);
  assert.equal(r.rec.provider, provider);
  if (!stream) assert.equal(surface === 'openai' ? r.json.object : r.json.type, surface === 'openai' ? 'chat.completion' : 'message');
  else assert.match(r.text, surface === 'openai' ? /data: \[DONE\]/ : /event: message_stop/);
  assert.deepEqual(r.rec.attempts.map((a) => a.n), r.rec.attempts.map((_, i) => i + 1));
}

function assertError(r: Reply, surface: Surface, status: number, openaiType: string, anthropicType: string, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  if (surface === 'openai') {
    assert.equal(r.json.error.type, openaiType);
    assert.equal(r.json.error.code, code);
    assert.equal(typeof r.json.error.message, 'string');
  } else {
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, anthropicType);
  }
  assert.equal(r.rec.status, status);
  assert.equal(r.rec.errorCode, code);
}

for (const { surface, stream } of COMBOS) {
  const label = `${surface}${stream ? ' stream' : ''}`;

  test(`${label}: 429 is retried after its Retry-After, then succeeds`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: '429:0.2@1' }, { name: 'f', provider: 'b' }] }, async (t) => {
      const r = await call(t, surface, stream);
      assertSuccess(r, surface, stream, 'a');
      assert.deepEqual(trail(r.rec), ['p:429:upstream_rate_limited', 'p:200:ok']);
      const [a1, a2] = r.rec.attempts;
      assert.ok(a2!.startedAt - a1!.startedAt >= 200, `second attempt ${a2!.startedAt - a1!.startedAt}ms after the first`);
    });
  });

  test(`${label}: 429 with Retry-After above maxRetryAfterMs falls back at once`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: '429:30' }, { name: 'f', provider: 'b' }] }, async (t) => {
      const r = await call(t, surface, stream);
      assertSuccess(r, surface, stream, 'b');
      assert.deepEqual(trail(r.rec), ['p:429:upstream_rate_limited', 'f:200:ok']);
    });
  });

  for (const [fault, code] of [['500', 'upstream_error'], ['503', 'upstream_unavailable']] as const) {
    test(`${label}: ${fault} is retried on the primary, then falls back`, async () => {
      await withGateway(surface, { deps: [{ name: 'p', fault }, { name: 'f', provider: 'b' }] }, async (t) => {
        const r = await call(t, surface, stream);
        assertSuccess(r, surface, stream, 'b');
        assert.deepEqual(trail(r.rec), [`p:${fault}:${code}`, `p:${fault}:${code}`, `p:${fault}:${code}`, 'f:200:ok']);
      });
    });
  }

  for (const [status, code, openaiType, anthropicType] of [
    [400, 'upstream_client_error', 'invalid_request_error', 'invalid_request_error'],
    [404, 'model_not_found', 'invalid_request_error', 'not_found_error'],
    [413, 'upstream_client_error', 'invalid_request_error', 'invalid_request_error'],
    [422, 'upstream_client_error', 'invalid_request_error', 'invalid_request_error'],
  ] as const) {
    test(`${label}: upstream ${status} is not retried and does not fall back`, async () => {
      await withGateway(surface, { deps: [{ name: 'p', fault: `status:${status}` }, { name: 'f', provider: 'b' }] }, async (t) => {
        const r = await call(t, surface, stream);
        assertError(r, surface, status, openaiType, anthropicType, code);
        assert.deepEqual(trail(r.rec), [`p:${status}:${code}`]);
      });
    });
  }

  test(`${label}: every deployment failing → 503 in the surface's error format`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: '500' }, { name: 'f', provider: 'b', fault: '503' }], retries: { attempts: 2 } }, async (t) => {
      const r = await call(t, surface, stream);
      assertError(r, surface, 503, 'server_error', 'overloaded_error', 'upstream_unavailable');
      assert.deepEqual(trail(r.rec), ['p:500:upstream_error', 'p:500:upstream_error', 'f:503:upstream_unavailable', 'f:503:upstream_unavailable']);
    });
  });
}

test('every deployment failing with 500 → 502 upstream_error', async () => {
  await withGateway('openai', { deps: [{ name: 'p', fault: '500' }, { name: 'f', provider: 'b', fault: '500' }], retries: { attempts: 1 } }, async (t) => {
    const r = await call(t, 'openai');
    assertError(r, 'openai', 502, 'upstream_error', 'api_error', 'upstream_error');
    assert.deepEqual(trail(r.rec), ['p:500:upstream_error', 'f:500:upstream_error']);
  });
});

for (const surface of ['openai', 'anthropic'] as Surface[]) {
  test(`${surface}: every deployment rate limited → 429 with Retry-After`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: '429:30' }, { name: 'f', provider: 'b', fault: '429:0.01' }], retries: { attempts: 2 } }, async (t) => {
      const r = await call(t, surface, true);
      assertError(r, surface, 429, 'rate_limit_error', 'rate_limit_error', 'upstream_rate_limited');
      assert.equal(r.headers.get('retry-after'), '1');
      assert.deepEqual(trail(r.rec), ['p:429:upstream_rate_limited', 'f:429:upstream_rate_limited', 'f:429:upstream_rate_limited']);
    });
  });
}

test('503 twice then healthy: retried on the same deployment, no fallback', async () => {
  await withGateway('openai', { deps: [{ name: 'p', fault: '503@2' }, { name: 'f', provider: 'b' }] }, async (t) => {
    const r = await call(t, 'openai');
    assertSuccess(r, 'openai', false, 'a');
    assert.deepEqual(trail(r.rec), ['p:503:upstream_unavailable', 'p:503:upstream_unavailable', 'p:200:ok']);
  });
});

test('401 from upstream (the gateway key is rejected): no retry, falls back to the next deployment', async () => {
  await withGateway('anthropic', { deps: [{ name: 'p', fault: 'status:401' }, { name: 'f', provider: 'b' }] }, async (t) => {
    const r = await call(t, 'anthropic');
    assertSuccess(r, 'anthropic', false, 'b');
    assert.deepEqual(trail(r.rec), ['p:401:upstream_error', 'f:200:ok']);
  });
});

for (const { surface, stream } of COMBOS) {
  test(`${surface}${stream ? ' stream' : ''}: 403 from upstream (the gateway key lacks permission): no retry on that deployment, falls back`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: 'status:403' }, { name: 'f', provider: 'b' }] }, async (t) => {
      const r = await call(t, surface, stream);
      assertSuccess(r, surface, stream, 'b');
      assert.deepEqual(trail(r.rec), ['p:403:upstream_error', 'f:200:ok']);
    });
  });
}

test('403 on the only deployment: one attempt, 502 upstream_error naming the gateway credentials (not the client)', async () => {
  await withGateway('openai', { deps: [{ name: 'p', fault: 'status:403' }] }, async (t) => {
    const r = await call(t, 'openai');
    assertError(r, 'openai', 502, 'upstream_error', 'api_error', 'upstream_error');
    assert.match(r.json.error.message, /rejected the gateway's credentials/);
    assert.deepEqual(trail(r.rec), ['p:403:upstream_error']);
  });
});

test('connection refused is retried, then falls back', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const dead = { dead: { type: 'simulator', baseUrl: `http://127.0.0.1:${port}/v1` } };
  await withGateway('openai', { deps: [{ name: 'p', provider: 'dead' }, { name: 'f', provider: 'b' }], providers: dead, retries: { attempts: 2 } }, async (t) => {
    const r = await call(t, 'openai', true);
    assertSuccess(r, 'openai', true, 'b');
    assert.deepEqual(trail(r.rec), ['p:0:upstream_error', 'p:0:upstream_error', 'f:200:ok']);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The cooldown is generous next to a loopback request (a few ms), so "still open right after opening" holds on a
// slow machine; half-open is reached by waiting past it, a lower bound only.
const COOLDOWN = 500;

test('circuit breaker: opens after the threshold, skips, half-opens after cooldown and closes on success', async () => {
  const setup = { deps: [{ name: 'p', fault: '503@2' }, { name: 'f', provider: 'b' }], retries: { attempts: 2 }, breaker: { failureThreshold: 2, cooldownMs: COOLDOWN } };
  await withGateway('openai', setup, async (t) => {
    assert.deepEqual(trail((await call(t, 'openai')).rec), ['p:503:upstream_unavailable', 'p:503:upstream_unavailable', 'f:200:ok']);
    const skipped = (await call(t, 'openai', true)).rec;
    assert.deepEqual(trail(skipped), ['p:0:circuit_open', 'f:200:ok']);
    assert.equal(skipped.attempts[0]!.outcome, 'skipped');
    await sleep(COOLDOWN + 50);
    assert.deepEqual(trail((await call(t, 'openai')).rec), ['p:200:ok'], 'half-open trial goes to the primary');
    assert.deepEqual(trail((await call(t, 'openai')).rec), ['p:200:ok'], 'closed again');
  });
});

test('circuit breaker: a failed half-open trial re-opens the circuit', async () => {
  const setup = { deps: [{ name: 'p', fault: '503@3' }, { name: 'f', provider: 'b' }], retries: { attempts: 2 }, breaker: { failureThreshold: 2, cooldownMs: COOLDOWN } };
  await withGateway('openai', setup, async (t) => {
    await call(t, 'openai');
    await sleep(COOLDOWN + 50);
    assert.deepEqual(trail((await call(t, 'openai', true)).rec), ['p:503:upstream_unavailable', 'f:200:ok'], 'one trial attempt only');
    assert.deepEqual(trail((await call(t, 'openai')).rec), ['p:0:circuit_open', 'f:200:ok']);
  });
});

test('circuit breaker: every circuit open → 503 with Retry-After, without calling upstream', async () => {
  await withGateway('openai', { deps: [{ name: 'p', fault: '500' }], retries: { attempts: 1 }, breaker: { failureThreshold: 1, cooldownMs: 5000 } }, async (t) => {
    assertError(await call(t, 'openai'), 'openai', 502, 'upstream_error', 'api_error', 'upstream_error');
    const r = await call(t, 'openai');
    assertError(r, 'openai', 503, 'server_error', 'overloaded_error', 'upstream_unavailable');
    assert.match(r.json.error.message, /circuit open/);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.deepEqual(trail(r.rec), ['p:0:circuit_open']);
  });
});
