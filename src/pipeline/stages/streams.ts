/**
 * streams: at most `server.maxStreamsPerKey` streaming calls open at once per API key (`ctx.meta.apiKeyId`, set by
 * auth: a virtual key's id, or a fingerprint of another credential). One more is refused with 429 `too_many_streams`
 * before any rate-limit, budget or upstream spend; the slot frees when the stream settles (finished, failed or the
 * client went away). Calls without a credential are not counted. The count is per gateway process.
 */
import type { Stage } from '../compose.js';
import { GatewayError } from '../errors.js';

export interface StreamsStageOptions {
  /** 0: no limit. */
  maxStreamsPerKey: number;
  retryAfterSec?: number;
}

export function streams(o: StreamsStageOptions): Stage & { open(key: string): number } {
  const open = new Map<string, number>();
  const stage = async function streams(ctx: Parameters<Stage>[0], next: Parameters<Stage>[1]) {
    const key = ctx.meta.apiKeyId;
    if (!ctx.stream || key === undefined || o.maxStreamsPerKey <= 0) return next();
    const n = open.get(key) ?? 0;
    if (n >= o.maxStreamsPerKey) {
      ctx.governance.push('refused:streams');
      throw new GatewayError('too_many_streams', `This API key already has ${n} streams open, the most allowed at once (server.maxStreamsPerKey); retry when one finishes.`, {
        retryAfterSec: o.retryAfterSec ?? 1,
        details: { streams: { open: n, limit: o.maxStreamsPerKey, api_key_id: key } },
      });
    }
    open.set(key, n + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const m = (open.get(key) ?? 1) - 1;
      if (m <= 0) open.delete(key);
      else open.set(key, m);
    };
    ctx.settled.then(release, release);
    try {
      return await next();
    } catch (e) {
      release();
      throw e;
    }
  } as Stage & { open(key: string): number };
  stage.open = (key: string) => open.get(key) ?? 0;
  return stage;
}
