/**
 * Config of alerts (`alerts:`) and OpenTelemetry export (`otel:`), kept beside schema.ts so the two sections merge
 * without touching the rest. Both are off by default: alerts need channels someone reads, and OTel needs a collector.
 */
import { z } from 'zod';
import { parseDuration } from '../budgets/window.js';
import { usdToNanos } from '../budgets/money.js';

const duration = z.string().refine((v) => parseDuration(v) !== undefined, 'a duration like 90s, 30m, 24h, 7d');
const usd = z.union([z.string(), z.number()]).superRefine((v, c) => {
  try {
    usdToNanos(v);
  } catch (e) {
    c.addIssue({ code: 'custom', message: (e as Error).message });
  }
});
const share = z.number().min(0).max(1);
const minRequests = z.number().int().min(1);
/** Rules that can be evaluated per group (one alert per feature, model, …) or over all traffic (default). */
const by = z.enum(['feature', 'team', 'model', 'provider', 'user', 'key']).optional();
const secretRef = z.string().regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, 'env:NAME (secrets are read from the environment, never written in config)');

export const AlertRulesSchema = z
  .object({
    /** Today's spend (UTC day so far) above `ratio` × the average daily spend of the trailing `baselineDays`. */
    spendAnomaly: z
      .object({
        enabled: z.boolean().default(true),
        ratio: z.number().gt(0).default(1.2),
        baselineDays: z.number().int().min(1).max(90).default(7),
        /** Days of the trailing window that must have traffic before there is a baseline at all. */
        minBaselineDays: z.number().int().min(1).default(3),
      })
      .strict()
      .prefault({}),
    /** Monthly allocations (USD) per feature and team: fires when spent, or projected to be by the month's end. */
    allocation: z
      .object({
        enabled: z.boolean().default(true),
        features: z.record(z.string().min(1), usd).prefault({}),
        teams: z.record(z.string().min(1), usd).prefault({}),
        /** Also warn when the month-to-date run rate projects past the allocation. */
        projected: z.boolean().default(true),
        /** Projection needs at least this much of the month elapsed (a run rate from one hour is noise). */
        minElapsed: duration.default('3d'),
      })
      .strict()
      .prefault({}),
    /** Every configured budget (hard or soft): fires at each threshold (share of its limit) its window spend reaches. */
    budgets: z
      .object({
        enabled: z.boolean().default(true),
        thresholds: z.array(z.number().gt(0).max(10)).min(1).max(10).default([0.5, 0.8, 1]),
      })
      .strict()
      .prefault({}),
    /** Share of requests answered with an error (status ≥ 400) over `window`. */
    errorRate: z
      .object({ enabled: z.boolean().default(true), threshold: share.default(0.02), window: duration.default('15m'), minRequests: minRequests.default(20), by })
      .strict()
      .prefault({}),
    /** Average output tokens per successful request over `window` above (1 + rise) × the `baselineWindow` before it. */
    outputTokens: z
      .object({
        enabled: z.boolean().default(true),
        rise: z.number().gt(0).default(0.5),
        window: duration.default('24h'),
        baselineWindow: duration.default('7d'),
        minRequests: minRequests.default(50),
        by,
      })
      .strict()
      .prefault({}),
    /** Response-cache hit share of successful requests below `threshold` (evaluated only where the cache is on). */
    cacheHitRate: z
      .object({ enabled: z.boolean().default(true), threshold: share.default(0.4), window: duration.default('1h'), minRequests: minRequests.default(50), by })
      .strict()
      .prefault({}),
    /** Share of requests whose request fingerprint already occurred earlier in `window`. */
    duplicateShare: z
      .object({ enabled: z.boolean().default(true), threshold: share.default(0.2), window: duration.default('1h'), minRequests: minRequests.default(50) })
      .strict()
      .prefault({}),
  })
  .strict();

const http = { url: z.string().url(), allowPrivate: z.boolean().default(false), timeoutMs: z.number().int().min(100).max(60_000).default(5_000) };

export const AlertChannelSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log'), name: z.string().min(1).optional() }).strict(),
  z.object({ type: z.literal('webhook'), name: z.string().min(1).optional(), ...http, headers: z.record(z.string(), z.string()).prefault({}) }).strict(),
  z.object({ type: z.literal('slack'), name: z.string().min(1).optional(), ...http }).strict(),
  z
    .object({
      type: z.literal('email'),
      name: z.string().min(1).optional(),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(587),
      /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
      secure: z.boolean().default(false),
      /** Refuse to send without STARTTLS. */
      requireTLS: z.boolean().default(false),
      user: z.string().min(1).optional(),
      password: secretRef.optional(),
      from: z.string().min(3),
      to: z.array(z.string().min(3)).min(1),
      timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    })
    .strict(),
]);

export const AlertsSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Evaluation schedule; a ledger write batch also triggers one, debounced by `debounceMs`. */
    interval: duration.default('1m'),
    debounceMs: z.number().int().min(0).max(600_000).default(5_000),
    /** Re-send a still-firing alert this often (absent: only on transitions). */
    renotify: duration.optional(),
    /** Where alert state lives: `auto` beside the ledger (SQLite file, Postgres schema, or memory), or `memory`. */
    store: z.enum(['auto', 'memory']).default('auto'),
    historyLimit: z.number().int().min(10).max(100_000).default(1_000),
    /** Delivery attempts per notification and the first backoff (doubling). */
    attempts: z.number().int().min(1).max(10).default(3),
    backoffMs: z.number().int().min(0).max(60_000).default(500),
    rules: AlertRulesSchema.prefault({}),
    channels: z.array(AlertChannelSchema).default([{ type: 'log' }]),
  })
  .strict();

export const OtelSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** OTLP/HTTP base URL; traces go to `<endpoint>/v1/traces`, metrics to `<endpoint>/v1/metrics`. */
    endpoint: z.string().url().default('http://127.0.0.1:4318'),
    /** Extra headers on every export (e.g. an API key: `env:NAME` values are read from the environment). */
    headers: z.record(z.string(), z.string()).prefault({}),
    serviceName: z.string().min(1).default('costgate'),
    traces: z.boolean().default(true),
    metrics: z.boolean().default(true),
    /** Metric export period. */
    metricsIntervalMs: z.number().int().min(100).max(3_600_000).default(60_000),
    /** Spans per export batch and longest wait before one is sent. */
    maxExportBatchSize: z.number().int().min(1).max(10_000).default(512),
    scheduledDelayMs: z.number().int().min(10).max(60_000).default(5_000),
    /** Metric cardinality bound: distinct request/response models per metric attribute; later ones count as `_other`. */
    maxModelValues: z.number().int().min(1).max(10_000).default(100),
  })
  .strict();

export type AlertsConfig = z.infer<typeof AlertsSchema>;
export type AlertRulesConfig = z.infer<typeof AlertRulesSchema>;
export type AlertChannelConfig = z.infer<typeof AlertChannelSchema>;
export type OtelConfig = z.infer<typeof OtelSchema>;
