/**
 * OTLP/HTTP export to a receiver on 127.0.0.1 (a plain node:http server standing in for a collector): the gateway's
 * spans and GenAI metrics arrive as OTLP JSON at /v1/traces and /v1/metrics with the configured headers, and carry
 * the gen_ai.* and costgate.* attributes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway, postJson } from './helpers/gateway.js';

type KV = { key: string; value: Record<string, unknown> };
const attrs = (list: KV[] = []) => Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]));

test('spans and metrics reach an OTLP/HTTP receiver with the GenAI attributes', async () => {
  const got: { path: string; headers: Record<string, unknown>; body: any }[] = [];
  const collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url!, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  const t = await startTestGateway({
    env: { OTEL_TOKEN: 'secret-1' },
    config: { ledger: { store: 'memory' }, otel: { enabled: true, endpoint, serviceName: 'cg-otlp', headers: { 'x-otlp-token': 'env:OTEL_TOKEN' }, scheduledDelayMs: 50, metricsIntervalMs: 3_600_000 } },
  });
  try {
    const r = await postJson(`${t.url}/v1/chat/completions`, { model: 'gpt-4o-mini', max_tokens: 8, messages: [{ role: 'user', content: 'hello' }] }, { 'x-costgate-feature': 'otlp-test' });
    assert.equal(r.status, 200);
    await t.waitRecords(1);
    await t.gw.otel!.flush();
    const traces = got.filter((g) => g.path === '/v1/traces');
    const metrics = got.filter((g) => g.path === '/v1/metrics');
    assert.ok(traces.length >= 1, `no trace export (got ${got.map((g) => g.path).join(', ')})`);
    assert.ok(metrics.length >= 1, 'no metrics export');
    assert.equal(traces[0]!.headers['x-otlp-token'], 'secret-1');
    assert.match(String(traces[0]!.headers['content-type']), /application\/json/);
    const rs = traces.flatMap((g) => g.body.resourceSpans);
    assert.equal(attrs(rs[0].resource.attributes)['service.name'], 'cg-otlp');
    const spans = rs.flatMap((x: any) => x.scopeSpans.flatMap((s: any) => s.spans));
    const server = spans.find((s: any) => s.kind === 2)!; // SPAN_KIND_SERVER
    const a = attrs(server.attributes);
    assert.equal(server.name, 'chat gpt-4o-mini');
    assert.equal(a['gen_ai.operation.name'], 'chat');
    assert.equal(a['gen_ai.request.model'], 'gpt-4o-mini');
    assert.equal(a['gen_ai.response.model'], 'gpt-4o-mini');
    assert.ok(Number(a['gen_ai.usage.input_tokens']) > 0);
    assert.ok(Number(a['gen_ai.usage.output_tokens']) > 0);
    assert.equal(a['costgate.feature'], 'otlp-test');
    assert.equal(a['costgate.request_id'], r.headers.get('x-costgate-request-id'));
    assert.equal(typeof a['costgate.cost_usd'], 'number');
    const child = spans.find((s: any) => s.parentSpanId === server.spanId && s.kind === 3); // SPAN_KIND_CLIENT
    assert.ok(child, 'an attempt span under the request span');
    const names = metrics.flatMap((g) => g.body.resourceMetrics.flatMap((m: any) => m.scopeMetrics.flatMap((s: any) => s.metrics.map((x: any) => x.name))));
    assert.ok(names.includes('gen_ai.client.token.usage'), names.join(','));
    assert.ok(names.includes('gen_ai.client.operation.duration'), names.join(','));
    const usage = metrics.flatMap((g) => g.body.resourceMetrics.flatMap((m: any) => m.scopeMetrics.flatMap((s: any) => s.metrics))).find((x: any) => x.name === 'gen_ai.client.token.usage');
    assert.deepEqual(usage.histogram.dataPoints.map((d: any) => attrs(d.attributes)['gen_ai.token.type']).sort(), ['input', 'output']);
  } finally {
    await t.close();
    await new Promise<void>((r) => collector.close(() => r()));
  }
});
