import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PriceCatalog } from './catalog.js';
import { Pricer } from './pricer.js';
import type { RequestRecord } from '../pipeline/record.js';
import type { AttemptRecord } from '../pipeline/ctx.js';
import { emptyUsage, type Usage } from '../providers/usage.js';

const TS = Date.parse('2025-11-03T12:00:00Z');
const pricer = new Pricer({
  catalog: new PriceCatalog(),
  providerType: (name) => ({ 'openai-main': 'openai', 'anthropic-main': 'anthropic' })[name ?? ''],
  aliasBaseline: (alias) => (alias === 'smart' ? 'claude-sonnet-4-5' : undefined),
  defaultBaseline: 'gpt-4o',
});
const u = (x: Partial<Usage>): Usage => ({ ...emptyUsage(), ...x });
const attempt = (model: string, provider: string, usage?: Usage): AttemptRecord => ({ n: 1, deployment: provider, provider, model, startedAt: TS, latencyMs: 5, status: usage ? 200 : 503, outcome: usage ? 'ok' : 'error', usage });
function rec(requestedModel: string, model: string, provider: string, usage: Usage | undefined, extra: Partial<RequestRecord> = {}): RequestRecord {
  return { id: 'r', ts: TS, endpoint: 'chat', surface: 'openai', requestedModel, model, provider, stream: false, status: 200, usage, latencyMs: 5, clientAborted: false, attempts: [attempt(model, provider, usage)], ...extra };
}

/** gpt-4o cached call (fixture openai-gpt-4o-cached): 1500 prompt incl. 1024 cached, 300 out. */
const cachedCall = u({ inputTokens: 1500, cacheReadTokens: 1024, outputTokens: 300 });
/** Anthropic read + 5m write (fixture anthropic-sonnet-4-5-read-write-5m): 50 fresh, 10000 read, 2000 written, 400 out. */
const claudeCall = u({ inputTokens: 12050, cacheReadTokens: 10000, cacheWrite5mTokens: 2000, outputTokens: 400 });

test('routed to a cheaper model: cost on the served model, baseline on the requested one', () => {
  const p = pricer.price(rec('gpt-4o', 'gpt-4o-mini', 'openai-main', cachedCall));
  // gpt-4o-mini: 476 x $0.15/M + 1024 x $0.075/M + 300 x $0.60/M = 71.4 + 76.8 + 180 = 328.2 µ$
  assert.equal(p.costNanos, 328_200);
  assert.equal(p.priceSource, 'genai-prices:openai/gpt-4o-mini');
  // gpt-4o: 476 x $2.50/M + 1024 x $1.25/M + 300 x $10/M = 1190 + 1280 + 3000 = 5470 µ$ = 5,470,000 n$
  assert.deepEqual([p.baselineModel, p.baselineCostNanos], ['gpt-4o', 5_470_000]);
  assert.deepEqual(p.attemptCosts, [328_200]);
});

test('alias baseline, and a response-cache hit costs nothing but keeps the full baseline', () => {
  const served = pricer.price(rec('smart', 'claude-haiku-4-5', 'anthropic-main', claudeCall));
  // haiku 4.5: 50 x $1/M + 10000 x $0.10/M + 2000 x $1.25/M + 400 x $5/M = 50 + 1000 + 2500 + 2000 = 5550 µ$
  assert.equal(served.costNanos, 5_550_000);
  // sonnet 4.5: 50 x $3/M + 10000 x $0.30/M + 2000 x $3.75/M + 400 x $15/M = 150 + 3000 + 7500 + 6000 = 16650 µ$
  assert.deepEqual([served.baselineModel, served.baselineCostNanos], ['claude-sonnet-4-5', 16_650_000]);
  const hit = pricer.price(rec('claude-sonnet-4-5', 'claude-sonnet-4-5', 'anthropic-main', claudeCall, { cacheStatus: 'exact', attempts: [] }));
  assert.equal(hit.costNanos, 0);
  assert.equal(hit.baselineCostNanos, 16_650_000);
  assert.equal(hit.priceSource, 'cache:genai-prices:anthropic/claude-sonnet-4-5');
});

test('batch: batch rates for the row and its attempts; the baseline is the synchronous price', () => {
  const p = pricer.price(rec('gpt-4o-mini', 'gpt-4o-mini', 'openai-main', u({ inputTokens: 12000, outputTokens: 4000 }), { batch: true }));
  // 12000 x $0.075/M + 4000 x $0.30/M = 900 + 1200 = 2100 µ$; synchronous: 1800 + 2400 = 4200 µ$
  assert.equal(p.costNanos, 2_100_000);
  assert.equal(p.baselineCostNanos, 4_200_000);
  assert.deepEqual(p.attemptCosts, [2_100_000]);
});

test('failed attempts without usage cost 0; the attempt that answered costs what the row costs', () => {
  const r = rec('gpt-4o', 'gpt-4o', 'openai-main', cachedCall);
  r.attempts = [attempt('claude-sonnet-4-5', 'anthropic-main'), { ...attempt('gpt-4o', 'openai-main', cachedCall), n: 2 }];
  const p = pricer.price(r);
  assert.deepEqual(p.attemptCosts, [0, 5_470_000]);
  assert.equal(p.costNanos, 5_470_000);
});

test('an earlier attempt that reported usage before failing is part of the request cost', () => {
  const r = rec('gpt-4o', 'gpt-4o', 'openai-main', cachedCall);
  // Attempt 1 broke after the provider billed its prompt: 1500 input tokens of gpt-4o-mini at $0.15/M = 225,000 n$.
  const partial = { ...cachedCall, cacheReadTokens: 0, outputTokens: 0, reasoningTokens: 0 };
  r.attempts = [{ ...attempt('gpt-4o-mini', 'openai-main', partial), outcome: 'error' as const }, { ...attempt('gpt-4o', 'openai-main', cachedCall), n: 2 }];
  const p = pricer.price(r);
  assert.deepEqual(p.attemptCosts, [225_000, 5_470_000]);
  assert.equal(p.costNanos, 5_695_000);
  assert.equal(p.attemptCosts.reduce((a, b) => a + b, 0), p.costNanos, 'attempt costs add up to the row cost');
  // All attempts failed, the first after reporting usage: the row has no usage of its own but still cost that.
  const failed = rec('gpt-4o', 'gpt-4o', 'openai-main', undefined);
  failed.attempts = [{ ...attempt('gpt-4o-mini', 'openai-main', partial), outcome: 'error' as const }, { ...attempt('gpt-4o', 'openai-main'), n: 2, outcome: 'error' as const }];
  assert.equal(pricer.price(failed).costNanos, 225_000);
});

test('no usage, and unpriced models', () => {
  const none = pricer.price(rec('gpt-4o', 'gpt-4o', 'openai-main', undefined));
  assert.deepEqual([none.costNanos, none.baselineCostNanos, none.priceSource, none.baselineModel], [0, 0, 'no-usage', null]);
  // Unknown served model: unpriced (0), baseline falls back to the configured default baseline (gpt-4o: 5470 µ$ = 5,470,000 n$).
  const local = pricer.price(rec('my-local-llm', 'my-local-llm', 'vllm', cachedCall));
  assert.deepEqual([local.costNanos, local.priceSource, local.baselineModel, local.baselineCostNanos], [0, 'unpriced', 'gpt-4o', 5_470_000]);
});
