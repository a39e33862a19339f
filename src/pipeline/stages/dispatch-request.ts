/**
 * Building the upstream request for one deployment: wire translation, model substitution, forced stream usage,
 * provider quirks. Kept apart from the dispatch loop so the loop reads as retries and fallbacks only.
 */
import type { Ctx } from '../ctx.js';
import type { Deployment } from '../../config/load.js';
import type { Json, ProviderAdapter, StructuredHook, Wire } from '../../providers/adapter.js';
import { openaiToAnthropicRequest, anthropicToOpenAIRequest } from '../../providers/shared/translate-request.js';
import { GatewayError } from '../errors.js';

export interface UpstreamCall {
  wire: Wire;
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** The provider's native JSON-schema mode was used: its hook turns the responses back (dispatch, relay). */
  structured?: { hook: StructuredHook; state: Json };
}

const originCache = new WeakMap<object, { origin: string; basePath: string }>();

function splitBase(p: Deployment['provider']): { origin: string; basePath: string } {
  let v = originCache.get(p);
  if (!v) {
    if (!p.baseUrl) throw new GatewayError('upstream_unavailable', `provider ${p.name} has no base URL (simulator not started)`);
    const u = new URL(p.baseUrl);
    v = { origin: u.origin, basePath: u.pathname.replace(/\/+$/, '') };
    originCache.set(p, v);
  }
  return v;
}

/** Client headers a same-wire Anthropic upstream should still see (beta features change behaviour and price). */
const ANTHROPIC_PASS = ['anthropic-beta'];

/**
 * The request body in another wire than the client's: translated, and with the provider's native JSON-schema mode
 * when the context stage allowed it (optimize.structured.native) and the adapter has one for this request — instead
 * of the translation's schema instruction. The context stage plans prompt caching on this same body.
 */
export function wireBody(ctx: Ctx, adapter: ProviderAdapter, wire: Wire): { body: Json; structured?: { hook: StructuredHook; state: Json; mode: string } } {
  const hook = ctx.structuredNative && ctx.surface === 'openai' && wire !== 'openai' ? adapter.structured : undefined;
  if (hook) {
    const { response_format: rf, ...rest } = ctx.body;
    const r = hook.request(openaiToAnthropicRequest(rest), rf, wire);
    if (r) return { body: r.body, structured: { hook, state: r.state, mode: r.mode } };
  }
  return { body: ctx.surface === 'openai' ? openaiToAnthropicRequest(ctx.body) : anthropicToOpenAIRequest(ctx.body) };
}

export function buildUpstreamCall(ctx: Ctx, dep: Deployment): UpstreamCall | undefined {
  const p = dep.provider;
  const wire = p.adapter.wire(dep.model);
  const path = p.adapter.path(ctx.op, wire);
  if (!path) return undefined;
  let body: Json = ctx.body;
  let changed = ctx.bodyChanged;
  let structured: { hook: StructuredHook; state: Json; mode: string } | undefined;
  if (ctx.surface !== wire) {
    const w = wireBody(ctx, p.adapter, wire);
    body = w.body;
    if (w.structured) {
      structured = w.structured;
      const tag = `structured:native=${w.structured.mode}`;
      if (!ctx.optimize.includes(tag)) ctx.optimize.push(tag);
    }
    changed = true;
  }
  if (body.model !== dep.model) {
    body = { ...body, model: dep.model };
    changed = true;
  }
  // Usage must be metered even when the client streams without asking for it; the usage chunk is stripped again.
  if (ctx.stream && wire === 'openai' && body.stream_options?.include_usage !== true) {
    body = { ...body, stream_options: { ...(body.stream_options ?? {}), include_usage: true } };
    changed = true;
  }
  if (p.adapter.prepare) {
    const prepared = p.adapter.prepare(body, ctx.op, wire);
    if (prepared !== body) {
      body = prepared;
      changed = true;
    }
  }
  // Prompt caching planned by the context stage for this wire: the provider's adapter writes its own fields.
  const pc = ctx.promptCache;
  if (pc && pc.wire === wire && ctx.op === 'chat' && p.adapter.promptCache) {
    const r = p.adapter.promptCache.apply(body, pc.plan, wire);
    if (r.body !== body) {
      body = r.body;
      changed = true;
      for (const a of r.applied) {
        const tag = `pc:${a}`;
        if (!ctx.optimize.includes(tag)) ctx.optimize.push(tag);
      }
    }
  }
  const { origin, basePath } = splitBase(p);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: ctx.stream ? 'text/event-stream' : 'application/json',
    ...p.headers,
    ...dep.headers,
    ...p.adapter.authHeaders(p.apiKey, wire),
  };
  if (ctx.surface === 'anthropic' && wire === 'anthropic') {
    for (const h of ANTHROPIC_PASS) {
      const v = ctx.req.headers[h];
      if (v) headers[h] = v;
    }
  }
  const raw = ctx.req.raw;
  const call: UpstreamCall = { wire, origin, path: basePath + path, headers, body: !changed && raw ? raw : JSON.stringify(body) };
  if (structured) call.structured = { hook: structured.hook, state: structured.state };
  return call;
}
