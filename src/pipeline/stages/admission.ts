/**
 * admission: the last stage before dispatch. Under the gateway's capacity limit (`priorities.maxInFlight`), sheds
 * optional calls (503 + Retry-After), queues important ones (bounded, with a timeout) and always admits critical
 * ones (see governance/admission.ts). Every shed and every wait is recorded in the ledger (`governance`, `queue_ms`).
 */
import type { Stage } from '../compose.js';
import { GatewayError } from '../errors.js';
import type { Admission } from '../../governance/admission.js';

export interface AdmissionStageOptions {
  admission: Admission;
  retryAfterSec: number;
}

const WHY = {
  capacity: 'the gateway is at its capacity for optional calls',
  queue_full: 'the gateway is at capacity and its queue for important calls is full',
  queue_timeout: 'the gateway stayed at capacity for longer than important calls may wait',
  aborted: 'the client went away while the call waited for capacity',
} as const;

export const admission = (o: AdmissionStageOptions): Stage =>
  async function admission(ctx, next) {
    const priority = ctx.meta.priority ?? 'important';
    const a = await o.admission.acquire(priority, ctx.req.signal);
    if (a.queuedMs !== undefined) ctx.queueMs = a.queuedMs;
    if (!a.ok) {
      ctx.governance.push(`shed:${a.reason}`);
      throw new GatewayError('load_shed', `Shed (${priority} priority): ${WHY[a.reason]}. Retry after ${o.retryAfterSec} s, or send it as x-costgate-priority: critical if it cannot wait.`, {
        retryAfterSec: o.retryAfterSec,
        headers: { 'x-costgate-shed': a.reason },
        details: { shed: { reason: a.reason, priority, in_flight: o.admission.inFlight, queued: o.admission.queued, queued_ms: a.queuedMs ?? 0 } },
      });
    }
    if (a.queuedMs !== undefined) ctx.governance.push(`queued:capacity`);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      o.admission.release();
    };
    ctx.settled.then(release, release);
    try {
      const res = await next();
      if (a.queuedMs !== undefined) res.headers['x-costgate-queued-ms'] = String(Math.round(a.queuedMs));
      return res;
    } catch (e) {
      // The meter settles a thrown call after this returns; free the slot now so the next waiter starts at once.
      release();
      throw e;
    }
  };
