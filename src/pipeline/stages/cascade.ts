/**
 * cascade: wraps the dispatch stage. For a call the engine sent to a cascade, the weak deployments answer first; the
 * answer is verified (routing.cascade.verifiers) before anything reaches the client, and on a failure — or when the
 * weak deployments fail outright — the call is dispatched once more to the strong deployments. Both attempts are in
 * the ledger (the weak one as outcome `rejected`, its cost counted in the call's); the client gets one answer.
 * Streams (`cascade.stream`): `buffer` (default) runs both attempts without streaming and replays the accepted answer
 * to the client as an SSE stream in its wire format (the first byte waits for the verified answer); `strong` sends
 * a streaming call straight to the strong model.
 */
import type { Stage } from '../compose.js';
import type { Ctx, GatewayResponse, Outcome } from '../ctx.js';
import { replayEvents } from '../../cache/replay.js';
import type { RoutingConfig } from '../../config/routing-schema.js';
import { routeInput } from '../../routing/signals.js';
import { readAnswer, verifyAnswer } from '../../routing/verify.js';

type Json = Record<string, any>;

function toolNames(body: Json): string[] {
  return Array.isArray(body.tools) ? body.tools.map((t: Json) => String(t.function?.name ?? t.name ?? '')).filter(Boolean) : [];
}

/** The same call without streaming: attempts, route and settle are the real context's (read through the prototype). */
function unstreamed(ctx: Ctx): Ctx {
  const body: Json = { ...ctx.body, stream: false };
  delete body.stream_options;
  return Object.create(ctx, { stream: { value: false }, body: { value: body, writable: true }, bodyChanged: { value: true, writable: true } }) as Ctx;
}

async function* events(list: string[]): AsyncIterable<string> {
  yield* list;
}

/** A whole JSON answer as the SSE stream the client asked for. */
function asStream(ctx: Ctx, res: GatewayResponse): GatewayResponse {
  if (res.body === undefined || res.status !== 200) return res;
  const text = typeof res.body === 'string' ? res.body : Buffer.from(res.body).toString('utf8');
  const list = replayEvents(ctx.surface, text, ctx.clientWantsUsage, ctx.outcome?.usage);
  return { status: 200, headers: { ...res.headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, stream: events(list) };
}

export const cascade = (dispatch: Stage, cfg: RoutingConfig['cascade']): Stage =>
  async function cascade(ctx, next) {
    const r = ctx.route;
    const c = r?.cascade;
    if (!r || !c) return dispatch(ctx, next);
    const escalate = (why: string) => {
      r.reason += `; cascade: escalated (${why})`;
      r.deployments = c.deployments;
      r.decision = c.deployments[0]!.name;
    };
    if (ctx.stream && cfg.stream === 'strong') {
      escalate('stream: cascade.stream is strong');
      return dispatch(ctx, next);
    }
    const call = ctx.stream ? unstreamed(ctx) : ctx;
    const out = ctx.stream ? (r: GatewayResponse) => asStream(ctx, r) : (r: GatewayResponse) => r;
    // Hold the weak answer's outcome: the call settles (and is metered) once, with the answer the client gets.
    const settle = ctx.settle;
    let held: Outcome | undefined;
    ctx.settle = (o) => void (held ??= o);
    let res;
    try {
      res = await dispatch(call, next);
    } catch (e) {
      ctx.settle = settle;
      if (held || ctx.req.signal?.aborted) {
        if (held) settle(held);
        throw e;
      }
      escalate(`weak failed: ${(e as Error).message.slice(0, 120)}`);
      return out(await dispatch(call, next));
    }
    ctx.settle = settle;
    let verdict: { verifier: string; why: string } | undefined;
    try {
      const text = typeof res.body === 'string' ? res.body : Buffer.from(res.body ?? '').toString('utf8');
      verdict = verifyAnswer(readAnswer(JSON.parse(text)), routeInput(ctx.body), { ...cfg, toolNames: toolNames(ctx.body) });
    } catch {
      verdict = { verifier: 'json', why: 'answer body is not JSON' };
    }
    if (!verdict) {
      r.reason += '; cascade: weak answer accepted';
      res.headers['x-costgate-cascade'] = 'accepted';
      settle(held!);
      return out(res);
    }
    const a = [...ctx.attempts].reverse().find((x) => x.outcome === 'ok');
    if (a) Object.assign(a, { outcome: 'rejected', errorCode: 'cascade_rejected', errorMessage: `${verdict.verifier}: ${verdict.why}` });
    escalate(`${verdict.verifier}: ${verdict.why}`);
    const strong = await dispatch(call, next);
    strong.headers['x-costgate-cascade'] = `escalated:${verdict.verifier}`;
    return out(strong);
  };
