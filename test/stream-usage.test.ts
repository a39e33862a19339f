/**
 * A client streaming without `stream_options.include_usage` gets what the provider would have sent it without
 * include_usage, though costgate asks for usage upstream to meter the call: no usage chunk and no `"usage": null` on
 * the other chunks (the simulator, like OpenAI, adds it to every chunk once asked). A client that asked gets the
 * provider's chunks as they are. Over HTTP and in-process, OpenAI upstream and Anthropic upstream (translated).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let t: TestGateway;
before(async () => {
  t = await startTestGateway();
});
after(() => t.close());

const chat = (model: string, extra: object = {}) => ({ model, max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'stream me something' }], ...extra });

/** The JSON chunks of an OpenAI stream (without [DONE]), checking the framing on the way. */
function chunks(text: string): Record<string, unknown>[] {
  const events = text.split('\n\n').filter((e) => e !== '');
  assert.equal(events.at(-1), 'data: [DONE]');
  return events.slice(0, -1).map((e) => {
    assert.ok(e.startsWith('data: ') && !e.includes('\n'), `one data line: ${e}`);
    return JSON.parse(e.slice(6));
  });
}

async function viaHttp(body: object): Promise<{ text: string; id: string }> {
  const id = `su-${randomUUID()}`;
  const r = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-costgate-request-id': id }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  return { text: await r.text(), id };
}

async function viaHandle(body: object): Promise<{ text: string; id: string }> {
  const id = `su-${randomUUID()}`;
  const r = await t.gw.handle({ endpoint: 'chat', body, headers: { 'x-costgate-request-id': id } });
  let text = '';
  for await (const c of r.stream!) text += typeof c === 'string' ? c : Buffer.from(c).toString('utf8');
  return { text, id };
}

async function assertMetered(id: string): Promise<void> {
  const end = Date.now() + 5000;
  for (;;) {
    const { rows } = await t.gw.requests({ requestId: id });
    if (rows.length) {
      assert.equal(rows[0]!.usageEstimated, false, 'metered from the provider usage costgate asked for');
      assert.ok(rows[0]!.inputTokens > 0 && rows[0]!.outputTokens > 0 && rows[0]!.costNanos > 0);
      return;
    }
    assert.ok(Date.now() < end, `row for ${id}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const [surface, send] of [['HTTP', viaHttp], ['gw.handle', viaHandle]] as const) {
  for (const model of ['gpt-4o-mini', 'claude-haiku-4-5']) {
    test(`${surface}, ${model}: without include_usage no chunk has a usage key; with it, usage is on every chunk and in the last`, async () => {
      const plain = await send(chat(model));
      const cs = chunks(plain.text);
      assert.ok(cs.length >= 3);
      for (const c of cs) assert.equal('usage' in c, false, JSON.stringify(c));
      await assertMetered(plain.id);
      // Stream options without include_usage are the same as none.
      const off = await send(chat(model, { stream_options: { include_usage: false } }));
      for (const c of chunks(off.text)) assert.equal('usage' in c, false, JSON.stringify(c));

      const asked = await send(chat(model, { stream_options: { include_usage: true } }));
      const ac = chunks(asked.text);
      const last = ac.at(-1)! as { choices: unknown[]; usage: { prompt_tokens: number } };
      assert.deepEqual(last.choices, []);
      assert.ok(last.usage.prompt_tokens > 0);
      // OpenAI (and the simulator) put "usage": null on every other chunk once asked; a translation puts none.
      if (model.startsWith('gpt')) for (const c of ac.slice(0, -1)) assert.equal(c.usage, null);
      await assertMetered(asked.id);
    });
  }
}

test('the stream a non-asking client gets equals the provider stream without include_usage, but for ids and timestamps', async () => {
  // The simulator costgate runs in-process (its base URL ends in /v1), asked directly without include_usage.
  const sim = [...t.gw.config.providers.values()].find((p) => p.type === 'simulator')!.baseUrl!.replace(/\/+$/, '');
  const body = chat('gpt-4o-mini');
  const direct = await (await fetch(`${sim}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).text();
  assert.ok(!direct.includes('"usage"'));
  const gw = (await viaHttp(body)).text;
  const norm = (s: string) => s.replace(/"id":"[^"]*"/g, '"id":"X"').replace(/"created":\d+/g, '"created":0');
  assert.equal(norm(gw), norm(direct));
});

test('the openai SDK streams it as usual: chunks without usage, the text intact', async () => {
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${t.url}/v1`, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] });
  let text = '';
  for await (const c of stream) {
    assert.equal(c.usage, undefined);
    text += c.choices[0]?.delta.content ?? '';
  }
  assert.ok(text.length > 0);
});
