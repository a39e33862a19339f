/**
 * `GET /metrics`: a gateway with seeded traffic (two features, two models, a failing deployment, a soft budget) is scraped
 * and the Prometheus text is parsed with `parse-prometheus-text-format` (an independent parser); every number is checked
 * against the ledger rows the same calls produced. Also: access control, the cardinality bound, disabling, bad config.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import parse from 'parse-prometheus-text-format';
import { startTestGateway, withTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startSimulator, type Simulator } from '../../src/providers/simulator/server.js';
import { parseConfig } from '../../src/config/load.js';
import { LabelBound } from '../../src/observability/metrics/index.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({});
});
after(async () => {
  await sim.close();
});

const base = (extra: Record<string, unknown> = {}) => ({
  providers: { sim: { type: 'simulator', baseUrl: sim.baseUrl } },
  deployments: [{ name: 'bad', provider: 'sim', model: 'claude-haiku-4-5', headers: { 'x-sim-fault': 'status:503' } }],
  models: { broken: { deployments: ['bad'] } },
  retries: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  circuitBreaker: { failureThreshold: 1000, cooldownMs: 60_000 },
  ledger: { store: 'memory' },
  ...extra,
});

async function chat(t: TestGateway, model: string, feature: string | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(t.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(feature ? { 'x-costgate-feature': feature } : {}), ...headers },
    body: JSON.stringify({ model, max_tokens: 20, messages: [{ role: 'user', content: `hello from ${feature} ${model}` }] }),
  });
  await res.text();
  return res.status;
}

type Fam = ReturnType<typeof parse>[number];
const family = (fams: Fam[], name: string) => {
  const f = fams.find((x) => x.name === name);
  assert.ok(f, `metric ${name} missing`);
  return f;
};
const sample = (f: Fam, labels: Record<string, string>) => f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
const sum = (f: Fam, labels: Record<string, string>) => sample(f, labels).reduce((s, m) => s + Number(m.value), 0);

async function scrape(t: TestGateway, headers: Record<string, string> = {}) {
  const res = await fetch(t.url + '/metrics', { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

test('metrics: seeded traffic is counted exactly, in a format a real parser reads', async () => {
  await withTestGateway({ config: base({ budgets: [{ name: 'daily', scope: 'global', window: 'day', amount: '5', mode: 'soft' }] }) as never }, async (t) => {
    assert.equal(await chat(t, 'gpt-4o-mini', 'search'), 200);
    assert.equal(await chat(t, 'gpt-4o-mini', 'search'), 200);
    assert.equal(await chat(t, 'gpt-4o', 'search'), 200);
    assert.equal(await chat(t, 'gpt-4o-mini', 'chat'), 200);
    assert.equal(await chat(t, 'broken', 'chat'), 503);
    await t.waitRecords(5);
    const { rows } = await t.gw.requests({});
    assert.equal(rows.length, 5);

    const r = await scrape(t);
    assert.equal(r.status, 200);
    assert.match(r.type!, /^text\/plain; version=0\.0\.4/);
    const fams = parse(r.text);

    const req = family(fams, 'costgate_requests_total');
    assert.equal(req.type, 'COUNTER');
    assert.equal(sum(req, { model: 'gpt-4o-mini', feature: 'search', status: '2xx', provider: 'sim', endpoint: 'chat' }), 2);
    assert.equal(sum(req, { model: 'gpt-4o', feature: 'search', status: '2xx' }), 1);
    assert.equal(sum(req, { feature: 'chat', status: '2xx' }), 1);
    assert.equal(sum(req, { feature: 'chat', status: '5xx' }), 1);
    assert.equal(sum(req, {}), 5);

    const tokens = family(fams, 'costgate_tokens_total');
    const ok = rows.filter((x) => x.status === 200);
    assert.equal(sum(tokens, { kind: 'input' }), ok.reduce((s, x) => s + x.inputTokens, 0));
    assert.equal(sum(tokens, { kind: 'output' }), ok.reduce((s, x) => s + x.outputTokens, 0));
    assert.ok(sum(tokens, { kind: 'input' }) > 0);

    const cost = family(fams, 'costgate_cost_dollars_total');
    const nanos = (feature: string, model: string) => rows.filter((x) => x.feature === feature && x.model === model).reduce((s, x) => s + x.costNanos, 0);
    assert.ok(nanos('search', 'gpt-4o') > 0);
    assert.equal(sum(cost, { feature: 'search', model: 'gpt-4o' }), nanos('search', 'gpt-4o') / 1e9);
    assert.equal(sum(cost, { feature: 'search', model: 'gpt-4o-mini' }), nanos('search', 'gpt-4o-mini') / 1e9);

    const errs = family(fams, 'costgate_upstream_errors_total');
    // Two attempts on the failing deployment (retries.attempts 2), both 503.
    assert.equal(sum(errs, { provider: 'sim', model: 'claude-haiku-4-5', code: 'upstream_unavailable' }), 2);
    assert.equal(sample(errs, {}).length, 1);

    const lat = family(fams, 'costgate_request_duration_seconds');
    assert.equal(lat.type, 'HISTOGRAM');
    // parse-prometheus-text-format folds a histogram's series together (seen with prom-client's `le`-first labels, and
    // drops their labels), so per-series counts are read from the raw `_count` lines here and the parsed shape is checked on one series below.
    assert.match(r.text, /^costgate_request_duration_seconds_count\{model="gpt-4o-mini",provider="sim",endpoint="chat"\} 3$/m);
    assert.match(r.text, /^costgate_request_duration_seconds_count\{model="gpt-4o",provider="sim",endpoint="chat"\} 1$/m);
    assert.equal(sum(req, { status: '5xx' }), 1);

    const spent = rows.reduce((s, x) => s + x.costNanos, 0);
    const rem = family(fams, 'costgate_budget_remaining_dollars');
    assert.equal(rem.type, 'GAUGE');
    assert.deepEqual(rem.metrics.map((m) => m.labels), [{ budget: 'daily', scope: 'global', mode: 'soft' }]);
    assert.ok(Math.abs(Number(rem.metrics[0]!.value) - (5 - spent / 1e9)) < 1e-12, `${rem.metrics[0]!.value} vs ${5 - spent / 1e9}`);
    assert.equal(Number(family(fams, 'costgate_budget_limit_dollars').metrics[0]!.value), 5);
    assert.equal(Number(family(fams, 'costgate_in_flight_requests').metrics[0]!.value), 0);
    assert.ok(fams.some((f) => f.name.startsWith('costgate_process_')));
  });
});

test('metrics: label cardinality is bounded (later values count as _other)', async () => {
  await withTestGateway({ config: base({ metrics: { maxLabelValues: 2, processMetrics: false } }) as never }, async (t) => {
    for (const f of ['a', 'b', 'c', 'd', 'a']) assert.equal(await chat(t, 'gpt-4o-mini', f), 200);
    await t.waitRecords(5);
    const { text } = await scrape(t);
    const fams = parse(text);
    const req = family(fams, 'costgate_requests_total');
    assert.deepEqual(req.metrics.map((m) => [m.labels!.feature, Number(m.value)]).sort(), [['_other', 2], ['a', 2], ['b', 1]]);
    assert.ok(!fams.some((f) => f.name.startsWith('costgate_process_')));
    const lat = family(fams, 'costgate_request_duration_seconds');
    assert.equal(lat.type, 'HISTOGRAM');
    assert.equal(lat.metrics.length, 1);
    const h = lat.metrics[0]!;
    assert.equal(Number(h.buckets!['+Inf']), 5);
    const bounds = Object.keys(h.buckets!).filter((k) => k !== '+Inf').map(Number).sort((a, b) => a - b);
    assert.deepEqual(bounds, [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]);
    bounds.reduce((prev, b) => (assert.ok(Number(h.buckets![String(b)]) >= prev), Number(h.buckets![String(b)])), 0);
    // The parser keeps only a histogram's buckets; its _count and _sum lines are checked in the raw text.
    assert.match(text, /^costgate_request_duration_seconds_count\{model="gpt-4o-mini",provider="sim",endpoint="chat"\} 5$/m);
    assert.match(text, /^costgate_request_duration_seconds_sum\{model="gpt-4o-mini",provider="sim",endpoint="chat"\} (?!0$)\d+(\.\d+)?(e-\d+)?$/m);
  });
  const b = new LabelBound(1);
  assert.equal(b.value(undefined), 'none');
  assert.equal(b.value('x'.repeat(300)), 'x'.repeat(128));
  assert.equal(b.value('y'), '_other');
});

test('metrics: access follows the admin API (key needed once one is set), or public', async () => {
  await withTestGateway({ config: base({ auth: { adminKey: 'env:OBS_ADMIN' } }) as never, env: { OBS_ADMIN: 'admin-secret-123' } }, async (t) => {
    const no = await scrape(t);
    assert.equal(no.status, 401);
    assert.equal(JSON.parse(no.text).error.code, 'unauthorized');
    const bad = await scrape(t, { authorization: 'Bearer wrong' });
    assert.equal(bad.status, 401);
    const yes = await scrape(t, { authorization: 'Bearer admin-secret-123' });
    assert.equal(yes.status, 200);
    assert.ok(parse(yes.text).some((f) => f.name === 'costgate_requests_total'));
    const post = await fetch(t.url + '/metrics', { method: 'POST', headers: { authorization: 'Bearer admin-secret-123' } });
    assert.equal(post.status, 405);
  });
  await withTestGateway({ config: base({ auth: { adminKey: 'env:OBS_ADMIN' }, metrics: { access: 'public' } }) as never, env: { OBS_ADMIN: 'admin-secret-123' } }, async (t) => {
    assert.equal((await scrape(t)).status, 200);
  });
  await withTestGateway({ config: base({ metrics: { enabled: false } }) as never }, async (t) => {
    const r = await scrape(t);
    assert.equal(r.status, 404);
    assert.equal(t.gw.metrics, undefined);
  });
});

test('metrics: bad config names the field', () => {
  assert.throws(() => parseConfig({ metrics: { maxLabelValues: 0 } }), /metrics\.maxLabelValues/);
  assert.throws(() => parseConfig({ metrics: { access: 'everyone' } }), /metrics\.access/);
  assert.throws(() => parseConfig({ metrics: { bogus: 1 } }), /metrics/);
});

test('metrics: two gateways in one process keep separate registries', async () => {
  const a = await startTestGateway({ config: base({ metrics: { processMetrics: false } }) as never });
  const b = await startTestGateway({ config: base({ metrics: { processMetrics: false } }) as never });
  try {
    assert.equal(await chat(a, 'gpt-4o-mini', 'x'), 200);
    await a.waitRecords(1);
    assert.equal(sum(family(parse((await scrape(a)).text), 'costgate_requests_total'), {}), 1);
    const fb = parse((await scrape(b)).text).find((f) => f.name === 'costgate_requests_total');
    assert.equal(fb?.metrics.length ?? 0, 0);
  } finally {
    await a.close();
    await b.close();
  }
});
