/**
 * cascade: wraps the dispatch stage. For a call the engine sent to a cascade, the weak deployments answer first; the
 * answer is verified (routing.cascade.verifiers) before anything reaches the client, and on a failure — or when the
 * weak deployments fail outright — the call is dispatched once more to the strong deployments. Both attempts are in
 * the ledger (the weak one as outcome `rejected`, its cost counted in the call's); the client gets one answer.
 * Streams are not cascaded (their bytes reach the client as they come): they go straight to the strong model.
 */
import type { Stage } from '../compose.js';
import type { Outcome } from '../ctx.js';
import type { RoutingConfig } from '../../config/routing-schema.js';
import { routeInput } from '../../routing/signals.js';
import { readAnswer, verifyAnswer } from '../../routing/verify.js';

type Json = Record<string, any>;

function toolNames(body: Json): string[] {
  return Array.isArray(body.tools) ? body.tools.map((t: Json) => String(t.function?.name ?? t.name ?? '')).filter(Boolean) : [];
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
    if (ctx.stream) {
      escalate('stream: no verification before the client sees it');
      return dispatch(ctx, next);
    }
    // Hold the weak answer's outcome: the call settles (and is metered) once, with the answer the client gets.
    const settle = ctx.settle;
    let held: Outcome | undefined;
    ctx.settle = (o) => void (held ??= o);
    let res;
    try {
      res = await dispatch(ctx, next);
    } catch (e) {
      ctx.settle = settle;
      if (held || ctx.req.signal?.aborted) {
        if (held) settle(held);
        throw e;
      }
      escalate(`weak failed: ${(e as Error).message.slice(0, 120)}`);
      return dispatch(ctx, next);
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
      return res;
    }
    const a = [...ctx.attempts].reverse().find((x) => x.outcome === 'ok');
    if (a) Object.assign(a, { outcome: 'rejected', errorCode: 'cascade_rejected', errorMessage: `${verdict.verifier}: ${verdict.why}` });
    escalate(`${verdict.verifier}: ${verdict.why}`);
    const out = await dispatch(ctx, next);
    out.headers['x-costgate-cascade'] = `escalated:${verdict.verifier}`;
    return out;
  };
