/**
 * Upstream hosts come from config only: no request header or body field can send a call elsewhere. A second capture
 * server (the "attacker") has its URL planted in every header and field a client controls — Host, X-Forwarded-Host,
 * base-URL-like headers, `base_url`/`api_base`/`url`/`endpoint` in the body and its metadata, model names that look
 * like URLs — and must receive nothing, while every call that reached an upstream reached the configured one, on its
 * configured path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCapture, type CaptureServer } from './helpers/capture.js';
import { startTestGateway, postJson, type TestGateway } from './helpers/gateway.js';

let good: CaptureServer;
let evil: CaptureServer;
let t: TestGateway;

before(async () => {
  good = await startCapture();
  evil = await startCapture();
  t = await startTestGateway({
    env: { CG_T_OAI: 'sk-config-openai', CG_T_ANT: 'sk-config-anthropic' },
    config: {
      providers: {
        openai: { type: 'openai', baseUrl: good.url + '/v1', apiKeyEnv: 'CG_T_OAI' },
        anthropic: { type: 'anthropic', baseUrl: good.url + '/v1', apiKeyEnv: 'CG_T_ANT' },
      },
      retries: { attempts: 1 },
    } as never,
  });
});
after(async () => {
  await t?.close();
  await Promise.all([good?.close(), evil?.close()]);
});

test('no header or body field changes the upstream host', async () => {
  const e = evil.url;
  const host = new URL(e).host;
  const headers: Record<string, string> = {
    host,
    'x-forwarded-host': host,
    'x-forwarded-proto': 'http',
    forwarded: `host=${host}`,
    'x-original-url': e + '/v1/chat/completions',
    'x-rewrite-url': e,
    'x-costgate-base-url': e,
    'x-costgate-provider': 'evil',
    'x-costgate-upstream': e,
    'x-base-url': e,
    'openai-base-url': e,
    'anthropic-base-url': e,
    'x-sim-base-url': e,
  };
  const planted = { base_url: e, baseURL: e, api_base: e, url: e, endpoint: e, host, provider: { baseUrl: e }, metadata: { base_url: e, feature: 'f' } };
  const calls: [string, Record<string, unknown>][] = [
    ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: e }], ...planted }],
    ['/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }], ...planted }],
    ['/v1/chat/completions', { model: `${e}/v1`, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/chat/completions', { model: `openai/${e}`, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/chat/completions', { model: `openai/../../${host}/v1`, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/chat/completions', { model: 'gpt-4o-mini@' + host, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], ...planted, metadata: { user_id: e } }],
    ['/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'hi' }], base_url: e }],
    ['/v1/embeddings', { model: 'text-embedding-3-small', input: e, ...planted }],
  ];
  let reached = 0;
  for (const [path, body] of calls) {
    const r = await postJson(t.url + path, body, headers);
    assert.ok(r.status < 500, `${path} ${JSON.stringify(body.model)}: ${r.status} ${r.text}`);
    if (r.status === 200) reached++;
  }
  // Also over the in-process surfaces.
  const inproc = await t.gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...planted }, headers });
  assert.equal(inproc.status, 200, String(inproc.body));
  const viaFetch = await t.gw.fetch(e + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) });
  assert.equal(viaFetch.status, 200);
  await viaFetch.text();
  assert.equal(evil.requests.length, 0, `the attacker's server was called: ${JSON.stringify(evil.requests.map((r) => r.path))}`);
  assert.ok(reached >= 5, `${reached} calls reached an upstream`);
  assert.equal(good.requests.length, reached + 2);
  for (const r of good.requests) {
    assert.match(r.path, /^\/v1\/(chat\/completions|messages|embeddings)$/, r.path);
    assert.equal(r.headers.host, new URL(good.url).host, 'the Host header upstream is the configured one');
    assert.ok(!JSON.stringify(r.headers).includes(host), `no planted header forwarded: ${JSON.stringify(r.headers)}`);
  }
});
