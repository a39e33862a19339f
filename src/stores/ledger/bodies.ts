/**
 * Opt-in stored bodies (`ledger.storeBodies`): the meter hands each finished chat/messages response here; when storage
 * is on for the call's feature and the call is drawn by `sampleRate` (deterministic per request id), the client's
 * request body (as it sent it, before costgate's own changes) and the response are redacted (redact.ts) and queued on
 * the ledger writer, which commits them with the next batch of rows (no write of its own on the request path; the
 * redaction itself runs just after the response is handed back, so `durability: sync` does not wait for bodies).
 * Headers are never stored. Streams: the answer text is assembled from the SSE events (OpenAI `delta.content`,
 * Anthropic `text_delta`) into a minimal response of the client's wire format; a stream with tool calls, or longer
 * than `maxBytes`, keeps the request only. Not stored: embeddings, deferred (202) calls, costgate's own summary and
 * repair calls, and calls whose redacted request + response exceed `maxBytes`.
 */
import { createHash } from 'node:crypto';
import type { Ctx, GatewayResponse } from '../../pipeline/ctx.js';
import type { BodyRow } from './types.js';
import type { Redactor } from './redact.js';

export interface BodyCaptureOptions {
  enabled: boolean;
  features?: string[];
  sampleRate: number;
  maxBytes: number;
}

/** Deterministic draw in [0, 1) from the request id. */
export function sampleDraw(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}

const text = (b: string | Uint8Array) => (typeof b === 'string' ? b : Buffer.from(b).toString('utf8'));

/** Answer text of an SSE stream in either wire format; undefined when it carried tool calls or no text events. */
export function assembleSse(sse: string): string | undefined {
  let out = '';
  let seen = false;
  for (const line of sse.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (!data || data === '[DONE]') continue;
    let j: any;
    try {
      j = JSON.parse(data);
    } catch {
      continue;
    }
    const d = j?.choices?.[0]?.delta;
    if (d) {
      if (d.tool_calls || d.function_call) return undefined;
      if (typeof d.content === 'string') (out += d.content), (seen = true);
    } else if (j?.type === 'content_block_start' && j.content_block?.type && j.content_block.type !== 'text') return undefined;
    else if (j?.type === 'content_block_delta' && j.delta?.type === 'text_delta' && typeof j.delta.text === 'string') (out += j.delta.text), (seen = true);
  }
  return seen ? out : undefined;
}

export class BodyCapture {
  /** Calls not stored because they were larger than maxBytes (since start). */
  tooLarge = 0;
  stored = 0;

  constructor(
    private readonly o: BodyCaptureOptions,
    private readonly redactor: Redactor,
    private readonly push: (b: BodyRow) => void,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  /** Redaction and queueing run after the response is handed back (setImmediate), never failing or delaying it. */
  private later(f: () => void): void {
    setImmediate(() => {
      try {
        f();
      } catch (e) {
        this.onError(e);
      }
    });
  }

  /** Whether this call's body is kept (feature list and sample draw). */
  wants(ctx: Ctx): boolean {
    if (!this.o.enabled || ctx.endpoint === 'embeddings' || ctx.req.summaryCall || ctx.req.repairCall) return false;
    if (this.o.features && !(ctx.meta.feature !== undefined && this.o.features.includes(ctx.meta.feature))) return false;
    return this.o.sampleRate >= 1 || sampleDraw(ctx.id) < this.o.sampleRate;
  }

  /** Called by the meter with the response it got; returns the response to send (a stream is wrapped to assemble its text). */
  capture(ctx: Ctx, res: GatewayResponse): GatewayResponse {
    if (res.status === 202 || ctx.outcome?.deferred || !this.wants(ctx)) return res;
    if (res.stream) {
      const inner = res.stream;
      const self = this;
      const decoder = new TextDecoder();
      let sse = '';
      let over = false;
      async function* tee(): AsyncGenerator<string | Uint8Array> {
        try {
          for await (const c of inner) {
            if (!over) {
              sse += typeof c === 'string' ? c : decoder.decode(c, { stream: true });
              // The SSE framing is several times the text: cut off well past maxBytes of events.
              if (sse.length > self.o.maxBytes * 8) (over = true), (sse = '');
            }
            yield c;
          }
        } finally {
          void ctx.settled.then(() => self.later(() => self.store(ctx, over ? undefined : assembleSse(sse))));
        }
      }
      return { ...res, stream: tee() };
    }
    const body = res.body;
    this.later(() => this.store(ctx, body === undefined ? undefined : text(body), res.status));
    return res;
  }

  private store(ctx: Ctx, response: string | undefined, status?: number): void {
    // Far over the limit before redaction (which may shorten a body, but not to a quarter): not worth the regexes
    // over megabytes on the event loop.
    const rawBytes = ctx.req.raw?.length ?? 0;
    if (rawBytes > this.o.maxBytes * 4) {
      this.tooLarge++;
      return;
    }
    const counts = new Map<string, number>();
    const request = JSON.stringify(this.redactor.json(ctx.req.body, counts));
    let resp: string | null = null;
    if (response !== undefined) {
      if (ctx.stream) resp = JSON.stringify(this.redactor.json(minimalResponse(ctx, response), counts));
      else {
        try {
          resp = JSON.stringify(this.redactor.json(JSON.parse(response), counts));
        } catch {
          resp = null;
        }
      }
    }
    if (Buffer.byteLength(request) + (resp ? Buffer.byteLength(resp) : 0) > this.o.maxBytes) {
      this.tooLarge++;
      return;
    }
    const o = ctx.outcome;
    this.stored++;
    this.push({
      requestId: ctx.id,
      ts: ctx.startedAt,
      feature: ctx.meta.feature ?? null,
      endpoint: ctx.endpoint,
      surface: ctx.surface,
      requestedModel: ctx.model,
      model: o?.model ?? null,
      status: o?.status ?? status ?? 0,
      cacheStatus: o?.cacheStatus ?? 'miss',
      stream: ctx.stream,
      request,
      response: resp,
      redactions: counts.size ? [...counts].map(([k, n]) => `${k}=${n}`).join(',') : null,
    });
  }
}

/** A stream's assembled text as a minimal non-streaming response of the client's wire format (marked `assembled`). */
function minimalResponse(ctx: Ctx, t: string): unknown {
  return ctx.surface === 'anthropic'
    ? { type: 'message', role: 'assistant', content: [{ type: 'text', text: t }], assembled: true }
    : { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: t }, finish_reason: 'stop' }], assembled: true };
}
