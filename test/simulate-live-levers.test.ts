/**
 * `costgate simulate` against live replays, for the routing, exact-cache and semantic-cache levers (the output-cap and
 * batching check is test/simulate-live.test.ts). Each check: a workload goes through the gateway with no policy (only
 * what the lever needs recorded: request fingerprints, semantic-cache shadow records); the simulator predicts, from
 * that ledger, the cost under a what-if policy; the same workload then goes through a gateway configured with the
 * policy's real equivalent. The prediction must be within 2 % of the live ledger's total (issue 11), and the policy
 * must have changed something.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import type { GatewayOptions } from '../src/gateway.js';
import { startSimulator, type Simulator } from '../src/providers/simulator/server.js';
import { fromLedger, type Workload } from '../src/simulate/workload.js';
import { parsePolicy } from '../src/simulate/policy.js';
import { whatIf, type WhatIfResult } from '../src/simulate/run.js';
import type { LedgerRow } from '../src/stores/ledger/types.js';
import { createSemanticLayer, type Layer } from '../src/cache/semantic/layer.js';
import { useLiteEmbedder } from '../src/cache/semantic/use-lite.js';
import type { Embedder } from '../src/cache/semantic/types.js';

interface Req {
  body: Record<string, unknown>;
  feature: string;
  /** Advance the clock this far before sending (the exact cache's TTL, seen by the ledger and the cache alike). */
  jumpMs?: number;
}

/**
 * A clock the test can jump forward: `Date.now` plus an offset, so the ledger's timestamps and the response cache's
 * TTL see the same (jumped) time while real time still flows. Restored after each test.
 */
const realNow = Date.now;
let offset = 0;
function installClock(): () => void {
  offset = 0;
  Date.now = () => realNow() + offset;
  return () => {
    Date.now = realNow;
  };
}

async function send(t: TestGateway, reqs: Req[]): Promise<void> {
  const layer = t.gw.semantic as Layer | undefined;
  for (const [i, r] of reqs.entries()) {
    if (r.jumpMs) offset += r.jumpMs;
    const res = await postJson(`${t.url}/v1/chat/completions`, r.body, { 'x-costgate-feature': r.feature, 'x-costgate-request-id': `${r.feature}-${i}` });
    assert.equal(res.status, 200, res.text);
    // The semantic layer indexes stored answers in the background: wait, so the next call sees this one.
    await layer?.idle();
  }
  await t.gw.ledger.writer.flushNow();
}

const rowsOf = async (t: TestGateway): Promise<LedgerRow[]> => (await t.gw.requests({ limit: 1000 })).rows;
const total = (rows: LedgerRow[]) => rows.reduce((a, x) => a + x.costNanos, 0);

type Config = Record<string, unknown>;

/** The recording run: the workload with no policy; returns the ledger as a workload and the prediction for each policy. */
async function record(base: Config, extra: Config, reqs: Req[], policies: string[], opts: GatewayOptions = {}): Promise<{ w: Workload; rows: LedgerRow[]; results: WhatIfResult[] }> {
  let out: { w: Workload; rows: LedgerRow[]; results: WhatIfResult[] } | undefined;
  await withTestGateway({ ...opts, config: { ...base, ...extra } as never, alerts: { log: () => {} } }, async (t) => {
    await send(t, reqs);
    const w = await fromLedger(t.gw.ledger.store);
    assert.equal(w.calls.length, reqs.length);
    const rows = await rowsOf(t);
    const results = policies.map((p) => whatIf(w, parsePolicy(p, 'policy.yaml'), t.gw.pricer));
    // The simulator's baseline prices what the ledger recorded (same pricer, same tokens).
    for (const r of results) assert.equal(r.baselineNanos, total(rows));
    out = { w, rows, results };
  });
  return out!;
}

async function live(base: Config, extra: Config, reqs: Req[], opts: GatewayOptions = {}): Promise<LedgerRow[]> {
  let rows: LedgerRow[] = [];
  await withTestGateway({ ...opts, config: { ...base, ...extra } as never }, async (t) => {
    await send(t, reqs);
    rows = await rowsOf(t);
    assert.equal(rows.length, reqs.length);
  });
  return rows;
}

/** Prints and checks one comparison: the prediction within 2 % of the live ledger. */
function compare(label: string, before: number, predicted: number, actual: number): number {
  const err = Math.abs(predicted - actual) / actual;
  console.log(`simulate vs live (${label}): before ${before} n$, predicted ${predicted} n$, live ${actual} n$, error ${(err * 100).toFixed(3)} %`);
  assert.ok(err <= 0.02, `${label}: prediction ${predicted} vs live ${actual}: ${(err * 100).toFixed(2)} % off`);
  return err;
}

const lever = (r: WhatIfResult, name: string) => r.levers.find((l) => l.lever === name)!;

const TOPICS = ['the quarterly numbers', 'our refund policy', 'the onboarding checklist', 'a failing unit test', 'the release notes', 'the database migration'];

/** 60 calls over three features on two models of one tokenizer family, of varied length, some with a small max_tokens. */
function routingWorkload(): Req[] {
  const out: Req[] = [];
  for (let i = 0; i < 60; i++) {
    const feature = ['faq', 'chat', 'code'][i % 3]!;
    const body: Record<string, unknown> = {
      model: i % 5 === 2 ? 'gpt-4o-mini' : 'gpt-4o',
      messages: [
        { role: 'system', content: `You answer ${feature} questions.` },
        { role: 'user', content: `${feature} question ${i}: explain ${TOPICS[i % TOPICS.length]} ${'in more detail '.repeat(i % 7)}please.` },
      ],
    };
    if (i % 4 === 0) body.max_tokens = 16;
    out.push({ body, feature });
  }
  return out;
}

test('simulate: routing predictions (one feature to the weak model; every strong call to the weak model; strongShare 1) match live replays within 2 %', { timeout: 60_000 }, async () => {
  const sim: Simulator = await startSimulator({ defaultOutputTokens: 48 });
  try {
    const base = { providers: { sim: { type: 'simulator' as const, baseUrl: sim.baseUrl } }, ledger: { store: 'memory' as const } };
    const reqs = routingWorkload();
    const rec = await record(base, {}, reqs, [
      'routing: { strong: gpt-4o, weak: gpt-4o-mini, strongShare: 0, features: [faq] }',
      'routing: { strong: gpt-4o, weak: gpt-4o-mini, strongShare: 0 }',
      'routing: { strong: gpt-4o, weak: gpt-4o-mini, strongShare: 1 }',
    ]);
    const before = rec.results[0]!.baselineNanos;
    const onStrong = rec.w.calls.filter((c) => c.model === 'gpt-4o');
    assert.equal(lever(rec.results[0]!, 'routing').touched, onStrong.filter((c) => c.feature === 'faq').length);
    assert.equal(lever(rec.results[1]!, 'routing').touched, onStrong.length);
    // strongShare 1 keeps every call where it was: nothing to replay live, the prediction is the recorded cost.
    assert.equal(lever(rec.results[2]!, 'routing').touched, 0);
    assert.equal(rec.results[2]!.combinedNanos, before);

    // The live equivalents: a priority rule on the feature (the task signal is the feature when no x-costgate-task is
    // sent) and the requested model, sending those calls to @weak; `all: true` runs the rules on concrete model names.
    const faqRows = await live(base, { routing: { all: true, strong: 'gpt-4o', weak: 'gpt-4o-mini', rules: [{ name: 'faq-weak', when: { task: ['faq'], requested: ['gpt-4o'] }, model: '@weak' }] } }, reqs);
    const allRows = await live(base, { routing: { all: true, strong: 'gpt-4o', weak: 'gpt-4o-mini', rules: [{ name: 'all-weak', when: { requested: ['gpt-4o'] }, model: '@weak' }] } }, reqs);
    assert.equal(faqRows.filter((r) => r.model === 'gpt-4o').length, onStrong.length - lever(rec.results[0]!, 'routing').touched);
    assert.equal(allRows.filter((r) => r.model === 'gpt-4o').length, 0);

    // The lever keeps the recorded token counts on the weak model. The simulator's answers differ per model (the
    // prose is drawn from a seed that includes the model), so the tokens live are the weak model's own; any
    // difference from the recorded ones is real simulation error, and shows in the comparison.
    const byId = new Map(rec.rows.map((r) => [r.requestId, r]));
    let outDiff = 0;
    let inDiff = 0;
    for (const r of allRows) {
      const b = byId.get(r.requestId)!;
      outDiff += r.outputTokens - b.outputTokens;
      inDiff += r.inputTokens - b.inputTokens;
    }
    console.log(`routing live vs recorded tokens (all strong calls to weak): input ${inDiff >= 0 ? '+' : ''}${inDiff}, output ${outDiff >= 0 ? '+' : ''}${outDiff}`);

    compare('routing faq → weak', before, rec.results[0]!.combinedNanos, total(faqRows));
    compare('routing all strong → weak', before, rec.results[1]!.combinedNanos, total(allRows));
    assert.ok(rec.results[0]!.combinedNanos < before * 0.9 && rec.results[1]!.combinedNanos < before * 0.3, 'the policies save');
  } finally {
    await sim.close();
  }
});

/**
 * 64 calls over 16 questions: repeats within the hour, the same questions again after the clock jumps 2 h (past the
 * 1 h TTL: the first repeat pays again), the same text on another model or with another max_tokens (other answers),
 * and half the calls sampled (no temperature: the exact cache bypasses them unless `nonDeterministic: true`).
 */
function repeatWorkload(): Req[] {
  const out: Req[] = [];
  const q = (k: number): Req => {
    const body: Record<string, unknown> = { model: k % 8 === 3 ? 'gpt-4o-mini' : 'gpt-4o', messages: [{ role: 'user', content: `Question ${k}: what does ${TOPICS[k % TOPICS.length]} say about ${'edge cases '.repeat(1 + (k % 4))}?` }] };
    if (k % 2 === 0) body.temperature = 0;
    if (k % 5 === 4) body.max_tokens = 20;
    return { body, feature: k % 3 === 0 ? 'support' : 'chat' };
  };
  for (let i = 0; i < 32; i++) out.push(q([0, 1, 2, 3, 4, 5, 6, 7][i % 8]! + (i % 3 === 2 ? 8 : 0)));
  for (let i = 0; i < 32; i++) {
    const r = q([0, 2, 4, 6, 9, 11, 13, 15][i % 8]! + (i % 4 === 3 ? 1 : 0));
    out.push(i === 0 ? { ...r, jumpMs: 2 * 3_600_000 } : r);
  }
  // The same text on the other model, and with another max_tokens: not repeats of the calls above.
  out.push({ ...q(0), body: { ...q(0).body, model: 'gpt-4o-mini' } }, { ...q(2), body: { ...q(2).body, max_tokens: 7 } });
  return out;
}

test('simulate: the exact-cache prediction (1 h TTL, from request fingerprints) matches a live replay with the response cache on within 2 %', { timeout: 60_000 }, async () => {
  const restore = installClock();
  const sim: Simulator = await startSimulator({ defaultOutputTokens: 64 });
  try {
    const base = { providers: { sim: { type: 'simulator' as const, baseUrl: sim.baseUrl } }, ledger: { store: 'memory' as const } };
    const reqs = repeatWorkload();
    // The ledger records request fingerprints (`request_hash`) while the duplicate-share alert is on.
    const rec = await record(base, { alerts: { enabled: true, interval: '1h' } }, reqs, ['exactCache: { ttlMs: 3600000 }', 'exactCache: { ttlMs: 86400000 }']);
    assert.equal(rec.rows.filter((r) => r.requestHash).length, reqs.length);
    const r = rec.results[0]!;
    const touched = lever(r, 'exactCache').touched;
    const distinct = new Set(rec.w.calls.map((c) => `${c.model}|${c.fingerprint}`)).size;
    // With a day's TTL every repeat is free; with 1 h, the questions asked again after the jump pay once more.
    assert.equal(lever(rec.results[1]!, 'exactCache').touched, reqs.length - distinct);
    assert.ok(touched > 20 && touched < reqs.length - distinct, `touched ${touched}, ${distinct} distinct`);

    const cached = await live(base, { cache: { enabled: true, ttl: '1h', nonDeterministic: true } }, reqs);
    assert.equal(cached.filter((x) => x.cacheStatus === 'exact').length, touched);
    compare('exact cache, ttl 1h', r.baselineNanos, r.combinedNanos, total(cached));
    assert.ok(r.combinedNanos < r.baselineNanos * 0.7, 'the cache saves');

    // The lever counts every repeat, sampled calls included (the fingerprint does): the live equivalent is
    // `nonDeterministic: true`. With the default (sampled calls bypass the cache) live saves less than predicted.
    const deterministicOnly = await live(base, { cache: { enabled: true, ttl: '1h' } }, reqs);
    const hits = deterministicOnly.filter((x) => x.cacheStatus === 'exact').length;
    const off = (r.combinedNanos - total(deterministicOnly)) / total(deterministicOnly);
    console.log(`exact cache with sampled calls bypassing (nonDeterministic false): ${hits} hits vs ${touched} predicted, live ${total(deterministicOnly)} n$, prediction ${(off * 100).toFixed(1)} % off`);
    assert.ok(hits < touched && total(deterministicOnly) > r.combinedNanos);
  } finally {
    restore();
    await sim.close();
  }
});

const QUESTIONS = [
  'What is the capital of France?',
  'How do I reset my password?',
  'Where can I download the invoice for my order?',
  'Why does the build fail on the release branch?',
  'How long does shipping to Canada take?',
  'Which plan includes priority support?',
  'turn on the lights in the kitchen',
  'turn off the lights in the kitchen',
  'What is the refund window for annual plans?',
  'How many seats does the team plan include?',
  'Can I export my data as a spreadsheet?',
  'Who do I contact about a billing error?',
  'How do I add a teammate to my workspace?',
  'What payment methods do you accept?',
  'Is there a discount for nonprofits?',
  'How do I enable two factor authentication?',
];
const PHRASINGS = ['{q}', 'Can you tell me: {q}', 'Please answer this: {q}', '{q} Thanks!', 'quick question, {q}', 'I was wondering {q}'];

/**
 * Each question asked in `rounds` phrasings, round by round over all the questions: the first as written, or with
 * `shifted` every other question first asked rephrased (and as written, lower-cased, in the last round).
 */
function paraphraseWorkload(rounds: number, questions = QUESTIONS, shifted = false): Req[] {
  const out: Req[] = [];
  for (let round = 0; round < rounds; round++)
    for (const [k, q] of questions.entries()) {
      const p = shifted ? (round + (k % 2)) % PHRASINGS.length : round === 0 ? 0 : 1 + ((round - 1 + k) % (PHRASINGS.length - 1));
      const text = PHRASINGS[p]!.replace('{q}', p === 0 || PHRASINGS[p]!.startsWith('{q}') ? q : q.charAt(0).toLowerCase() + q.slice(1));
      out.push({ body: { model: 'gpt-4o', temperature: 0, messages: [{ role: 'user', content: text }] }, feature: 'faq' });
    }
  return out;
}

/** Thresholds held to 2 % (each from a shadow run at that threshold), and the lower one measured across thresholds. */
const THRESHOLDS = [0.8, 0.9];
const LOW = 0.7;
// The hashed embedder (the labelled fallback: deterministic, no model to load) with the layer's guards.
const LAYER = { embedder: { kind: 'hashed' } };

/**
 * For each threshold: a shadow run at that threshold, the prediction from its records, and a live run with the
 * semantic cache on at it, held to 2 %. Then, measured only, the predictions at those thresholds from one shadow run
 * at LOW: that run accepted its would-be hits at its own threshold (at a higher one a question whose content words
 * differ needs `perUnmatched` more cosine per word, which the recorded score does not tell), and its extra would-be
 * hits were left out of its index.
 */
async function semanticCheck(base: Config, reqs: Req[], label: string, layer: () => GatewayOptions = () => ({})): Promise<void> {
  const liveTotals: number[] = [];
  for (const th of THRESHOLDS) {
    const rec = await record(base, { cache: { enabled: true, semantic: 'shadow', threshold: th, semanticLayer: LAYER } }, reqs, [`semanticCache: { threshold: ${th} }`], layer());
    const r = rec.results[0]!;
    // Shadow mode: recorded, not served.
    assert.ok(rec.rows.some((x) => x.cacheStatus === 'shadow' && x.cacheScore !== null) && !rec.rows.some((x) => x.cacheStatus === 'semantic'));
    const rows = await live(base, { cache: { enabled: true, semantic: 'on', threshold: th, semanticLayer: LAYER } }, reqs, layer());
    liveTotals.push(total(rows));
    const liveHits = rows.filter((x) => x.cacheStatus === 'semantic').length;
    console.log(`semantic cache (${label}), threshold ${th}: predicted ${lever(r, 'semanticCache').touched} hits, live ${liveHits}`);
    compare(`semantic cache (${label}), threshold ${th}`, r.baselineNanos, r.combinedNanos, total(rows));
    if (th === THRESHOLDS[0]) assert.ok(liveHits >= reqs.length / 4 && r.combinedNanos < r.baselineNanos * 0.8, 'the semantic cache saves');
  }
  const low = await record(base, { cache: { enabled: true, semantic: 'shadow', threshold: LOW, semanticLayer: LAYER } }, reqs, THRESHOLDS.map((th) => `semanticCache: { threshold: ${th} }`), layer());
  for (const [i, th] of THRESHOLDS.entries()) {
    const err = (low.results[i]!.combinedNanos - liveTotals[i]!) / liveTotals[i]!;
    console.log(`semantic cache (${label}), threshold ${th} from a shadow run at ${LOW}, measured: predicted ${low.results[i]!.combinedNanos} n$ (${lever(low.results[i]!, 'semanticCache').touched} hits), live ${liveTotals[i]} n$, ${(err * 100).toFixed(1)} % off`);
  }
}

test('simulate: the semantic-cache prediction (from shadow-mode records at the policy threshold) matches a live replay with the semantic cache on within 2 %', { timeout: 60_000 }, async () => {
  const sim: Simulator = await startSimulator({ defaultOutputTokens: 64 });
  try {
    const base = { providers: { sim: { type: 'simulator' as const, baseUrl: sim.baseUrl } }, ledger: { store: 'memory' as const } };
    // Each question and one rephrasing of it; then six phrasings each with half the questions first asked rephrased,
    // where a later phrasing is closest to an earlier rephrasing (in shadow mode that one is a would-be hit: not
    // indexed, as with the cache on it would have been served and never stored).
    await semanticCheck(base, paraphraseWorkload(2), '16 questions × 2 phrasings');
    await semanticCheck(base, paraphraseWorkload(6, QUESTIONS.slice(0, 10), true), '10 questions × 6 phrasings');
  } finally {
    await sim.close();
  }
});

test('simulate: the semantic-cache prediction with the USE-Lite embedder (the default) matches a live replay within 2 %', { timeout: 120_000 }, async () => {
  const sim: Simulator = await startSimulator({ defaultOutputTokens: 64 });
  // One model load for every run: each gateway gets a fresh layer (empty index) over the shared embedder, whose
  // vector LRU also makes the runs' scores identical; the gateway closes its layer, not the shared model.
  const model = useLiteEmbedder({});
  const shared: Embedder = { name: model.name, embed: (texts) => model.embed(texts), ready: () => model.ready(), whenReady: () => model.whenReady(), close: async () => {} };
  try {
    await model.whenReady();
    const base = { providers: { sim: { type: 'simulator' as const, baseUrl: sim.baseUrl } }, ledger: { store: 'memory' as const } };
    const layer = () => ({ semantic: createSemanticLayer({ embedder: shared }) });
    await semanticCheck(base, paraphraseWorkload(2), '16 questions × 2 phrasings, USE-Lite', layer);
    await semanticCheck(base, paraphraseWorkload(6, QUESTIONS.slice(0, 10), true), '10 questions × 6 phrasings, USE-Lite', layer);
  } finally {
    await model.close();
    await sim.close();
  }
});

test('simulate: a combined policy (routing, exact cache, semantic cache, output caps) matches a live replay within 2 %', { timeout: 60_000 }, async () => {
  const sim: Simulator = await startSimulator({ defaultOutputTokens: 64 });
  try {
    const base = { providers: { sim: { type: 'simulator' as const, baseUrl: sim.baseUrl } }, ledger: { store: 'memory' as const } };
    // faq: rephrased questions; chat: exact repeats (deterministic calls, so the default cache settings apply).
    const faq = paraphraseWorkload(3, QUESTIONS.slice(0, 8));
    const chat = repeatWorkload()
      .slice(0, 32)
      .map((r) => ({ body: { ...r.body, temperature: 0 }, feature: 'chat' }));
    const reqs = faq.flatMap((r, i) => [r, ...(chat[i] ? [chat[i]!] : [])]);
    // The recording run: fingerprints (duplicate-share alert on), and the semantic cache in shadow mode for faq only
    // (the response cache is on only where the shadow records need it, so chat's repeats are paid as recorded).
    const rec = await record(
      base,
      { alerts: { enabled: true, interval: '1h' }, cache: { enabled: false, semanticLayer: LAYER, features: { faq: { enabled: true, semantic: 'shadow', threshold: 0.8 } } } },
      reqs,
      ['routing: { strong: gpt-4o, weak: gpt-4o-mini, strongShare: 0, features: [faq] }\nexactCache: { ttlMs: 3600000 }\nsemanticCache: { threshold: 0.8 }\noutputCap: { maxTokens: 24 }'],
    );
    const r = rec.results[0]!;
    for (const l of ['routing', 'exactCache', 'semanticCache', 'outputCap']) assert.ok(lever(r, l).touched > 0, `${l} changed nothing`);
    const rows = await live(
      base,
      {
        routing: { all: true, strong: 'gpt-4o', weak: 'gpt-4o-mini', rules: [{ name: 'faq-weak', when: { task: ['faq'], requested: ['gpt-4o'] }, model: '@weak' }] },
        cache: { enabled: true, ttl: '1h', semanticLayer: LAYER, features: { faq: { semantic: 'on', threshold: 0.8 } } },
        limits: { defaultMaxTokens: 24, maxTokensCeiling: 24 },
      },
      reqs,
    );
    console.log(`combined: waterfall ${r.levers.map((l) => `${l.lever} ${l.cumulativeNanos}`).join(', ')}; live hits exact ${rows.filter((x) => x.cacheStatus === 'exact').length}, semantic ${rows.filter((x) => x.cacheStatus === 'semantic').length}`);
    // The waterfall's cache levers served the calls the live caches did.
    assert.equal(rows.filter((x) => x.cacheStatus === 'exact').length, lever(r, 'exactCache').touched);
    assert.equal(rows.filter((x) => x.cacheStatus === 'semantic').length, lever(r, 'semanticCache').touched);
    compare('routing + exact + semantic + output caps', r.baselineNanos, r.combinedNanos, total(rows));
    assert.ok(r.combinedNanos < r.baselineNanos * 0.5, 'the policy saves');
  } finally {
    await sim.close();
  }
});
