/**
 * The ledger end to end: every call through a real HTTP gateway (and through the in-process library) becomes exactly
 * one request row plus one attempt row per upstream attempt — OpenAI chat streaming or not (with and without
 * include_usage), embeddings, Anthropic messages streaming or not, a provider prompt-cache hit, a retry, a fallback,
 * a call that fails after every retry, rejections before the pipeline, a client that leaves mid-stream — attributed,
 * priced exactly as the Pricer prices its recorded usage, with the cost header/trailer equal to the row's cost. Then
 * the query API: every filter against a local filter of the whole ledger, cursor pagination without repeats or
 * skips, one request with its attempts, and 400 on bad parameters.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createGateway, type Gateway } from '../src/gateway.js';
import type { LedgerRow, AttemptRow } from '../src/stores/ledger/types.js';
import type { Usage } from '../src/providers/usage.js';
import type { Pricer } from '../src/pricing/pricer.js';
import { nanosToUsd } from '../src/pricing/decimal.js';

type Row = LedgerRow & { costUsd: string; attempts?: AttemptRow[] };

const timeouts = { firstByteMs: 10_000, connectMs: 1000 };
const CONFIG = {
  providers: { a: { type: 'simulator', timeouts }, b: { type: 'simulator', timeouts } },
  deployments: [
    { name: 'mini', provider: 'a', model: 'gpt-4o-mini' },
    // Each fault header value is used by one deployment only, so its `@N` counter belongs to one test.
    { name: 'flaky', provider: 'a', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '500@1' } },
    { name: 'down', provider: 'a', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '503' } },
    { name: 'backup', provider: 'b', model: 'claude-3-5-haiku-20241022' },
    { name: 'dead', provider: 'a', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '500' } },
    { name: 'slow', provider: 'a', model: 'gpt-4o-mini', headers: { 'x-sim-latency': 'token=25' } },
  ],
  models: {
    fast: { deployments: ['mini'], baseline: 'gpt-4o' },
    retry: { deployments: ['flaky'] },
    fallback: { deployments: ['down', 'backup'] },
    broken: { deployments: ['dead'] },
    slow: { deployments: ['slow'] },
  },
  retries: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 1000 },
  circuitBreaker: { failureThreshold: 1000, cooldownMs: 60_000 },
  ledger: { store: 'memory', flushIntervalMs: 5, batchSize: 500 },
  server: { maxBodyBytes: 256 * 1024 },
};

let t: TestGateway;
/** Every chat body the in-process simulators received, as they parsed it off the wire (their answer hook sees it). */
const upstreamBodies: Record<string, any>[] = [];
/** Request ids of every client request sent to `t`, with how many upstream attempts each should have recorded. */
const sent: { id: string; attempts: number }[] = [];

before(async () => {
  t = await startTestGateway({
    config: CONFIG as never,
    simulator: {
      answer: (_model, body) => {
        upstreamBodies.push(body);
        return undefined; // the simulator's own answer
      },
    },
  });
});
after(() => t.close());

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  text: string;
  json: any;
}

/** One HTTP exchange over node:http (fetch does not expose trailers). `abortAfter`: leave after that many body chunks. */
function http(method: string, path: string, body?: string | object, headers: Record<string, string> = {}, abortAfter?: number): Promise<Reply> {
  const url = new URL(path, t.url);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      let chunks = 0;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        if (abortAfter !== undefined && ++chunks >= abortAfter) {
          req.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, trailers: {}, text, json: undefined });
        }
      });
      res.on('end', () => {
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, trailers: res.trailers, text, json });
      });
      res.on('error', (e) => (abortAfter !== undefined ? undefined : reject(e)));
    });
    req.on('error', (e) => (abortAfter !== undefined ? undefined : reject(e)));
    req.end(payload);
  });
}

const newId = (tag: string) => `${tag}-${randomUUID()}`;

/** POST with a fresh request id; remembers it (and the expected attempt count) for the ledger-wide checks. */
async function post(path: string, body: string | object, attempts: number, headers: Record<string, string> = {}, abortAfter?: number): Promise<Reply & { id: string }> {
  const id = headers['x-costgate-request-id'] ?? newId('e2e');
  sent.push({ id, attempts });
  const r = await http('POST', path, body, { 'x-costgate-request-id': id, ...headers }, abortAfter);
  return { ...r, id };
}

/** The request's ledger rows with attempts, via GET /v1/costgate/requests/:id (waits for rows that settle late). */
async function rowsOf(id: string, base = t.url, timeoutMs = 5000): Promise<Row[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${base}/v1/costgate/requests/${encodeURIComponent(id)}`);
    if (r.status === 200) return ((await r.json()) as { data: Row[] }).data;
    assert.equal(r.status, 404, await r.text());
    if (Date.now() > end) assert.fail(`no ledger row for ${id}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function oneRow(id: string): Promise<Row> {
  const rows = await rowsOf(id);
  assert.equal(rows.length, 1, `exactly one row for ${id}: ${JSON.stringify(rows)}`);
  const row = rows[0]!;
  assert.equal(row.requestId, id);
  assert.equal(row.attempts!.length, row.attemptCount, 'attempt rows match attemptCount');
  return row;
}

const usageOf = (r: { inputTokens: number; cacheReadTokens: number; cacheWrite5mTokens: number; cacheWrite1hTokens: number; outputTokens: number; reasoningTokens: number; usageEstimated: boolean }): Usage => ({
  inputTokens: r.inputTokens,
  cacheReadTokens: r.cacheReadTokens,
  cacheWrite5mTokens: r.cacheWrite5mTokens,
  cacheWrite1hTokens: r.cacheWrite1hTokens,
  outputTokens: r.outputTokens,
  reasoningTokens: r.reasoningTokens,
  estimated: r.usageEstimated,
});

/** The row's cost is the Pricer's price of the usage it records, on the model and provider that served it. */
function assertPriced(row: Row, pricer: Pricer = t.gw.pricer): void {
  const p = pricer.cost(usageOf(row), row.model, row.provider ?? undefined, new Date(row.ts), row.batch);
  assert.ok(p, `priced model ${row.model}`);
  assert.equal(row.costNanos, p.nanos);
  assert.ok(row.costNanos > 0, 'a served call costs something');
  assert.equal(row.priceSource, p.source);
  assert.equal(row.costUsd, nanosToUsd(row.costNanos));
}

/** A successful call: served, usage reported by the provider, latency set; one ok attempt carrying the cost. */
function assertServed(row: Row, o: { endpoint: string; surface: string; requested: string; model: string; provider: string; stream: boolean }): void {
  assert.equal(row.status, 200);
  assert.equal(row.errorType, null);
  assert.equal(row.endpoint, o.endpoint);
  assert.equal(row.surface, o.surface);
  assert.equal(row.requestedModel, o.requested);
  assert.equal(row.model, o.model);
  assert.equal(row.provider, o.provider);
  assert.equal(row.stream, o.stream);
  assert.equal(row.usageEstimated, false);
  assert.ok(row.inputTokens > 0);
  assert.ok(row.latencyMs > 0);
  assert.ok(row.ttftMs !== null && row.ttftMs > 0 && row.ttftMs <= row.latencyMs, `ttft ${row.ttftMs} latency ${row.latencyMs}`);
  const last = row.attempts!.at(-1)!;
  assert.equal(last.outcome, 'ok');
  assert.equal(last.status, 200);
  assert.equal(last.model, o.model);
  assert.equal(last.provider, o.provider);
  assert.deepEqual([last.inputTokens, last.outputTokens], [row.inputTokens, row.outputTokens]);
  assert.equal(row.attempts!.reduce((s, a) => s + a.costNanos, 0), row.costNanos, 'attempt costs add up to the row cost');
  assertPriced(row);
}

type Ev = { event?: string; data?: any };
function sse(text: string): Ev[] {
  return text.split('\n\n').filter((s) => s.trim()).map((raw) => {
    const ev: Ev = {};
    for (const line of raw.split('\n')) {
      if (line.startsWith('event: ')) ev.event = line.slice(7);
      else if (line.startsWith('data: ')) ev.data = line.slice(6) === '[DONE]' ? '[DONE]' : JSON.parse(line.slice(6));
    }
    return ev;
  });
}

const chat = (model: string, extra: object = {}) => ({ model, max_tokens: 12, messages: [{ role: 'user', content: 'tell me about the ledger' }], ...extra });

test('OpenAI chat, non-streaming: one row, one attempt, header attribution, cost header = row cost, requested alias vs served model', async () => {
  const r = await post('/v1/chat/completions', chat('fast'), 1, { 'x-costgate-feature': 'search', 'x-costgate-user': 'u-1', 'x-costgate-team': 'core', 'x-costgate-priority': 'critical' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-costgate-request-id'], r.id);
  const row = await oneRow(r.id);
  assertServed(row, { endpoint: 'chat', surface: 'openai', requested: 'fast', model: 'gpt-4o-mini', provider: 'a', stream: false });
  assert.deepEqual([row.feature, row.user, row.team, row.priority], ['search', 'u-1', 'core', 'critical']);
  assert.equal(row.deployment, 'mini');
  assert.equal(r.headers['x-costgate-model'], 'gpt-4o-mini');
  assert.equal(r.headers['x-costgate-provider'], 'a');
  assert.equal(r.headers['x-costgate-cost-usd'], row.costUsd);
  assert.deepEqual([row.inputTokens, row.outputTokens], [r.json.usage.prompt_tokens, r.json.usage.completion_tokens]);
  // The alias's configured baseline prices the same usage on gpt-4o.
  assert.equal(row.baselineModel, 'gpt-4o');
  assert.equal(row.baselineCostNanos, t.gw.pricer.cost(usageOf(row), 'gpt-4o', undefined, new Date(row.ts))!.nanos);
  assert.ok(row.baselineCostNanos > row.costNanos);
  assert.equal(r.headers['x-costgate-saved-usd'], nanosToUsd(row.baselineCostNanos - row.costNanos));
  assert.equal(row.attempts!.length, 1);
  assert.equal(row.attempts![0]!.deployment, 'mini');
  assert.equal(row.attemptCount, 1);
});

test('attribution from the body metadata (SDKs that cannot set headers); the keys never reach the provider', async () => {
  const rid = newId('md');
  // A prompt no other test sends picks this call's body out of what the simulators received.
  const prompt = newId('metadata-prompt');
  const metadata = { feature: 'summarize-md', user: 'u-md', team: 'growth-md', request_id: rid, 'x-costgate-priority': 'optional', keep: 'me' };
  const body = chat('gpt-4o-mini', { messages: [{ role: 'user', content: prompt }], metadata });
  sent.push({ id: rid, attempts: 1 });
  const r = await http('POST', '/v1/chat/completions', body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-costgate-request-id'], rid, 'metadata.request_id names the call');
  const row = await oneRow(rid);
  assert.deepEqual([row.feature, row.user, row.team, row.priority], ['summarize-md', 'u-md', 'growth-md', 'optional']);
  assertServed(row, { endpoint: 'chat', surface: 'openai', requested: 'gpt-4o-mini', model: 'gpt-4o-mini', provider: 'a', stream: false });
  const received = upstreamBodies.filter((b) => b.messages?.at(-1)?.content === prompt);
  assert.equal(received.length, 1, 'the provider received the call once');
  const up = received[0]!;
  assert.deepEqual(up.metadata, { keep: 'me' }, 'only the client\'s own metadata key reaches the provider');
  const text = JSON.stringify(up);
  for (const v of ['summarize-md', 'u-md', 'growth-md', rid, 'x-costgate', 'costgate_']) assert.ok(!text.includes(v), `${v} reached the provider: ${text}`);
});

for (const includeUsage of [false, true]) {
  test(`OpenAI chat, streaming${includeUsage ? ' with include_usage' : ''}: row with provider usage, ttft, cost trailer = row cost`, async () => {
    const extra = { stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) };
    const r = await post('/v1/chat/completions', chat('gpt-4o-mini', extra), 1, { 'x-costgate-feature': 'stream-f' });
    assert.equal(r.status, 200, r.text);
    const evs = sse(r.text);
    assert.equal(evs.at(-1)?.data, '[DONE]');
    const usageChunks = evs.filter((e) => e.data?.usage);
    const row = await oneRow(r.id);
    assertServed(row, { endpoint: 'chat', surface: 'openai', requested: 'gpt-4o-mini', model: 'gpt-4o-mini', provider: 'a', stream: true });
    if (includeUsage) {
      assert.equal(usageChunks.length, 1);
      assert.deepEqual([row.inputTokens, row.outputTokens], [usageChunks[0]!.data.usage.prompt_tokens, usageChunks[0]!.data.usage.completion_tokens]);
    } else assert.equal(usageChunks.length, 0, 'the usage chunk costgate asked for is not shown to a client that did not');
    assert.equal(r.headers['x-costgate-cost-usd'], undefined, 'streams carry the cost as a trailer, not a header');
    assert.equal(r.trailers['x-costgate-cost-usd'], row.costUsd);
    assert.equal(r.trailers['x-costgate-saved-usd'], nanosToUsd(row.baselineCostNanos - row.costNanos));
    assert.equal(row.feature, 'stream-f');
  });
}

test('embeddings: one row priced at the embedding rate (no output), cost header = row cost', async () => {
  const r = await post('/v1/embeddings', { model: 'text-embedding-3-small', input: ['the ledger records every call', 'twice over'] }, 1, { 'x-costgate-team': 'emb' });
  assert.equal(r.status, 200, r.text);
  const row = await oneRow(r.id);
  assert.equal(row.endpoint, 'embeddings');
  assert.equal(row.model, 'text-embedding-3-small');
  assert.equal(row.outputTokens, 0);
  assert.equal(row.inputTokens, r.json.usage.prompt_tokens);
  // $0.02 / Mtok = 20 n$ a token, exactly.
  assert.equal(row.costNanos, row.inputTokens * 20);
  assert.equal(r.headers['x-costgate-cost-usd'], row.costUsd);
  assert.equal(row.team, 'emb');
  assert.equal(row.attempts!.length, 1);
  assertPriced(row);
});

for (const stream of [false, true]) {
  test(`Anthropic /v1/messages${stream ? ', streaming' : ''}: one row, metadata.user_id attribution, cost ${stream ? 'trailer' : 'header'} = row cost`, async () => {
    const body = { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hello ledger' }], metadata: { user_id: 'anth-user' }, ...(stream ? { stream: true } : {}) };
    const r = await post('/v1/messages', body, 1, { 'x-costgate-feature': 'anth' });
    assert.equal(r.status, 200, r.text);
    const row = await oneRow(r.id);
    assertServed(row, { endpoint: 'messages', surface: 'anthropic', requested: 'claude-haiku-4-5', model: 'claude-haiku-4-5', provider: 'a', stream });
    assert.equal(row.user, 'anth-user');
    assert.equal(row.feature, 'anth');
    if (stream) {
      const evs = sse(r.text);
      assert.equal(evs.at(-1)?.event, 'message_stop');
      assert.equal(r.trailers['x-costgate-cost-usd'], row.costUsd);
      const start = evs.find((e) => e.event === 'message_start')!.data.message.usage;
      assert.equal(row.inputTokens, start.input_tokens);
    } else {
      assert.equal(r.headers['x-costgate-cost-usd'], row.costUsd);
      assert.deepEqual([row.inputTokens, row.outputTokens], [r.json.usage.input_tokens, r.json.usage.output_tokens]);
    }
  });
}

test('provider prompt-cache hit: cached tokens recorded and priced at the cache-read rate', async () => {
  const prompt = `[cache ${randomUUID()}] ` + 'Every call through costgate becomes one priced ledger row. '.repeat(150);
  const body = { model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: prompt }] };
  const first = await post('/v1/chat/completions', body, 1);
  const second = await post('/v1/chat/completions', body, 1);
  assert.equal(second.status, 200, second.text);
  const miss = await oneRow(first.id);
  const hit = await oneRow(second.id);
  assert.equal(miss.cacheReadTokens, 0);
  assert.ok(hit.cacheReadTokens >= 1024, `cached ${hit.cacheReadTokens}`);
  assert.equal(hit.cacheReadTokens, second.json.usage.prompt_tokens_details.cached_tokens);
  assert.equal(hit.inputTokens, miss.inputTokens, 'input counts every prompt token, cached or not');
  // gpt-4o-mini list prices, written out: $0.15 / $0.075 cached / $0.60 per Mtok = 150 / 75 / 600 n$ a token.
  const byHand = (hit.inputTokens - hit.cacheReadTokens) * 150 + hit.cacheReadTokens * 75 + hit.outputTokens * 600;
  assert.equal(hit.costNanos, byHand);
  assert.equal(miss.costNanos, miss.inputTokens * 150 + miss.outputTokens * 600);
  assert.ok(hit.costNanos < miss.costNanos);
  assert.equal(second.headers['x-costgate-cost-usd'], hit.costUsd);
  assertServed(hit, { endpoint: 'chat', surface: 'openai', requested: 'gpt-4o-mini', model: 'gpt-4o-mini', provider: 'a', stream: false });
});

test('retried call (500 then ok): one request row, two attempt rows, both attempt costs, request cost = sum', async () => {
  const r = await post('/v1/chat/completions', chat('retry'), 2);
  assert.equal(r.status, 200, r.text);
  const row = await oneRow(r.id);
  assert.equal(row.attemptCount, 2);
  assert.deepEqual(row.attempts!.map((a) => [a.n, a.deployment, a.status, a.outcome, a.errorType]), [
    [1, 'flaky', 500, 'error', 'upstream_error'],
    [2, 'flaky', 200, 'ok', null],
  ]);
  assert.equal(row.attempts![0]!.costNanos, 0, 'the failed attempt reported no usage');
  assert.ok(row.attempts![1]!.costNanos > 0);
  assertServed(row, { endpoint: 'chat', surface: 'openai', requested: 'retry', model: 'gpt-4o-mini', provider: 'a', stream: false });
  assert.equal(r.headers['x-costgate-cost-usd'], row.costUsd);
  assert.ok(row.attempts![0]!.ts <= row.attempts![1]!.ts);
});

test('fallback to another deployment (and provider, and model): every attempt recorded, served model ≠ requested', async () => {
  const r = await post('/v1/chat/completions', chat('fallback', { stream: true }), 3);
  assert.equal(r.status, 200, r.text);
  const row = await oneRow(r.id);
  assert.deepEqual(row.attempts!.map((a) => `${a.deployment}:${a.provider}:${a.status}:${a.outcome}`), ['down:a:503:error', 'down:a:503:error', 'backup:b:200:ok']);
  assertServed(row, { endpoint: 'chat', surface: 'openai', requested: 'fallback', model: 'claude-3-5-haiku-20241022', provider: 'b', stream: true });
  assert.equal(row.deployment, 'backup');
  assert.equal(r.headers['x-costgate-model'], 'claude-3-5-haiku-20241022');
  assert.equal(r.trailers['x-costgate-cost-usd'], row.costUsd);
});

test('a call that fails after every retry: error row with status and error type, cost 0, each attempt recorded', async () => {
  const r = await post('/v1/chat/completions', chat('broken'), 2, { 'x-costgate-feature': 'doomed' });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error.code, 'upstream_error');
  const row = await oneRow(r.id);
  assert.equal(row.status, 502);
  assert.equal(row.errorType, 'upstream_error');
  assert.ok(row.errorMessage);
  assert.equal(row.requestedModel, 'broken');
  assert.equal(row.model, 'gpt-4o-mini', 'the model last tried');
  assert.equal(row.feature, 'doomed');
  assert.equal(row.costNanos, 0);
  assert.equal(row.inputTokens + row.outputTokens, 0);
  assert.deepEqual(row.attempts!.map((a) => [a.status, a.outcome, a.errorType, a.costNanos]), [
    [500, 'error', 'upstream_error', 0],
    [500, 'error', 'upstream_error', 0],
  ]);
  assert.ok(row.latencyMs > 0);
});

test('rejections before the pipeline are rows too: malformed JSON (400), invalid body (400), unknown model (404)', async () => {
  const bad = await post('/v1/chat/completions', '{"model": "gpt-4o-mini", "messages": [', 0, { 'x-costgate-feature': 'rej' });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error.code, 'invalid_json');
  const badRow = await oneRow(bad.id);
  assert.deepEqual([badRow.status, badRow.errorType, badRow.costNanos, badRow.attemptCount, badRow.endpoint], [400, 'invalid_json', 0, 0, 'chat']);
  assert.equal(badRow.feature, 'rej', 'attributed from the headers even though the body is unreadable');
  assert.equal(bad.headers['x-costgate-request-id'], bad.id);

  const invalid = await post('/v1/messages', { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] }, 0);
  assert.equal(invalid.status, 400, invalid.text);
  assert.equal(invalid.json.type, 'error');
  const invalidRow = await oneRow(invalid.id);
  assert.deepEqual([invalidRow.status, invalidRow.surface, invalidRow.requestedModel, invalidRow.costNanos], [400, 'anthropic', 'claude-haiku-4-5', 0]);
  assert.ok(invalidRow.errorType);

  // Not a pre-pipeline rejection: the simulator (the provider the name falls through to) answers 404, one attempt.
  const unknown = await post('/v1/chat/completions', chat('no-such-model-anywhere'), 1);
  assert.equal(unknown.status, 404, unknown.text);
  const unknownRow = await oneRow(unknown.id);
  assert.deepEqual([unknownRow.status, unknownRow.errorType, unknownRow.costNanos], [404, 'model_not_found', 0]);
  assert.deepEqual(unknownRow.attempts!.map((a) => [a.status, a.outcome]), [[404, 'error']]);

  // Wrong content type and wrong method on a metered endpoint: rejected, and still one row each.
  const xml = await post('/v1/chat/completions', '<chat/>', 0, { 'content-type': 'application/xml' });
  assert.equal(xml.status, 415, xml.text);
  const xmlRow = await oneRow(xml.id);
  assert.deepEqual([xmlRow.status, xmlRow.errorType], [415, 'unsupported_media_type']);
  const getId = newId('get');
  sent.push({ id: getId, attempts: 0 });
  const get = await http('GET', '/v1/chat/completions', undefined, { 'x-costgate-request-id': getId });
  assert.equal(get.status, 405, get.text);
  const getRow = await oneRow(getId);
  assert.deepEqual([getRow.status, getRow.errorType, getRow.costNanos], [405, 'method_not_allowed', 0]);

  // A body over server.maxBodyBytes is refused before it is parsed (413), and is still one row, attributed.
  const big = await post('/v1/chat/completions', chat('gpt-4o-mini', { messages: [{ role: 'user', content: 'x'.repeat(300 * 1024) }] }), 0, { 'x-costgate-feature': 'too-big' });
  assert.equal(big.status, 413, big.text);
  assert.equal(big.json.error.code, 'body_too_large');
  const bigRow = await oneRow(big.id);
  assert.deepEqual([bigRow.status, bigRow.errorType, bigRow.costNanos, bigRow.attemptCount, bigRow.feature], [413, 'body_too_large', 0, 0, 'too-big']);
});

test('a client that disconnects mid-stream: the row is written (499, client_aborted), usage counted from what was sent', async () => {
  const r = await post('/v1/chat/completions', chat('slow', { stream: true, max_tokens: 400 }), 1, {}, 2);
  assert.equal(r.status, 200);
  const row = await oneRow(r.id);
  assert.equal(row.status, 499);
  assert.equal(row.errorType, 'client_aborted');
  assert.equal(row.stream, true);
  assert.equal(row.usageEstimated, true, 'the final usage never arrived');
  assert.ok(row.inputTokens > 0 && row.outputTokens > 0 && row.outputTokens < 400, `output ${row.outputTokens}`);
  assert.ok(row.costNanos > 0, 'what the provider generated is billed');
  assertPriced(row);
  assert.equal(row.attempts!.length, 1);
  assert.equal(row.attempts![0]!.outcome, 'error');
});

test('ledger-wide: one row per client request, one attempt row per upstream attempt, nothing else', async () => {
  const all = await listAll('/v1/costgate/requests?limit=1000');
  const byId = new Map<string, Row[]>();
  for (const r of all) byId.set(r.requestId, [...(byId.get(r.requestId) ?? []), r]);
  assert.equal(all.length, sent.length, 'rows == client requests');
  for (const s of sent) {
    const rows = byId.get(s.id) ?? [];
    assert.equal(rows.length, 1, `one row for ${s.id}`);
    const attempts = await t.gw.ledger.store.attempts(rows[0]!.uid);
    assert.equal(attempts.length, s.attempts, `attempt rows for ${s.id}`);
    assert.deepEqual(attempts.map((a) => a.n), Array.from({ length: s.attempts }, (_, i) => i + 1));
  }
  assert.equal(new Set(all.map((r) => r.uid)).size, all.length);
});

/** Follow next_cursor to the end; asserts the page invariants on the way. */
async function listAll(path: string, base = t.url): Promise<Row[]> {
  const out: Row[] = [];
  let cursor: string | null = null;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 500, 'pagination terminates');
    const r: Response = await fetch(`${base}${path}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, await r.clone().text());
    const page = (await r.json()) as { object: string; data: Row[]; next_cursor: string | null; has_more: boolean };
    assert.equal(page.object, 'list');
    assert.equal(page.has_more, page.next_cursor !== null);
    out.push(...page.data);
    if (!page.next_cursor) return out;
    assert.ok(page.data.length > 0);
    cursor = page.next_cursor;
  }
}

const newestFirst = (a: Row, b: Row) => b.ts - a.ts || (b.uid < a.uid ? -1 : b.uid > a.uid ? 1 : 0);

test('GET /v1/costgate/requests: cursor pagination neither repeats nor skips, newest first', async () => {
  const all = await listAll('/v1/costgate/requests?limit=1000');
  assert.ok(all.length >= 15, `enough rows to page through (${all.length})`);
  assert.deepEqual(all.map((r) => r.uid), all.slice().sort(newestFirst).map((r) => r.uid));
  for (const limit of [1, 3, 7]) {
    const paged = await listAll(`/v1/costgate/requests?limit=${limit}`);
    assert.deepEqual(paged.map((r) => r.uid), all.map((r) => r.uid), `limit=${limit}`);
  }
  // With a filter too.
  const okPaged = await listAll('/v1/costgate/requests?status=ok&limit=2');
  assert.deepEqual(okPaged.map((r) => r.uid), all.filter((r) => r.status < 400).map((r) => r.uid));
  // Default limit is 100 and money comes as integer n$ and exact USD.
  const first = (await (await fetch(`${t.url}/v1/costgate/requests`)).json()) as { data: Row[] };
  assert.equal(first.data.length, Math.min(100, all.length));
  for (const r of first.data) assert.equal(r.costUsd, nanosToUsd(r.costNanos));
});

test('GET /v1/costgate/requests: every filter returns exactly the matching rows', async () => {
  const all = await listAll('/v1/costgate/requests?limit=1000');
  const sorted = all.slice().sort((a, b) => a.ts - b.ts);
  const pivot = sorted[Math.floor(sorted.length / 2)]!.ts;
  const some = (xs: (string | null)[]) => xs.find((x) => x !== null)!;
  const cases: [string, (r: Row) => boolean][] = [
    [`since=${pivot}`, (r) => r.ts >= pivot],
    [`until=${pivot}`, (r) => r.ts < pivot],
    [`since=${encodeURIComponent(new Date(pivot).toISOString())}`, (r) => r.ts >= pivot],
    ['since=1h', () => true],
    [`until=${sorted[0]!.ts}`, () => false],
    ['feature=search', (r) => r.feature === 'search'],
    ['feature=anth', (r) => r.feature === 'anth'],
    ['user=anth-user', (r) => r.user === 'anth-user'],
    ['team=core', (r) => r.team === 'core'],
    ['key=no-such-key', () => false],
    ['model=claude-haiku-4-5', (r) => r.model === 'claude-haiku-4-5'],
    ['model=claude-3-5-haiku-20241022', (r) => r.model === 'claude-3-5-haiku-20241022'],
    ['model=gpt-4o-mini', (r) => r.model === 'gpt-4o-mini'],
    ['provider=b', (r) => r.provider === 'b'],
    ['provider=a', (r) => r.provider === 'a'],
    ['status=ok', (r) => r.status < 400],
    ['status=error', (r) => r.status >= 400],
    [`request_id=${encodeURIComponent(some(all.map((r) => r.requestId)))}`, (r) => r.requestId === some(all.map((x) => x.requestId))],
    ['feature=search&team=core&status=ok', (r) => r.feature === 'search' && r.team === 'core' && r.status < 400],
  ];
  for (const [q, pred] of cases) {
    const got = await listAll(`/v1/costgate/requests?limit=1000&${q}`);
    const want = all.filter(pred);
    assert.deepEqual(got.map((r) => r.uid), want.map((r) => r.uid), q);
  }
  // The filters above are not vacuous: each narrows a mixed ledger.
  for (const pred of [(r: Row) => r.status >= 400, (r: Row) => r.provider === 'b', (r: Row) => r.feature === 'search', (r: Row) => r.ts >= pivot]) {
    const n = all.filter(pred).length;
    assert.ok(n > 0 && n < all.length);
  }
});

test('GET /v1/costgate/requests/:id: the row with its attempts in order; 404 for an unknown id', async () => {
  const retried = sent.find((s) => s.attempts === 2)!;
  const res = await fetch(`${t.url}/v1/costgate/requests/${retried.id}`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { object: string; data: Row[] };
  assert.equal(body.object, 'list');
  assert.equal(body.data.length, 1);
  assert.deepEqual(body.data[0]!.attempts!.map((a) => [a.n, a.uid]), [[1, body.data[0]!.uid], [2, body.data[0]!.uid]]);
  const missing = await fetch(`${t.url}/v1/costgate/requests/never-seen-${randomUUID()}`);
  assert.equal(missing.status, 404);
  assert.match(((await missing.json()) as any).error.message, /never-seen-/);
});

test('GET /v1/costgate/requests: 400 (OpenAI error shape, naming the parameter) for bad filter values', async () => {
  const bad: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=2.5', 'limit'],
    ['status=failed', 'status'],
    ['since=yesterday-ish', 'since'],
    ['until=not-a-date', 'until'],
    ['cursor=garbage', 'cursor'],
  ];
  for (const [q, param] of bad) {
    const r = await fetch(`${t.url}/v1/costgate/requests?${q}`);
    assert.equal(r.status, 400, q);
    const j = (await r.json()) as any;
    assert.equal(j.error.type, 'invalid_request_error', q);
    assert.equal(j.error.param, param, q);
  }
  const post405 = await fetch(`${t.url}/v1/costgate/requests`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(post405.status, 405);
});

test('library (createGateway, no HTTP): the same rows through gw.handle and gw.fetch, queried via the store and gw.fetch', async () => {
  const gw: Gateway = await createGateway({ env: {}, config: { ledger: { store: 'memory' } } as never });
  try {
    const ids = { chat: newId('lib'), stream: newId('lib'), emb: newId('lib'), msg: newId('lib'), rejected: newId('lib'), bad: newId('lib') };
    const h = (id: string, extra: Record<string, string> = {}) => ({ 'x-costgate-request-id': id, 'x-costgate-feature': 'lib', ...extra });
    const c = await gw.handle({ endpoint: 'chat', body: chat('gpt-4o-mini'), headers: h(ids.chat, { 'x-costgate-user': 'lib-user' }) });
    assert.equal(c.status, 200);
    const s = await gw.handle({ endpoint: 'chat', body: chat('gpt-4o-mini', { stream: true }), headers: h(ids.stream) });
    let streamed = '';
    for await (const chunk of s.stream!) streamed += String(chunk);
    assert.ok(streamed.endsWith('data: [DONE]\n\n'));
    const e = await gw.handle({ endpoint: 'embeddings', body: { model: 'text-embedding-3-small', input: 'hi' }, headers: h(ids.emb) });
    assert.equal(e.status, 200);
    const m = await gw.handle({ endpoint: 'messages', body: { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, headers: h(ids.msg) });
    assert.equal(m.status, 200);
    const rj = await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini' }, headers: h(ids.rejected) });
    assert.equal(rj.status, 400);
    const bad = await gw.fetch('http://costgate.local/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', ...h(ids.bad) }, body: '{not json' });
    assert.equal(bad.status, 400);

    // The library query: flush the batching writer, then ask the store (what GET /v1/costgate/requests does).
    await gw.ledger.writer.flushNow();
    const { rows, nextCursor } = await gw.ledger.store.query({ feature: 'lib', limit: 100 });
    assert.equal(nextCursor, undefined);
    assert.deepEqual(rows.map((r) => r.requestId).sort(), Object.values(ids).sort(), 'one row per library call, rejections included');
    const row = (id: string) => rows.find((r) => r.requestId === id)!;
    assert.equal(row(ids.chat).user, 'lib-user');
    assert.equal(c.headers['x-costgate-cost-usd'], nanosToUsd(row(ids.chat).costNanos));
    assert.equal(row(ids.stream).stream, true);
    assert.ok(row(ids.stream).ttftMs! > 0);
    assert.equal(row(ids.emb).endpoint, 'embeddings');
    assert.equal(row(ids.msg).surface, 'anthropic');
    assert.deepEqual([row(ids.rejected).status, row(ids.bad).status, row(ids.bad).errorType], [400, 400, 'invalid_json']);
    for (const id of [ids.chat, ids.stream, ids.emb, ids.msg]) {
      const r = row(id);
      assert.equal(r.status, 200);
      assert.equal(r.costNanos, gw.pricer.cost(usageOf(r), r.model, r.provider ?? undefined, new Date(r.ts))!.nanos);
      assert.ok(r.costNanos > 0);
      assert.equal((await gw.ledger.store.attempts(r.uid)).length, 1);
    }
    assert.equal((await gw.ledger.store.attempts(row(ids.rejected).uid)).length, 0);
    // Keyset pagination through the store API.
    const p1 = await gw.ledger.store.query({ feature: 'lib', limit: 4 });
    const p2 = await gw.ledger.store.query({ feature: 'lib', limit: 4, cursor: p1.nextCursor });
    assert.deepEqual([...p1.rows, ...p2.rows].map((r) => r.uid), rows.map((r) => r.uid));
    assert.equal(p2.nextCursor, undefined);
    assert.equal((await gw.ledger.store.query({ feature: 'lib', status: 'error' })).rows.length, 2);
    // The HTTP query API in-process, through gw.fetch.
    const viaFetch = (await (await gw.fetch('http://costgate.local/v1/costgate/requests?feature=lib&status=ok&limit=1000')).json()) as { data: Row[] };
    assert.deepEqual(viaFetch.data.map((r) => r.uid), rows.filter((r) => r.status < 400).map((r) => r.uid));
    const one = (await (await gw.fetch(`http://costgate.local/v1/costgate/requests/${ids.msg}`)).json()) as { data: Row[] };
    assert.equal(one.data[0]!.attempts!.length, 1);
    assert.equal(await gw.ledger.store.count({ feature: 'lib' }), 6);
  } finally {
    await gw.close();
  }
});
