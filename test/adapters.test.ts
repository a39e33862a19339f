/**
 * The provider adapters (openai, anthropic, gemini, openai-compatible) end to end, against a capturing upstream on
 * loopback: what each provider receives from a real gateway over HTTP — the path under its base URL, the gateway's
 * own key in the provider's auth scheme (never the client's credentials), the adapter's body rewrites, a forced
 * `include_usage` on OpenAI-wire streams — and that costgate's attribution (x-costgate-* headers, body `metadata`
 * keys) never leaves the gateway. Both client surfaces, streaming and not.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { startCapture, type CaptureServer, type Captured } from './helpers/capture.js';
import { fromAnthropicUsage, fromOpenAIUsage } from '../src/providers/usage.js';
import { anthropicMessage, openaiTextCompletion } from '../src/providers/shared/wire-fixtures.js';

type Surface = 'openai' | 'anthropic';
type Kind = 'openai' | 'anthropic' | 'gemini' | 'openai-compatible';

const KEY: Record<Kind, string> = {
  openai: 'sk-proj-gateway-openai-key-0001',
  anthropic: 'sk-ant-api03-gateway-anthropic-key-0002',
  gemini: 'AIzaGatewayGeminiKey0003',
  'openai-compatible': 'vllm-gateway-key-0004',
};
const ENV: Record<Kind, string> = { openai: 'CG_T_OPENAI_KEY', anthropic: 'CG_T_ANTHROPIC_KEY', gemini: 'CG_T_GEMINI_KEY', 'openai-compatible': 'CG_T_COMPAT_KEY' };
/** Base path under the capture server's origin, and the chat path the provider must receive. */
const BASE: Record<Kind, string> = { openai: '/v1', anthropic: '/v1', gemini: '/v1beta/openai', 'openai-compatible': '/compat/api/v1' };
const CHAT_PATH: Record<Kind, string> = {
  openai: '/v1/chat/completions',
  anthropic: '/v1/messages',
  gemini: '/v1beta/openai/chat/completions',
  'openai-compatible': '/compat/api/v1/chat/completions',
};
const MODEL: Record<Kind, string> = { openai: 'o4-mini', anthropic: 'claude-haiku-4-5', gemini: 'gemini-2.0-flash', 'openai-compatible': 'llama-3.1-8b-instruct' };
const KINDS = Object.keys(KEY) as Kind[];

/** The client's own credentials (for the gateway, were it to check them): they must never go upstream. */
const CLIENT_BEARER = 'Bearer sk-client-credential-MARK';
const CLIENT_XKEY = 'sk-ant-client-credential-MARK';
/** Every costgate bookkeeping value carries MARK: none of them may appear anywhere in an upstream request. */
const ATTR_HEADERS = {
  'x-costgate-feature': 'feature-hdr-MARK',
  'x-costgate-user': 'user-hdr-MARK',
  'x-costgate-team': 'team-hdr-MARK',
  'x-costgate-priority': 'important',
};
const ATTR_METADATA = { feature: 'feature-md-MARK', user: 'user-md-MARK', team: 'team-md-MARK', priority: 'optional', request_id: 'rid-md-MARK' };

let cap: CaptureServer;
let t: TestGateway;

before(async () => {
  cap = await startCapture();
  const providers = Object.fromEntries(KINDS.map((k) => [k, { type: k, baseUrl: cap.url + BASE[k], apiKeyEnv: ENV[k], timeouts: { firstByteMs: 5000, connectMs: 1000 } }]));
  t = await startTestGateway({
    env: Object.fromEntries(KINDS.map((k) => [ENV[k], KEY[k]])),
    config: {
      providers,
      deployments: [
        ...KINDS.map((k) => ({ name: k, provider: k, model: MODEL[k] })),
        { name: 'openai-4o', provider: 'openai', model: 'gpt-4o-mini' },
        { name: 'gemini-emb', provider: 'gemini', model: 'text-embedding-004' },
        { name: 'compat-emb', provider: 'openai-compatible', model: 'bge-small' },
      ],
      models: {
        ...Object.fromEntries(KINDS.map((k) => [`m-${k}`, { deployments: [k] }])),
        'm-4o': { deployments: ['openai-4o'] },
        'e-openai': { deployments: ['openai/text-embedding-3-small'] },
        'e-gemini': { deployments: ['gemini-emb'] },
        'e-compat': { deployments: ['compat-emb'] },
      },
      retries: { attempts: 1 },
    } as never,
  });
});
after(async () => {
  await t?.close();
  await cap?.close();
});
beforeEach(() => {
  cap.requests.length = 0;
});

let seq = 0;

async function send(surface: Surface, body: object, headers: Record<string, string> = {}) {
  const before = t.records.length;
  const path = surface === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  const res = await fetch(t.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  const [rec] = (await t.waitRecords(before + 1)).slice(before);
  assert.equal(cap.requests.length, 1, `one upstream request: ${JSON.stringify(cap.requests.map((r) => r.path))}`);
  return { status: res.status, text, rec: rec!, up: cap.requests[0]! };
}

/** The chat request each case sends: attribution in both the headers and the body metadata, client credentials set. */
function clientRequest(surface: Surface, kind: Kind, stream: boolean) {
  const id = `rid-hdr-MARK-${++seq}`;
  const headers: Record<string, string> = { ...ATTR_HEADERS, 'x-costgate-request-id': id, authorization: CLIENT_BEARER, 'x-api-key': CLIENT_XKEY };
  if (surface === 'anthropic') headers['anthropic-version'] = '2099-01-01';
  const metadata = surface === 'openai' ? { ...ATTR_METADATA, keep: 'me' } : { ...ATTR_METADATA, user_id: 'end-user-1' };
  const body = { model: `m-${kind}`, max_tokens: 8, messages: [{ role: 'user', content: 'hello adapters' }], metadata, ...(stream ? { stream: true } : {}) };
  return { id, headers, body };
}

/** Nothing of costgate's and nothing of the client's credentials in what the provider received. */
function assertNoLeaks(up: Captured): void {
  for (const [name, value] of Object.entries(up.headers)) {
    assert.ok(!name.startsWith('x-costgate'), `upstream header ${name}`);
    const v = String(value);
    assert.ok(!v.includes('MARK'), `upstream header ${name}: ${v}`);
  }
  assert.ok(!up.body.includes('MARK'), `upstream body carries costgate metadata or client credentials: ${up.body}`);
  for (const k of ['feature', 'user', 'team', 'priority', 'request_id']) assert.equal(up.json.metadata?.[k], undefined, `metadata.${k} upstream`);
}

function assertAuth(up: Captured, kind: Kind): void {
  if (kind === 'anthropic') {
    assert.equal(up.headers['x-api-key'], KEY.anthropic);
    assert.equal(up.headers['anthropic-version'], '2023-06-01');
    assert.equal(up.headers.authorization, undefined, 'no Authorization header to Anthropic');
  } else {
    assert.equal(up.headers.authorization, `Bearer ${KEY[kind]}`);
    assert.equal(up.headers['x-api-key'], undefined, 'no x-api-key to an OpenAI-wire provider');
    assert.equal(up.headers['anthropic-version'], undefined);
  }
}

for (const kind of KINDS) {
  for (const surface of ['openai', 'anthropic'] as Surface[]) {
    for (const stream of [false, true]) {
      test(`${kind} provider, ${surface} client${stream ? ', streaming' : ''}: path, gateway key, rewrites, no costgate metadata or client credentials upstream`, async () => {
        const c = clientRequest(surface, kind, stream);
        const r = await send(surface, c.body, c.headers);
        assert.equal(r.status, 200, r.text);
        const { up } = r;
        assert.equal(up.method, 'POST');
        assert.equal(up.path, CHAT_PATH[kind]);
        assert.equal(up.headers['content-type'], 'application/json');
        assert.equal(up.headers.accept, stream ? 'text/event-stream' : 'application/json');
        assertAuth(up, kind);
        assertNoLeaks(up);
        assert.equal(up.json.model, MODEL[kind], 'the deployment model replaces the alias');
        assert.equal(up.json.stream ?? false, stream);
        if (kind === 'anthropic') {
          assert.equal(up.json.stream_options, undefined, 'Anthropic rejects stream_options');
          assert.equal(up.json.max_tokens, 8);
          if (surface === 'anthropic') assert.deepEqual(up.json.metadata, { user_id: 'end-user-1' });
        } else {
          if (stream) assert.deepEqual(up.json.stream_options, { include_usage: true }, 'include_usage forced on streams');
          else assert.equal(up.json.stream_options, undefined);
          if (kind === 'openai') {
            // o-series: max_tokens → max_completion_tokens.
            assert.equal(up.json.max_completion_tokens, 8);
            assert.ok(!('max_tokens' in up.json), `max_tokens upstream: ${up.body}`);
          } else {
            assert.equal(up.json.max_tokens, 8);
            assert.ok(!('max_completion_tokens' in up.json));
          }
          if (surface === 'openai') {
            if (kind === 'gemini') assert.ok(!('metadata' in up.json), 'gemini: metadata stripped');
            else assert.deepEqual(up.json.metadata, { keep: 'me' }, 'the client’s own metadata keys survive');
          }
        }
        // The ledger has the header attribution (headers win over body metadata) and the provider's real usage.
        assert.deepEqual([r.rec.feature, r.rec.user, r.rec.team, r.rec.priority], ['feature-hdr-MARK', 'user-hdr-MARK', 'team-hdr-MARK', 'important']);
        assert.equal(r.rec.id, c.id);
        assert.equal(r.rec.provider, kind);
        const usage = kind === 'anthropic' ? fromAnthropicUsage(anthropicMessage.usage) : fromOpenAIUsage(openaiTextCompletion.usage);
        assert.deepEqual(r.rec.usage, usage);
        if (stream && surface === 'openai') assert.ok(!r.text.includes('"prompt_tokens"'), 'the forced usage chunk is not shown to a client that did not ask');
      });
    }
  }
}

test('anthropic-beta passes to an Anthropic upstream only from the Anthropic surface; the client’s anthropic-version never does', async () => {
  const body = { model: 'm-anthropic', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] };
  let r = await send('anthropic', body, { 'anthropic-beta': 'prompt-caching-2024-07-31', 'anthropic-version': '2099-01-01' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.up.headers['anthropic-beta'], 'prompt-caching-2024-07-31');
  assert.equal(r.up.headers['anthropic-version'], '2023-06-01');
  cap.requests.length = 0;
  r = await send('openai', body, { 'anthropic-beta': 'prompt-caching-2024-07-31' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.up.headers['anthropic-beta'], undefined);
});

test('openai: a non-reasoning model keeps max_tokens; a client max_completion_tokens is left alone on an o-series model', async () => {
  let r = await send('openai', { model: 'm-4o', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.up.json.model, 'gpt-4o-mini');
  assert.equal(r.up.json.max_tokens, 8);
  assert.ok(!('max_completion_tokens' in r.up.json));
  cap.requests.length = 0;
  r = await send('openai', { model: 'm-openai', max_completion_tokens: 9, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.up.json.max_completion_tokens, 9);
  assert.ok(!('max_tokens' in r.up.json));
});

test('gemini strips store, metadata, prompt_cache_key and service_tier; openai and openai-compatible pass them', async () => {
  const extra = { store: true, metadata: { keep: 'me' }, prompt_cache_key: 'pck-1', service_tier: 'auto', temperature: 0.5 };
  for (const kind of ['gemini', 'openai', 'openai-compatible'] as Kind[]) {
    cap.requests.length = 0;
    const r = await send('openai', { model: `m-${kind}`, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], ...extra });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.up.json.temperature, 0.5);
    for (const k of ['store', 'metadata', 'prompt_cache_key', 'service_tier'] as const) {
      if (kind === 'gemini') assert.ok(!(k in r.up.json), `gemini got ${k}: ${r.up.body}`);
      else assert.deepEqual(r.up.json[k], extra[k], `${kind} keeps ${k}`);
    }
  }
});

test('a stream whose client asked for include_usage keeps its other stream_options and sees the usage chunk', async () => {
  const r = await send('openai', { model: 'm-gemini', max_tokens: 8, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.up.json.stream_options, { include_usage: true });
  assert.match(r.text, /"prompt_tokens":2006/);
  cap.requests.length = 0;
  const r2 = await send('openai', { model: 'm-openai-compatible', max_tokens: 8, stream: true, stream_options: { include_usage: false }, messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(r2.up.json.stream_options, { include_usage: true }, 'an explicit false is overridden upstream');
  assert.ok(!r2.text.includes('"prompt_tokens"'));
});

for (const [alias, kind, model] of [
  ['e-openai', 'openai', 'text-embedding-3-small'],
  ['e-gemini', 'gemini', 'text-embedding-004'],
  ['e-compat', 'openai-compatible', 'bge-small'],
] as const) {
  test(`${kind} embeddings: path, gateway key, no costgate metadata upstream`, async () => {
    const before = t.records.length;
    const res = await fetch(t.url + '/v1/embeddings', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ATTR_HEADERS, authorization: CLIENT_BEARER, 'x-api-key': CLIENT_XKEY },
      body: JSON.stringify({ model: alias, input: 'embed me' }),
    });
    assert.equal(res.status, 200, await res.text());
    await t.waitRecords(before + 1);
    const up = cap.requests[0]!;
    assert.equal(up.path, CHAT_PATH[kind].replace('/chat/completions', '/embeddings'));
    assertAuth(up, kind);
    assertNoLeaks(up);
    assert.deepEqual(up.json, { model, input: 'embed me' });
  });
}

test('an Anthropic deployment cannot embed: no upstream call', async () => {
  const res = await fetch(t.url + '/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'anthropic/claude-haiku-4-5', input: 'x' }) });
  assert.ok(res.status >= 400, `status ${res.status}`);
  await res.text();
  assert.equal(cap.requests.length, 0);
});
