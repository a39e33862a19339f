/**
 * A provider's connect and idle timeouts (`timeouts: { connectMs, idleMs }`) end to end, on loopback only.
 *
 * Idle: a capturing upstream sends its headers (and maybe the first SSE event) and then goes silent; undici's body
 * timeout ends the attempt as `upstream_timeout`. Before the first event reaches the client the attempt is retried
 * transparently; after it, the client gets an in-stream timeout error in its own wire format (README "Retries,
 * fallbacks").
 *
 * Connect: a listener whose accept queue is full never completes a handshake (Linux drops the SYN), so the connect
 * itself hangs. The listener runs in a worker thread whose event loop is blocked (Atomics.wait), so nothing accepts;
 * two connections fill its backlog of 1. Where the platform does not behave that way, the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { ServerResponse } from 'node:http';
import { withTestGateway, trail, type TestGateway } from './helpers/gateway.js';
import { startCapture, type CaptureServer, type Captured } from './helpers/capture.js';
import { anthropicStream, openaiStream, openaiTextCompletion } from '../src/providers/shared/wire-fixtures.js';

type Surface = 'openai' | 'anthropic';
const IDLE = 300;

async function withGateway(providers: Record<string, unknown>, deps: { name: string; provider: string; model: string }[], fn: (t: TestGateway) => Promise<void>, attempts = 2): Promise<void> {
  const config = {
    providers,
    deployments: deps,
    models: { m: { deployments: deps.map((d) => d.name) } },
    retries: { attempts, baseDelayMs: 1, maxDelayMs: 2 },
    circuitBreaker: { failureThreshold: 100, cooldownMs: 60_000 },
  };
  await withTestGateway({ config: config as never }, fn);
}

async function call(t: TestGateway, surface: Surface, stream: boolean) {
  const before = t.records.length;
  const path = surface === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  const res = await fetch(t.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], ...(stream ? { stream: true } : {}) }),
  });
  const text = await res.text();
  const [rec] = (await t.waitRecords(before + 1, 15_000)).slice(before);
  return { status: res.status, text, rec: rec! };
}

/** The first event of the canned stream for this request's wire, as the upstream would send it. */
function firstEvent(c: Captured): string {
  const all = c.path.endsWith('/messages') ? anthropicStream(true) : openaiStream(openaiTextCompletion, true);
  return all.slice(0, all.indexOf('\n\n') + 2);
}

/** Headers (and optionally the first event / half a document) now, then nothing: the socket stays open, silent. */
function goSilent(c: Captured, res: ServerResponse, what: 'headers' | 'first-event' | 'half-body'): void {
  res.writeHead(200, { 'content-type': what === 'half-body' ? 'application/json' : 'text/event-stream' });
  if (what === 'first-event') res.write(firstEvent(c));
  else if (what === 'half-body') res.write(JSON.stringify(openaiTextCompletion).slice(0, 60));
  else res.flushHeaders();
}

const CASES: { surface: Surface; type: 'openai' | 'anthropic'; model: string }[] = [
  { surface: 'openai', type: 'openai', model: 'gpt-4o-mini' },
  { surface: 'anthropic', type: 'anthropic', model: 'claude-haiku-4-5' },
  { surface: 'anthropic', type: 'openai', model: 'gpt-4o-mini' },
];

for (const { surface, type, model } of CASES) {
  const label = `${surface} client, ${type} provider`;
  const providers = (cap: CaptureServer) => ({ p: { type, baseUrl: `${cap.url}/v1`, timeouts: { idleMs: IDLE, firstByteMs: 5000, connectMs: 1000 } } });

  test(`${label}: idle after the first event → in-stream timeout error, attempt upstream_timeout, no retry`, { timeout: 20_000 }, async () => {
    const cap = await startCapture((c, res) => goSilent(c, res, 'first-event'));
    try {
      await withGateway(providers(cap), [{ name: 'p', provider: 'p', model }], async (t) => {
        const r = await call(t, surface, true);
        assert.equal(r.status, 200, 'the stream was committed');
        const events = r.text.split('\n\n').filter((e) => e.trim());
        assert.ok(events.length >= 2, r.text);
        const last = events.at(-1)!;
        if (surface === 'openai') {
          const err = JSON.parse(last.replace(/^data: /, '')).error;
          assert.equal(err.code, 'upstream_timeout', r.text);
          assert.equal(err.type, 'timeout_error');
          assert.ok(!r.text.includes('[DONE]'));
        } else {
          assert.match(last, /^event: error\n/, r.text);
          assert.equal(JSON.parse(last.split('\ndata: ')[1]!).error.type, 'timeout_error');
          assert.ok(!r.text.includes('message_stop'));
        }
        assert.deepEqual(trail(r.rec), ['p:200:upstream_timeout']);
        assert.equal(r.rec.status, 504);
        assert.equal(r.rec.errorCode, 'upstream_timeout');
        assert.ok(r.rec.attempts[0]!.latencyMs >= IDLE - 10, `attempt lasted ${r.rec.attempts[0]!.latencyMs} ms`);
        assert.equal(cap.requests.length, 1, 'a committed stream is not retried');
      });
    } finally {
      await cap.close();
    }
  });

  test(`${label}: idle after the headers, before any event → retried transparently, clean stream`, { timeout: 20_000 }, async () => {
    const cap = await startCapture((c, res) => {
      if (cap.requests.length > 1) return false; // the retry gets the canned stream
      goSilent(c, res, 'headers');
    });
    try {
      await withGateway(providers(cap), [{ name: 'p', provider: 'p', model }], async (t) => {
        const r = await call(t, surface, true);
        assert.equal(r.status, 200, r.text);
        assert.match(r.text, surface === 'openai' ? /data: \[DONE\]\n\n$/ : /event: message_stop\n/);
        assert.ok(!/"error"/.test(r.text), r.text);
        assert.deepEqual(trail(r.rec), ['p:200:upstream_timeout', 'p:200:ok']);
        assert.ok(r.rec.attempts[0]!.latencyMs >= IDLE - 10, `attempt lasted ${r.rec.attempts[0]!.latencyMs} ms`);
        assert.equal(cap.requests.length, 2);
      });
    } finally {
      await cap.close();
    }
  });
}

test('non-streaming: a document that stalls half-way hits the idle timeout; retried, then 504 upstream_timeout', { timeout: 20_000 }, async () => {
  const cap = await startCapture((c, res) => goSilent(c, res, 'half-body'));
  try {
    const providers = { p: { type: 'openai', baseUrl: `${cap.url}/v1`, timeouts: { idleMs: IDLE, firstByteMs: 5000, connectMs: 1000 } } };
    await withGateway(providers, [{ name: 'p', provider: 'p', model: 'gpt-4o-mini' }], async (t) => {
      const r = await call(t, 'openai', false);
      assert.equal(r.status, 504, r.text);
      const err = JSON.parse(r.text).error;
      assert.equal(err.type, 'timeout_error');
      assert.equal(err.code, 'upstream_timeout');
      assert.deepEqual(trail(r.rec), ['p:200:upstream_timeout', 'p:200:upstream_timeout']);
      for (const a of r.rec.attempts) assert.ok(a.latencyMs >= IDLE - 10, `attempt lasted ${a.latencyMs} ms`);
    });
  } finally {
    await cap.close();
  }
});

/** A loopback listener that completes no handshake: full accept queue, nothing accepting. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> } | undefined> {
  const sab = new SharedArrayBuffer(4);
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const net = require('node:net');
     const s = net.createServer();
     s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(s.address().port);
       Atomics.wait(new Int32Array(workerData), 0, 0, 60000); // nothing accepts while this thread waits
       s.close();
       process.exit(0);
     });`,
    { eval: true, workerData: sab },
  );
  const port = await new Promise<number>((r) => worker.once('message', r));
  const fillers: Socket[] = [];
  const tryConnect = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      fillers.push(s);
      const timer = setTimeout(() => resolve(false), ms);
      s.once('connect', () => (clearTimeout(timer), resolve(true)));
      s.once('error', () => (clearTimeout(timer), resolve(false)));
    });
  let hangs = false;
  for (let i = 0; i < 8 && !hangs; i++) hangs = !(await tryConnect(200));
  const close = async () => {
    for (const s of fillers) s.destroy();
    Atomics.store(new Int32Array(sab), 0, 1);
    Atomics.notify(new Int32Array(sab), 0);
    await new Promise((r) => worker.once('exit', r));
  };
  if (!hangs) {
    await close();
    return undefined;
  }
  return { port, close };
}

test('connect timeout: a handshake that never completes ends each attempt at connectMs (not firstByteMs), then falls back', { timeout: 20_000 }, async (tc) => {
  const hole = await blackHole();
  if (!hole) return tc.skip('this platform completes loopback handshakes with a full accept queue: no connect timeout to provoke');
  const cap = await startCapture();
  try {
    const providers = {
      dead: { type: 'openai', baseUrl: `http://127.0.0.1:${hole.port}/v1`, timeouts: { connectMs: 300, firstByteMs: 10_000 } },
      ok: { type: 'openai', baseUrl: `${cap.url}/v1` },
    };
    const deps = [{ name: 'p', provider: 'dead', model: 'gpt-4o-mini' }, { name: 'f', provider: 'ok', model: 'gpt-4o-mini' }];
    await withGateway(providers, deps, async (t) => {
      const r = await call(t, 'openai', true);
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /data: \[DONE\]/);
      assert.deepEqual(trail(r.rec), ['p:0:upstream_timeout', 'p:0:upstream_timeout', 'f:200:ok']);
      for (const a of r.rec.attempts.slice(0, 2)) {
        // undici's connect timer has ~0.5 s resolution: at least connectMs, far below the 10 s first-byte budget.
        assert.ok(a.latencyMs >= 290 && a.latencyMs < 5000, `connect attempt lasted ${a.latencyMs} ms`);
      }
    });
    await withGateway({ dead: providers.dead }, [deps[0]!], async (t) => {
      const r = await call(t, 'anthropic', false);
      assert.equal(r.status, 504, r.text);
      assert.equal(JSON.parse(r.text).error.type, 'timeout_error');
      assert.equal(r.rec.errorCode, 'upstream_timeout');
      assert.deepEqual(trail(r.rec), ['p:0:upstream_timeout']);
    }, 1);
  } finally {
    await cap.close();
    await hole.close();
  }
});
