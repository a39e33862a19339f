import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PriceCatalog } from '../pricing/catalog.js';
import { Pricer } from '../pricing/pricer.js';
import { applyLever } from './levers.js';
import { parsePolicy } from './policy.js';
import { whatIf, whatIfTable } from './run.js';
import { fromAzureCsv, fromMooncakeJsonl, type Call, type Workload } from './workload.js';

// $/M tokens: strong 10 in / 30 out (batch half, cache read 1, 5-minute write 12.5), weak 1 / 3.
const pricer = new Pricer({
  catalog: new PriceCatalog({ strong: { input: 10, output: 30, batchInput: 5, batchOutput: 15, cacheRead: 1, cacheWrite5m: 12.5, cacheWrite1h: 20 }, weak: { input: 1, output: 3 } }),
  providerType: () => undefined,
  aliasBaseline: () => undefined,
});

const call = (over: Partial<Call> = {}): Call => ({ ts: Date.UTC(2026, 0, 1), model: 'strong', feature: 'chat', inputTokens: 1000, outputTokens: 100, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, batch: false, cacheHit: false, ...over });
const wl = (calls: Call[]): Workload => ({ source: 'test', calls, lacks: [] });
const STRONG_CALL = 13_000_000; // 1000 × $10/M + 100 × $30/M, in nano-dollars

test('baseline: each call priced exactly (integer nano-dollars), cache hits at zero', () => {
  const r = whatIf(wl([call(), call(), call({ cacheHit: true })]), parsePolicy('{}', 'p.json'), pricer);
  assert.equal(r.baselineNanos, 2 * STRONG_CALL);
  assert.equal(r.combinedNanos, r.baselineNanos);
});

test('output caps: output cut to the cap (per feature overrides the default); the risk names the share cut', () => {
  const calls = [call({ outputTokens: 500 }), call({ outputTokens: 50 }), call({ feature: 'long', outputTokens: 500 })];
  const r = applyLever('outputCap', calls, parsePolicy('outputCap: { maxTokens: 100, features: { long: 400 } }', 'p.yaml'))!;
  assert.deepEqual(r.calls.map((c) => c.outputTokens), [100, 50, 400]);
  assert.equal(r.touched, 2);
  assert.match(r.risk, /66\.7% of answers/);
});

test('batching: the listed features at batch prices (half here), others unchanged', () => {
  const r = whatIf(wl([call({ feature: 'nightly' }), call()]), parsePolicy('batch: { features: [nightly] }', 'p.yaml'), pricer);
  assert.equal(r.combinedNanos, STRONG_CALL / 2 + STRONG_CALL);
  assert.equal(r.levers[0]!.touched, 1);
});

test('routing: the dial keeps about strongShare on the strong model, deterministically, and a higher share never routes more away', () => {
  const calls = Array.from({ length: 2000 }, (_, i) => call({ ts: Date.UTC(2026, 0, 1) + i * 1000 }));
  let prevWeak = Infinity;
  for (const s of [0, 0.2, 0.5, 0.8, 1]) {
    const p = parsePolicy(`routing: { strong: strong, weak: weak, strongShare: ${s}, quality: 0.95 }`, 'p.yaml');
    const a = applyLever('routing', calls, p)!;
    const b = applyLever('routing', calls, p)!;
    assert.deepEqual(a.calls.map((c) => c.model), b.calls.map((c) => c.model));
    const weak = a.calls.filter((c) => c.model === 'weak').length;
    assert.ok(Math.abs(weak / 2000 - (1 - s)) < 0.04, `share ${s}: ${weak} weak`);
    assert.ok(weak <= prevWeak);
    prevWeak = weak;
    assert.match(a.risk, /router quality 95\.0%/);
  }
  const all = whatIf(wl(calls.slice(0, 10)), parsePolicy('routing: { strong: strong, weak: weak, strongShare: 0 }', 'p.yaml'), pricer);
  assert.equal(all.combinedNanos, 10 * 1_300_000);
});

test('exact cache: a repeat within the TTL is free, after it is paid; sources without fingerprints say n/a', () => {
  const t = Date.UTC(2026, 0, 1);
  const calls = [call({ ts: t, fingerprint: 'a' }), call({ ts: t + 1000, fingerprint: 'a' }), call({ ts: t + 7_200_000, fingerprint: 'a' }), call({ ts: t + 2000, fingerprint: 'b' })].sort((x, y) => x.ts - y.ts);
  const r = applyLever('exactCache', calls, parsePolicy('exactCache: { ttlMs: 3600000 }', 'p.yaml'))!;
  assert.equal(r.touched, 1);
  // A repeat the gateway's cache already served is free as recorded: not counted as a change, but its entry is there.
  const hits = [call({ ts: t, fingerprint: 'a' }), call({ ts: t + 1000, fingerprint: 'a', cacheHit: true }), call({ ts: t + 2000, fingerprint: 'a' }), call({ ts: t + 3000, fingerprint: 'c', cacheHit: true }), call({ ts: t + 4000, fingerprint: 'c' })];
  assert.equal(applyLever('exactCache', hits, parsePolicy('exactCache: {}', 'p.yaml'))!.touched, 2);
  const na = applyLever('exactCache', [call()], parsePolicy('exactCache: {}', 'p.yaml'))!;
  assert.match(na.na!, /no prompt fingerprints/);
});

test('semantic cache: shadow hits at the threshold are served, their precision is the risk', () => {
  const calls = [call({ shadow: { score: 0.95, match: true } }), call({ shadow: { score: 0.93, match: false } }), call({ shadow: { score: 0.8, match: false } }), call()];
  const r = applyLever('semanticCache', calls, parsePolicy('semanticCache: { threshold: 0.9 }', 'p.yaml'))!;
  assert.equal(r.touched, 2);
  assert.match(r.risk, /shadow precision 50\.0%/);
  // A record below the threshold: the shadow run's threshold was lower than the policy's, so the count is approximate.
  assert.match(r.risk, /shadow records go down to 0\.800: from a shadow run below this threshold the count is approximate \(record one at 0\.9\)/);
  const at = applyLever('semanticCache', calls.slice(0, 2), parsePolicy('semanticCache: { threshold: 0.9 }', 'p.yaml'))!;
  assert.doesNotMatch(at.risk, /approximate/);
});

test('prompt caching (OpenAI style): a repeated prefix of 1,024+ tokens is read at the cached rate', () => {
  const t = Date.UTC(2026, 0, 1);
  const calls = [call({ ts: t, inputTokens: 3000, prefixHash: 'p', prefixTokens: 2048 }), call({ ts: t + 1000, inputTokens: 3000, prefixHash: 'p', prefixTokens: 2048 })];
  const r = applyLever('promptCache', calls, parsePolicy('promptCache: { style: openai }', 'p.yaml'))!;
  assert.deepEqual(r.calls.map((c) => c.cacheReadTokens), [0, 2048]);
  const w = whatIf(wl(calls), parsePolicy('promptCache: { style: openai }', 'p.yaml'), pricer);
  // The second call: 2048 read at $1/M instead of $10/M.
  assert.equal(w.baselineNanos - w.combinedNanos, 2048 * 9000);
});

test('prompt caching (Anthropic style): writes only once reuse is expected, reads after, never above the no-cache bill here', () => {
  const t = Date.UTC(2026, 0, 1);
  const calls = Array.from({ length: 30 }, (_, i) => call({ ts: t + i * 30_000, inputTokens: 4000, prefixHash: 'sys', prefixTokens: 3000 }));
  const w = whatIf(wl(calls), parsePolicy('promptCache: { style: anthropic }', 'p.yaml'), pricer);
  const after = applyLever('promptCache', calls, parsePolicy('promptCache: {}', 'p.yaml'))!.calls;
  assert.ok(after.some((c) => c.cacheWrite5mTokens > 0 || c.cacheWrite1hTokens > 0));
  assert.ok(after.filter((c) => c.cacheReadTokens === 3000).length >= 20);
  assert.ok(w.combinedNanos < w.baselineNanos);
});

test('summarization and sources without prefixes are reported as not simulable, with the reason', () => {
  const r = whatIf(wl([call()]), parsePolicy('summarization: {}\npromptCache: {}', 'p.yaml'), pricer);
  const table = whatIfTable(r);
  assert.match(table, /prompt caching .*n\/a.*no prompt prefixes/);
  assert.match(table, /summarization .*n\/a.*stored conversations/);
});

test('policy files: unknown or bad fields are refused with their path', () => {
  assert.throws(() => parsePolicy('routing: { strong: a, weak: b, strongShare: 2 }', 'p.yaml'), /p\.yaml: invalid policy:\n  routing\.strongShare/);
  assert.throws(() => parsePolicy('cache: {}', 'p.yaml'), /Unrecognized key/);
  assert.throws(() => parsePolicy('{', 'p.json'), /not valid JSON/);
});

test('trace loaders: Azure CSV and Mooncake JSONL', () => {
  const a = fromAzureCsv('TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n', 'strong');
  assert.deepEqual([a.calls[0]!.inputTokens, a.calls[0]!.outputTokens, a.calls[0]!.ts], [374, 44, Date.parse('2023-11-16T18:15:46.680Z')]);
  assert.throws(() => fromAzureCsv('a,b\n1,2', 'strong'), /not an Azure/);
  const m = fromMooncakeJsonl('{"timestamp":0,"input_length":600,"output_length":5,"hash_ids":[1,2]}\n{"timestamp":10,"input_length":600,"output_length":5,"hash_ids":[1,2]}\n', 'strong');
  assert.equal(m.calls.length, 2);
  assert.equal(m.calls[0]!.fingerprint, m.calls[1]!.fingerprint);
  const r = applyLever('exactCache', m.calls, parsePolicy('exactCache: {}', 'p.yaml'))!;
  assert.equal(r.touched, 1);
});

test('ledger rows: failed calls left out, recorded fingerprints (request_hash) feed the exact-cache lever, cache hits stay free', async () => {
  const { callFromRow } = await import('./workload.js');
  const base = { uid: 'u', requestId: 'r', ts: Date.UTC(2026, 0, 1), endpoint: 'chat', surface: 'openai', requestedModel: 'strong', model: 'strong', provider: null, deployment: null, feature: 'chat', user: null, team: null, apiKeyId: null, priority: null, stream: false, status: 200, errorType: null, errorMessage: null, inputTokens: 1000, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: 100, reasoningTokens: 0, usageEstimated: false, costNanos: 0, baselineModel: null, baselineCostNanos: 0, priceSource: 'x', batch: false, latencyMs: 1, ttftMs: null, cacheStatus: 'miss', routeDecision: null, routeReason: null, attemptCount: 1, avoidedCostNanos: 0, governance: null, cacheScore: null, shadowMatch: null, queueMs: null, optimize: null, prefixHash: null, prefixTokens: null, requestHash: 'h1' };
  assert.equal(callFromRow({ ...base, status: 502 }), undefined);
  const a = callFromRow(base)!;
  const b = callFromRow({ ...base, ts: base.ts + 1000 })!;
  assert.equal(a.fingerprint, 'h1');
  const r = whatIf(wl([a, b]), parsePolicy('exactCache: {}', 'p.yaml'), pricer);
  assert.equal(r.combinedNanos, STRONG_CALL);
  assert.equal(callFromRow({ ...base, cacheStatus: 'exact' })!.cacheHit, true);
});

test('summarization from stored bodies: the planner cuts long conversations, each distinct summary is one summary call', async () => {
  const { SqliteLedger } = await import('../stores/ledger/sqlite.js');
  const { fromLedger } = await import('./workload.js');
  const { makeRow, makeBody } = await import('../../test/fixtures/ledger-rows.js');
  const { countPrompt } = await import('../tokens/count.js');
  const turn = (i: number) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}: ${'the quarterly numbers look fine and the plan holds '.repeat(8)}` });
  // Two later turns of the same 30-message conversation (same older turns → one summary), and a short chat.
  const long = (n: number) => ({ model: 'strong', messages: [{ role: 'system', content: 'You are helpful.' }, ...Array.from({ length: n }, (_, i) => turn(i)), { role: 'user', content: 'and now?' }] });
  const bodies = [long(30), long(31), { model: 'strong', messages: [{ role: 'user', content: 'hi' }] }];
  const store = new SqliteLedger(':memory:');
  await store.init();
  try {
    const rows = bodies.map((b, i) => makeRow({ requestId: `s-${i}`, ts: Date.UTC(2026, 0, 1) + i, model: 'strong', provider: null, inputTokens: countPrompt(b), cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: 100, status: 200, cacheStatus: 'miss', batch: false, prefixHash: null, requestHash: null, cacheScore: null }));
    await store.write(rows, [], bodies.map((b, i) => makeBody({ requestId: `s-${i}`, request: JSON.stringify(b) })));
    const w = await fromLedger(store);
    assert.equal(w.calls.filter((c) => c.body).length, 3);
    const r = applyLever('summarization', w.calls, parsePolicy('summarization: { model: weak }', 'p.yaml'))!;
    assert.equal(r.na, undefined);
    assert.equal(r.touched, 2, 'both long turns are cut, the short chat is not');
    const summaries = r.calls.filter((c) => c.model === 'weak');
    assert.equal(summaries.length, 1, 'the two turns replace the same older messages: one summary');
    assert.equal(summaries[0]!.outputTokens, 200);
    assert.ok(r.calls[0]!.inputTokens < w.calls[0]!.inputTokens / 2, `${r.calls[0]!.inputTokens} of ${w.calls[0]!.inputTokens}`);
    assert.equal(r.calls[2]!.inputTokens, w.calls[2]!.inputTokens);
    const res = whatIf(w, parsePolicy('summarization: { model: weak }', 'p.yaml'), pricer);
    assert.ok(res.combinedNanos < res.baselineNanos);
  } finally {
    await store.close();
  }
});

test('exact cache from stored bodies: with no request_hash recorded, the stored body gives the gateway\'s fingerprint', async () => {
  const { SqliteLedger } = await import('../stores/ledger/sqlite.js');
  const { fromLedger } = await import('./workload.js');
  const { makeRow, makeBody } = await import('../../test/fixtures/ledger-rows.js');
  const { requestFingerprint } = await import('../pipeline/stages/fingerprint.js');
  const q = (text: string) => ({ model: 'strong', temperature: 0, messages: [{ role: 'user', content: text }] });
  const bodies = [q('what is our refund policy?'), q('what is our refund policy?'), q('how do I reset my password?')];
  const store = new SqliteLedger(':memory:');
  await store.init();
  try {
    const rows = bodies.map((b, i) => makeRow({ requestId: `f-${i}`, ts: Date.UTC(2026, 0, 1) + i * 1000, model: 'strong', provider: null, inputTokens: 10, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: 50, status: 200, cacheStatus: 'miss', batch: false, prefixHash: null, requestHash: null, cacheScore: null }));
    await store.write(rows, [], bodies.map((b, i) => makeBody({ requestId: `f-${i}`, request: JSON.stringify(b) })));
    const w = await fromLedger(store);
    assert.equal(w.calls[0]!.fingerprint, requestFingerprint('openai', 'strong', bodies[0]!));
    assert.equal(w.calls[0]!.fingerprint, w.calls[1]!.fingerprint);
    assert.notEqual(w.calls[0]!.fingerprint, w.calls[2]!.fingerprint);
    const r = applyLever('exactCache', w.calls, parsePolicy('exactCache: { ttlMs: 60000 }', 'p.yaml'))!;
    assert.equal(r.na, undefined);
    assert.equal(r.touched, 1, 'the repeat is free, the first ask and the other question are paid');
  } finally {
    await store.close();
  }
});
