/**
 * The opt-in `costgate` object in non-streaming JSON bodies (`x-costgate-include-cost: true`): present with the
 * call's exact cost and savings (the ledger row's) on the OpenAI and Anthropic surfaces, absent by default and on
 * streams, and the official `openai` SDK still parses an opted-in body.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { startTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import type { LedgerRow } from '../src/stores/ledger/types.js';
import { nanosToUsd } from '../src/pricing/decimal.js';

const CONFIG = {
  providers: { a: { type: 'simulator', timeouts: { firstByteMs: 10_000, connectMs: 1000 } } },
  deployments: [
    { name: 'mini', provider: 'a', model: 'gpt-4o-mini' },
    { name: 'haiku', provider: 'a', model: 'claude-haiku-4-5' },
  ],
  // Baselines dearer than what serves, so savings are not 0.
  models: { fast: { deployments: ['mini'], baseline: 'gpt-4o' }, cheap: { deployments: ['haiku'], baseline: 'claude-sonnet-4-6' } },
  ledger: { store: 'memory', flushIntervalMs: 5, batchSize: 500 },
};

let t: TestGateway;
before(async () => {
  t = await startTestGateway({ config: CONFIG as never });
});
after(() => t.close());

const chat = (model: string, extra: object = {}) => ({ model, max_tokens: 12, messages: [{ role: 'user', content: 'what does this cost?' }], ...extra });
const PATH = { openai: '/v1/chat/completions', anthropic: '/v1/messages' } as const;
const MODEL = { openai: 'fast', anthropic: 'cheap' } as const;

async function rowOf(id: string): Promise<LedgerRow> {
  const { rows } = await t.gw.requests({ requestId: id });
  assert.equal(rows.length, 1);
  return rows[0]!;
}

for (const surface of ['openai', 'anthropic'] as const) {
  test(`${surface}: opted in, the body's costgate object holds the exact cost and savings of the ledger row`, async () => {
    const id = `ext-${randomUUID()}`;
    const r = await postJson(`${t.url}${PATH[surface]}`, chat(MODEL[surface]), { 'x-costgate-request-id': id, 'x-costgate-include-cost': 'true' });
    assert.equal(r.status, 200, r.text);
    const row = await rowOf(id);
    assert.ok(row.costNanos > 0 && row.baselineCostNanos > row.costNanos, 'a priced call with savings');
    assert.deepEqual(r.json.costgate, {
      request_id: id,
      cost_usd: nanosToUsd(row.costNanos),
      saved_usd: nanosToUsd(row.baselineCostNanos - row.costNanos),
      baseline_model: surface === 'openai' ? 'gpt-4o' : 'claude-sonnet-4-6',
      price_source: row.priceSource,
    });
    // Same numbers as the headers.
    assert.equal(r.json.costgate.cost_usd, r.headers.get('x-costgate-cost-usd'));
    assert.equal(r.json.costgate.saved_usd, r.headers.get('x-costgate-saved-usd'));
    // The provider's own body is intact around it.
    if (surface === 'openai') assert.equal(r.json.object, 'chat.completion');
    else assert.equal(r.json.type, 'message');
    assert.ok(r.json.usage);
  });

  test(`${surface}: without the opt-in (or with any other value) there is no costgate key; streams never get one`, async () => {
    for (const headers of [{}, { 'x-costgate-include-cost': 'false' }, { 'x-costgate-include-cost': '1' }] as Record<string, string>[]) {
      const r = await postJson(`${t.url}${PATH[surface]}`, chat(MODEL[surface]), headers);
      assert.equal(r.status, 200, r.text);
      assert.equal('costgate' in r.json, false, JSON.stringify(headers));
      assert.ok(r.headers.get('x-costgate-cost-usd'), 'the headers are there regardless');
    }
    const s = await postJson(`${t.url}${PATH[surface]}`, chat(MODEL[surface], { stream: true }), { 'x-costgate-include-cost': 'true' });
    assert.equal(s.status, 200);
    assert.equal(s.text.includes('"costgate"'), false);
    // In-process, the same: opt-in adds it, default does not.
    const on = await t.gw.handle({ endpoint: surface === 'openai' ? 'chat' : 'messages', body: chat(MODEL[surface]), headers: { 'x-costgate-include-cost': 'true' } });
    assert.equal(JSON.parse(String(on.body)).costgate.cost_usd, on.headers['x-costgate-cost-usd']);
    const off = await t.gw.handle({ endpoint: surface === 'openai' ? 'chat' : 'messages', body: chat(MODEL[surface]), headers: {} });
    assert.equal('costgate' in JSON.parse(String(off.body)), false);
  });
}

test('the official openai SDK parses an opted-in body (over HTTP and through gw.fetch); the extra key rides along', async () => {
  for (const opts of [{ baseURL: `${t.url}/v1` }, { baseURL: 'http://costgate.local/v1', fetch: t.gw.fetch }]) {
    const client = new OpenAI({ apiKey: 'sk-test-not-a-real-key', maxRetries: 0, defaultHeaders: { 'x-costgate-include-cost': 'true' }, ...opts });
    const { data, response } = await client.chat.completions.create({ model: 'fast', max_tokens: 12, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(typeof data.choices[0]!.message.content, 'string');
    assert.ok(data.usage!.prompt_tokens > 0);
    const ext = (data as unknown as { costgate: Record<string, string> }).costgate;
    assert.equal(ext.cost_usd, response.headers.get('x-costgate-cost-usd'));
    assert.equal(ext.request_id, response.headers.get('x-costgate-request-id'));
    const row = await rowOf(ext.request_id!);
    assert.equal(ext.cost_usd, nanosToUsd(row.costNanos));
    assert.equal(ext.saved_usd, nanosToUsd(row.baselineCostNanos - row.costNanos));
  }
});
