/**
 * Capacity admission by priority, per gateway process. A slot is held from admission until the call settles (a
 * stream holds it to its last byte). With `maxInFlight` N:
 *  - critical: always admitted (it may take the gateway past N);
 *  - important: admitted below N, else waits in a bounded FIFO queue until a slot frees or `timeoutMs` passes;
 *  - optional: admitted only below `optionalShedAt` × N and when nobody is queued, else shed at once.
 */
import type { Priority } from '../pipeline/ctx.js';

export type Admit =
  | { ok: true; queuedMs?: number }
  | { ok: false; reason: 'capacity' | 'queue_full' | 'queue_timeout' | 'aborted'; queuedMs?: number };

interface Waiter {
  resolve: (granted: boolean) => void;
  since: number;
}

export interface AdmissionOptions {
  maxInFlight: number;
  optionalShedAt: number;
  queueMax: number;
  queueTimeoutMs: number;
}

export class Admission {
  private active = 0;
  private readonly queue: Waiter[] = [];
  readonly optionalLimit: number;

  constructor(private readonly o: AdmissionOptions) {
    this.optionalLimit = Math.max(1, Math.floor(o.maxInFlight * o.optionalShedAt));
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Ask for a slot; on `ok` the caller must call `release()` exactly once when the call settles. */
  async acquire(priority: Priority, signal?: AbortSignal): Promise<Admit> {
    const { maxInFlight } = this.o;
    if (maxInFlight <= 0 || priority === 'critical') {
      this.active++;
      return { ok: true };
    }
    if (priority === 'optional') {
      if (this.active < this.optionalLimit && this.queue.length === 0) {
        this.active++;
        return { ok: true };
      }
      return { ok: false, reason: 'capacity' };
    }
    if (this.active < maxInFlight && this.queue.length === 0) {
      this.active++;
      return { ok: true };
    }
    if (this.queue.length >= this.o.queueMax) return { ok: false, reason: 'queue_full' };
    const since = performance.now();
    const granted = await new Promise<boolean | 'aborted'>((resolve) => {
      const w: Waiter = { resolve: (g) => done(g), since };
      const timer = setTimeout(() => done(false), this.o.queueTimeoutMs);
      const onAbort = () => done('aborted');
      const done = (g: boolean | 'aborted') => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.queue.indexOf(w);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(g);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(w);
    });
    const queuedMs = Math.round((performance.now() - since) * 1000) / 1000;
    if (granted === true) return { ok: true, queuedMs };
    return { ok: false, reason: granted === 'aborted' ? 'aborted' : 'queue_timeout', queuedMs };
  }

  release(): void {
    this.active--;
    // Hand the freed slot straight to the oldest waiter (the slot count is unchanged).
    while (this.queue.length && this.active < this.o.maxInFlight) {
      const w = this.queue.shift()!;
      this.active++;
      w.resolve(true);
    }
  }
}
