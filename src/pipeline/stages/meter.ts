/**
 * meter: the outermost stage, so it sees every outcome — success, stream end, client abort, and errors thrown by
 * any inner stage (budget rejections, validation, upstream failures). Each request is priced once, when it has
 * settled (for a stream, after its last byte): the response is never held up by metering. Non-streaming responses
 * carry `x-costgate-cost-usd` / `x-costgate-saved-usd` headers; streams carry them as HTTP trailers. Error responses
 * carry them too: an error rethrown from here has them on its headers (what earlier attempts billed, often 0).
 */
import { channel } from 'node:diagnostics_channel';
import type { Stage } from '../compose.js';
import { elapsed, type Ctx } from '../ctx.js';
import { toGatewayError } from '../errors.js';
import { buildRecord, type RecordSink, type RequestRecord } from '../record.js';
import type { Pricer, Priced } from '../../pricing/pricer.js';
import { nanosToUsd } from '../../pricing/decimal.js';

const requestChannel = channel('costgate:request');

export interface MeterOptions {
  pricer: Pricer;
  sinks: RecordSink[];
  /** Called when a sink throws: metering must never break a response. */
  onSinkError?: (e: unknown, rec: RequestRecord) => void;
  /** Sees each response the pipeline returned (opt-in stored bodies); may wrap a stream. A throw never fails the call. */
  capture?: (ctx: Ctx, res: import('../ctx.js').GatewayResponse) => import('../ctx.js').GatewayResponse;
}

const COST_HEADERS = 'x-costgate-cost-usd, x-costgate-saved-usd';

function costHeaders(p: Priced): Record<string, string> {
  return { 'x-costgate-cost-usd': nanosToUsd(p.costNanos), 'x-costgate-saved-usd': nanosToUsd(p.baselineCostNanos - p.costNanos) };
}

/** Opt-in (`x-costgate-include-cost: true`): a `costgate` object in the JSON body. Off by default so strict parsers never see it. */
function withExtension(body: string | Uint8Array, ctx: Ctx, p: Priced): string | Uint8Array {
  try {
    const j = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
    j.costgate = {
      request_id: ctx.id,
      cost_usd: nanosToUsd(p.costNanos),
      saved_usd: nanosToUsd(p.baselineCostNanos - p.costNanos),
      baseline_model: p.baselineModel,
      price_source: p.priceSource,
    };
    return JSON.stringify(j);
  } catch {
    return body;
  }
}

export const meter = (o: MeterOptions): Stage =>
  async function meter(ctx, next) {
    let priced: Priced | undefined;
    const finish = (): Priced => {
      if (priced) return priced;
      // A deferred call is recorded once, when its result lands (the batcher writes that row at batch prices).
      if (ctx.outcome?.deferred) return (priced = { costNanos: 0, baselineModel: null, baselineCostNanos: 0, priceSource: 'deferred', attemptCosts: [] });
      const rec = buildRecord(ctx, ctx.outcome!);
      try {
        priced = o.pricer.price(rec);
      } catch (e) {
        o.onSinkError?.(e, rec);
        priced = { costNanos: 0, baselineModel: null, baselineCostNanos: 0, priceSource: 'pricing-error', attemptCosts: rec.attempts.map(() => 0) };
      }
      for (const sink of o.sinks) {
        try {
          sink(rec, priced);
        } catch (e) {
          o.onSinkError?.(e, rec);
        }
      }
      for (const f of ctx.afterPriced ?? []) {
        try {
          f(priced);
        } catch (e) {
          o.onSinkError?.(e, rec);
        }
      }
      if (requestChannel.hasSubscribers) requestChannel.publish({ record: rec, priced });
      return priced;
    };
    ctx.settled.then(finish);
    try {
      let res = await next();
      if (o.capture) {
        try {
          res = o.capture(ctx, res);
        } catch (e) {
          o.onSinkError?.(e, buildRecord(ctx, ctx.outcome ?? { status: res.status, latencyMs: elapsed(ctx), streamed: false }));
        }
      }
      if (ctx.outcome) {
        const p = finish();
        Object.assign(res.headers, costHeaders(p));
        if (res.body !== undefined && ctx.req.headers['x-costgate-include-cost'] === 'true') res.body = withExtension(res.body, ctx, p);
      } else if (res.stream) {
        res.headers.trailer = COST_HEADERS;
        res.trailers = () => (ctx.outcome ? costHeaders(finish()) : {});
      }
      return res;
    } catch (e) {
      const err = toGatewayError(e);
      const a = ctx.attempts[ctx.attempts.length - 1];
      ctx.settle({
        status: err.status,
        errorCode: err.code,
        errorMessage: err.message,
        provider: a?.provider,
        deployment: a?.deployment,
        model: a?.model,
        latencyMs: elapsed(ctx),
        streamed: false,
      });
      Object.assign(err.headers, costHeaders(finish()));
      throw err;
    }
  };
