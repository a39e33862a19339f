/**
 * Alerts through the real gateway on loopback: calls are fingerprinted into the ledger, a ledger write triggers a
 * (debounced) evaluation, the webhook receiver gets the firing alerts once, `GET /v1/costgate/alerts` lists them
 * (viewer role included), config mistakes name the field, and `costgate alerts --evaluate` reads a SQLite ledger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway, postJson } from './helpers/gateway.js';
import { parseConfig } from '../src/config/load.js';
import { SqliteLedger } from '../src/stores/ledger/sqlite.js';
import { runAlerts, alertLines } from '../src/cli/alerts.js';
import { resolveConfig } from '../src/config/load.js';
import { makeRow } from './fixtures/ledger-rows.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_URL, requirePostgres } from './helpers/services.js';

async function receiver() {
  const got: any[] = [];
  const server = createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      got.push(JSON.parse(b));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function until(f: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('duplicate calls and errors fire once over the webhook and are listed by GET /v1/costgate/alerts', async () => {
  const hook = await receiver();
  const off = { enabled: false };
  const t = await startTestGateway({
    env: { COSTGATE_VIEWER_KEY: 'viewer-secret' },
    config: {
      ledger: { store: 'memory', flushIntervalMs: 10 },
      auth: { viewerKey: 'env:COSTGATE_VIEWER_KEY' },
      alerts: {
        enabled: true, debounceMs: 10, interval: '1h',
        rules: { errorRate: { minRequests: 5 }, duplicateShare: { minRequests: 5 }, spendAnomaly: off, outputTokens: off },
        channels: [{ type: 'webhook', url: hook.url, allowPrivate: true }],
      },
    },
  });
  try {
    const body = { model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'same question' }] };
    // Key order and attribution do not change the fingerprint; the content does.
    for (let i = 0; i < 5; i++) assert.equal((await postJson(`${t.url}/v1/chat/completions`, i % 2 ? { messages: body.messages, max_tokens: 8, model: 'gpt-4o-mini', user: `u${i}` } : body)).status, 200);
    assert.equal((await postJson(`${t.url}/v1/chat/completions`, { ...body, messages: [{ role: 'user', content: 'another' }] })).status, 200);
    assert.equal((await postJson(`${t.url}/v1/chat/completions`, { model: 'gpt-4o-mini' })).status, 400);
    const rows = (await t.gw.requests()).rows;
    const hashes = rows.filter((r) => r.status === 200).map((r) => r.requestHash);
    assert.equal(new Set(hashes).size, 2);
    assert.ok(hashes.every((h) => /^[0-9a-f]{32}$/.test(h!)));
    await until(() => hook.got.length >= 2, 'two alerts on the webhook');
    assert.deepEqual(hook.got.map((g) => [g.status, g.key]).sort(), [['firing', 'duplicateShare'], ['firing', 'errorRate']]);
    // More writes trigger more evaluations: nothing new is sent while the same alerts keep firing.
    await postJson(`${t.url}/v1/chat/completions`, body);
    await t.gw.alerts!.evaluate();
    assert.equal(hook.got.length, 2);
    const res = await fetch(`${t.url}/v1/costgate/alerts`, { headers: { authorization: 'Bearer viewer-secret' } });
    assert.equal(res.status, 200);
    const j = (await res.json()) as any;
    assert.equal(j.enabled, true);
    assert.deepEqual(j.firing.map((f: any) => f.key).sort(), ['duplicateShare', 'errorRate']);
    assert.equal(j.history.length, 2);
    assert.match(j.firing.find((f: any) => f.key === 'duplicateShare').message, /repeated an earlier identical request/);
    assert.equal((await fetch(`${t.url}/v1/costgate/alerts?limit=0`)).status, 400);
  } finally {
    await t.close();
    await hook.close();
  }
});

test('GET /v1/costgate/alerts with alerts off, and no fingerprints recorded', async () => {
  const t = await startTestGateway({ config: { ledger: { store: 'memory' } } });
  try {
    await postJson(`${t.url}/v1/chat/completions`, { model: 'gpt-4o-mini', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal((await t.gw.requests()).rows[0]!.requestHash, null);
    const j = (await (await fetch(`${t.url}/v1/costgate/alerts`)).json()) as any;
    assert.deepEqual(j, { object: 'costgate.alerts', enabled: false, firing: [], history: [] });
  } finally {
    await t.close();
  }
});

test('alerts config: a misspelt key or a bad value names its field', () => {
  assert.throws(() => parseConfig({ alerts: { rules: { errorRate: { treshold: 0.1 } } } }, 't'), /alerts\.rules\.errorRate: unknown key\(s\) "treshold"/);
  assert.throws(() => parseConfig({ alerts: { interval: 'soon' } }, 't'), /alerts\.interval: a duration/);
  assert.throws(() => parseConfig({ alerts: { channels: [{ type: 'pager' }] } }, 't'), /alerts\.channels\.0/);
  assert.throws(() => parseConfig({ alerts: { channels: [{ type: 'email', host: 'h', from: 'a@b', to: ['c@d'], password: 'plain' }] } }, 't'), /alerts\.channels\.0\.password: env:NAME/);
  assert.throws(() => parseConfig({ otel: { enabled: true, endpoint: 'not a url' } }, 't'), /otel\.endpoint/);
  assert.throws(() => parseConfig({ alerts: { channels: [{ type: 'slack', url: 'nope' }] } }, 't'), /alerts\.channels\.0\.url/);
  const on = resolveConfig(parseConfig({ alerts: { enabled: true, rules: { cacheHitRate: { enabled: false } }, channels: [{ type: 'log' }, { type: 'slack', url: 'https://hooks.example.com/x' }] }, otel: { enabled: true, metrics: false } }, 't'), {}, 't');
  assert.deepEqual(alertLines(on), [
    'alerts: every 1m, rules spendAnomaly, allocation, budgets, errorRate, outputTokens, duplicateShare; channels log, slack(hooks.example.com)',
    'otel: traces → http://127.0.0.1:4318 (service costgate)',
  ]);
  const d = parseConfig({}, 't');
  assert.equal(d.alerts.enabled, false);
  assert.equal(d.alerts.rules.errorRate.threshold, 0.02);
  assert.deepEqual(d.alerts.rules.budgets.thresholds, [0.5, 0.8, 1]);
  assert.deepEqual(d.alerts.channels, [{ type: 'log' }]);
  assert.equal(d.otel.enabled, false);
});

test('costgate alerts --evaluate: rules over a SQLite ledger, state kept in <ledger>.alerts.db', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-alerts-cli-'));
  try {
    const path = join(dir, 'ledger.db');
    const l = new SqliteLedger(path);
    await l.init();
    const now = Date.now();
    await l.write(Array.from({ length: 30 }, (_, i) => makeRow({ ts: now - 60_000, status: i < 6 ? 503 : 200 })), []);
    await l.close();
    const cfg = join(dir, 'costgate.json');
    writeFileSync(cfg, JSON.stringify({ ledger: { path }, alerts: { enabled: true, channels: [{ type: 'log' }] } }));
    const out: string[] = [];
    const stderr = process.stderr.write;
    const logged: string[] = [];
    process.stderr.write = ((s: string) => (logged.push(String(s)), true)) as typeof process.stderr.write;
    try {
      await runAlerts({ config: cfg, evaluate: true }, (s) => out.push(s), {});
    } finally {
      process.stderr.write = stderr;
    }
    assert.match(out[0]!, /^evaluated: 1 notification\(s\)/);
    assert.match(out.join('\n'), /\[critical\] errorRate since .*Error rate 20\.0% \(6 of 30 requests\)/);
    assert.ok(logged.some((s) => s.startsWith('costgate alert {')), 'the log channel wrote the alert');
    const again: string[] = [];
    await runAlerts({ config: cfg, evaluate: true, json: true }, (s) => again.push(s), {});
    const j = JSON.parse(again.join('\n'));
    assert.deepEqual(j.evaluated.events, []);
    assert.deepEqual(j.firing.map((f: any) => f.key), ['errorRate']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Postgres ledger: alert state lives in the ledger schema; a second gateway (replica) sees it and does not re-fire', async (t) => {
  if (!(await requirePostgres())) return void t.skip('postgres unavailable');
  const schema = `costgate_alerts_gw_${randomBytes(5).toString('hex')}`;
  const hook = await receiver();
  const off = { enabled: false };
  const config = {
    ledger: { store: 'postgres' as const, url: 'env:DATABASE_URL', schema },
    alerts: { enabled: true, interval: '1h', debounceMs: 600_000, rules: { errorRate: { minRequests: 3 }, spendAnomaly: off, outputTokens: off, duplicateShare: off }, channels: [{ type: 'webhook' as const, url: hook.url, allowPrivate: true }] },
  };
  try {
    const a = await startTestGateway({ config, env: { DATABASE_URL: PG_URL } });
    try {
      for (let i = 0; i < 3; i++) await postJson(`${a.url}/v1/chat/completions`, { model: 'gpt-4o-mini' });
      assert.deepEqual((await a.gw.alerts!.evaluate()).events.map((e) => e.key), ['errorRate']);
    } finally {
      await a.close();
    }
    const b = await startTestGateway({ config, env: { DATABASE_URL: PG_URL } });
    try {
      assert.deepEqual((await b.gw.alerts!.evaluate()).events, []);
      assert.deepEqual((await b.gw.alerts!.firing()).map((f) => f.key), ['errorRate']);
      assert.equal(hook.got.length, 1);
    } finally {
      await b.close();
    }
  } finally {
    await hook.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
});
