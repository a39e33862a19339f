/**
 * Virtual keys and admin access through the real gateway: auth modes, key governance (models, budget, rpm, default
 * attribution), revoke / expire / rotate, the admin and viewer roles, the admin API for keys, the CLI, what is stored
 * (a salted hash, never the secret), and the refusal to listen beyond loopback without keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createGateway } from '../src/gateway.js';
import { startHttpServer } from '../src/server/http.js';
import { withTestGateway, postJson, type TestGateway } from './helpers/gateway.js';

/**
 * The secret part of a `cg-key_<16 hex id>-<secret>` key. Not `split('-').pop()`: the base64url secret may itself
 * contain '-', and its last fragment can be a few characters that turn up by chance in a database file.
 */
const secretOf = (key: string): string => {
  const m = /^cg-key_[0-9a-f]{16}-([A-Za-z0-9_-]{43})$/.exec(key);
  assert.ok(m, `not a costgate key: ${key.slice(0, 12)}…`);
  return m[1]!;
};

const chat = (model = 'gpt-4o-mini') => ({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hello keys' }] });
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
const call = (t: TestGateway, h: Record<string, string>, model?: string) => postJson(`${t.url}/v1/chat/completions`, chat(model), h);
const BIN = fileURLToPath(new URL('../../bin/costgate.js', import.meta.url));

test('auth.mode keys: no key, a foreign key or a wrong secret is 401 in both formats; a valid key calls, attributed to its id, team and feature', async () => {
  await withTestGateway({ config: { ledger: { store: 'memory' }, auth: { mode: 'keys', cacheTtlMs: 0 } } }, async (t) => {
    const none = await call(t, {});
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'invalid_api_key');
    assert.equal(none.json.error.type, 'authentication_error');
    assert.match(none.json.error.message, /Missing API key/);
    assert.equal((await call(t, bearer('sk-openai-style'))).json.error.code, 'invalid_api_key');
    const { key, record } = await t.gw.keys.create({ name: 'team-a', team: 'a', feature: 'support' });
    const wrong = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const w = await call(t, bearer(wrong));
    assert.equal(w.status, 401);
    assert.match(w.json.error.message, /^Invalid API key\./);
    const anth = await postJson(`${t.url}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, {});
    assert.equal(anth.status, 401);
    assert.deepEqual([anth.json.type, anth.json.error.type], ['error', 'authentication_error']);
    const ok = await call(t, bearer(key));
    assert.equal(ok.status, 200);
    const okAnth = await postJson(`${t.url}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': key });
    assert.equal(okAnth.status, 200);
    const rows = (await t.gw.request(ok.headers.get('x-costgate-request-id')!))[0]!;
    assert.deepEqual([rows.apiKeyId, rows.team, rows.feature], [record.id, 'a', 'support']);
    // A header still wins over the key's default attribution.
    const hdr = await call(t, { ...bearer(key), 'x-costgate-feature': 'search' });
    assert.equal((await t.gw.request(hdr.headers.get('x-costgate-request-id')!))[0]!.feature, 'search');
    // The rejected calls are ledger rows too, attributed to no key or the key id they named.
    const bad = (await t.gw.request(w.headers.get('x-costgate-request-id')!))[0]!;
    assert.equal(bad.status, 401);
  });
});

test('key governance: allowed models (403), its own budget (402) and rpm (429); viewer keys cannot call models', async () => {
  await withTestGateway({ config: { ledger: { store: 'memory' }, auth: { mode: 'keys', cacheTtlMs: 0 } } }, async (t) => {
    const { key } = await t.gw.keys.create({ name: 'limited', models: ['gpt-4o-mini', 'claude-*'], rpm: 2 });
    assert.equal((await call(t, bearer(key))).status, 200);
    const m = await call(t, bearer(key), 'gpt-4o');
    assert.equal(m.status, 403);
    assert.equal(m.json.error.code, 'model_not_allowed');
    assert.equal(m.json.error.param, 'model');
    assert.match(m.json.error.message, /may use: gpt-4o-mini, claude-\*/);
    assert.equal((await call(t, bearer(key))).status, 200);
    const r = await call(t, bearer(key));
    assert.equal(r.status, 429);
    assert.equal(r.json.error.rate_limit.name, 'key:limited');
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '2');

    const { key: b } = await t.gw.keys.create({ name: 'broke', budget: '0.000002/day' });
    const first = await call(t, bearer(b));
    assert.equal(first.status, 402);
    assert.equal(first.json.error.budget.name, 'key:broke');
    assert.equal(first.headers.get('x-costgate-budget'), 'key:broke');

    const { key: v } = await t.gw.keys.create({ name: 'watcher', role: 'viewer' });
    const vr = await call(t, bearer(v));
    assert.equal(vr.status, 403);
    assert.equal(vr.json.error.type, 'permission_error');
  });
});

test('revoked and expired keys are refused; rotation keeps both keys valid for the overlap, then only the new one', async () => {
  await withTestGateway({ config: { ledger: { store: 'memory' }, auth: { mode: 'keys', cacheTtlMs: 0 } } }, async (t) => {
    const { key, record } = await t.gw.keys.create({ name: 'r1' });
    assert.equal((await call(t, bearer(key))).status, 200);
    await t.gw.keys.revoke(record.id);
    const rv = await call(t, bearer(key));
    assert.equal(rv.status, 401);
    assert.match(rv.json.error.message, new RegExp(`\\(${record.id}\\) was revoked`));

    const { key: old, record: oldRec } = await t.gw.keys.create({ name: 'r2', rpm: 1000 });
    const { key: fresh, record: freshRec } = await t.gw.keys.rotate(oldRec.id, 400);
    assert.equal(freshRec.rotatedFrom, oldRec.id);
    assert.equal(freshRec.rpm, 1000, 'settings carried over');
    assert.equal((await call(t, bearer(old))).status, 200, 'old key inside the overlap');
    assert.equal((await call(t, bearer(fresh))).status, 200);
    await new Promise((r) => setTimeout(r, 450));
    const ex = await call(t, bearer(old));
    assert.equal(ex.status, 401);
    assert.match(ex.json.error.message, /expired at/);
    assert.equal((await call(t, bearer(fresh))).status, 200);
    await assert.rejects(t.gw.keys.create({ name: 'r2' }), /a live key is already named 'r2'/);
    await assert.rejects(t.gw.keys.create({ name: 'x', budget: 'lots' }), /budget must look like 100\/month/);
    await assert.rejects(t.gw.keys.create({ name: 'y', expires: 'soon' }), /expires: a duration/);
  });
});

test('auth.mode none: a costgate key is still verified and applied; other credentials are fingerprinted', async () => {
  await withTestGateway({ config: { ledger: { store: 'memory' } } }, async (t) => {
    const { key, record } = await t.gw.keys.create({ name: 'opt-in', team: 't1' });
    const a = await call(t, bearer(key));
    assert.equal((await t.gw.request(a.headers.get('x-costgate-request-id')!))[0]!.apiKeyId, record.id);
    assert.equal((await call(t, bearer(`cg-${record.id}-${'A'.repeat(43)}`))).status, 401, 'a costgate key with a wrong secret is refused even in none mode');
    const b = await call(t, bearer('sk-anything'));
    assert.equal(b.status, 200);
    assert.match((await t.gw.request(b.headers.get('x-costgate-request-id')!))[0]!.apiKeyId!, /^fp_[0-9a-f]{16}$/);
  });
});

test('admin API: admin and viewer secrets and keys, 401 without, 403 for a client key or a viewer writing; keys over the API never show secrets', async () => {
  const env = { COSTGATE_ADMIN_KEY: 'admin-secret-PLANTED', COSTGATE_VIEWER_KEY: 'viewer-secret-PLANTED' };
  await withTestGateway({ env, config: { ledger: { store: 'memory' }, auth: { cacheTtlMs: 0 } } }, async (t) => {
    const get = (path: string, h: Record<string, string> = {}) => fetch(`${t.url}${path}`, { headers: h });
    assert.equal((await get('/v1/costgate/report')).status, 401);
    assert.equal((await get('/v1/costgate/report', bearer('nope'))).status, 401);
    assert.equal((await get('/v1/costgate/report', bearer(env.COSTGATE_ADMIN_KEY))).status, 200);
    assert.equal((await get('/v1/costgate/report', bearer(env.COSTGATE_VIEWER_KEY))).status, 200);
    assert.equal((await get('/v1/costgate/keys', bearer(env.COSTGATE_VIEWER_KEY))).status, 403, 'viewers do not see keys');
    const created = await postJson(`${t.url}/v1/costgate/keys`, { name: 'api-made', models: ['gpt-4o-mini'], budget: '10/month', rpm: 5 }, bearer(env.COSTGATE_ADMIN_KEY));
    assert.equal(created.status, 201);
    assert.match(created.json.key, /^cg-key_[0-9a-f]{16}-[A-Za-z0-9_-]{43}$/);
    assert.deepEqual([created.json.name, created.json.status, created.json.budget, created.json.rpm], ['api-made', 'active', '10/month', 5]);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const asViewer = await postJson(`${t.url}/v1/costgate/keys`, { name: 'v-made' }, bearer(env.COSTGATE_VIEWER_KEY));
    assert.equal(asViewer.status, 403);
    const client = await get('/v1/costgate/report', bearer(created.json.key));
    assert.equal(client.status, 403, 'a client key may call models, not the admin API');
    const list = await (await get('/v1/costgate/keys', bearer(env.COSTGATE_ADMIN_KEY))).text();
    const secret = secretOf(created.json.key);
    assert.ok(!list.includes(secret) && !/"(salt|hash)"/.test(list), 'the list shows no secret, salt or hash');
    const { record: adm, key: admKey } = await t.gw.keys.create({ name: 'ops', role: 'admin' });
    assert.equal((await get('/v1/costgate/keys', bearer(admKey))).status, 200, 'a virtual admin key');
    const rot = await postJson(`${t.url}/v1/costgate/keys/${created.json.id}/rotate`, { overlap: '5m' }, bearer(admKey));
    assert.equal(rot.status, 201);
    assert.equal(rot.json.rotated_from, created.json.id);
    const rev = await postJson(`${t.url}/v1/costgate/keys/${adm.id}/revoke`, {}, bearer(env.COSTGATE_ADMIN_KEY));
    assert.deepEqual([rev.status, rev.json.status], [200, 'revoked']);
    assert.equal((await get('/v1/costgate/keys', bearer(admKey))).status, 401, 'a revoked admin key');
    assert.equal((await postJson(`${t.url}/v1/costgate/keys/key_0000000000000000/revoke`, {}, bearer(env.COSTGATE_ADMIN_KEY))).status, 404);
    const badBody = await postJson(`${t.url}/v1/costgate/keys`, { name: 'z', rpm: -1 }, bearer(env.COSTGATE_ADMIN_KEY));
    assert.deepEqual([badBody.status, badBody.json.error.param], [400, 'rpm']);
  });
});

test('no keys beyond loopback: auth.mode none refuses to listen on 0.0.0.0; keys mode may', async () => {
  const gw = await createGateway({ env: {}, config: { ledger: { store: 'memory' } } });
  try {
    await assert.rejects(startHttpServer(gw, { host: '0.0.0.0', port: 0 }), /refusing to listen on 0\.0\.0\.0 without keys: auth\.mode is none/);
    await assert.rejects(startHttpServer(gw, { host: '10.1.2.3', port: 0 }), /auth\.mode is none/);
  } finally {
    await gw.close();
  }
  const gk = await createGateway({ env: {}, config: { ledger: { store: 'memory' }, auth: { mode: 'keys' } } });
  try {
    const s = await startHttpServer(gk, { host: '::1', port: 0 }).catch(() => startHttpServer(gk, { host: '127.0.0.1', port: 0 }));
    await s.close(100);
  } finally {
    await gk.close();
  }
});

test('CLI: keys create / list / rotate / revoke against the SQLite file; the file holds a salted hash, never the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-keys-'));
  try {
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ ledger: { store: 'sqlite', path: join(dir, 'ledger.db') } }));
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'keys', ...args, '--config', cfg], { encoding: 'utf8', cwd: dir });
    const c = run('create', '--name', 'team-a', '--team', 'a', '--models', 'auto,gpt-4o-mini', '--budget', '100/month', '--rpm', '60', '--expires', '30d', '--json');
    assert.equal(c.status, 0, c.stderr);
    const made = JSON.parse(c.stdout) as { id: string; key: string };
    const l = run('list');
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, new RegExp(`${made.id}  active   client  team-a  \\(team a, models auto,gpt-4o-mini, budget 100/month, 60 rpm, expires 20`));
    assert.ok(!l.stdout.includes(secretOf(made.key)));
    const dup = run('create', '--name', 'team-a');
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, /already named 'team-a'/);
    const r = run('rotate', made.id, '--overlap', '10m', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).replaces, made.id);
    assert.equal(run('revoke', made.id).status, 0);
    assert.match(run('list').stdout, new RegExp(`${made.id}  revoked`));
    assert.notEqual(run('revoke', 'key_0000000000000000').status, 0);
    // Neither secret is anywhere in the database files.
    const secrets = [made.key, JSON.parse(r.stdout).key].map(secretOf);
    for (const f of readdirSync(dir).filter((x) => x.startsWith('ledger.db'))) {
      const bytes = readFileSync(join(dir, f)).toString('latin1');
      for (const s of secrets) assert.ok(!bytes.includes(s), `${f} holds no key secret`);
    }
    // A gateway on that file accepts the rotated key.
    const gw = await createGateway({ env: {}, config: cfg });
    try {
      const res = await gw.handle({ endpoint: 'chat', body: chat(), headers: bearer(JSON.parse(r.stdout).key) });
      assert.equal(res.status, 200);
      const old = await gw.handle({ endpoint: 'chat', body: chat(), headers: bearer(made.key) });
      assert.equal(old.status, 401, 'the revoked key');
    } finally {
      await gw.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


test('a virtual key secret and the admin secret appear in no response, ledger row, report or warning', async () => {
  const warnings: string[] = [];
  const onWarn = (w: Error) => warnings.push(`${w.message}\n${w.stack ?? ''}`);
  process.on('warning', onWarn);
  const env = { COSTGATE_ADMIN_KEY: `admin-${'Z'.repeat(30)}-PLANTED` };
  try {
    await withTestGateway({ env, config: { ledger: { store: 'memory' }, auth: { mode: 'keys', cacheTtlMs: 0 } } }, async (t) => {
      const { key, record } = await t.gw.keys.create({ name: 'planted', models: ['gpt-4o-mini'] });
      // cg-key_<16 hex>-<43 base64url>: the secret itself may contain '-', so it is cut by position, not split on '-'.
      const secret = key.slice('cg-key_'.length + 16 + 1);
      const seen: string[] = [];
      const keep = (r: { text: string; headers: Headers }) => seen.push(r.text, JSON.stringify([...r.headers]));
      keep(await call(t, bearer(key)));
      keep(await call(t, bearer(key), 'gpt-4o')); // 403
      keep(await call(t, bearer(key.slice(0, -1) + (key.endsWith('x') ? 'y' : 'x')))); // 401
      const stream = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(key) }, body: JSON.stringify({ ...chat(), stream: true }) });
      seen.push(await stream.text());
      await t.gw.keys.revoke(record.id);
      keep(await call(t, bearer(key))); // revoked
      for (const p of ['/v1/costgate/requests?limit=1000', '/v1/costgate/report?by=key', '/v1/costgate/report/monthly', '/v1/costgate/keys']) {
        const r = await fetch(`${t.url}${p}`, { headers: bearer(env.COSTGATE_ADMIN_KEY) });
        assert.equal(r.status, 200, p);
        seen.push(await r.text());
      }
      seen.push(JSON.stringify(await t.gw.requests({ limit: 1000 })), JSON.stringify(t.records), JSON.stringify(await t.gw.keys.store.list()));
      await new Promise((r) => setTimeout(r, 20));
      seen.push(...warnings);
      const all = seen.join('\n');
      assert.ok(all.includes(record.id), 'the key id is what the ledger shows');
      assert.ok(!all.includes(secret), 'the virtual key secret leaked');
      assert.ok(!all.includes(env.COSTGATE_ADMIN_KEY), 'the admin secret leaked');
    });
  } finally {
    process.off('warning', onWarn);
  }
});
