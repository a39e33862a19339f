/**
 * Wrap an existing `OpenAI` client so its calls run through the in-process gateway (every policy, no HTTP hop).
 * Works with any client that has openai-node's `withOptions` (v5+); the original client is not modified.
 *
 * @example
 * import OpenAI from 'openai';
 * import { createGateway, wrapOpenAI } from 'costgate';
 * const gw = await createGateway({ config: 'costgate.yaml' });
 * const openai = wrapOpenAI(new OpenAI(), gw, { feature: 'search' });
 */
import type { Gateway } from '../gateway.js';

interface WithOptions<T> {
  withOptions(o: { baseURL?: string; fetch?: typeof fetch; defaultHeaders?: Record<string, string> }): T;
}

export interface WrapDefaults {
  feature?: string;
  user?: string;
  team?: string;
  priority?: 'critical' | 'important' | 'optional';
}

export function wrapOpenAI<T extends WithOptions<T>>(client: T, gw: Gateway, defaults: WrapDefaults = {}): T {
  const defaultHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(defaults)) if (v) defaultHeaders[`x-costgate-${k}`] = v;
  return client.withOptions({ baseURL: 'http://costgate.in-process/v1', fetch: gw.fetch, defaultHeaders });
}
