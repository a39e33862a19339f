/**
 * Wrap an existing `OpenAI` client so its calls run through the in-process gateway (every policy, no HTTP hop).
 * Works with any client that has openai-node's `withOptions` (v5+); the original client is not modified.
 *
 * Retries: the wrapped client defaults to `maxRetries: 0`, because the gateway already retries and falls back
 * (config `retries`), and every SDK retry would run the whole call again, making and billing its upstream attempts
 * twice over. A `maxRetries` set in the client's constructor options is kept, and a per-request
 * `{ maxRetries }` option still applies.
 *
 * @example
 * import OpenAI from 'openai';
 * import { createGateway, wrapOpenAI } from 'costgate';
 * const gw = await createGateway({ config: 'costgate.yaml' });
 * const openai = wrapOpenAI(new OpenAI(), gw, { feature: 'search' });
 */
import type { Gateway } from '../gateway.js';

interface WithOptions<T> {
  withOptions(o: { baseURL?: string; fetch?: typeof fetch; defaultHeaders?: Record<string, string>; maxRetries?: number }): T;
}

export interface WrapDefaults {
  feature?: string;
  user?: string;
  team?: string;
  priority?: 'critical' | 'important' | 'optional';
}

/**
 * The client's own default headers as a plain record. openai-node accepts a Headers object, `[name, value]` pairs, a
 * record, or its internal `{ values: Headers, nulls }` (what OPENAI_CUSTOM_HEADERS produces); null values mean
 * "unset" and are dropped.
 */
function headerRecord(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h || typeof h !== 'object') return out;
  if (h instanceof Headers) h.forEach((v, k) => (out[k] = v));
  else if (Array.isArray(h)) for (const [k, v] of h) out[String(k).toLowerCase()] = String(v);
  else if ((h as { values?: unknown }).values instanceof Headers) return headerRecord((h as { values: Headers }).values);
  else for (const [k, v] of Object.entries(h)) if (v !== null && v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

export function wrapOpenAI<T extends WithOptions<T>>(client: T, gw: Gateway, defaults: WrapDefaults = {}): T {
  // `withOptions` replaces `defaultHeaders` wholesale, so the client's own defaults are carried over explicitly;
  // `_options` is openai-node's protected copy of the constructor options.
  const own = (client as { _options?: { defaultHeaders?: unknown; maxRetries?: unknown } })._options;
  const defaultHeaders = headerRecord(own?.defaultHeaders);
  for (const [k, v] of Object.entries(defaults)) if (v) defaultHeaders[`x-costgate-${k}`] = v;
  // The SDK defaults to 2 retries when the option is absent; the gateway's own retries make those redundant.
  const retries = own?.maxRetries === undefined || own.maxRetries === null ? { maxRetries: 0 } : {};
  return client.withOptions({ baseURL: 'http://costgate.in-process/v1', fetch: gw.fetch, defaultHeaders, ...retries });
}
