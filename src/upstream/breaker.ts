/**
 * A circuit breaker per deployment: after `failureThreshold` consecutive retryable failures the deployment is
 * skipped for `cooldownMs`; then one trial request is let through (half-open). Success closes it.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

interface Entry {
  failures: number;
  openedAt: number;
  trialInFlight: boolean;
}

export class CircuitBreakers {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly failureThreshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { failures: 0, openedAt: 0, trialInFlight: false }));
    return e;
  }

  state(key: string): BreakerState {
    const e = this.entries.get(key);
    if (!e || e.failures < this.failureThreshold) return 'closed';
    return this.now() - e.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  /** May a request go to this deployment now? In half-open state only one trial at a time. */
  allow(key: string): boolean {
    const s = this.state(key);
    if (s === 'closed') return true;
    if (s === 'open') return false;
    const e = this.entry(key);
    if (e.trialInFlight) return false;
    e.trialInFlight = true;
    return true;
  }

  success(key: string): void {
    const e = this.entries.get(key);
    if (e) {
      e.failures = 0;
      e.trialInFlight = false;
    }
  }

  failure(key: string): void {
    const e = this.entry(key);
    e.trialInFlight = false;
    e.failures += 1;
    if (e.failures >= this.failureThreshold) e.openedAt = this.now();
  }
}
