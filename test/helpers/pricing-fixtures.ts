/**
 * Usage fixtures (test/fixtures/usage/*.json): real-shaped provider payloads with hand-computed costs. This module
 * loads them and runs each payload through the gateway's own extraction paths, so the golden tests price exactly
 * what production would meter.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { calcPrice } from '@pydantic/genai-prices';
import type { Wire } from '../../src/providers/adapter.js';
import { fromAnthropicUsage, fromOpenAIUsage, type Usage } from '../../src/providers/usage.js';
import { SseSplitter } from '../../src/providers/shared/sse.js';
import { createStreamProcessor } from '../../src/providers/shared/stream.js';
import { anthropicToOpenAIResponse, openaiToAnthropicResponse } from '../../src/providers/shared/translate-response.js';
import { catalogProvider } from '../../src/pricing/catalog.js';

type Json = Record<string, any>;

/** One way of pricing a fixture's usage: its own timestamp/batch flag, or a variant's. */
export interface Pricing {
  label: string;
  at: Date;
  batch: boolean;
  nanos: number;
  exact: string;
  byHand: string;
}

export interface UsageFixture {
  name: string;
  description: string;
  wire: Wire;
  model: string;
  stream: boolean;
  /** Stream and non-stream fixtures of the same call share a pair name. */
  pair: string | null;
  at: string;
  batch: boolean;
  /** Where the message sits inside `response` (Batch API result lines wrap it). */
  body_path?: string[];
  response?: Json;
  sse?: string[];
  expected_usage: Omit<Usage, 'estimated'>;
  expected_nanos: number;
  expected_exact_micros: string;
  expected_by_hand: string;
  variants?: { label: string; at?: string; batch?: boolean; expected_nanos: number; expected_exact_micros: string; expected_by_hand: string }[];
}

const DIR = fileURLToPath(new URL('../../../test/fixtures/usage/', import.meta.url));

export function loadUsageFixtures(): UsageFixture[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as UsageFixture);
}

export function pricingsOf(f: UsageFixture): Pricing[] {
  const own: Pricing = { label: 'as recorded', at: new Date(f.at), batch: f.batch, nanos: f.expected_nanos, exact: f.expected_exact_micros, byHand: f.expected_by_hand };
  const vs = (f.variants ?? []).map((v) => ({
    label: v.label,
    at: new Date(v.at ?? f.at),
    batch: v.batch ?? f.batch,
    nanos: v.expected_nanos,
    exact: v.expected_exact_micros,
    byHand: v.expected_by_hand,
  }));
  return [own, ...vs];
}

/** The provider's message body (unwrapping a batch result line). */
export function messageBody(f: UsageFixture): Json {
  let b: Json = f.response!;
  for (const k of f.body_path ?? []) b = b[k];
  return b;
}

/** The raw SSE text exactly as the provider sends it on the wire. */
export const sseText = (f: UsageFixture): string => f.sse!.map((e) => e + '\n\n').join('');

/** Feed SSE text through the splitter in small byte chunks (events straddle chunk edges, as on a real socket). */
export function runStream(upstream: Wire, client: Wire, text: string, clientWantsUsage: boolean, chunk = 37): { usage: Usage | undefined; out: string; complete: boolean } {
  const bytes = new TextEncoder().encode(text);
  const split = new SseSplitter();
  const proc = createStreamProcessor(upstream, client, clientWantsUsage);
  let out = '';
  for (let i = 0; i < bytes.length; i += chunk) for (const ev of split.push(bytes.subarray(i, i + chunk))) out += proc.push(ev);
  if (split.rest().trim() !== '') throw new Error('stream left an unterminated event');
  out += proc.end();
  return { usage: proc.usage(), out, complete: proc.complete };
}

const other = (w: Wire): Wire => (w === 'openai' ? 'anthropic' : 'openai');
const fromWire = (w: Wire, u: unknown) => (w === 'openai' ? fromOpenAIUsage(u) : fromAnthropicUsage(u));

/**
 * Every extraction path for a fixture, by name: the same-wire path production uses, the cross-wire translation
 * (upstream wire → the other client wire), and the usage the translated client payload itself reports.
 */
export function extractionPaths(f: UsageFixture): Record<string, Usage | undefined> {
  if (f.stream) {
    const text = sseText(f);
    const cross = runStream(f.wire, other(f.wire), text, true);
    return {
      [`stream ${f.wire}→${f.wire}`]: runStream(f.wire, f.wire, text, false).usage,
      [`stream ${f.wire}→${f.wire} (client asked for usage)`]: runStream(f.wire, f.wire, text, true).usage,
      [`stream ${f.wire}→${other(f.wire)}`]: cross.usage,
      [`translated stream as the ${other(f.wire)} client reads it`]: runStream(other(f.wire), other(f.wire), cross.out, true).usage,
    };
  }
  const body = messageBody(f);
  const paths: Record<string, Usage | undefined> = { [`body ${f.wire}`]: fromWire(f.wire, body.usage) };
  if (body.object !== 'list') {
    const translated = f.wire === 'openai' ? openaiToAnthropicResponse(body) : anthropicToOpenAIResponse(body);
    paths[`body translated to ${other(f.wire)}`] = fromWire(other(f.wire), translated.usage);
  }
  return paths;
}

export const plainUsage = (u: Usage | undefined) => (u ? { inputTokens: u.inputTokens, cacheReadTokens: u.cacheReadTokens, cacheWrite5mTokens: u.cacheWrite5mTokens, cacheWrite1hTokens: u.cacheWrite1hTokens, outputTokens: u.outputTokens, reasoningTokens: u.reasoningTokens } : u);

/** genai-prices' own float price for the same usage (its `input_tokens` also counts cached tokens). */
export function genaiPrice(u: Usage, model: string, at: Date): number | undefined {
  const gu: Record<string, number> = { input_tokens: u.inputTokens, output_tokens: u.outputTokens };
  if (u.cacheReadTokens > 0) gu.cache_read_tokens = u.cacheReadTokens;
  const writes = u.cacheWrite5mTokens + u.cacheWrite1hTokens;
  if (writes > 0) Object.assign(gu, { cache_write_tokens: writes, cache_write_5m_tokens: u.cacheWrite5mTokens, cache_write_1h_tokens: u.cacheWrite1hTokens });
  if (u.reasoningTokens > 0) gu.output_reasoning_tokens = u.reasoningTokens;
  const providerId = catalogProvider(undefined, model);
  return calcPrice(gu, model, { ...(providerId ? { providerId } : {}), timestamp: at })?.total_price;
}
