/**
 * Every response carries `x-costgate-cost-usd`, `x-costgate-saved-usd` and `x-costgate-request-id`, errors included:
 * rejections before the pipeline (malformed JSON, invalid body, wrong method or content type, body too large), an
 * unknown model, and upstream failures after every retry (429, 502, 503, 504) — over HTTP and in-process (gw.handle,
 * gw.fetch), in the OpenAI and the Anthropic error formats. The headers equal the ledger row's cost: 0 for a request
 * no provider billed, and the real cost when an earlier attempt reported usage before the request failed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import type { GatewayRequest } from '../src/pipeline/ctx.js';
import { createCtx } from '../src/pipeline/ctx.js';
import { meter } from '../src/pipeline/stages/meter.js';
import { GatewayError, renderError } from '../src/pipeline/errors.js';
import type { Priced } from '../src/pricing/pricer.js';
import type { RequestRecord } from '../src/pipeline/record.js';
import type { LedgerRow } from '../src/stores/ledger/types.js';
import { nanosToUsd } from '../src/pricing/decimal.js';

const ZERO = '0.000000000';
const fast = { firstByteMs: 10_000, connectMs: 1000 };
const CONFIG = {
  providers: { a: { type: 'simulator', timeouts: fast }, hang: { type: 'simulator', timeouts: { firstByteMs: 150, connectMs: 1000 } } },
  deployments: [
    { name: 'dead', provider: 'a', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '500' } },
    { name: 'down', provider: 'a', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '503' } },
    { name: 'limited', provider: 'a', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '429:0' } },
    { name: 'stuck', provider: 'hang', model: 'gpt-4o-mini', headers: { 'x-sim-fault': 'timeout' } },
  ],
  models: { broken: { deployments: ['dead'] }, unavailable: { deployments: ['down'] }, limited: { deployments: ['limited'] }, stuck: { deployments: ['stuck'] } },
  retries: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 1000 },
  circuitBreaker: { failureThreshold: 1000, cooldownMs: 60_000 },
  ledger: { store: 'memory', flushIntervalMs: 5, batchSize: 500 },
  server: { maxBodyBytes: 64 * 1024 },
};

let t: TestGateway;
before(async () => {
  t = await startTestGateway({ config: CONFIG as never });
});
after(() => t.close());

type Surface = 'openai' | 'anthropic';
const PATH: Record<Surface, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };
const body = (model: string) => ({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hello' }] });

/** The failing calls, each as a metered request: model (or raw body), status, error code, upstream attempts. */
const CASES: { name: string; body: object | string; status: number; code: string; attempts: number }[] = [
  { name: '400 invalid body', body: { model: 'gpt-4o-mini', messages: 'not a list', max_tokens: 8 }, status: 400, code: 'invalid', attempts: 0 },
  { name: '400 malformed JSON', body: '{"model": "gpt-4o-mini", "messages": [', status: 400, code: 'invalid_json', attempts: 0 },
  { name: '404 unknown model', body: body('no-such-model-anywhere'), status: 404, code: 'model_not_found', attempts: 1 },
  { name: '429 upstream rate limit after retries', body: body('limited'), status: 429, code: 'upstream_rate_limited', attempts: 2 },
  { name: '502 upstream error after retries', body: body('broken'), status: 502, code: 'upstream_error', attempts: 2 },
  { name: '503 upstream unavailable', body: body('unavailable'), status: 503, code: 'upstream_unavailable', attempts: 2 },
  { name: '504 upstream timeout', body: body('stuck'), status: 504, code: 'upstream_timeout', attempts: 2 },
];

/** The error body is the surface's own format, with the expected code (OpenAI) / a type (Anthropic). */
function assertErrorShape(surface: Surface, json: any, code: string): void {
  if (surface === 'anthropic') {
    assert.equal(json.type, 'error');
    assert.equal(typeof json.error.type, 'string');
    assert.equal(typeof json.error.message, 'string');
  } else if (code === 'invalid') assert.equal(json.error.type, 'invalid_request_error');
  else assert.equal(json.error.code, code);
}

async function rowOf(id: string): Promise<LedgerRow> {
  const { rows } = await t.gw.requests({ requestId: id });
  assert.equal(rows.length, 1, `one row for ${id}`);
  return rows[0]!;
}

/** The cost headers are the row's: its cost, and baseline minus cost. */
async function assertCostHeaders(get: (h: string) => string | null | undefined, id: string, attempts: number): Promise<void> {
  const row = await rowOf(id);
  assert.equal(get('x-costgate-request-id'), id);
  assert.equal(get('x-costgate-cost-usd'), nanosToUsd(row.costNanos));
  assert.equal(get('x-costgate-saved-usd'), nanosToUsd(row.baselineCostNanos - row.costNanos));
  assert.equal(get('x-costgate-cost-usd'), ZERO, 'no provider billed these');
  assert.equal(row.attemptCount, attempts);
}

for (const surface of ['openai', 'anthropic'] as Surface[]) {
  for (const c of CASES) {
    test(`${surface} ${c.name}: HTTP, gw.fetch and gw.handle all carry the cost headers and the request id`, async () => {
      const payload = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      // HTTP server.
      const id1 = `err-${randomUUID()}`;
      const r1 = await fetch(`${t.url}${PATH[surface]}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-request-id': id1 }, body: payload });
      assert.equal(r1.status, c.status, await r1.clone().text());
      assertErrorShape(surface, await r1.json(), c.code);
      await assertCostHeaders((h) => r1.headers.get(h), id1, c.attempts);
      // In-process fetch.
      const id2 = `err-${randomUUID()}`;
      const r2 = await t.gw.fetch(`http://costgate.local${PATH[surface]}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-request-id': id2 }, body: payload });
      assert.equal(r2.status, c.status);
      assertErrorShape(surface, await r2.json(), c.code);
      await assertCostHeaders((h) => r2.headers.get(h), id2, c.attempts);
      // gw.handle (a malformed body is the HTTP surface's concern; handle takes parsed bodies).
      if (typeof c.body === 'string') return;
      const id3 = `err-${randomUUID()}`;
      const req: GatewayRequest = { endpoint: surface === 'anthropic' ? 'messages' : 'chat', body: c.body, headers: { 'x-costgate-request-id': id3 } };
      const r3 = await t.gw.handle(req);
      assert.equal(r3.status, c.status);
      assertErrorShape(surface, JSON.parse(String(r3.body)), c.code);
      await assertCostHeaders((h) => r3.headers[h], id3, c.attempts);
    });
  }
}

test('rejections by the HTTP surface (405, 415, 413) carry the headers; a generated request id names the row', async () => {
  for (const [init, status] of [
    [{ method: 'GET' }, 405],
    [{ method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<chat/>' }, 415],
    [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body('x'.repeat(100 * 1024))) }, 413],
  ] as [RequestInit, number][]) {
    for (const surface of ['openai', 'anthropic'] as Surface[]) {
      const r = await fetch(`${t.url}${PATH[surface]}`, init);
      assert.equal(r.status, status);
      const id = r.headers.get('x-costgate-request-id');
      assert.match(id ?? '', /^cg-/);
      await assertCostHeaders((h) => r.headers.get(h), id!, 0);
      assertErrorShape(surface, await r.json(), 'invalid');
    }
  }
});

test('errors outside the metered endpoints (unknown endpoint, unknown model id, admin API) cost 0 and carry a request id', async () => {
  for (const path of ['/v1/nope', '/v1/models/no-such-model', '/v1/costgate/requests?limit=0']) {
    const r = await fetch(`${t.url}${path}`, { headers: { 'x-costgate-request-id': 'mine-1' } });
    assert.ok(r.status >= 400, path);
    assert.equal(r.headers.get('x-costgate-cost-usd'), ZERO, path);
    assert.equal(r.headers.get('x-costgate-saved-usd'), ZERO, path);
    assert.equal(r.headers.get('x-costgate-request-id'), 'mine-1', path);
    const gen = await t.gw.fetch(`http://costgate.local${path}`);
    assert.equal(gen.headers.get('x-costgate-cost-usd'), ZERO, path);
    assert.match(gen.headers.get('x-costgate-request-id') ?? '', /^cg-/, path);
  }
});

test('an error after an attempt that reported usage carries that real cost (meter stage), as the sinks record it', async () => {
  const seen: [RequestRecord, Priced][] = [];
  const stage = meter({ pricer: t.gw.pricer, sinks: [(r, p) => seen.push([r, p])] });
  const reqBody = body('gpt-4o-mini');
  const ctx = createCtx({ endpoint: 'chat', body: reqBody, headers: {} }, reqBody, 'meter-err-1');
  const usage = { inputTokens: 1000, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: 0, reasoningTokens: 0, estimated: true };
  const failure = new GatewayError('upstream_error', 'upstream stream error');
  await assert.rejects(
    stage(ctx, async () => {
      // Attempt 1 billed its prompt, then broke; attempt 2 never answered.
      ctx.attempts.push({ n: 1, deployment: 'mini', provider: 'a', model: 'gpt-4o-mini', startedAt: Date.now(), latencyMs: 5, status: 200, outcome: 'error', errorCode: 'stream_cut', usage });
      ctx.attempts.push({ n: 2, deployment: 'mini', provider: 'a', model: 'gpt-4o-mini', startedAt: Date.now(), latencyMs: 5, status: 502, outcome: 'error', errorCode: 'upstream_error' });
      throw failure;
    }),
    (e) => e === failure,
  );
  assert.equal(seen.length, 1);
  const [, priced] = seen[0]!;
  // 1000 input tokens of gpt-4o-mini at $0.15/M = 150,000 n$.
  assert.equal(priced.costNanos, 150_000);
  const r = renderError(failure, 'openai');
  assert.equal(r.headers['x-costgate-cost-usd'], '0.000150000');
  assert.equal(r.headers['x-costgate-saved-usd'], nanosToUsd(priced.baselineCostNanos - priced.costNanos));
  assert.equal(renderError(failure, 'anthropic').headers['x-costgate-cost-usd'], '0.000150000');
  // A fresh error renders as costing nothing.
  assert.equal(renderError(new GatewayError('upstream_error', 'x'), 'openai').headers['x-costgate-cost-usd'], ZERO);
});
