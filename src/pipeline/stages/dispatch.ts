/**
 * dispatch: the terminal stage. Tries the route's deployments in order (primary, then fallbacks), each up to
 * `retries.attempts` times with capped exponential backoff and jitter, honouring Retry-After (one longer than
 * `maxRetryAfterMs` moves on to the next deployment at once), skipping deployments whose circuit is open, never
 * retrying a client error. Streams go through the relay (src/upstream/relay.ts), which commits only once the first
 * event is in hand, so a stream that fails before that is retried like any other attempt.
 */
import type { Stage } from '../compose.js';
import type { Ctx, GatewayResponse } from '../ctx.js';
import { elapsed } from '../ctx.js';
import type { Deployment, ResolvedConfig } from '../../config/load.js';
import type { Agents } from '../../upstream/agents.js';
import type { CircuitBreakers } from '../../upstream/breaker.js';
import { backoffDelay, retryAfterMs, sleep } from '../../upstream/backoff.js';
import { estimateUsage, recordAttempt, responseHeaders } from '../../upstream/attempt-log.js';
import { relayStream } from '../../upstream/relay.js';
import { GatewayError } from '../errors.js';
import { buildUpstreamCall, type UpstreamCall } from './dispatch-request.js';
import { clientClosed, fromBodyError, fromThrown, fromUpstreamStatus, malformed, redactFailure, type AttemptFailure } from './upstream-errors.js';
import { fromAnthropicUsage, fromOpenAIUsage } from '../../providers/usage.js';
import { anthropicToOpenAIResponse, openaiToAnthropicResponse } from '../../providers/shared/translate-response.js';
import { callUpstream, type UpstreamResponse } from '../../upstream/call.js';

export { estimateUsage } from '../../upstream/attempt-log.js';

export interface DispatchOptions {
  retries: ResolvedConfig['retries'];
  agents: Agents;
  breakers: CircuitBreakers;
  /** Injectable for tests. */
  random?: () => number;
}

type Json = Record<string, any>;
type Result = { response: GatewayResponse } | AttemptFailure;

export const dispatch = (o: DispatchOptions): Stage =>
  async function dispatch(ctx) {
    const deployments = ctx.route?.deployments ?? [];
    if (deployments.length === 0) throw new GatewayError('model_not_found', `The model '${ctx.model}' does not exist or no deployment serves it.`, { param: 'model' });
    let last: AttemptFailure | undefined;
    let openFor: number | undefined;
    for (const dep of deployments) {
      // Built before asking the breaker: a deployment that cannot take this request must not consume a half-open trial.
      const call = buildUpstreamCall(ctx, dep);
      if (!call) {
        // Never displaces a real upstream failure: "this fallback does not embed" must not hide the primary's 503.
        last ??= { error: new GatewayError('unsupported_endpoint', `deployment ${dep.name} does not serve ${ctx.op}`), retryable: false, fallback: true, status: 0 };
        continue;
      }
      if (!o.breakers.allow(dep.name)) {
        recordAttempt(ctx, dep, performance.now(), 0, 'skipped', { errorCode: 'circuit_open', errorMessage: 'circuit open' });
        const wait = o.breakers.remainingMs(dep.name);
        openFor = Math.min(openFor ?? wait, wait);
        continue;
      }
      const r = await tryDeployment(ctx, dep, call, o);
      if ('response' in r) return r.response;
      last = r;
      if (!r.fallback) break;
    }
    if (last?.clientAborted) settleAborted(ctx);
    if (last && last.error.code !== 'unsupported_endpoint') throw last.error;
    if (openFor !== undefined) {
      throw new GatewayError('upstream_unavailable', `every deployment for '${ctx.model}' is unavailable (circuit open)`, { retryAfterSec: openFor / 1000 });
    }
    throw last!.error;
  };

/** Up to `retries.attempts` attempts on one deployment; returns the response or the last failure. */
async function tryDeployment(ctx: Ctx, dep: Deployment, call: UpstreamCall, o: DispatchOptions): Promise<Result> {
  // Failures are built only when they happen: a GatewayError captures a stack trace, too dear for every request.
  let r: Result | undefined;
  for (let i = 1; i <= o.retries.attempts; i++) {
    if (ctx.req.signal?.aborted) r = clientClosed();
    else r = await attempt(ctx, dep, call, o);
    if ('response' in r) {
      o.breakers.success(dep.name);
      return r;
    }
    if (r.clientAborted) {
      o.breakers.release(dep.name);
      return r;
    }
    // Client errors (400, 404, 413, 422) say the deployment is up; anything else that fails counts against it.
    if (!r.retryable && !r.fallback) o.breakers.success(dep.name);
    else o.breakers.failure(dep.name);
    if (!r.retryable || i === o.retries.attempts || o.breakers.state(dep.name) === 'open') return r;
    let delay = backoffDelay(i, o.retries.baseDelayMs, o.retries.maxDelayMs, o.random);
    if (r.retryAfterMs !== undefined) {
      // Waiting longer than this costs the client more than a fallback would.
      if (r.retryAfterMs > o.retries.maxRetryAfterMs) return r;
      delay = Math.max(delay, r.retryAfterMs);
    }
    try {
      await sleep(delay, ctx.req.signal);
    } catch {
      return clientClosed();
    }
  }
  return r ?? clientClosed();
}

/** The client left before any answer: record it as such (the meter's generic settle would lose `clientAborted`). */
function settleAborted(ctx: Ctx): void {
  const a = ctx.attempts[ctx.attempts.length - 1];
  ctx.settle({ status: 499, errorCode: 'client_aborted', errorMessage: 'client closed the request', provider: a?.provider, deployment: a?.deployment, model: a?.model, latencyMs: elapsed(ctx), streamed: false, clientAborted: true });
}

function responseText(json: Json): string {
  if (Array.isArray(json.content)) return json.content.map((b: Json) => (b.type === 'text' ? b.text : b.type === 'tool_use' ? JSON.stringify(b.input) : '')).join('');
  let s = '';
  for (const c of json.choices ?? []) {
    s += c.message?.content ?? '';
    for (const tc of c.message?.tool_calls ?? []) s += tc.function?.arguments ?? '';
  }
  return s;
}

/** A 200 that is not the document the operation promises (some providers answer errors with a 200). */
function shapeProblem(json: unknown, call: UpstreamCall, ctx: Ctx): string | undefined {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return 'not a JSON object';
  const j = json as Json;
  if (ctx.op === 'embeddings') return Array.isArray(j.data) ? undefined : 'no data array';
  if (call.wire === 'anthropic') return Array.isArray(j.content) ? undefined : j.type === 'error' ? `error: ${j.error?.message ?? 'unknown'}` : 'no content array';
  return Array.isArray(j.choices) ? undefined : j.error ? `error: ${j.error.message ?? 'unknown'}` : 'no choices array';
}

async function attempt(ctx: Ctx, dep: Deployment, call: UpstreamCall, o: DispatchOptions): Promise<Result> {
  const start = performance.now();
  const p = dep.provider;
  const clientGone = () => ctx.req.signal?.aborted === true;
  const fail = (f: AttemptFailure, status: number): AttemptFailure => {
    redactFailure(f, p.apiKey);
    recordAttempt(ctx, dep, start, status, 'error', { errorCode: f.error.code, errorMessage: f.error.message });
    return f;
  };
  let res: UpstreamResponse;
  try {
    // The client's signal and the provider's first-byte and total budgets end the call early (see upstream/call.ts).
    res = await callUpstream(o.agents.get(p), {
      origin: call.origin,
      path: call.path,
      method: 'POST',
      headers: call.headers,
      body: call.body,
      signal: ctx.req.signal,
      firstByteMs: p.timeouts.firstByteMs,
      totalMs: p.timeouts.totalMs,
    });
  } catch (e) {
    return fail(fromThrown(e, dep.name, clientGone()), 0);
  }
  if (res.statusCode >= 400) {
    const text = await res.body.text().catch(() => '');
    return fail(fromUpstreamStatus(res.statusCode, text, dep.name, retryAfterMs(res.headers)), res.statusCode);
  }
  if (ctx.stream) return relayStream({ ctx, dep, call, res, start, breakers: o.breakers });
  let bytes: Buffer;
  try {
    bytes = await res.body.bytes();
  } catch (e) {
    return fail(fromBodyError(e, dep.name, res.statusCode, clientGone()), res.statusCode);
  }
  let json: Json;
  // Same wire: the upstream's exact bytes go to the client (no re-encoding); a translation serialises anew.
  let body: string | Buffer = bytes;
  try {
    json = JSON.parse(bytes.toString('utf8'));
    const problem = shapeProblem(json, call, ctx);
    if (problem) return fail(malformed(dep.name, res.statusCode, problem), res.statusCode);
    if (call.wire !== ctx.surface) {
      const j = call.structured ? call.structured.hook.response(json, call.structured.state) : json;
      body = JSON.stringify(call.wire === 'anthropic' ? anthropicToOpenAIResponse(j) : openaiToAnthropicResponse(j));
    }
  } catch (e) {
    return fail(malformed(dep.name, res.statusCode, (e as Error).message), res.statusCode);
  }
  const usage = (call.wire === 'openai' ? fromOpenAIUsage(json.usage) : fromAnthropicUsage(json.usage)) ?? estimateUsage(ctx, dep.model, responseText(json));
  recordAttempt(ctx, dep, start, res.statusCode, 'ok', { usage });
  const latencyMs = elapsed(ctx);
  ctx.settle({ status: 200, provider: p.name, deployment: dep.name, model: dep.model, upstreamModel: json.model, usage, latencyMs, ttftMs: latencyMs, streamed: false });
  return { response: { status: 200, headers: responseHeaders(dep, res, 'application/json'), body } };
}
