/**
 * The dashboard over HTTP, without a browser: its login (session cookie attributes, wrong keys, viewer and admin keys,
 * virtual keys and their revocation, logout), what a session may do (read only), the open loopback mode, the static
 * assets (and nothing else from disk), and the JSON it draws — timeseries and overview — checked against totals
 * computed from the seeded traffic (test/helpers/dashboard-seed.ts), not by the code under test.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboardGateway, seedDashboard, ADMIN_KEY, VIEWER_KEY, MODELS, type Seeded } from './helpers/dashboard-seed.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { nanosToUsd } from '../src/pricing/decimal.js';
import { usdToNanosExact } from './helpers/dashboard-seed.js';

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { headers, redirect: 'manual' });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

async function login(url: string, key: string) {
  const r = await fetch(`${url}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key }).toString(), redirect: 'manual' });
  return { status: r.status, headers: r.headers, text: await r.text(), cookie: r.headers.get('set-cookie')?.split(';')[0] };
}

describe('dashboard with an admin key configured', () => {
  let t: TestGateway;
  before(async () => {
    t = await startDashboardGateway({ auth: true });
  });
  after(async () => t.close());

  test('not signed in: /dashboard answers the login form (401); the data API refuses', async () => {
    const r = await get(`${t.url}/dashboard`);
    assert.equal(r.status, 401);
    assert.match(r.text, /<form method="post" action="\/dashboard\/login"/);
    assert.match(r.headers.get('content-security-policy')!, /script-src 'self'/);
    assert.equal((await get(`${t.url}/v1/costgate/dashboard/overview`)).status, 401);
    // A session cookie nobody issued is no session.
    assert.equal((await get(`${t.url}/v1/costgate/dashboard/overview`, { cookie: 'costgate_dashboard=forged' })).status, 401);
  });

  test('a wrong or empty key is refused on the form, without a cookie', async () => {
    for (const key of ['wrong', '', `${ADMIN_KEY}x`]) {
      const r = await login(t.url, key);
      assert.equal(r.status, 401, key);
      assert.equal(r.cookie, undefined);
      assert.match(r.text, /class="error"/);
    }
  });

  test('viewer key: an HttpOnly SameSite=Strict token cookie; the page and data read; nothing written', async () => {
    const r = await login(t.url, VIEWER_KEY);
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/dashboard');
    const set = r.headers.get('set-cookie')!;
    assert.match(set, /^costgate_dashboard=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/);
    assert.ok(!set.includes(VIEWER_KEY));
    const cookie = { cookie: `other=1; ${r.cookie!}` };
    const page = await get(`${t.url}/dashboard`, cookie);
    assert.equal(page.status, 200);
    assert.match(page.text, /uPlot\.iife\.min\.js/);
    assert.equal((await get(`${t.url}/v1/costgate/dashboard/overview`, cookie)).status, 200);
    assert.equal((await get(`${t.url}/v1/costgate/requests`, cookie)).status, 200);
    // Read only, even for reads a viewer may not do, and no writes (a cookie is not a credential for them).
    assert.equal((await get(`${t.url}/v1/costgate/keys`, cookie)).status, 403);
    const post = await fetch(`${t.url}/v1/costgate/keys`, { method: 'POST', headers: { ...cookie, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' }) });
    assert.equal(post.status, 401);
  });

  test('an admin key session is read only too (it acts as a viewer)', async () => {
    const r = await login(t.url, ADMIN_KEY);
    assert.equal(r.status, 303);
    assert.equal((await get(`${t.url}/v1/costgate/keys`, { cookie: r.cookie! })).status, 403);
    // The admin key itself, as a header, still does everything.
    assert.equal((await get(`${t.url}/v1/costgate/keys`, { authorization: `Bearer ${ADMIN_KEY}` })).status, 200);
  });

  test('a virtual viewer key signs in; revoking it ends its session; a client key cannot sign in', async () => {
    const viewer = await t.gw.keys.create({ name: 'dash-viewer', role: 'viewer' });
    const client = await t.gw.keys.create({ name: 'dash-client' });
    assert.equal((await login(t.url, client.key)).status, 401);
    const r = await login(t.url, viewer.key);
    assert.equal(r.status, 303);
    assert.equal((await get(`${t.url}/dashboard`, { cookie: r.cookie! })).status, 200);
    await t.gw.keys.revoke(viewer.record.id);
    assert.equal((await get(`${t.url}/dashboard`, { cookie: r.cookie! })).status, 401);
    assert.equal((await get(`${t.url}/v1/costgate/dashboard/overview`, { cookie: r.cookie! })).status, 401);
  });

  test('logout ends the session', async () => {
    const r = await login(t.url, VIEWER_KEY);
    const out = await fetch(`${t.url}/dashboard/logout`, { method: 'POST', headers: { cookie: r.cookie! }, redirect: 'manual' });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie')!, /^costgate_dashboard=; .*Max-Age=0/);
    assert.equal((await get(`${t.url}/dashboard`, { cookie: r.cookie! })).status, 401);
  });

  test('assets: the page files and uPlot, public; no other path reaches the disk', async () => {
    const js = await get(`${t.url}/dashboard/assets/uPlot.iife.min.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /javascript/);
    assert.match(js.text, /uPlot/);
    assert.match((await get(`${t.url}/dashboard/assets/app.css`)).headers.get('content-type')!, /text\/css/);
    for (const p of ['/dashboard/assets/index.html', '/dashboard/assets/..%2F..%2Fpackage.json', '/dashboard/assets/uPlot.LICENSE', '/dashboard/nope']) {
      assert.equal((await get(`${t.url}${p}`)).status, 404, p);
    }
  });
});

describe('dashboard data over seeded traffic (open loopback mode)', () => {
  let s: Seeded;
  const api = async (path: string) => {
    const r = await get(`${s.t.url}${path}`);
    assert.equal(r.status, 200, r.text);
    return JSON.parse(r.text);
  };
  before(async () => {
    s = await seedDashboard(await startDashboardGateway());
  });
  after(async () => s.t.close());

  test('auth.mode none without an admin key: the page is open, as the admin API is', async () => {
    const r = await get(`${s.t.url}/dashboard`);
    assert.equal(r.status, 200);
    assert.match(r.text, /id="kpis"/);
    // Any key "signs in" on an open gateway; its cookie does not narrow what the open admin API allows.
    const l = await login(s.t.url, 'anything');
    assert.equal(l.status, 303);
    assert.equal((await get(`${s.t.url}/v1/costgate/keys`, { cookie: l.cookie! })).status, 200);
  });

  test('timeseries: hourly buckets over 48 hours; per-model series and the total sum to the seeded spend', async () => {
    // The seed's own hour and the 48 before it, whatever the clock says now.
    const hour0 = Math.floor(s.now / 3_600_000) * 3_600_000;
    const ts = await api(`/v1/costgate/dashboard/timeseries?bucket=hour&by=model&since=${hour0 - 48 * 3_600_000}&until=${hour0 + 3_600_000}`);
    assert.equal(ts.t.length, 49);
    assert.equal(ts.t[1] - ts.t[0], 3600);
    assert.equal(ts.total.sum_cost_usd, nanosToUsd(s.totalNanos));
    const sum = (xs: string[]) => xs.reduce((a, x) => a + usdToNanosExact(x), 0n);
    assert.equal(sum(ts.total.cost_usd), s.totalNanos);
    assert.equal(ts.series.reduce((a: bigint, x: { cost_usd: string[] }) => a + sum(x.cost_usd), 0n), s.totalNanos);
    assert.deepEqual(ts.series.map((x: { name: string }) => x.name).sort(), [...MODELS].sort());
    assert.equal(ts.total.requests.reduce((a: number, b: number) => a + b, 0), s.requests);
    // Every history hour has its 6 rows; the current hour has the live calls.
    assert.deepEqual(ts.total.requests.slice(1, 48), Array(47).fill(6));
    const day = await api('/v1/costgate/dashboard/timeseries?bucket=day&by=feature&since=3d');
    assert.equal(sum(day.total.cost_usd), s.totalNanos);
    assert.deepEqual(day.series.map((x: { name: string }) => x.name).sort(), ['chat', 'search', 'summarize']);
  });

  test('overview: totals, cache layers, error and retry cost, Pareto, budgets, drift', async () => {
    const o = await api('/v1/costgate/dashboard/overview');
    assert.equal(o.totals.cost_usd, nanosToUsd(s.totalNanos));
    assert.equal(o.totals.requests, s.requests);
    assert.equal(o.totals.errors, s.errors);
    assert.equal(o.cache.layers.find((l: { layer: string }) => l.layer === 'exact').hits, s.cacheHits);
    assert.equal(o.errors.requests, s.errors);
    assert.equal(o.errors.cost_usd, nanosToUsd(s.errorNanos));
    assert.equal(o.retries.cost_usd, nanosToUsd(s.retryNanos));
    assert.ok(o.retries.attempts >= 4, 'the flaky deployment was retried');
    assert.equal(o.pareto.features.rows.length, 3);
    assert.equal(o.pareto.features.rows.at(-1).cumulative_share, 1);
    const monthly = o.budgets.find((b: { name: string }) => b.name === 'monthly-total');
    assert.equal(monthly.value, '*');
    assert.equal(monthly.limit_usd, '5.000000000');
    // Budget spend is the store's (the live calls), never the back-filled history.
    assert.ok(usdToNanosExact(monthly.spent_usd) > 0n && usdToNanosExact(monthly.spent_usd) < s.totalNanos);
    assert.ok(usdToNanosExact(monthly.projected_usd) >= usdToNanosExact(monthly.spent_usd));
    assert.deepEqual(o.budgets.filter((b: { name: string }) => b.name === 'feature-daily').map((b: { value: string }) => b.value).sort(), ['chat', 'search', 'summarize']);
    assert.deepEqual(o.drift.features.map((f: { name: string }) => f.name).sort(), ['chat', 'search', 'summarize']);
  });

  test("a virtual key's own budget is listed with what its calls spent", async () => {
    const k = await s.t.gw.keys.create({ name: 'dash-budget', budget: '2/month' });
    const r = await fetch(`${s.t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${k.key}` },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'a budgeted call' }] }),
    });
    assert.equal(r.status, 200);
    const cost = r.headers.get('x-costgate-cost-usd')!;
    assert.notEqual(cost, '0.000000000');
    const o = await api('/v1/costgate/dashboard/overview');
    const b = o.budgets.find((x: { name: string }) => x.name === 'key:dash-budget');
    assert.deepEqual([b.scope, b.value, b.limit_usd, b.spent_usd, b.window], ['key', 'dash-budget', '2.000000000', cost, 'month (UTC)']);
    await s.t.gw.keys.revoke(k.record.id);
    assert.equal((await api('/v1/costgate/dashboard/overview')).budgets.some((x: { name: string }) => x.name === 'key:dash-budget'), false);
  });

  test('bad parameters are 400s naming the parameter', async () => {
    for (const [q, param] of [['bucket=minute', 'bucket'], ['by=colour', 'by'], ['bucket=hour&since=90d', 'since'], ['since=yesterday', 'since']]) {
      const r = await get(`${s.t.url}/v1/costgate/dashboard/timeseries?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(JSON.parse(r.text).error.param, param, q);
    }
  });
});

test('a gateway with keys only for the admin API still serves no dashboard without them', async () => {
  const t = await startTestGateway({ env: { COSTGATE_ADMIN_KEY: ADMIN_KEY } });
  try {
    assert.equal((await get(`${t.url}/dashboard`)).status, 401);
    assert.equal((await get(`${t.url}/dashboard`, { authorization: `Bearer ${ADMIN_KEY}` })).status, 200);
  } finally {
    await t.close();
  }
});
