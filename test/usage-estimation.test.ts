/**
 * An upstream that reports no usage (some self-hosted servers, some proxies): costgate counts tokens itself with
 * the tokenizer and marks the ledger row `estimated`, streaming or not — never a silent $0.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway, postJson, type TestGateway } from './helpers/gateway.js';
import { countPrompt, countText } from '../src/tokens/count.js';

const ANSWER = 'The capital of France is Paris, and it has been for a very long time.';
let upstream: Server;
let t: TestGateway;

before(async () => {
  // A minimal OpenAI-compatible server that never sends usage, even when asked for it.
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const j = JSON.parse(body);
      const base = { id: 'chatcmpl-x', created: 1, model: j.model };
      if (j.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const w of ANSWER.match(/\S+\s*/g)!) {
          res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
        }
        res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  t = await startTestGateway({
    config: {
      providers: { local: { type: 'openai-compatible', baseUrl: `http://127.0.0.1:${port}/v1`, models: ['*'] } },
      pricing: { models: { 'local-llama': { input: 1, output: 2 } } },
      ledger: { store: 'memory' },
    },
  });
});
after(async () => {
  await t.close();
  await new Promise((r) => upstream.close(r));
});

const request = { model: 'local-llama', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is the capital of France?' }] };

test('non-streaming response without usage is estimated with the tokenizer', async () => {
  const r = await postJson(`${t.url}/v1/chat/completions`, request);
  assert.equal(r.status, 200);
  const [rec] = await t.waitRecords(1);
  assert.equal(rec!.usage!.estimated, true);
  assert.equal(rec!.usage!.inputTokens, countPrompt(request, 'local-llama'));
  assert.equal(rec!.usage!.outputTokens, countText(ANSWER, 'local-llama'));
  // Priced from the config override: input $1/M, output $2/M → n$ = in × 1000 + out × 2000.
  const expected = rec!.usage!.inputTokens * 1000 + rec!.usage!.outputTokens * 2000;
  assert.equal(r.headers.get('x-costgate-cost-usd'), `0.${String(expected).padStart(9, '0')}`);
});

test('streaming response without a usage chunk is estimated the same way', async () => {
  const before = t.records.length;
  const res = await fetch(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...request, stream: true }) });
  const text = await res.text();
  assert.match(text, /data: \[DONE\]/);
  const recs = await t.waitRecords(before + 1);
  const rec = recs[recs.length - 1]!;
  assert.equal(rec.usage!.estimated, true);
  assert.equal(rec.usage!.outputTokens, countText(ANSWER, 'local-llama'));
  assert.equal(rec.usage!.inputTokens, countPrompt(request, 'local-llama'));
  await t.gw.ledger.writer.flushNow();
  const { rows } = await t.gw.ledger.store.query({ requestId: rec.id });
  assert.equal(rows[0]!.usageEstimated, true);
  assert.ok(rows[0]!.costNanos > 0);
});
