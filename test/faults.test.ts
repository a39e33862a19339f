/**
 * Every simulator fault end to end (timeouts, cut streams, in-stream provider errors, malformed JSON, client
 * disconnects) through a real gateway over HTTP, on both surfaces, streaming and not: what the client receives, in its
 * own wire format, and what the request record says about each attempt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTestGateway, trail, type TestGateway } from './helpers/gateway.js';
import { startSimulator, type Simulator } from '../src/providers/simulator/server.js';

type Surface = 'openai' | 'anthropic';
/** `latency` is `x-sim-latency`, e.g. `token=100`. */
type Dep = { name: string; provider?: string; fault?: string; latency?: string; model?: string };
/** `sim` serves provider `a` from a simulator the test holds (to watch its sockets) instead of an in-process one. */
type Setup = { deps: Dep[]; retries?: Record<string, number>; timeouts?: Record<string, number>; sim?: Simulator };

const MODEL: Record<Surface, string> = { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' };
// The simulator counts Claude tokens with a slow tokenizer (~100+ ms a request), so the default first-byte budget is
// generous; where a 300 ms first-byte timeout is under test, both surfaces use an OpenAI-wire model (the Anthropic
// surface then also exercises translation).
const FAST = 'gpt-4o-mini';
const SHORT = { firstByteMs: 300 };
const COMBOS = (['openai', 'anthropic'] as Surface[]).flatMap((surface) => [false, true].map((stream) => ({ surface, stream })));

async function withGateway(surface: Surface, s: Setup, fn: (t: TestGateway) => Promise<void>): Promise<void> {
  const timeouts = { firstByteMs: 5000, connectMs: 300, ...s.timeouts };
  const headers = (d: Dep) => ({ ...(d.fault ? { 'x-sim-fault': d.fault } : {}), ...(d.latency ? { 'x-sim-latency': d.latency } : {}) });
  const config = {
    providers: { a: { type: 'simulator', timeouts, ...(s.sim ? { baseUrl: s.sim.baseUrl } : {}) }, b: { type: 'simulator', timeouts } },
    deployments: s.deps.map((d) => ({ name: d.name, provider: d.provider ?? 'a', model: d.model ?? MODEL[surface], headers: headers(d) })),
    models: { m: { deployments: s.deps.map((d) => d.name) } },
    retries: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 10_000, ...s.retries },
    circuitBreaker: { failureThreshold: 100, cooldownMs: 60_000 },
  };
  await withTestGateway({ config: config as never }, fn);
}

const PATH: Record<Surface, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };
const body = (stream: boolean, maxTokens = 8) => JSON.stringify({ model: 'm', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hello there' }], ...(stream ? { stream: true } : {}) });

type Reply = Awaited<ReturnType<typeof call>>;
type Ev = { event?: string; data?: any };

function parseSse(text: string): Ev[] {
  return text.split('\n\n').filter((raw) => raw.trim()).map((raw) => {
    const ev: Ev = {};
    for (const line of raw.split('\n')) {
      if (line.startsWith('event: ')) ev.event = line.slice(7);
      else if (line.startsWith('data: ')) ev.data = line.slice(6) === '[DONE]' ? '[DONE]' : JSON.parse(line.slice(6));
    }
    return ev;
  });
}

async function call(t: TestGateway, surface: Surface, stream = false, maxTokens = 8) {
  const before = t.records.length;
  const res = await fetch(t.url + PATH[surface], { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(stream, maxTokens) });
  const text = await res.text();
  const json: any = text.startsWith('{') ? JSON.parse(text) : undefined;
  const isSse = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
  const recs = await t.waitRecords(before + 1);
  return { status: res.status, headers: res.headers, text, json, events: isSse ? parseSse(text) : [], rec: recs[before]! };
}


/** A complete, clean answer: no error event, and the stream's proper end. */
function assertClean(r: Reply, surface: Surface, stream: boolean): void {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.rec.status, 200);
  if (!stream) return assert.ok(surface === 'openai' ? r.json.choices : r.json.content);
  assert.ok(!r.events.some((e) => e.event === 'error' || e.data?.error), r.text);
  if (surface === 'openai') assert.equal(r.events.at(-1)?.data, '[DONE]');
  else assert.equal(r.events.at(-1)?.event, 'message_stop');
}

/** The stream was committed, then ended with an error event in the client's wire format. */
function assertInStreamError(r: Reply, surface: Surface, openaiCode: string | null, anthropicType: string): void {
  assert.equal(r.status, 200);
  const last = r.events.at(-1)!;
  if (surface === 'openai') {
    assert.equal(last.data.error.code, openaiCode, r.text);
    assert.ok(!r.events.some((e) => e.data === '[DONE]'));
  } else {
    assert.equal(last.event, 'error', r.text);
    assert.equal(last.data.type, 'error');
    assert.equal(last.data.error.type, anthropicType);
    assert.ok(!r.events.some((e) => e.event === 'message_stop'));
  }
  assert.ok(r.events.length > 1, 'some content was relayed before the error');
}

for (const { surface, stream } of COMBOS) {
  const label = `${surface}${stream ? ' stream' : ''}`;

  test(`${label}: first-byte timeout → timed-out attempt, then a successful retry`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: 'timeout@1', model: FAST }], timeouts: SHORT }, async (t) => {
      const r = await call(t, surface, stream);
      assertClean(r, surface, stream);
      assert.deepEqual(trail(r.rec), ['p:0:upstream_timeout', 'p:200:ok']);
      assert.ok(r.rec.attempts[0]!.latencyMs >= 290, 'the attempt waited for the first-byte timeout');
    });
  });

  test(`${label}: malformed JSON answer is retried`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: 'malformed-json@1' }] }, async (t) => {
      const r = await call(t, surface, stream);
      assertClean(r, surface, stream);
      assert.deepEqual(trail(r.rec), ['p:200:upstream_bad_response', 'p:200:ok']);
    });
  });
}

for (const surface of ['openai', 'anthropic'] as Surface[]) {
  test(`${surface}: persistent first-byte timeouts fall back; all timing out → 504`, async () => {
    const deps = [{ name: 'p', fault: 'timeout', model: FAST }, { name: 'f', provider: 'b', model: FAST }];
    await withGateway(surface, { deps, retries: { attempts: 2 }, timeouts: SHORT }, async (t) => {
      const r = await call(t, surface, true);
      assertClean(r, surface, true);
      assert.deepEqual(trail(r.rec), ['p:0:upstream_timeout', 'p:0:upstream_timeout', 'f:200:ok']);
    });
    await withGateway(surface, { deps: [{ name: 'p', fault: 'timeout', model: FAST }], retries: { attempts: 2 }, timeouts: SHORT }, async (t) => {
      const r = await call(t, surface);
      assert.equal(r.status, 504);
      assert.equal(r.json.error.type, 'timeout_error');
      if (surface === 'openai') assert.equal(r.json.error.code, 'upstream_timeout');
      else assert.equal(r.json.type, 'error');
      assert.equal(r.rec.errorCode, 'upstream_timeout');
      assert.deepEqual(trail(r.rec), ['p:0:upstream_timeout', 'p:0:upstream_timeout']);
    });
  });

  test(`${surface} stream: cut mid-way → in-stream error, record says stream_cut with usage estimated, no retry`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: 'cut-stream:6', latency: 'token=10' }, { name: 'f', provider: 'b' }] }, async (t) => {
      const r = await call(t, surface, true, 30);
      assertInStreamError(r, surface, 'upstream_bad_response', 'api_error');
      assert.deepEqual(trail(r.rec), ['p:200:stream_cut']);
      assert.equal(r.rec.status, 502);
      assert.equal(r.rec.errorCode, 'stream_cut');
      assert.equal(r.rec.clientAborted, false);
      assert.equal(r.rec.usage?.estimated, true);
      assert.ok(r.rec.usage!.inputTokens > 0 && r.rec.usage!.outputTokens > 0, JSON.stringify(r.rec.usage));
      assert.ok(r.rec.usage!.outputTokens < 30, 'counts what was received, not what was asked for');
    });
  });

  test(`${surface} stream: cut before the first event → retried transparently, client sees a clean stream`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: 'cut-stream:0@1' }, { name: 'f', provider: 'b' }] }, async (t) => {
      const r = await call(t, surface, true);
      assertClean(r, surface, true);
      assert.deepEqual(trail(r.rec), ['p:200:stream_cut', 'p:200:ok']);
    });
  });

  test(`${surface} stream: provider error event before any content → retried; after content → relayed in-stream`, async () => {
    await withGateway(surface, { deps: [{ name: 'p', fault: 'stream-error:0@1' }] }, async (t) => {
      const r = await call(t, surface, true);
      assertClean(r, surface, true);
      assert.deepEqual(trail(r.rec), ['p:200:upstream_error', 'p:200:ok']);
    });
    // Paced, so content reaches the client before the error (events arriving in one chunk with the error would still
    // be uncommitted, and rightly retried).
    await withGateway(surface, { deps: [{ name: 'p', fault: 'stream-error:4', latency: 'token=10' }, { name: 'f', provider: 'b' }] }, async (t) => {
      const r = await call(t, surface, true);
      assertInStreamError(r, surface, null, 'overloaded_error');
      if (surface === 'openai') assert.equal(r.events.at(-1)!.data.error.type, 'server_error');
      assert.deepEqual(trail(r.rec), ['p:200:upstream_error']);
      assert.equal(r.rec.errorCode, 'upstream_error');
    });
  });

  test(`${surface} stream: total timeout mid-stream → in-stream timeout error`, async () => {
    const setup = { deps: [{ name: 'p', latency: 'token=150', model: FAST }], timeouts: { totalMs: 1000 } };
    await withGateway(surface, setup, async (t) => {
      const r = await call(t, surface, true, 30);
      assertInStreamError(r, surface, 'upstream_timeout', 'timeout_error');
      assert.deepEqual(trail(r.rec), ['p:200:upstream_timeout']);
      assert.equal(r.rec.status, 504);
      assert.equal(r.rec.usage?.estimated, true);
    });
  });
}

test('openai → anthropic translation: a cut OpenAI-wire stream ends with an Anthropic error event', async () => {
  await withGateway('anthropic', { deps: [{ name: 'p', fault: 'cut-stream:5', model: FAST }] }, async (t) => {
    const r = await call(t, 'anthropic', true);
    assertInStreamError(r, 'anthropic', null, 'api_error');
    assert.equal(r.rec.errorCode, 'stream_cut');
  });
});

test('non-streaming answer cut half-way is retried, persistent malformed JSON falls back', async () => {
  await withGateway('openai', { deps: [{ name: 'p', fault: 'cut-stream@1' }] }, async (t) => {
    const r = await call(t, 'openai');
    assertClean(r, 'openai', false);
    assert.deepEqual(trail(r.rec), ['p:200:upstream_bad_response', 'p:200:ok']);
  });
  await withGateway('anthropic', { deps: [{ name: 'p', fault: 'malformed-json' }, { name: 'f', provider: 'b' }], retries: { attempts: 2 } }, async (t) => {
    const r = await call(t, 'anthropic', true);
    assertClean(r, 'anthropic', true);
    assert.deepEqual(trail(r.rec), ['p:200:upstream_bad_response', 'p:200:upstream_bad_response', 'f:200:ok']);
  });
});

/** Watches the simulator's responses: resolves `closedEarly` when one closes before it finished. */
function watchEarlyClose(sim: Simulator): Promise<void> {
  return new Promise((resolve) =>
    sim.server.on('request', (_req, res) => {
      res.on('close', () => {
        if (!res.writableEnded) resolve();
      });
    }),
  );
}

const waitFor = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

for (const surface of ['openai', 'anthropic'] as Surface[]) {
  test(`${surface} stream: client disconnect mid-stream aborts the upstream request`, async () => {
    const sim = await startSimulator({ perTokenMs: 50 });
    const closed = watchEarlyClose(sim);
    try {
      await withGateway(surface, { deps: [{ name: 'p' }], sim }, async (t) => {
        const ac = new AbortController();
        const res = await fetch(t.url + PATH[surface], { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(true, 200), signal: ac.signal });
        const reader = res.body!.getReader();
        await reader.read();
        ac.abort();
        await closed;
        const [rec] = await t.waitRecords(1);
        assert.equal(rec!.clientAborted, true);
        assert.equal(rec!.status, 499);
        assert.equal(rec!.errorCode, 'client_aborted');
        assert.deepEqual(trail(rec!), ['p:200:invalid_request']);
        assert.equal(rec!.usage?.estimated, true);
      });
    } finally {
      await sim.close();
    }
  });
}

test('client disconnect before the upstream answers aborts the upstream request (non-streaming)', async () => {
  const sim = await startSimulator({});
  const closed = watchEarlyClose(sim);
  try {
    await withGateway('openai', { deps: [{ name: 'p', fault: 'slow:5000' }], sim }, async (t) => {
      const ac = new AbortController();
      const pending = fetch(t.url + PATH.openai, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(false), signal: ac.signal }).catch((e) => e);
      await waitFor(() => (sim.counts['/v1/chat/completions'] ?? 0) > 0);
      ac.abort();
      await pending;
      await closed;
      const [rec] = await t.waitRecords(1);
      assert.equal(rec!.clientAborted, true);
      assert.equal(rec!.status, 499);
      assert.deepEqual(trail(rec!), ['p:0:invalid_request']);
    });
  } finally {
    await sim.close();
  }
});

test('client disconnect while waiting out a Retry-After stops the retries', async () => {
  const sim = await startSimulator({});
  try {
    await withGateway('anthropic', { deps: [{ name: 'p', fault: '429:5', model: FAST }], sim }, async (t) => {
      const ac = new AbortController();
      const pending = fetch(t.url + PATH.anthropic, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(false), signal: ac.signal }).catch((e) => e);
      await waitFor(() => (sim.counts['/v1/chat/completions'] ?? 0) > 0);
      // The 429 goes straight back; give the gateway a moment to read it and start the 5 s wait.
      await new Promise((r) => setTimeout(r, 100));
      ac.abort();
      await pending;
      const [rec] = await t.waitRecords(1);
      assert.equal(rec!.clientAborted, true);
      assert.equal(rec!.status, 499);
      assert.deepEqual(trail(rec!), ['p:429:upstream_rate_limited']);
    });
  } finally {
    await sim.close();
  }
});
