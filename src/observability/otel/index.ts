/**
 * OpenTelemetry export, loaded only when `otel.enabled` (the gateway imports this module lazily, so a gateway with
 * OTel off never loads the SDK). Subscribes to diagnostics_channel `costgate:request` and, per metered request,
 * emits one span (kind SERVER: the gateway answering its client) with a child span (kind CLIENT) per upstream attempt,
 * following the GenAI semantic conventions (`gen_ai.*`), and records `gen_ai.client.token.usage` and
 * `gen_ai.client.operation.duration`. Spans are built after the fact from the record (start = arrival, end =
 * arrival + latency), so the hot path does no tracing work at all.
 *
 * Caveat: the channel is process-wide, so two gateways with OTel on in one process would both export every request.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace, type Attributes } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import type { OtelConfig } from '../../config/alerts-schema.js';
import type { RequestRecord } from '../../pipeline/record.js';
import type { Priced } from '../../pricing/pricer.js';
import { nanosToUsd } from '../../pricing/decimal.js';

export interface OtelTestHooks {
  /** Export spans here instead of OTLP (sent one by one, synchronously, for in-memory tests). */
  spanExporter?: SpanExporter;
  /** Read metrics with this reader instead of the periodic OTLP one. */
  metricReader?: MetricReader;
}

export interface OtelHandle {
  /** Export what is buffered now (spans and metrics). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** `gen_ai.provider.name` well-known values by provider type; other types report the configured provider's name. */
const PROVIDER_NAMES: Record<string, string> = { openai: 'openai', anthropic: 'anthropic', gemini: 'gcp.gemini' };
type ProviderType = (name: string) => string | undefined;

function providerNamer(typeOf: ProviderType = () => undefined): (provider: string | undefined) => string {
  return (provider) => (provider ? PROVIDER_NAMES[typeOf(provider) ?? ''] ?? provider : 'unknown');
}

/** Metric attributes take at most `max` distinct models each (the first seen); later ones are `_other`. Spans keep the exact value. */
function bounded(max: number): (v: unknown) => unknown {
  const seen = new Set<unknown>();
  return (v) => {
    if (v === undefined || seen.has(v)) return v;
    if (seen.size >= max) return '_other';
    seen.add(v);
    return v;
  };
}

const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

export function genAiAttributes(rec: RequestRecord, providerName = providerNamer()): Attributes {
  const op = rec.endpoint === 'embeddings' ? 'embeddings' : 'chat';
  const a: Attributes = {
    'gen_ai.operation.name': op,
    'gen_ai.provider.name': providerName(rec.provider),
    // The pre-1.37 name, still what many backends key on.
    'gen_ai.system': providerName(rec.provider),
    'gen_ai.request.model': rec.requestedModel,
  };
  const served = rec.upstreamModel ?? rec.model;
  if (served) a['gen_ai.response.model'] = served;
  if (rec.status >= 400) a['error.type'] = rec.errorCode ?? String(rec.status);
  return a;
}

export async function startOtel(c: OtelConfig, hooks: OtelTestHooks = {}, typeOf?: ProviderType): Promise<OtelHandle> {
  const providerName = providerNamer(typeOf);
  const resource = resourceFromAttributes({ 'service.name': c.serviceName });
  const base = c.endpoint.replace(/\/+$/, '');
  let tracerProvider: BasicTracerProvider | undefined;
  if (c.traces) {
    const processor = hooks.spanExporter
      ? new SimpleSpanProcessor(hooks.spanExporter)
      : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base}/v1/traces`, headers: c.headers }), { maxExportBatchSize: c.maxExportBatchSize, scheduledDelayMillis: c.scheduledDelayMs });
    tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  }
  let meterProvider: MeterProvider | undefined;
  if (c.metrics) {
    const reader = hooks.metricReader ?? new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics`, headers: c.headers }), exportIntervalMillis: c.metricsIntervalMs });
    meterProvider = new MeterProvider({ resource, readers: [reader] });
  }
  const tracer = tracerProvider?.getTracer('costgate');
  const meter = meterProvider?.getMeter('costgate');
  const tokenUsage = meter?.createHistogram('gen_ai.client.token.usage', { unit: '{token}', description: 'Number of input and output tokens used.', advice: { explicitBucketBoundaries: TOKEN_BUCKETS } });
  const duration = meter?.createHistogram('gen_ai.client.operation.duration', { unit: 's', description: 'GenAI operation duration.', advice: { explicitBucketBoundaries: DURATION_BUCKETS } });

  const requestModel = bounded(c.maxModelValues);
  const responseModel = bounded(c.maxModelValues);
  const onRequest = (msg: unknown) => {
    try {
      const { record: rec, priced } = msg as { record: RequestRecord; priced: Priced };
      const attrs = genAiAttributes(rec, providerName);
      if (tracer) span(rec, priced, attrs);
      if (tokenUsage && duration) {
        const m: Attributes = { ...attrs };
        delete m['gen_ai.system'];
        // The requested model is client input: unbounded values would make unbounded metric series.
        m['gen_ai.request.model'] = requestModel(m['gen_ai.request.model']) as string;
        if (m['gen_ai.response.model'] !== undefined) m['gen_ai.response.model'] = responseModel(m['gen_ai.response.model']) as string;
        if (rec.usage) {
          tokenUsage.record(rec.usage.inputTokens, { ...m, 'gen_ai.token.type': 'input' });
          tokenUsage.record(rec.usage.outputTokens, { ...m, 'gen_ai.token.type': 'output' });
        }
        duration.record(rec.latencyMs / 1000, m);
      }
    } catch (e) {
      process.emitWarning(`costgate: OpenTelemetry export of a request failed: ${(e as Error).message}`);
    }
  };

  function span(rec: RequestRecord, priced: Priced, attrs: Attributes): void {
    const op = String(attrs['gen_ai.operation.name']);
    const u = rec.usage;
    const parent = tracer!.startSpan(`${op} ${rec.requestedModel}`, {
      kind: SpanKind.SERVER,
      startTime: rec.ts,
      attributes: {
        ...attrs,
        ...(u ? { 'gen_ai.usage.input_tokens': u.inputTokens, 'gen_ai.usage.output_tokens': u.outputTokens } : {}),
        ...(u?.cacheReadTokens ? { 'gen_ai.usage.cache_read.input_tokens': u.cacheReadTokens } : {}),
        'costgate.request_id': rec.id,
        'costgate.endpoint': rec.endpoint,
        'costgate.cost_usd': Number(nanosToUsd(priced.costNanos)),
        'costgate.cost_nanos': priced.costNanos,
        'costgate.price_source': priced.priceSource,
        'costgate.cache_status': rec.cacheStatus ?? 'miss',
        'costgate.stream': rec.stream,
        'costgate.attempts': rec.attempts.length,
        'http.response.status_code': rec.status,
        ...(rec.feature ? { 'costgate.feature': rec.feature } : {}),
        ...(rec.team ? { 'costgate.team': rec.team } : {}),
        ...(rec.user ? { 'costgate.user': rec.user } : {}),
        ...(rec.deployment ? { 'costgate.deployment': rec.deployment } : {}),
        ...(rec.routeDecision ? { 'costgate.route_decision': rec.routeDecision } : {}),
      },
    });
    if (rec.status >= 400) parent.setStatus({ code: SpanStatusCode.ERROR, message: rec.errorMessage?.slice(0, 200) });
    const ctx = trace.setSpan(ROOT_CONTEXT, parent);
    rec.attempts.forEach((a, i) => {
      if (a.outcome === 'skipped') return;
      const child = tracer!.startSpan(`${op} ${a.model}`, {
        kind: SpanKind.CLIENT,
        startTime: a.startedAt,
        attributes: {
          'gen_ai.operation.name': op,
          'gen_ai.provider.name': providerName(a.provider),
          'gen_ai.request.model': a.model,
          ...(a.usage ? { 'gen_ai.usage.input_tokens': a.usage.inputTokens, 'gen_ai.usage.output_tokens': a.usage.outputTokens } : {}),
          'costgate.attempt': a.n,
          'costgate.deployment': a.deployment,
          'costgate.outcome': a.outcome,
          'costgate.cost_nanos': priced.attemptCosts[i] ?? 0,
          'http.response.status_code': a.status,
          ...(a.outcome === 'error' ? { 'error.type': a.errorCode ?? String(a.status) } : {}),
        },
      }, ctx);
      if (a.outcome === 'error') child.setStatus({ code: SpanStatusCode.ERROR, message: a.errorMessage?.slice(0, 200) });
      child.end(a.startedAt + a.latencyMs);
    });
    parent.end(rec.ts + rec.latencyMs);
  }

  subscribe('costgate:request', onRequest);
  return {
    async flush() {
      await tracerProvider?.forceFlush();
      await meterProvider?.forceFlush();
    },
    async shutdown() {
      unsubscribe('costgate:request', onRequest);
      await tracerProvider?.shutdown().catch(() => undefined);
      await meterProvider?.shutdown().catch(() => undefined);
    },
  };
}
