/**
 * dispatch: the terminal stage. Tries the route's deployments in order (primary, then fallbacks), each up to
 * `retries.attempts` times with capped exponential backoff and jitter, honouring Retry-After, skipping deployments
 * whose circuit is open, never retrying a client error. Streams are piped through event by event, never buffered
 * whole; usage is read on the side and settles on the context exactly once.
 */
import type { Stage } from '../compose.js';
import type { Ctx, GatewayResponse, AttemptRecord } from '../ctx.js';
import { elapsed } from '../ctx.js';
import type { Deployment, ResolvedConfig } from '../../config/load.js';
import type { Agents } from '../../upstream/agents.js';
import type { CircuitBreakers } from '../../upstream/breaker.js';
import { backoffDelay, retryAfterMs, sleep } from '../../upstream/backoff.js';
import { GatewayError } from '../errors.js';
import { buildUpstreamCall, type UpstreamCall } from './dispatch-request.js';
import { fromUpstreamStatus, fromThrown, type AttemptFailure } from './upstream-errors.js';
import { fromAnthropicUsage, fromOpenAIUsage, type Usage } from '../../providers/usage.js';
import { anthropicToOpenAIResponse, openaiToAnthropicResponse } from '../../providers/shared/translate-response.js';
import { createStreamProcessor } from '../../providers/shared/stream.js';
import { SseSplitter, sseEvent } from '../../providers/shared/sse.js';
import { countPrompt, countText, countEmbeddingInput } from '../../tokens/count.js';
import type { Dispatcher } from 'undici';

export interface DispatchOptions {
  retries: ResolvedConfig['retries'];
  agents: Agents;
  breakers: CircuitBreakers;
  /** Injectable for tests. */
  random?: () => number;
}

type Json = Record<string, any>;
type Success = { response: GatewayResponse };
type Result = Success | AttemptFailure;

/** Tokens the gateway counts itself when the upstream reports no usage. */
export function estimateUsage(ctx: Ctx, model: string, outputText: string): Usage {
  const input = ctx.op === 'embeddings' ? countEmbeddingInput(ctx.body.input, model) : countPrompt(ctx.body, model);
  return { inputTokens: input, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: countText(outputText, model), reasoningTokens: 0, estimated: true };
}

function streamErrorEvent(ctx: Ctx, err: GatewayError): string {
  if (ctx.surface === 'anthropic') return sseEvent(JSON.stringify({ type: 'error', error: { type: err.anthropicType, message: err.message } }), 'error');
  return sseEvent(JSON.stringify({ error: { message: err.message, type: err.type, param: null, code: err.code } }));
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

function baseHeaders(dep: Deployment, res: Dispatcher.ResponseData, contentType: string): Record<string, string> {
  const h: Record<string, string> = { 'content-type': contentType, 'x-costgate-provider': dep.provider.name, 'x-costgate-model': dep.model };
  const upstreamId = res.headers['x-request-id'] ?? res.headers['request-id'];
  if (typeof upstreamId === 'string') h['x-costgate-upstream-request-id'] = upstreamId;
  return h;
}

export const dispatch = (o: DispatchOptions): Stage =>
  async function dispatch(ctx) {
    const deployments = ctx.route?.deployments ?? [];
    if (deployments.length === 0) throw new GatewayError('model_not_found', `The model '${ctx.model}' does not exist or no deployment serves it.`, { param: 'model' });
    let last: AttemptFailure | undefined;
    for (const dep of deployments) {
      if (!o.breakers.allow(dep.name)) {
        recordAttempt(ctx, dep, performance.now(), 0, 'skipped', { errorCode: 'circuit_open', errorMessage: 'circuit open' });
        last ??= { error: new GatewayError('upstream_unavailable', `every deployment for '${ctx.model}' is unavailable (circuit open)`), retryable: true, status: 0 };
        continue;
      }
      const call = buildUpstreamCall(ctx, dep);
      if (!call) {
        last = { error: new GatewayError('unsupported_endpoint', `deployment ${dep.name} does not serve ${ctx.op}`), retryable: false, status: 0 };
        continue;
      }
      for (let i = 1; i <= o.retries.attempts; i++) {
        const r = await attempt(ctx, dep, call, o);
        if ('response' in r) {
          o.breakers.success(dep.name);
          return r.response;
        }
        last = r;
        if (!r.retryable) {
          if (r.status === 0 || r.status < 500) o.breakers.success(dep.name);
          throw r.error;
        }
        o.breakers.failure(dep.name);
        if (i === o.retries.attempts || o.breakers.state(dep.name) === 'open') break;
        let delay = backoffDelay(i, o.retries.baseDelayMs, o.retries.maxDelayMs, o.random);
        if (r.retryAfterMs !== undefined) {
          if (r.retryAfterMs > o.retries.maxRetryAfterMs) break;
          delay = Math.max(delay, r.retryAfterMs);
        }
        try {
          await sleep(delay, ctx.req.signal);
        } catch {
          throw fromThrown(undefined, dep.name, true).error;
        }
      }
    }
    throw last!.error;
  };

function recordAttempt(ctx: Ctx, dep: Deployment, start: number, status: number, outcome: AttemptRecord['outcome'], extra: Partial<AttemptRecord> = {}): AttemptRecord {
  const a: AttemptRecord = {
    n: ctx.attempts.length + 1,
    deployment: dep.name,
    provider: dep.provider.name,
    model: dep.model,
    startedAt: ctx.startedAt + (start - ctx.t0),
    latencyMs: Math.round((performance.now() - start) * 1000) / 1000,
    status,
    outcome,
    ...extra,
  };
  ctx.attempts.push(a);
  return a;
}

async function attempt(ctx: Ctx, dep: Deployment, call: UpstreamCall, o: DispatchOptions): Promise<Result> {
  const start = performance.now();
  const p = dep.provider;
  const total = AbortSignal.timeout(p.timeouts.totalMs);
  const signal = ctx.req.signal ? AbortSignal.any([ctx.req.signal, total]) : total;
  let res: Dispatcher.ResponseData;
  try {
    res = await o.agents.get(p).request({ origin: call.origin, path: call.path, method: 'POST', headers: call.headers, body: call.body, signal });
  } catch (e) {
    const f = fromThrown(e, dep.name, ctx.req.signal?.aborted === true);
    recordAttempt(ctx, dep, start, 0, 'error', { errorCode: f.error.code, errorMessage: f.error.message });
    return f;
  }
  if (res.statusCode >= 400) {
    const text = await res.body.text().catch(() => '');
    const f = fromUpstreamStatus(res.statusCode, text, dep.name, retryAfterMs(res.headers));
    recordAttempt(ctx, dep, start, res.statusCode, 'error', { errorCode: f.error.code, errorMessage: f.error.message });
    return f;
  }
  if (ctx.stream) return { response: streamResponse(ctx, dep, call, res, start, signal) };
  let text: string;
  let json: Json;
  try {
    text = await res.body.text();
    json = JSON.parse(text);
    if (!json || typeof json !== 'object') throw new Error('not an object');
  } catch (e) {
    const f: AttemptFailure =
      e instanceof SyntaxError || (e as Error).message === 'not an object'
        ? { error: new GatewayError('upstream_bad_response', `upstream returned a malformed response (${dep.name})`), retryable: true, status: res.statusCode }
        : fromThrown(e, dep.name, ctx.req.signal?.aborted === true);
    recordAttempt(ctx, dep, start, res.statusCode, 'error', { errorCode: f.error.code, errorMessage: f.error.message });
    return f;
  }
  const usage = (call.wire === 'openai' ? fromOpenAIUsage(json.usage) : fromAnthropicUsage(json.usage)) ?? estimateUsage(ctx, dep.model, responseText(json));
  let body: string = text;
  if (call.wire !== ctx.surface) body = JSON.stringify(call.wire === 'anthropic' ? anthropicToOpenAIResponse(json) : openaiToAnthropicResponse(json));
  recordAttempt(ctx, dep, start, res.statusCode, 'ok', { usage });
  const latencyMs = elapsed(ctx);
  ctx.settle({ status: 200, provider: p.name, deployment: dep.name, model: dep.model, upstreamModel: json.model, usage, latencyMs, ttftMs: latencyMs, streamed: false });
  return { response: { status: 200, headers: baseHeaders(dep, res, 'application/json'), body } };
}

function streamResponse(ctx: Ctx, dep: Deployment, call: UpstreamCall, res: Dispatcher.ResponseData, start: number, signal: AbortSignal): GatewayResponse {
  async function* pipe(): AsyncGenerator<string> {
    const proc = createStreamProcessor(call.wire, ctx.surface, ctx.clientWantsUsage);
    const split = new SseSplitter();
    let ttftMs: number | undefined;
    let failure: GatewayError | undefined;
    let finished = false;
    try {
      for await (const chunk of res.body) {
        let out = '';
        for (const ev of split.push(chunk as Buffer)) out += proc.push(ev);
        if (out) {
          ttftMs ??= elapsed(ctx);
          yield out;
        }
      }
      if (proc.upstreamError) failure = new GatewayError('upstream_error', `upstream stream error (${dep.name}): ${proc.upstreamError}`);
      else if (!proc.complete) {
        failure = new GatewayError('upstream_bad_response', `upstream stream ended before completion (${dep.name})`);
        yield streamErrorEvent(ctx, failure);
      } else {
        const tail = proc.end();
        if (tail) yield tail;
      }
      finished = true;
    } catch (e) {
      if (!ctx.req.signal?.aborted) {
        failure = signal.aborted || (e as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT'
          ? new GatewayError('upstream_timeout', `upstream stream timed out (${dep.name})`)
          : new GatewayError('upstream_bad_response', `upstream stream failed (${dep.name}): ${(e as Error).message}`);
        finished = true;
        yield streamErrorEvent(ctx, failure);
      }
    } finally {
      if (!finished) res.body.destroy();
      const usage = proc.usage() ?? estimateUsage(ctx, dep.model, proc.text);
      const clientAborted = !finished;
      const status = failure ? failure.status : clientAborted ? 499 : 200;
      recordAttempt(ctx, dep, start, res.statusCode, failure ? 'error' : 'ok', {
        usage,
        ...(failure ? { errorCode: failure.code === 'upstream_bad_response' ? 'stream_cut' : failure.code, errorMessage: failure.message } : {}),
      });
      ctx.settle({
        status,
        errorCode: failure?.code ?? (clientAborted ? 'client_aborted' : undefined),
        errorMessage: failure?.message,
        provider: dep.provider.name,
        deployment: dep.name,
        model: dep.model,
        usage,
        ttftMs,
        latencyMs: elapsed(ctx),
        streamed: true,
        clientAborted,
      });
    }
  }
  const headers = baseHeaders(dep, res, 'text/event-stream; charset=utf-8');
  headers['cache-control'] = 'no-cache';
  return { status: 200, headers, stream: pipe() };
}
