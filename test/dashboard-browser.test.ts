/**
 * The dashboard in a real browser: headless Debian `chromium` (/usr/bin/chromium, or CHROMIUM_PATH) driven by
 * playwright-core against a gateway with seeded traffic (test/helpers/dashboard-seed.ts). Signs in through the login
 * form, checks that every chart drew (a canvas with painted pixels, legends naming the seeded models and features,
 * plotted values summing to the seeded spend), that the KPI shows the seeded total spend exactly, and the tables
 * (Pareto, cache layers, errors and retries, budgets, the alerts panel with no alerts API); opens one request in the
 * explorer. Screenshots are taken into a temp directory (removed after), or kept in COSTGATE_SCREENSHOT_DIR
 * (`npm run screenshots` writes docs/).
 *
 * Skipped when chromium is missing, unless CI or COSTGATE_REQUIRE_SERVICES is set: then a missing browser fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startDashboardGateway, seedDashboard, ADMIN_KEY, VIEWER_KEY, MODELS, FEATURES } from './helpers/dashboard-seed.js';
import { nanosToUsd } from '../src/pricing/decimal.js';
import { usd } from '../src/observability/reports/format.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const REQUIRED = process.env.CI || process.env.COSTGATE_REQUIRE_SERVICES;

test('dashboard in headless chromium: sign in, charts drawn with the seeded numbers, explorer, screenshots', { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    const why = `chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
    if (REQUIRED) throw new Error(`${why}; CI/COSTGATE_REQUIRE_SERVICES is set, so this is a failure`);
    return void t.skip(why);
  }
  const { chromium } = await import('playwright-core');
  const keep = process.env.COSTGATE_SCREENSHOT_DIR;
  const shots = keep ? resolve(keep) : mkdtempSync(join(tmpdir(), 'costgate-dashboard-'));
  mkdirSync(shots, { recursive: true });
  const gw = await startDashboardGateway({ auth: true });
  // The seeded calls authenticate as an admin would not need to: auth.mode is none, the admin key guards the dashboard.
  const s = await seedDashboard(gw);
  // No sandbox: CI containers (root, or without user namespaces) cannot give chromium one, and the only page it opens
  // is the gateway's own on loopback.
  const args = ['--no-sandbox', '--disable-dev-shm-usage'];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // The alerts API is absent on this gateway: its 404 is expected and shown as "no alerts".
      if (m.type() === 'error' && !/404/.test(m.text())) problems.push(`console: ${m.text()}`);
    });

    // Not signed in: the login form, and a wrong key is refused on it.
    const first = await page.goto(`${gw.url}/dashboard`);
    assert.equal(first!.status(), 401);
    await page.fill('input[name=key]', 'not-the-key');
    await page.click('button[type=submit]');
    assert.match((await page.textContent('.error'))!, /Invalid admin key/);
    await page.fill('input[name=key]', VIEWER_KEY);
    await Promise.all([page.waitForURL(`${gw.url}/dashboard`), page.click('button[type=submit]')]);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'costgate_dashboard');
    assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
    assert.ok(!cookie.value.includes(VIEWER_KEY) && !cookie.value.includes(ADMIN_KEY), 'the cookie is a token, not the key');
    // The login page's own 401s (not signed in, wrong key) were expected; from here on nothing may fail.
    problems.length = 0;
    await page.waitForSelector('body[data-ready="1"], body[data-ready="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-ready'), '1', `the page failed to load: ${await page.textContent('#status')}`);

    // KPIs: the seeded total spend, exactly (the attribute) and as printed (the CLI's rounding rule).
    assert.equal(await page.getAttribute('#kpi-spend', 'data-usd'), nanosToUsd(s.totalNanos));
    assert.equal((await page.textContent('#kpi-spend .value'))!.trim(), usd(s.totalNanos));
    assert.equal((await page.textContent('#kpi-requests .value'))!.trim(), String(s.requests));
    assert.equal(await page.getAttribute('#kpi-error-cost', 'data-usd'), nanosToUsd(s.errorNanos));
    assert.equal(await page.getAttribute('#kpi-retry-cost', 'data-usd'), nanosToUsd(s.retryNanos));
    assert.ok(s.errorNanos > 0n && s.retryNanos > 0n);

    // Charts: each drew on its canvas (painted pixels), with the seeded series.
    for (const id of ['chart-spend', 'chart-baseline', 'chart-drift-in', 'chart-drift-out']) {
      const painted = await page.$eval(`#${id} canvas`, (c: HTMLCanvasElement) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
        return { n, w: c.width, h: c.height };
      });
      assert.ok(painted.w > 300 && painted.h > 100 && painted.n > 1000, `${id} painted: ${JSON.stringify(painted)}`);
    }
    const legend = (id: string) => page.$$eval(`#${id} .u-legend .u-series .u-label`, (els) => els.map((e) => e.textContent!.trim()));
    assert.deepEqual((await legend('chart-spend')).slice(1).sort(), [...MODELS].sort());
    assert.deepEqual((await legend('chart-baseline')).slice(1), ['actual spend', 'baseline (without costgate)', 'saved']);
    assert.deepEqual((await legend('chart-drift-in')).slice(1).sort(), [...FEATURES].sort());
    const plotted = (await page.evaluate('window.costgateDashboard.charts()')) as Record<string, { label: string; values: (number | null)[] }[]>;
    const total = (xs: { values: (number | null)[] }[]) => xs.reduce((a, x) => a + x.values.reduce<number>((b, v) => b + (v ?? 0), 0), 0);
    const seeded = Number(nanosToUsd(s.totalNanos));
    assert.ok(Math.abs(total(plotted['chart-spend']!) - seeded) < 1e-9, `spend plotted ${total(plotted['chart-spend']!)} vs seeded ${seeded}`);
    assert.ok(Math.abs(total(plotted['chart-baseline']!.slice(0, 1)) - seeded) < 1e-9, 'actual spend line sums to the seeded spend');
    assert.equal(plotted['chart-spend']![0]!.values.length, 49, '48 hours of hourly buckets and the current one');

    // Tables.
    const cells = (sel: string) => page.$$eval(sel, (els) => els.map((e) => e.textContent!.trim()));
    assert.deepEqual((await cells('#pareto-features tbody tr td:first-child')).sort(), [...FEATURES].sort());
    assert.equal((await cells('#cache tr[data-layer=exact] td:nth-child(2)'))[0], String(s.cacheHits));
    assert.ok((await cells('#budgets tr[data-budget] td:first-child')).includes('monthly-total'));
    // Alerting is off in this gateway: the panel says so (the alerts API answers "not enabled").
    assert.match((await page.textContent('#alerts'))!.trim(), /^no alerts( \(alerting is not enabled\))?$/);
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });

    // Narrowed to one feature: the KPI is that feature's spend (as its Pareto row said), the legend that feature alone.
    const chatSpend = await page.$eval('#pareto-features tbody tr:first-child', (tr) => [tr.children[0]!.textContent, tr.children[2]!.textContent]);
    await page.fill('#only-feature', chatSpend[0]!);
    await page.press('#only-feature', 'Enter');
    await page.waitForFunction(() => document.body.dataset.ready === '1' && document.querySelectorAll('#pareto-features tbody tr').length === 1);
    assert.equal((await page.textContent('#kpi-spend .value'))!.trim(), chatSpend[1]);
    await page.fill('#only-feature', '');
    await page.press('#only-feature', 'Enter');
    await page.waitForFunction(() => document.body.dataset.ready === '1' && document.querySelectorAll('#pareto-features tbody tr').length === 3);

    // Explorer: filter by feature, then open the retried request: its full record and every attempt.
    await page.fill('#explorer-filters input[name=feature]', 'chat');
    await page.click('#explorer-filters button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('#requests tbody tr')].every((tr) => tr.children[3]!.textContent === 'chat'));
    await page.fill('#explorer-filters input[name=feature]', '');
    await page.fill('#explorer-filters input[name=model]', 'gpt-4.1-mini');
    await page.click('#explorer-filters button[type=submit]');
    await page.click(`tr.request[data-request-id="${s.retriedRequestId}"]`);
    await page.waitForSelector('#request-detail:not([hidden]) tr.attempt');
    assert.equal(await page.textContent('#detail-id'), s.retriedRequestId);
    assert.equal(await page.textContent('#detail-body dd[data-field=requestId]'), s.retriedRequestId);
    assert.deepEqual(await cells('#detail-body tr.attempt td:nth-child(5)'), ['error', 'error', 'ok']);
    await page.locator('#request-detail').screenshot({ path: join(shots, 'dashboard-request.png') });
    // The alerts panel with the alerts API's shape (served here by the browser: this gateway has no alerts API).
    const at = Date.UTC(2026, 0, 2, 3, 4);
    await page.route('**/v1/costgate/alerts*', (r) =>
      r.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({
          object: 'costgate.alerts', enabled: true,
          firing: [{ key: 'errorRate', rule: 'errorRate', level: 'critical', message: 'Error rate 12.0% over 15 min', status: 'firing', since: at, labels: {} }],
          history: [{ key: 'budgets:daily', rule: 'budgets', level: '80%', message: 'Budget daily at 80%', kind: 'firing', ts: at, labels: {} }],
        }),
      }),
    );
    await page.click('#refresh');
    await page.waitForSelector('#alerts .alert[data-alert=errorRate]');
    assert.deepEqual(await cells('#alerts .alert'), ['critical 2026-01-02 03:04 UTC Error rate 12.0% over 15 min', 'firing 80% 2026-01-02 03:04 UTC Budget daily at 80%']);
    for (const f of ['dashboard.png', 'dashboard-request.png']) assert.ok(statSync(join(shots, f)).size > 10_000, `${f} written`);
    assert.deepEqual(problems, []);
    if (keep) t.diagnostic(`screenshots in ${shots}`);
  } finally {
    await browser.close();
    await gw.close();
    if (!keep) rmSync(shots, { recursive: true, force: true });
  }
});
