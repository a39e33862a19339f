/**
 * OpenTelemetry with in-memory exporters: one SERVER span per request with the GenAI attributes and costgate.*
 * extras, one CLIENT child per upstream attempt (a failed first attempt included), and the GenAI histograms. Also:
 * with `otel.enabled: false` the SDK is never loaded (checked in a fresh process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemoryMetricExporter, PeriodicExportingMetricReader, AggregationTemporality, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createGateway } from '../../gateway.js';

const chat = (content: string, feature = 'search') => ({ endpoint: 'chat' as const, body: { model: 'm', max_tokens: 8, messages: [{ role: 'user', content }] }, headers: { 'x-costgate-feature': feature } });

test('spans and GenAI metrics for each request, with a child span per upstream attempt', async () => {
  const spans = new InMemorySpanExporter();
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 });
  const gw = await createGateway({
    env: {},
    config: {
      ledger: { store: 'memory' },
      providers: { sim: { type: 'simulator' } },
      // The first request's first attempt fails with a 500 (`@1`), and is retried.
      deployments: [{ name: 'p', provider: 'sim', model: 'gpt-4o-mini', headers: { 'x-sim-fault': '500@1' } }],
      models: { m: { deployments: ['p'] } },
      retries: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      otel: { enabled: true, serviceName: 'cg-test' },
    },
    otel: { spanExporter: spans, metricReader: reader },
  });
  try {
    assert.equal((await gw.handle(chat('hello there'))).status, 200);
    assert.equal((await gw.handle(chat('and again', 'summary'))).status, 200);
    await gw.otel!.flush();
    const all = spans.getFinishedSpans();
    const servers = all.filter((s) => s.kind === SpanKind.SERVER);
    assert.equal(servers.length, 2);
    const first = servers.find((s) => s.attributes['costgate.feature'] === 'search')!;
    assert.equal(first.name, 'chat m');
    assert.equal(first.resource.attributes['service.name'], 'cg-test');
    const a = first.attributes;
    assert.equal(a['gen_ai.operation.name'], 'chat');
    assert.equal(a['gen_ai.provider.name'], 'sim');
    assert.equal(a['gen_ai.system'], 'sim');
    assert.equal(a['gen_ai.request.model'], 'm');
    assert.equal(a['gen_ai.response.model'], 'gpt-4o-mini');
    assert.ok((a['gen_ai.usage.input_tokens'] as number) > 0);
    assert.ok((a['gen_ai.usage.output_tokens'] as number) > 0);
    assert.equal(typeof a['costgate.cost_usd'], 'number');
    assert.ok((a['costgate.cost_nanos'] as number) > 0);
    assert.equal(a['costgate.cache_status'], 'miss');
    assert.equal(a['costgate.attempts'], 2);
    assert.equal(a['http.response.status_code'], 200);
    const children = all.filter((s) => s.parentSpanContext?.spanId === first.spanContext().spanId);
    assert.deepEqual(children.map((c: ReadableSpan) => [c.kind, c.attributes['costgate.attempt'], c.attributes['costgate.outcome'], c.status.code]), [
      [SpanKind.CLIENT, 1, 'error', SpanStatusCode.ERROR],
      [SpanKind.CLIENT, 2, 'ok', SpanStatusCode.UNSET],
    ]);
    assert.ok(children.every((c) => c.spanContext().traceId === first.spanContext().traceId));
    assert.equal(children[0]!.attributes['error.type'], 'upstream_error');
    const got = metrics.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)) as HistogramMetricData[];
    const tokens = got.find((m) => m.descriptor.name === 'gen_ai.client.token.usage')!;
    assert.equal(tokens.descriptor.unit, '{token}');
    const types = tokens.dataPoints.map((d) => d.attributes['gen_ai.token.type']).sort();
    assert.deepEqual(types, ['input', 'output']);
    assert.equal(tokens.dataPoints.find((d) => d.attributes['gen_ai.token.type'] === 'output')!.value.count, 2);
    const duration = got.find((m) => m.descriptor.name === 'gen_ai.client.operation.duration')!;
    assert.equal(duration.descriptor.unit, 's');
    assert.equal(duration.dataPoints.reduce((s, d) => s + d.value.count, 0), 2);
    assert.equal(duration.dataPoints[0]!.attributes['gen_ai.request.model'], 'm');
  } finally {
    await gw.close();
  }
  // After close the gateway no longer exports (unsubscribed).
  spans.reset();
  const other = await createGateway({ env: {}, config: { ledger: { store: 'memory' } } });
  await other.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }, headers: {} });
  await other.close();
  assert.equal(spans.getFinishedSpans().length, 0);
});

test('an error response is an ERROR span with error.type', async () => {
  const spans = new InMemorySpanExporter();
  const gw = await createGateway({ env: {}, config: { ledger: { store: 'memory' }, otel: { enabled: true, metrics: false }, budgets: [{ scope: 'global', window: 'day', amount: '0' }] }, otel: { spanExporter: spans } });
  try {
    const res = await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }, headers: {} });
    assert.equal(res.status, 402);
    await gw.otel!.flush();
    const [s] = spans.getFinishedSpans();
    assert.equal(s!.status.code, SpanStatusCode.ERROR);
    assert.equal(s!.attributes['error.type'], 'budget_exceeded');
    assert.equal(s!.attributes['http.response.status_code'], 402);
  } finally {
    await gw.close();
  }
});

// @opentelemetry/api itself is loaded by prom-client (process CPU metric, for exemplars): only the SDK counts.
test('with otel off (the default) the OpenTelemetry SDK is never loaded', () => {
  const gateway = new URL('../../gateway.js', import.meta.url).href;
  const script = `import { createRequire } from 'node:module';
import { createGateway } from ${JSON.stringify(gateway)};
const gw = await createGateway({ env: {}, config: { ledger: { store: 'memory' } } });
await gw.handle({ endpoint: 'chat', body: { model: 'gpt-4o-mini', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }, headers: {} });
await gw.close();
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@opentelemetry') && !k.includes('@opentelemetry/api/'));
console.log(JSON.stringify({ otel: gw.otel === undefined, loaded }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)), timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { otel: true, loaded: [] });
});

test('metric attributes keep at most maxModelValues models; spans keep the exact model', async () => {
  const spans = new InMemorySpanExporter();
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 });
  const gw = await createGateway({ env: {}, config: { ledger: { store: 'memory' }, otel: { enabled: true, maxModelValues: 1 } }, otel: { spanExporter: spans, metricReader: reader } });
  try {
    for (const model of ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini']) await gw.handle({ endpoint: 'chat', body: { model, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }, headers: {} });
    await gw.otel!.flush();
    assert.deepEqual(spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER).map((s) => s.attributes['gen_ai.request.model']).sort(), ['gpt-4.1-mini', 'gpt-4o', 'gpt-4o-mini']);
    const duration = metrics.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).find((m) => m.descriptor.name === 'gen_ai.client.operation.duration') as HistogramMetricData;
    assert.deepEqual(duration.dataPoints.map((d) => [d.attributes['gen_ai.request.model'], d.value.count]).sort(), [['_other', 2], ['gpt-4o-mini', 1]]);
  } finally {
    await gw.close();
  }
});
