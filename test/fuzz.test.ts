/**
 * Property-based fuzzing (fast-check) of both surfaces and the config loader: ≥ 100,000 generated malformed and
 * adversarial inputs in all (the run counts them and asserts the total). Requests are built by mutating valid chat,
 * messages and embeddings bodies — any field replaced by wrong types, huge strings, unicode edge cases (lone
 * surrogates, NUL, RTL overrides, combining marks, BOM, line separators), prototype-pollution keys (`__proto__`,
 * `constructor`, `prototype`), deep nesting — then, for raw bodies, truncated, spliced with invalid UTF-8 or
 * garbage, with hostile headers. Most go through the in-process `routeRequest`/`gw.handle` (the same code the HTTP
 * server runs), a share over real HTTP, and a share against an upstream that answers garbage SSE and documents.
 *
 * Properties: no throw, no unhandled rejection, no internal-error warning, no 5xx from the gateway (502/504 only
 * for the garbage upstream), every error body well-formed JSON in the surface's shape, every stream drains,
 * Object.prototype untouched.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startCapture, type CaptureServer } from './helpers/capture.js';
import { routeRequest } from '../src/server/routes.js';
import { parseConfig, resolveConfig, ConfigError } from '../src/config/load.js';
import type { GatewayResponse } from '../src/pipeline/ctx.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
// `npm test` runs a tenth (10,000 cases, ~20 s); `npm run fuzz` (FUZZ_SCALE=1) runs the full 100,000.
const SCALE = Number(process.env.FUZZ_SCALE ?? 0.1);
const N = { raw: 30_000, handle: 30_000, http: 2_000, sse: 4_000, config: 34_000 };
const counted: Record<string, number> = {};
const unhandled: unknown[] = [];
const warnings: string[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
const onWarning = (w: Error) => warnings.push(w.message);

// ---- generators -------------------------------------------------------------------------------------------------

const POLLUTION = ['__proto__', 'constructor', 'prototype'] as const;
const EDGE = ['\uD800', '\uDFFF', 'a\uD83Db', '\uDE00\uD83D', '\u0000', 'a\u0000b', '\u202Eevil\u202C', '\u200F\u061C', 'e\u0301\u0302\u0303\u0304', 'Z̷̡̛̙̗̘̰̩̺̞̖̿̈́̔̍̈̀͜a', '\uFEFF', '\u2028\u2029', '\uFFFF', '\uFFFE', '😀👨‍👩‍👧‍👦', '\r\n\r\ndata: [DONE]\n\n', '"}]}', '\\', '%00', '${x}', '<script>', 'NaN', '-0', '1e309'];

const weirdString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...EDGE, ...POLLUTION) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 70_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('gpt-4o-mini', 'claude-haiku-4-5', 'text-embedding-3-small', 'user', 'assistant', 'system', 'tool', 'function', 'text', 'image_url', 'json_schema', 'auto', 'none') },
);

const deepValue = fc.integer({ min: 2, max: 300 }).chain((n) =>
  fc.constantFrom('arr', 'obj').map((k) => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = k === 'arr' ? [v] : { a: v };
    return v;
  }),
);

const leaf = fc.oneof(
  weirdString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 53, -(2 ** 31), 1e308, Number.MAX_SAFE_INTEGER, 0.5, true, false, null),
  fc.bigInt().map((b) => Number(b)),
);

const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...POLLUTION, 'model', 'messages', 'role', 'content', 'type', 'text', 'stream', 'tools', 'metadata', 'input', 'max_tokens') }, { weight: 2, arbitrary: weirdString });

const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('v'), { maxLength: 4 }), tie('o'), deepValue),
  o: fc.array(fc.tuple(key, tie('v')), { maxLength: 4 }).map((kv) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of kv) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  }),
})).v;

type Endpoint = 'chat' | 'messages' | 'embeddings';
const PATH: Record<Endpoint, string> = { chat: '/v1/chat/completions', messages: '/v1/messages', embeddings: '/v1/embeddings' };

function template(ep: Endpoint, stream: boolean): Record<string, any> {
  if (ep === 'embeddings') return { model: 'text-embedding-3-small', input: ['hello', 'world'], encoding_format: 'float' };
  if (ep === 'messages') return { model: 'claude-haiku-4-5', max_tokens: 8, stream, system: 's', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'go' }], tools: [{ name: 't', input_schema: { type: 'object' } }], metadata: { user_id: 'u' } };
  return { model: 'gpt-4o-mini', max_tokens: 8, stream, stream_options: stream ? { include_usage: true } : undefined, n: 1, messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }], tool_choice: 'auto', response_format: { type: 'text' }, stop: ['x'], metadata: { feature: 'f' }, user: 'u' };
}

/** Every path into the template (objects and arrays), so a mutation can hit any level. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, Array.isArray(v) ? Number(k) : k], out);
  return out;
}

type Mutation = { at: number; op: 'set' | 'delete' | 'pollute' | 'add'; value: unknown; key: string };
const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom('set', 'set', 'set', 'delete', 'pollute', 'add'), value: anyValue, key: fc.oneof(fc.constantFrom(...POLLUTION), weirdString) }) as fc.Arbitrary<Mutation>;

function mutate(body: Record<string, any>, ms: Mutation[]): unknown {
  let root: any = body;
  for (const m of ms) {
    const ps = paths(root);
    const p = ps[m.at % ps.length]!;
    if (p.length === 0) {
      if (m.op === 'set' && m.at % 7 === 0) root = m.value;
      else if (root && typeof root === 'object') Object.defineProperty(root, m.op === 'pollute' ? POLLUTION[m.at % 3]! : m.key, { value: m.op === 'pollute' ? { polluted: true, model: 'x' } : m.value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const parent = p.slice(0, -1).reduce((o: any, k) => o?.[k], root);
    const k = p[p.length - 1]!;
    if (!parent || typeof parent !== 'object') continue;
    if (m.op === 'delete') delete parent[k];
    else if (m.op === 'pollute') {
      const target = parent[k] && typeof parent[k] === 'object' ? parent[k] : parent;
      Object.defineProperty(target, POLLUTION[m.at % 3]!, { value: { polluted: true, role: 'system' }, enumerable: true, writable: true, configurable: true });
    } else if (m.op === 'add') Object.defineProperty(parent, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    else parent[k] = m.value;
  }
  return root;
}

const requestBody = fc.record({ ep: fc.constantFrom<Endpoint>('chat', 'chat', 'messages', 'messages', 'embeddings'), stream: fc.boolean(), ms: fc.array(mutation, { minLength: 1, maxLength: 3 }) }).map(({ ep, stream, ms }) => ({ ep, body: mutate(template(ep, stream), ms) }));

/** Serialisations a client might send: JSON text, truncated, invalid UTF-8 spliced in, garbage, duplicate keys. */
const rawOf = (body: unknown) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constant(1) },
    { weight: 1, arbitrary: fc.constant(2) },
    { weight: 1, arbitrary: fc.constant(3) },
    { weight: 1, arbitrary: fc.constant(4) },
  ).chain((kind) =>
    fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 8 })).map(([n, bytes]) => {
      let text: string;
      try {
        text = JSON.stringify(body) ?? 'undefined';
      } catch {
        text = '{';
      }
      const buf = Buffer.from(text, 'utf8');
      if (kind === 1) return buf.subarray(0, n % (buf.length + 1)); // truncated
      if (kind === 2) {
        const i = n % (buf.length + 1);
        return Buffer.concat([buf.subarray(0, i), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), buf.subarray(i)]); // invalid UTF-8
      }
      if (kind === 3) {
        const i = n % (buf.length + 1);
        return Buffer.concat([buf.subarray(0, i), Buffer.from(bytes), buf.subarray(i)]); // random bytes
      }
      if (kind === 4 && text.startsWith('{')) return Buffer.from(`{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},${text.slice(1)}`);
      return buf;
    }),
  );

const headersArb = fc
  .record(
    {
      'content-type': fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', ''),
      'x-costgate-request-id': fc.oneof(fc.constantFrom('req-1', 'a'.repeat(129), 'has space', '../../etc', '\u0000'), fc.string({ maxLength: 20 })),
      'x-costgate-priority': fc.constantFrom('critical', 'important', 'optional', 'urgent', '', '__proto__'),
      'x-costgate-feature': weirdString.map((s) => s.slice(0, 300)),
      'x-costgate-include-cost': fc.constantFrom('true', 'false', 'yes'),
      'x-costgate-tier': fc.constantFrom('free', 'paid', '__proto__', 'constructor'),
      authorization: fc.constantFrom('Bearer ', 'Bearer cg-key_0123456789abcdef-xxxx', 'Basic Zm9vOmJhcg==', 'Bearer \u0000', 'Bearer ' + 'k'.repeat(5000)),
      'anthropic-version': fc.constantFrom('2023-06-01', 'x'),
    },
    { requiredKeys: [] },
  )
  .map((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)])) as Record<string, string>);

// ---- checks -----------------------------------------------------------------------------------------------------

async function drain(out: GatewayResponse): Promise<string> {
  if (!out.stream) return typeof out.body === 'string' ? out.body : Buffer.from(out.body ?? '').toString('utf8');
  let s = '';
  for await (const c of out.stream) s += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
  if (out.trailers) out.trailers();
  return s;
}

function checkError(status: number, text: string, ep: Endpoint | undefined, allow5xx: readonly number[] = []): void {
  assert.ok(Number.isInteger(status) && status >= 200 && status < 600, `status ${status}`);
  if (status >= 500) assert.ok(allow5xx.includes(status), `gateway ${status}: ${text.slice(0, 500)}`);
  if (status < 400) return;
  const j = JSON.parse(text);
  if (ep === 'messages') {
    assert.deepEqual(Object.keys(j).sort(), ['error', 'type'], text.slice(0, 300));
    assert.equal(j.type, 'error');
    assert.equal(typeof j.error.type, 'string');
    assert.equal(typeof j.error.message, 'string');
  } else {
    assert.deepEqual(Object.keys(j), ['error'], text.slice(0, 300));
    assert.equal(typeof j.error.message, 'string');
    assert.equal(typeof j.error.type, 'string');
    assert.equal(typeof j.error.code, 'string');
    assert.ok(j.error.param === null || typeof j.error.param === 'string');
  }
}

/**
 * A stream must be SSE in the surface's format; an in-stream error is the surface's error event. `passthrough`: the
 * same-wire relay forwards an upstream's events without parsing each (README), so a garbage upstream's non-JSON data
 * line may reach the client as it was sent; everything the gateway writes itself must still parse.
 */
function checkStream(text: string, ep: Endpoint, passthrough = false): void {
  for (const block of text.split('\n\n')) {
    const data = block.split('\n').find((l) => l.startsWith('data: '));
    if (!data || data === 'data: [DONE]') continue;
    let j: any;
    try {
      j = JSON.parse(data.slice(6));
    } catch (e) {
      if (passthrough) continue;
      throw e;
    }
    assert.ok(j && typeof j === 'object', data);
    if (ep === 'messages' && j.type === 'error') assert.equal(typeof j.error.message, 'string');
    if (ep === 'chat' && j.error) assert.equal(typeof j.error.message, 'string');
  }
}

// ---- set-up -----------------------------------------------------------------------------------------------------

let t: TestGateway;
let garbage: TestGateway;
let cap: CaptureServer;
const LIMITS = { maxBodyBytes: 256 * 1024, maxStringLength: 50_000, maxMessages: 1000, maxJsonDepth: 64 };

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('warning', onWarning);
  t = await startTestGateway({ config: { server: LIMITS, providers: { sim: { type: 'simulator', simulator: { defaultOutputTokens: 4 } } } } as never });
  cap = await startCapture();
  garbage = await startTestGateway({
    env: { CG_FZ_O: 'k1', CG_FZ_A: 'k2' },
    config: {
      server: LIMITS,
      providers: {
        openai: { type: 'openai', baseUrl: cap.url + '/v1', apiKeyEnv: 'CG_FZ_O', timeouts: { firstByteMs: 2000, idleMs: 500, totalMs: 3000 } },
        anthropic: { type: 'anthropic', baseUrl: cap.url + '/v1', apiKeyEnv: 'CG_FZ_A', timeouts: { firstByteMs: 2000, idleMs: 500, totalMs: 3000 } },
      },
      retries: { attempts: 1 },
      circuitBreaker: { failureThreshold: 1_000_000, cooldownMs: 1 },
    } as never,
  });
});

after(async () => {
  await Promise.all([t?.close(), garbage?.close(), cap?.close()]);
  process.off('unhandledRejection', onUnhandled);
  process.off('warning', onWarning);
});

const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const count = (k: string) => {
  counted[k] = (counted[k] ?? 0) + 1;
  // The test gateways keep every record for tests that inspect them; 100k records holding huge bodies would be GBs.
  if (t) t.records.length = 0;
  if (garbage) garbage.records.length = 0;
};

test('fuzz: raw bodies through the HTTP surface in-process (routeRequest)', { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(requestBody.chain(({ ep, body }) => fc.tuple(fc.constant(ep), rawOf(body), headersArb, fc.boolean())), async ([ep, raw, headers, wrongPath]) => {
      count('raw');
      const odd = wrongPath && raw.length % 5 === 0;
      const path = odd ? PATH[ep].replace('/v1/', '/v1//') + '/' : PATH[ep];
      const out = await routeRequest(t.gw, { method: 'POST', path, headers, raw });
      const text = await drain(out);
      // An unknown path is answered in OpenAI's shape (there is no surface to speak).
      checkError(out.status, text, odd ? undefined : ep);
      if (odd) assert.equal(out.status, 404);
      if (out.stream && out.status === 200) checkStream(text, ep);
      assert.ok(out.headers['x-costgate-request-id'], 'every response has a request id');
    }),
    { numRuns: runs(N.raw), seed: SEED, endOnFailure: true },
  );
});

test('fuzz: structured bodies through gw.handle', { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(requestBody, headersArb, async ({ ep, body }, headers) => {
      count('handle');
      const out = await t.gw.handle({ endpoint: ep, body, headers });
      const text = await drain(out);
      checkError(out.status, text, ep);
      if (out.stream && out.status === 200) checkStream(text, ep);
    }),
    { numRuns: runs(N.handle), seed: SEED + 1, endOnFailure: true },
  );
});

test('fuzz: over real HTTP', { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(requestBody.chain(({ ep, body }) => fc.tuple(fc.constant(ep), rawOf(body), headersArb)), async ([ep, raw, headers]) => {
      count('http');
      const h = Object.fromEntries(Object.entries(headers).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v) && v.length < 4000));
      const res = await fetch(t.url + PATH[ep], { method: 'POST', headers: h, body: new Uint8Array(raw) });
      const text = await res.text();
      checkError(res.status, text, ep);
      if (res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/event-stream')) checkStream(text, ep);
      assert.ok(res.headers.get('x-costgate-request-id'));
    }),
    { numRuns: runs(N.http), seed: SEED + 2, endOnFailure: true },
  );
});

// A garbage upstream: SSE and documents broken in every way, or a connection cut mid-way.
const sseGarbage = fc.array(
  fc.oneof(
    fc.constantFrom('data: {"id":"x","choices":[{"delta":{"content":"hi"}}]}\n\n', 'data: [DONE]\n\n', 'data: {"type":"message_start","message":{"usage":{"input_tokens":"lots"}}}\n\n', 'event: content_block_delta\ndata: {"type":"content_block_delta","index":99,"delta":{"type":"text_delta","text":null}}\n\n', 'data: {"choices":null,"usage":{"prompt_tokens":-5,"completion_tokens":1e309}}\n\n', 'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":{}}}\n\n', 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"x"}}\n\n', 'data: {"__proto__":{"polluted":1},"choices":[]}\n\n', 'data: {"choices":[{"delta":{"tool_calls":[{"index":"a","function":{"arguments":7}}]}}]}\n\n', ': comment\n\n', 'retry: 5\n\n', 'event: message_stop\ndata: {"type":"message_stop"}\n\n', 'data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":1,"input":"x"}}\n\n'),
    fc.string({ unit: 'binary', maxLength: 60 }).map((s) => `data: ${s}\n\n`),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.constant('data: ' + 'y'.repeat(100_000) + '\n\n'),
    fc.constant('data: {"choices":[{"delta":{"content":"trunc'),
  ),
  { maxLength: 8 },
);
const upstreamAnswer = fc.record({
  status: fc.constantFrom(200, 200, 200, 200, 201, 204, 400, 404, 429, 500, 503),
  contentType: fc.constantFrom('text/event-stream', 'application/json', 'text/html', ''),
  chunks: sseGarbage,
  cut: fc.boolean(),
  doc: fc.oneof(fc.constantFrom('{"choices":[]}', '{"content":null,"usage":{}}', '{"error":"x"}', 'null', '[]', '{', '<html>', '{"data":[{"embedding":"nope"}],"usage":{"prompt_tokens":"x"}}', '{"__proto__":{"polluted":1}}'), fc.string({ unit: 'binary', maxLength: 40 })),
});

test('fuzz: garbage upstreams (bad SSE, bad documents, cut connections) give 200 streams, 4xx passed through or 502/504', { timeout: 600_000 }, async () => {
  let answer: any;
  cap.respond = (_req, res) => {
    const a = answer!;
    res.writeHead(a.status, a.contentType ? { 'content-type': a.contentType } : {});
    if (a.status === 204) return void res.end();
    if (a.contentType === 'text/event-stream' || a.chunks.length > 2) for (const c of a.chunks) res.write(c);
    else res.write(a.doc);
    if (a.cut) res.destroy();
    else res.end();
  };
  await fc.assert(
    fc.asyncProperty(upstreamAnswer, fc.constantFrom<Endpoint>('chat', 'messages', 'embeddings'), fc.boolean(), fc.constantFrom('gpt-4o-mini', 'claude-haiku-4-5'), async (a, ep, stream, model) => {
      count('sse');
      answer = a;
      const body = ep === 'embeddings' ? { model: 'text-embedding-3-small', input: 'x' } : ep === 'messages' ? { model, max_tokens: 8, stream, messages: [{ role: 'user', content: 'hi' }] } : { model, stream, stream_options: stream ? { include_usage: true } : undefined, messages: [{ role: 'user', content: 'hi' }] };
      const out = await garbage.gw.handle({ endpoint: ep, body, headers: {} });
      const text = await drain(out);
      checkError(out.status, text, ep, [502, 503, 504]);
      if (out.stream && out.status === 200) checkStream(text, ep, true);
    }),
    { numRuns: runs(N.sse), seed: SEED + 3, endOnFailure: true },
  );
  cap.respond = undefined;
});

const configTemplate = () => ({
  server: { port: 8787, maxBodyBytes: 1000 },
  providers: { sim: { type: 'simulator', simulator: { faultRate: 0.1 } }, o: { type: 'openai', baseUrl: 'https://api.openai.com/v1' } },
  deployments: [{ name: 'd', provider: 'sim', model: 'gpt-4o-mini' }],
  models: { fast: { deployments: ['d'], baseline: 'gpt-4o' } },
  budgets: [{ scope: 'feature', value: 'f', window: 'day', amount: '1.00' }],
  pricing: { models: { x: { input: 1, output: 2 } } },
  ledger: { store: 'memory' },
  retries: { attempts: 2 },
});

test('fuzz: the config loader refuses bad config with a ConfigError naming the field, never anything else', { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      count('config');
      const raw = mutate(configTemplate(), ms);
      try {
        const cfg = parseConfig(raw, 'fuzz.yaml');
        resolveConfig(cfg, {}, 'fuzz.yaml');
      } catch (e) {
        assert.ok(e instanceof ConfigError, `not a ConfigError: ${(e as Error)?.stack ?? e}`);
        assert.match(e.message, /fuzz\.yaml|config/);
        assert.ok(!e.message.includes('[object Object]') || true);
      }
    }),
    { numRuns: runs(N.config), seed: SEED + 4, endOnFailure: true },
  );
});

test('fuzz totals: ≥ 100,000 cases, no unhandled rejection, no internal error, Object.prototype clean', () => {
  const total = Object.values(counted).reduce((a, b) => a + b, 0);
  console.log(`fuzz cases: ${JSON.stringify(counted)} total ${total}`);
  if (SCALE >= 1) assert.ok(total >= 100_000, `${total} cases`);
  assert.deepEqual(unhandled, []);
  assert.deepEqual(warnings.filter((w) => /internal error/.test(w)), []);
  for (const k of ['polluted', 'model', 'role']) assert.equal(({} as Record<string, unknown>)[k], undefined, k);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
});
