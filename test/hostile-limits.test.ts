/**
 * Request-shape limits under `server` (README "Security and reliability"): JSON nesting depth, number of messages,
 * longest string, header size, slowloris timeouts and concurrent streams per API key. Each refusal is checked for
 * its status, its error body in the client's wire format (OpenAI on /v1/chat/completions and /v1/embeddings,
 * Anthropic on /v1/messages), its headers (request id, cost, Retry-After) and its ledger row; the same limits hold
 * for the in-process `gw.handle`.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import type { GatewayOptions } from '../src/gateway.js';
import { checkInterval } from '../src/server/http.js';

const user = { role: 'user', content: 'hi' };
const chat = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', max_tokens: 4, messages: [user], ...extra });
const anth = (extra: Record<string, unknown> = {}) => ({ model: 'claude-haiku-4-5', max_tokens: 4, messages: [user], ...extra });
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

let t: TestGateway;
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(w.message);
before(async () => {
  process.on('warning', onWarning);
  t = await startTestGateway({
    config: {
      server: { maxJsonDepth: 16, maxMessages: 3, maxStringLength: 1000, maxHeaderBytes: 2048, headersTimeoutMs: 400, requestTimeoutMs: 800, maxStreamsPerKey: 2 },
      providers: { sim: { type: 'simulator', simulator: { ttftMs: 50, perTokenMs: 20 } } },
    } as GatewayOptions['config'],
  });
});
after(async () => {
  process.off('warning', onWarning);
  assert.deepEqual(warnings.filter((w) => w.includes('internal error')), []);
  await t.close();
});

function openaiError(r: { status: number; headers: Headers; json: any; text: string }, status: number, code: string, param: string | null = null) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(r.json), ['error']);
  assert.equal(r.json.error.code, code);
  assert.equal(r.json.error.param, param);
  assert.equal(r.json.error.type, status === 429 ? 'rate_limit_error' : 'invalid_request_error');
  assert.ok(typeof r.json.error.message === 'string' && r.json.error.message.includes('server.'), r.json.error.message);
  assert.match(r.headers.get('x-costgate-request-id') ?? '', /^[A-Za-z0-9._:-]+$/);
  assert.equal(r.headers.get('x-costgate-cost-usd'), '0.000000000');
}

function anthropicError(r: { status: number; headers: Headers; json: any; text: string }, status: number, type: string) {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['error', 'type']);
  assert.equal(r.json.type, 'error');
  assert.equal(r.json.error.type, type);
  assert.ok(r.json.error.message.includes('server.'), r.json.error.message);
  assert.equal(r.headers.get('x-costgate-cost-usd'), '0.000000000');
}

test('defaults: every limit has a sane default', async () => {
  const { ServerSchema } = await import('../src/config/schema.js');
  const d = ServerSchema.parse({});
  assert.equal(d.maxJsonDepth, 128);
  assert.equal(d.maxMessages, 10_000);
  assert.equal(d.maxStringLength, 8 * 1024 * 1024);
  assert.equal(d.maxHeaderBytes, 32 * 1024);
  assert.equal(d.maxStreamsPerKey, 64);
  assert.equal(checkInterval(30_000, 300_000), 7_500);
  assert.equal(checkInterval(0, 0), 30_000);
  assert.equal(checkInterval(100, 0), 50);
});

test('bad limit values are refused naming the field', async () => {
  const { parseConfig } = await import('../src/config/load.js');
  assert.throws(() => parseConfig({ server: { maxJsonDepth: 2 } }, 'x.yaml'), /server\.maxJsonDepth/);
  assert.throws(() => parseConfig({ server: { maxStreamsPerKey: -1 } }, 'x.yaml'), /server\.maxStreamsPerKey/);
  assert.throws(() => parseConfig({ server: { maxMessages: 'many' } }, 'x.yaml'), /server\.maxMessages/);
});

test('JSON nesting: at the limit passes validation, one deeper is 400 nesting_too_deep (both surfaces), recorded', async () => {
  // 16 levels: the body object, tools array, then 14 nested arrays.
  const ok = await postJson(t.url + '/v1/chat/completions', `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"tools":${deep(14)}}`);
  assert.notEqual(ok.json?.error?.code, 'nesting_too_deep', ok.text);
  const r = await postJson(t.url + '/v1/chat/completions', `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"tools":${deep(40)}}`, { 'x-costgate-request-id': 'deep-1' });
  openaiError(r, 400, 'nesting_too_deep');
  assert.equal(r.json.error.max_depth, 16);
  assert.equal(r.headers.get('x-costgate-request-id'), 'deep-1');
  const a = await postJson(t.url + '/v1/messages', `{"model":"claude-haiku-4-5","max_tokens":5,"messages":${deep(100)}}`);
  anthropicError(a, 400, 'invalid_request_error');
  const [row] = await t.gw.request('deep-1');
  assert.equal(row?.errorType, 'nesting_too_deep');
  assert.equal(row?.status, 400);
});

test('JSON nesting in-process: a deep object body, and a cyclic one, are refused without a crash', async () => {
  let v: unknown = 'x';
  for (let i = 0; i < 50; i++) v = { v };
  const res = await t.gw.handle({ endpoint: 'chat', body: chat({ metadata: v }), headers: {} });
  assert.equal(res.status, 400);
  assert.equal(JSON.parse(String(res.body)).error.code, 'nesting_too_deep');
  const cyc: Record<string, unknown> = chat();
  cyc.self = cyc;
  const c = await t.gw.handle({ endpoint: 'chat', body: cyc, headers: {} });
  assert.ok(c.status >= 400 && c.status < 500, String(c.body));
  assert.deepEqual(Object.keys(JSON.parse(String(c.body))), ['error']);
});

test('number of messages: over server.maxMessages is 400 too_many_messages with param', async () => {
  const r = await postJson(t.url + '/v1/chat/completions', chat({ messages: [user, user, user, user] }));
  openaiError(r, 400, 'too_many_messages', 'messages');
  assert.equal(r.json.error.max_messages, 3);
  const e = await postJson(t.url + '/v1/embeddings', { model: 'text-embedding-3-small', input: ['a', 'b', 'c', 'd'] });
  openaiError(e, 400, 'too_many_messages', 'input');
  const a = await postJson(t.url + '/v1/messages', anth({ messages: [user, user, user, user] }));
  anthropicError(a, 400, 'invalid_request_error');
  const ok = await postJson(t.url + '/v1/chat/completions', chat({ messages: [user, user, user] }));
  assert.equal(ok.status, 200, ok.text);
});

test('longest string: a value or a key over server.maxStringLength is 413 string_too_long', async () => {
  const r = await postJson(t.url + '/v1/chat/completions', chat({ messages: [{ role: 'user', content: 'y'.repeat(1001) }] }));
  openaiError(r, 413, 'string_too_long');
  assert.equal(r.json.error.max_string_length, 1000);
  const k = await postJson(t.url + '/v1/chat/completions', chat({ metadata: { ['k'.repeat(1500)]: 1 } }));
  openaiError(k, 413, 'string_too_long');
  const a = await postJson(t.url + '/v1/messages', anth({ system: 's'.repeat(5000) }));
  anthropicError(a, 413, 'request_too_large');
  const inproc = await t.gw.handle({ endpoint: 'embeddings', body: { model: 'text-embedding-3-small', input: 'z'.repeat(1001) }, headers: {} });
  assert.equal(inproc.status, 413);
  assert.equal(JSON.parse(String(inproc.body)).error.code, 'string_too_long');
  const ok = await postJson(t.url + '/v1/chat/completions', chat({ messages: [{ role: 'user', content: 'y'.repeat(900) }] }));
  assert.equal(ok.status, 200, ok.text);
});

/** Write raw bytes on a fresh connection and read until the server closes it. */
function rawExchange(payload: string, opts: { trickle?: string; everyMs?: number } = {}): Promise<{ text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(t.url);
    const s = connect(Number(port), '127.0.0.1');
    const t0 = Date.now();
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    s.setEncoding('utf8');
    s.on('data', (c: string) => (text += c));
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(timer);
      resolve({ text, ms: Date.now() - t0 });
    });
    s.on('connect', () => {
      s.write(payload);
      if (opts.trickle) timer = setInterval(() => s.writable && s.write(opts.trickle!), opts.everyMs ?? 100);
    });
    setTimeout(() => {
      s.destroy();
      reject(new Error(`connection still open after 10 s: ${text}`));
    }, 10_000).unref();
  });
}

function parseRaw(text: string) {
  const [head, body] = text.split('\r\n\r\n');
  const [statusLine, ...lines] = head!.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, json: JSON.parse(body!) };
}

test('header block over server.maxHeaderBytes: 431 in OpenAI format, Anthropic format on /v1/messages', async () => {
  const big = 'x'.repeat(4096);
  const o = parseRaw((await rawExchange(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-pad: ${big}\r\n\r\n`)).text);
  assert.equal(o.status, 431);
  assert.equal(o.headers['content-type'], 'application/json');
  assert.equal(o.headers.connection, 'close');
  assert.equal(o.headers['x-costgate-cost-usd'], '0.000000000');
  assert.match(o.headers['x-costgate-request-id'] ?? '', /^cg-/);
  assert.equal(o.json.error.code, 'headers_too_large');
  assert.match(o.json.error.message, /2048 bytes \(server\.maxHeaderBytes\)/);
  const a = parseRaw((await rawExchange(`POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-pad: ${big}\r\n\r\n`)).text);
  assert.equal(a.status, 431);
  assert.deepEqual(a.json, { type: 'error', error: { type: 'request_too_large', message: 'Request headers exceed the limit of 2048 bytes (server.maxHeaderBytes).' } });
});

test('slowloris: headers trickled one byte at a time are cut at headersTimeoutMs with 408', async () => {
  const r = await rawExchange('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n', { trickle: 'x', everyMs: 50 });
  const p = parseRaw(r.text);
  assert.equal(p.status, 408);
  assert.equal(p.json.error.code, 'request_timeout');
  assert.match(p.json.error.message, /server\.headersTimeoutMs/);
  assert.equal(p.headers.connection, 'close');
  // Cut by the guard (400 ms + a check every 100 ms), not by the test's own 10 s limit.
  assert.ok(r.ms < 5_000, `closed after ${r.ms} ms`);
});

test('slow body: a body trickled past requestTimeoutMs is cut, and the gateway still answers', async () => {
  const r = await rawExchange('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{', { trickle: ' ', everyMs: 50 });
  assert.ok(r.ms < 5_000, `closed after ${r.ms} ms`);
  const p = parseRaw(r.text);
  assert.equal(p.status, 408, r.text);
  assert.equal(p.json.error.code, 'request_timeout');
  assert.deepEqual(warnings.filter((w) => w.includes('internal error')), [], 'a cut body is no internal error');
  const ok = await postJson(t.url + '/v1/chat/completions', chat());
  assert.equal(ok.status, 200);
});

async function openStream(path: string, body: object, key: string) {
  const res = await fetch(t.url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-api-key': key }, body: JSON.stringify({ ...body, max_tokens: 100, stream: true }) });
  return res;
}

test('concurrent streams per key: the third open stream of one key is 429 too_many_streams; other keys and later streams pass', async () => {
  const s1 = await openStream('/v1/chat/completions', chat(), 'sk-client-a');
  const s2 = await openStream('/v1/messages', anth(), 'sk-client-a');
  assert.equal(s1.status, 200);
  assert.equal(s2.status, 200);
  const refused = await fetch(t.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client-a', 'x-costgate-request-id': 'streams-3' },
    body: JSON.stringify(chat({ max_tokens: 100, stream: true })),
  });
  const text = await refused.text();
  const r = { status: refused.status, headers: refused.headers, json: JSON.parse(text), text };
  openaiError(r, 429, 'too_many_streams');
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.equal(r.json.error.streams.limit, 2);
  assert.equal(r.json.error.streams.open, 2);
  const ra = await openStream('/v1/messages', anth(), 'sk-client-a');
  const at = await ra.text();
  anthropicError({ status: ra.status, headers: ra.headers, json: JSON.parse(at), text: at }, 429, 'rate_limit_error');
  // Non-streaming calls of the same key, and streams of another key, are not limited.
  const plain = await postJson(t.url + '/v1/chat/completions', chat(), { authorization: 'Bearer sk-client-a' });
  assert.equal(plain.status, 200, plain.text);
  const other = await openStream('/v1/chat/completions', chat(), 'sk-client-b');
  assert.equal(other.status, 200);
  await Promise.all([s1.text(), s2.text(), other.text()]);
  // Settled streams free their slots.
  let again: Response | undefined;
  for (let i = 0; i < 50; i++) {
    again = await openStream('/v1/chat/completions', chat(), 'sk-client-a');
    if (again.status === 200) break;
    await again.text();
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(again!.status, 200);
  assert.match(await again!.text(), /data: \[DONE\]/);
  const [row] = await t.gw.request('streams-3');
  assert.equal(row?.status, 429);
  assert.equal(row?.errorType, 'too_many_streams');
  assert.equal(row?.governance, 'refused:streams');
});

test('a stream the client abandons frees its slot', async () => {
  const ac = new AbortController();
  const res = await fetch(t.url + '/v1/chat/completions', { method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client-c' }, body: JSON.stringify(chat({ max_tokens: 100, stream: true })) });
  assert.equal(res.status, 200);
  const res2 = await openStream('/v1/chat/completions', chat(), 'sk-client-c');
  assert.equal(res2.status, 200);
  ac.abort();
  await res2.text();
  let ok = false;
  for (let i = 0; i < 100 && !ok; i++) {
    const r = await openStream('/v1/chat/completions', chat(), 'sk-client-c');
    ok = r.status === 200;
    await r.text();
    if (!ok) await new Promise((x) => setTimeout(x, 20));
  }
  assert.ok(ok, 'slot freed after abort');
});

// The accept queue: Node's default (511) overflowed in the fault soak under CPU contention — the kernel dropped
// handshakes (TcpExtListenOverflows) and the clients' retries came 1, 3, 7, 15, 31 s later, past their 30 s limit.
// `ss -ltn` shows a listening socket's queue size as its Send-Q (the backlog, capped by net.core.somaxconn).
test('server.backlog: the listening socket gets the configured accept queue (default 4096, capped by somaxconn)', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  let somaxconn: number;
  try {
    execFileSync('ss', ['-V']);
    somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  } catch {
    return t.skip('needs Linux with ss (iproute2)');
  }
  const queueOf = (url: string): number => {
    const port = new URL(url).port;
    const out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
    const cols = out.trim().split(/\s+/);
    return Number(cols[2]);
  };
  for (const [backlog, want] of [[undefined, Math.min(4096, somaxconn)], [100, 100]] as const) {
    const g = await startTestGateway({ config: { server: backlog === undefined ? {} : { backlog }, providers: { sim: { type: 'simulator' } } } as GatewayOptions['config'] });
    try {
      assert.equal(queueOf(g.url), want, `backlog ${backlog ?? 'default'}`);
    } finally {
      await g.close();
    }
  }
});
