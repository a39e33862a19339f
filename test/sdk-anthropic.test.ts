/** The official `@anthropic-ai/sdk`, unmodified but for baseURL, against costgate over HTTP → simulator. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import { anthropicChecks, type Target } from './helpers/anthropic-checks.js';

let t: TestGateway;
let target: Target<Anthropic>;

before(async () => {
  t = await startTestGateway();
  target = { client: new Anthropic({ apiKey: 'x', baseURL: t.url, maxRetries: 0 }), records: t.records };
});
after(() => t.close());

anthropicChecks('HTTP', () => target);

test('HTTP: a translated call counts the same prompt tokens as the equivalent OpenAI-surface call', async () => {
  const a = await target.client.messages.create({ model: 'gpt-4o', max_tokens: 10, system: 'Answer in one word.', messages: [{ role: 'user', content: 'Capital of France?' }] });
  const o = await postJson(`${t.url}/v1/chat/completions`, { model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'Capital of France?' }] });
  assert.equal(o.status, 200);
  assert.equal(a.usage.input_tokens + (a.usage.cache_read_input_tokens ?? 0), o.json.usage.prompt_tokens);
  assert.equal(a.usage.output_tokens, o.json.usage.completion_tokens);
});

test('HTTP: raw SSE from /v1/messages names every event, as the SDK requires', async () => {
  const res = await fetch(`${t.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'raw' }] }),
  });
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const events = (await res.text()).split('\n\n').filter(Boolean);
  for (const raw of events) {
    const [ev, data] = raw.split('\n');
    assert.equal(ev!.slice('event: '.length), JSON.parse(data!.slice('data: '.length)).type);
  }
  assert.match(events.at(-1)!, /^event: message_stop/);
});
