/**
 * The HTTP surface, independent of node:http so the in-process fetch and the server share it: path → endpoint,
 * JSON parsing, and OpenAI/Anthropic-format errors for anything that is not a valid request.
 */
import type { Gateway } from '../gateway.js';
import { requestIdFor, type Endpoint, type GatewayResponse } from '../pipeline/ctx.js';
import { GatewayError, renderError, type WireFormat } from '../pipeline/errors.js';
import { adminRoute } from './admin-routes.js';
import { adminRole, requireRole } from './admin-auth.js';
import { keysRoute } from './keys-routes.js';
import { isUtf8 } from 'node:buffer';
import { passthroughRoute } from '../batch/passthrough.js';
import { credentialOf } from '../pipeline/stages/auth.js';
import { nestingTooDeep } from '../pipeline/shape.js';
import { dashboardRoute, dashboardApi, sessionRole } from './dashboard-routes.js';

export interface RawRequest {
  method: string;
  path: string;
  query?: URLSearchParams;
  headers: Record<string, string | undefined>;
  raw: Buffer;
  signal?: AbortSignal;
}

const POST_ROUTES: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat',
  '/chat/completions': 'chat',
  '/v1/messages': 'messages',
  '/v1/embeddings': 'embeddings',
  '/embeddings': 'embeddings',
};

/** The metered endpoint a path names (trailing slashes ignored), if any. */
export function meteredEndpoint(path: string): Endpoint | undefined {
  return POST_ROUTES[path.length > 1 ? path.replace(/\/+$/, '') : path];
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): GatewayResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/**
 * An error answered outside the metered pipeline (unknown endpoint, admin API, a failure before routing): it costs
 * nothing, and carries a request id like every other response (the client's own when it sent a valid one).
 */
export function errorResponse(err: GatewayError, format: WireFormat, requestHeaders?: Record<string, string | undefined>): GatewayResponse {
  const r = renderError(err, format);
  r.headers['x-costgate-request-id'] = requestIdFor(requestHeaders?.['x-costgate-request-id']);
  return { status: r.status, headers: r.headers, body: r.body };
}

/** Prototype-pollution keys are dropped at parse time; nothing downstream ever sees them. */
function reviver(key: string, value: unknown): unknown {
  return key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : value;
}

const POLLUTION = /"(__proto__|constructor|prototype)"\s*:/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Deepest nesting of objects/arrays, skipping string contents; stops early once past `limit`. */
export function jsonDepth(raw: Uint8Array, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Deeper JSON is refused (`server.maxJsonDepth`): serializers and translators recurse, and no real request nests this deep. */
export const MAX_JSON_DEPTH = 128;

/** At most `limit` opening brackets? Counted natively with indexOf, which is far cheaper than jsonDepth's byte loop. */
function fewBrackets(raw: Buffer, limit: number): boolean {
  let n = 0;
  for (const b of [0x7b, 0x5b]) {
    for (let i = raw.indexOf(b); i !== -1; i = raw.indexOf(b, i + 1)) if (++n > limit) return false;
  }
  return true;
}

export function parseJsonBody(raw: Buffer, maxDepth = MAX_JSON_DEPTH): unknown {
  if (raw.length === 0) throw new GatewayError('invalid_json', 'We could not parse the JSON body of your request: the body is empty.');
  let text: string;
  // isUtf8 validates natively without building a string; the fatal decoder then only runs to word the error.
  if (isUtf8(raw)) text = raw.toString('utf8');
  else {
    try {
      text = utf8.decode(raw);
    } catch {
      throw new GatewayError('invalid_json', 'We could not parse the JSON body of your request: it is not valid UTF-8.');
    }
  }
  // Only bodies that could nest deeply are scanned: each level needs two bytes and an opening bracket.
  if (raw.length > maxDepth * 2 && !fewBrackets(raw, maxDepth) && jsonDepth(raw, maxDepth) > maxDepth) throw nestingTooDeep(maxDepth);
  try {
    // The reviver costs a walk of every value, so it runs only when a dangerous key is present at all.
    return POLLUTION.test(text) ? JSON.parse(text, reviver) : JSON.parse(text);
  } catch (e) {
    throw new GatewayError('invalid_json', `We could not parse the JSON body of your request: ${(e as Error).message}`);
  }
}

export async function routeRequest(gw: Gateway, r: RawRequest): Promise<GatewayResponse> {
  const path = r.path.length > 1 ? r.path.replace(/\/+$/, '') : r.path;
  const endpoint = POST_ROUTES[path];
  const format: WireFormat = endpoint === 'messages' ? 'anthropic' : 'openai';
  try {
    if (endpoint) {
      let body: unknown;
      try {
        if (r.method !== 'POST') throw new GatewayError('method_not_allowed', `Method ${r.method} is not allowed on ${path}; use POST.`);
        const ct = r.headers['content-type'];
        // curl's default form type is accepted (its body is JSON all the same); multipart and binary bodies are not.
        if (ct && !/^application\/((.+\+)?json|x-www-form-urlencoded)\b/i.test(ct) && !/^text\/plain\b/i.test(ct)) {
          throw new GatewayError('unsupported_media_type', `Unsupported content type '${ct}': send application/json.`);
        }
        body = parseJsonBody(r.raw, gw.config.server.maxJsonDepth);
      } catch (e) {
        if (!(e instanceof GatewayError)) throw e;
        // Still a call to a metered endpoint: the gateway answers the error and records it (one ledger row per call).
        return await gw.handle({ endpoint, body: undefined, raw: r.raw, headers: r.headers, signal: r.signal, rejected: e });
      }
      return await gw.handle({ endpoint, body, raw: r.raw, headers: r.headers, signal: r.signal });
    }
    if (path === '/v1/models' || path === '/models') {
      if (r.method !== 'GET') throw new GatewayError('method_not_allowed', `Method ${r.method} is not allowed on ${path}; use GET.`);
      return json(200, gw.models());
    }
    const m = /^\/v1\/models\/(.+)$/.exec(path);
    if (m && r.method === 'GET') {
      const id = decodeURIComponent(m[1]!);
      const found = gw.models().data.find((x) => x.id === id);
      if (!found) throw new GatewayError('model_not_found', `The model '${id}' does not exist`, { param: 'model' });
      return json(200, found);
    }
    if (path === '/healthz' || path === '/health') return json(200, { status: 'ok', inFlight: gw.inFlight() });
    if (path.startsWith('/v1/files') || path.startsWith('/v1/batches')) {
      // Same rule as the metered endpoints: with auth.mode keys, a valid virtual key (any role) is needed.
      if (gw.config.auth.mode === 'keys') {
        const cred = credentialOf(r.headers);
        if (!cred) throw new GatewayError('unauthorized', 'This gateway needs a virtual key: send it as `Authorization: Bearer …`.');
        try {
          await gw.keys.verify(cred);
        } catch (e) {
          throw new GatewayError('unauthorized', (e as Error).message);
        }
      }
      const out = await passthroughRoute(gw, gw.batcher, r.method, path, r.headers, r.raw, r.query);
      if (out) return out;
    }
    if (path === '/metrics' && gw.metrics) {
      if (r.method !== 'GET') throw new GatewayError('method_not_allowed', `Method ${r.method} is not allowed on ${path}; use GET.`);
      if (gw.config.metrics.access === 'admin') await adminRole(gw, r.headers);
      return { status: 200, headers: { 'content-type': gw.metrics.contentType(), 'cache-control': 'no-store' }, body: await gw.metrics.text() };
    }
    if (path.startsWith('/v1/costgate/')) {
      // The dashboard's session cookie (read only) stands in for a key on GETs sent without one.
      const session = r.method === 'GET' ? await sessionRole(gw, r.headers) : undefined;
      requireRole(session ?? (await adminRole(gw, r.headers)), r.method, path);
      if (r.method === 'GET' && path.startsWith('/v1/costgate/dashboard/')) {
        const d = await dashboardApi(gw, path, r.query ?? new URLSearchParams());
        if (d) return d;
      }
      const dm = /^\/v1\/costgate\/deferred(?:\/([^/]+))?$/.exec(path);
      if (dm && r.method === 'GET') {
        if (!dm[1]) return json(200, { object: 'costgate.deferred.counts', counts: await (await gw.batcher.store()).counts() });
        const v = await gw.deferred(decodeURIComponent(dm[1]));
        if (!v) throw new GatewayError('not_found', `No deferred job '${decodeURIComponent(dm[1])}'.`);
        return json(200, v);
      }
      const out = (await keysRoute(gw, r.method, path, r.raw)) ?? (await adminRoute(gw, r.method, path, r.query ?? new URLSearchParams()));
      if (out) return out;
    }
    if (path === '/dashboard' || path.startsWith('/dashboard/')) {
      const out = await dashboardRoute(gw, r.method, path, r.headers, r.raw);
      if (out) return out;
    }
    throw new GatewayError('not_found', `Unknown endpoint ${r.method} ${path}`);
  } catch (e) {
    if (e instanceof GatewayError) return errorResponse(e, format, r.headers);
    throw e;
  }
}
