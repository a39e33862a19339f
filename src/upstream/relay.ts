/**
 * Relaying one upstream SSE response to the client, event by event; the stream is never buffered whole.
 *
 * The relay reads upstream until the first event the client would see, and only then commits (returns a response
 * whose first value is that output). A stream that fails before that point — cut, timed out, an error event first,
 * a JSON document instead of events — becomes an ordinary attempt failure, so the dispatch loop can retry or fall
 * back transparently: the client has received nothing, not even headers. After the commit a failure can only be
 * reported in-stream, as an error event in the client's own wire format.
 *
 * Usage is read on the side and the context settles exactly once, when the stream ends, fails or the client leaves.
 */
import type { UpstreamResponse } from './call.js';
import type { Ctx, GatewayResponse } from '../pipeline/ctx.js';
import type { Deployment } from '../config/load.js';
import type { CircuitBreakers } from './breaker.js';
import type { UpstreamCall } from '../pipeline/stages/dispatch-request.js';
import { elapsed } from '../pipeline/ctx.js';
import { GatewayError } from '../pipeline/errors.js';
import { fromBodyError, malformed, redactKey, transient, type AttemptFailure } from '../pipeline/stages/upstream-errors.js';
import { createStreamProcessor } from '../providers/shared/stream.js';
import { SseSplitter, sseEvent, type SseEvent } from '../providers/shared/sse.js';
import { incompleteStreamUsage, estimateUsage, recordAttempt, responseHeaders } from './attempt-log.js';

export interface RelayOptions {
  ctx: Ctx;
  dep: Deployment;
  call: UpstreamCall;
  res: UpstreamResponse;
  /** `performance.now()` when the attempt started. */
  start: number;
  breakers: CircuitBreakers;
}

/** An error event in the client's wire format: OpenAI `data: {"error":…}`, Anthropic `event: error`. */
export function streamErrorEvent(ctx: Ctx, err: GatewayError): string {
  if (ctx.surface === 'anthropic') return sseEvent(JSON.stringify({ type: 'error', error: { type: err.anthropicType, message: err.message } }), 'error');
  return sseEvent(JSON.stringify({ error: { message: err.message, type: err.type, param: null, code: err.code } }));
}

/** Holds what the generator decided before its first yield (it cannot return a failure through `yield`). */
interface Verdict {
  failure?: AttemptFailure;
}

export async function relayStream(o: RelayOptions): Promise<{ response: GatewayResponse } | AttemptFailure> {
  const { ctx, dep, res } = o;
  // Asked for events, got a document (an error page, or a provider that ignored `stream`): nothing to relay.
  if (/^application\/json\b/i.test(String(res.headers['content-type'] ?? ''))) {
    await res.body.text().catch(() => '');
    const f = malformed(dep.name, res.statusCode, 'expected an event stream, got a JSON document');
    recordAttempt(ctx, dep, o.start, res.statusCode, 'error', { errorCode: f.error.code, errorMessage: f.error.message });
    return f;
  }
  const verdict: Verdict = {};
  const gen = relay(o, verdict);
  const first = await gen.next();
  if (first.done) return verdict.failure ?? transient(new GatewayError('internal_error', 'stream relay ended without output'), res.statusCode);
  // The first output is already in hand; hand it out first, then keep pulling from the (suspended) generator. A
  // consumer that stops early calls return(), which runs the generator's cleanup because it has started.
  let pending: IteratorResult<string | Buffer> | undefined = first;
  const stream: AsyncIterableIterator<string | Buffer> = {
    next() {
      const p = pending;
      pending = undefined;
      return p ? Promise.resolve(p) : gen.next();
    },
    return(v?: unknown) {
      pending = undefined;
      return gen.return(v as undefined);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  const headers = responseHeaders(dep, res, 'text/event-stream; charset=utf-8');
  headers['cache-control'] = 'no-cache';
  return { response: { status: 200, headers, stream } };
}

async function* relay(o: RelayOptions, verdict: Verdict): AsyncGenerator<string | Buffer, void> {
  const { ctx, dep, res } = o;
  const proc = createStreamProcessor(o.call.wire, ctx.surface, ctx.clientWantsUsage);
  // Native structured output (a translated call only): the provider's hook rewrites each event before translation.
  const rewrite = o.call.structured?.hook.stream(o.call.structured.state);
  const events = (ev: SseEvent): SseEvent[] => {
    if (!rewrite || ev.data === undefined) return [ev];
    let d: Record<string, any>;
    try {
      d = JSON.parse(ev.data);
    } catch {
      return [ev];
    }
    if (!d || typeof d !== 'object') return [ev];
    return rewrite(ev.event ?? d.type, d).map((x) => {
      const data = JSON.stringify(x.data);
      return { raw: sseEvent(data, x.type).slice(0, -2), event: x.type, data };
    });
  };
  const split = new SseSplitter();
  const body = res.body;
  let sent = false;
  let ttftMs: number | undefined;
  let failure: AttemptFailure | undefined;
  let finished = false;
  try {
    // Redacted out of any upstream error text the client or the record would see.
    const key = dep.provider.apiKey;
    for (;;) {
      let chunks: Buffer[];
      try {
        const r = await body.next();
        if (r.done) break;
        // Everything that arrived with it too: one write to the client per upstream read, not per HTTP chunk.
        chunks = body.drain();
        chunks.unshift(r.value);
      } catch (e) {
        failure = fromBodyError(e, dep.name, res.statusCode, ctx.req.signal?.aborted === true);
        if (failure.error.code === 'upstream_bad_response') failure.recordCode = 'stream_cut';
        if (!sent) verdict.failure = failure;
        else if (!failure.clientAborted) {
          finished = true;
          yield streamErrorEvent(ctx, failure.error);
        }
        return;
      }
      let out = '';
      // Passthrough (same wire, nothing dropped, chunks on event boundaries): the upstream's own bytes are forwarded,
      // which spares re-encoding the events' text. Otherwise the processed text is sent.
      let exact = true;
      for (const chunk of chunks) {
        for (const e of split.push(chunk)) {
          for (const ev of events(e)) {
            out += proc.push(ev);
            exact &&= proc.forwarded;
          }
        }
        exact &&= split.exact;
      }
      // An error event before any content (Anthropic's overloaded_error, typically): another attempt may do better.
      if (!sent && proc.upstreamError) {
        verdict.failure = failure = transient(new GatewayError('upstream_error', `upstream stream error (${dep.name}): ${redactKey(proc.upstreamError, key)}`), res.statusCode);
        return;
      }
      // The provider's error event is relayed, but never with the gateway's key in it (re-encoded, not passed through).
      if (proc.upstreamError && key && out.includes(key)) {
        out = redactKey(out, key);
        exact = false;
      }
      if (out) {
        ttftMs ??= elapsed(ctx);
        sent = true;
        yield exact ? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)) : out;
      }
    }
    if (proc.upstreamError) {
      // The provider's own error event has already been relayed (translated if need be).
      failure = transient(new GatewayError('upstream_error', `upstream stream error (${dep.name}): ${redactKey(proc.upstreamError, key)}`), res.statusCode);
    } else if (!proc.complete) {
      failure = { ...transient(new GatewayError('upstream_bad_response', `upstream stream ended before completion (${dep.name})`), res.statusCode), recordCode: 'stream_cut' };
      if (!sent) {
        verdict.failure = failure;
        return;
      }
      finished = true;
      yield streamErrorEvent(ctx, failure.error);
      return;
    }
    finished = true;
    // Always yield once, even an empty tail: the caller commits on the first value.
    yield proc.end();
  } finally {
    settle(o, verdict, { proc, failure, finished, ttftMs });
  }
}

interface Ending {
  proc: ReturnType<typeof createStreamProcessor>;
  failure: AttemptFailure | undefined;
  finished: boolean;
  ttftMs: number | undefined;
}

/**
 * Record the attempt and, for a committed stream, settle the request. Runs exactly once, from the generator's
 * finally: after a clean end, an upstream failure, or the client leaving (return() at a yield, or the aborted read).
 */
function settle(o: RelayOptions, verdict: Verdict, e: Ending): void {
  const { ctx, dep, res } = o;
  const { proc, failure } = e;
  // Anything but a clean end leaves the upstream response unread: release its socket (the simulator sees it close).
  if (!e.finished || failure) res.body.destroy();
  const aborted = failure?.clientAborted === true || (!e.finished && !failure);
  const err = aborted ? undefined : failure?.error;
  const code = aborted ? 'invalid_request' : err ? (failure!.recordCode ?? err.code) : undefined;
  if (verdict.failure) {
    // Not committed: nothing reached the client, and the dispatch loop decides what happens next.
    recordAttempt(ctx, dep, o.start, res.statusCode, 'error', { errorCode: code, errorMessage: aborted ? 'client closed the request' : err?.message });
    return;
  }
  const usage = e.finished && !failure ? (proc.usage() ?? estimateUsage(ctx, dep.model, proc.text)) : incompleteStreamUsage(ctx, dep.model, proc.usage(), proc.text);
  recordAttempt(ctx, dep, o.start, res.statusCode, code ? 'error' : 'ok', { usage, ...(code ? { errorCode: code, errorMessage: aborted ? 'client closed the stream' : err!.message } : {}) });
  if (err) o.breakers.failure(dep.name);
  ctx.settle({
    status: err ? err.status : aborted ? 499 : 200,
    errorCode: code === 'invalid_request' ? 'client_aborted' : code,
    errorMessage: err?.message,
    provider: dep.provider.name,
    deployment: dep.name,
    model: dep.model,
    usage,
    ttftMs: e.ttftMs,
    latencyMs: elapsed(ctx),
    streamed: true,
    clientAborted: aborted,
  });
}
