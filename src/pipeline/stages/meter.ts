/**
 * meter: the outermost stage, so it sees every outcome — success, stream end, client abort, and errors thrown by
 * any inner stage (budget rejections, validation, upstream failures). Records are written when the request has
 * settled, which for a stream is after its last byte: the response is never held up by metering.
 */
import { channel } from 'node:diagnostics_channel';
import type { Stage } from '../compose.js';
import { elapsed } from '../ctx.js';
import { toGatewayError } from '../errors.js';
import { buildRecord, type RecordSink, type RequestRecord } from '../record.js';

const requestChannel = channel('costgate:request');

export interface MeterOptions {
  sinks: RecordSink[];
  /** Called when a sink throws: metering must never break a response. */
  onSinkError?: (e: unknown, rec: RequestRecord) => void;
}

export const meter = (o: MeterOptions): Stage =>
  async function meter(ctx, next) {
    ctx.settled.then((outcome) => {
      const rec = buildRecord(ctx, outcome);
      for (const sink of o.sinks) {
        try {
          sink(rec);
        } catch (e) {
          o.onSinkError?.(e, rec);
        }
      }
      if (requestChannel.hasSubscribers) requestChannel.publish(rec);
    });
    try {
      return await next();
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
      throw e;
    }
  };
