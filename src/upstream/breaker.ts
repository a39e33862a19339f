/**
 * A circuit breaker per deployment. After `failureThreshold` consecutive failures that are the deployment's fault
 * (429, 5xx, timeouts, malformed answers, rejected gateway credentials) the circuit opens and the deployment is
 * skipped for `cooldownMs`; then it half-opens and lets exactly one trial request through. The trial's success
 * closes the circuit, its failure re-opens it for another cooldown.
 *
 *   closed --(threshold failures)--> open --(cooldown)--> half-open --(trial ok)--> closed
 *                                      ^---------------(trial fails)------------'
 *
 * @example
 * const b = new CircuitBreakers(5, 30_000);
 * if (b.allow('openai/gpt-4o')) { try { await call(); b.success('openai/gpt-4o'); } catch { b.failure('openai/gpt-4o'); } }
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

interface Entry {
  failures: number;
  openedAt: number;
  /** When the current half-open trial was let through, or undefined when none is in flight. */
  trialAt: number | undefined;
}

export class CircuitBreakers {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly failureThreshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(failureThreshold >= 1)) throw new RangeError('failureThreshold must be at least 1');
    if (!(cooldownMs >= 0)) throw new RangeError('cooldownMs must be non-negative');
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { failures: 0, openedAt: 0, trialAt: undefined }));
    return e;
  }

  state(key: string): BreakerState {
    const e = this.entries.get(key);
    if (!e || e.failures < this.failureThreshold) return 'closed';
    return this.now() - e.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /**
   * May a request go to this deployment now? Half-open lets one trial through at a time. A trial that never reported
   * back (its caller crashed) is presumed lost after another cooldown, so a leak cannot pin a deployment shut forever.
   */
  allow(key: string): boolean {
    const s = this.state(key);
    if (s === 'closed') return true;
    if (s === 'open') return false;
    const e = this.entry(key);
    const t = this.now();
    if (e.trialAt !== undefined && t - e.trialAt < Math.max(this.cooldownMs, 1)) return false;
    e.trialAt = t;
    return true;
  }

  /** Ms until an open circuit half-opens (0 when it is not open). */
  remainingMs(key: string): number {
    const e = this.entries.get(key);
    if (!e || this.state(key) !== 'open') return 0;
    return Math.max(0, e.openedAt + this.cooldownMs - this.now());
  }

  /** The deployment answered (even with a client error): it is reachable, so the failure streak ends. */
  success(key: string): void {
    const e = this.entries.get(key);
    if (e) {
      e.failures = 0;
      e.trialAt = undefined;
    }
  }

  failure(key: string): void {
    const e = this.entry(key);
    e.trialAt = undefined;
    e.failures += 1;
    if (e.failures >= this.failureThreshold) e.openedAt = this.now();
  }

  /** The request ended without telling anything about the deployment (client went away): free a trial slot. */
  release(key: string): void {
    const e = this.entries.get(key);
    if (e) e.trialAt = undefined;
  }
}
