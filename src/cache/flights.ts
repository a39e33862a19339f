/**
 * In-flight deduplication. The first request with a given key leads: it goes upstream. Identical requests that
 * arrive while it is in flight follow: they wait for its answer instead of calling upstream again.
 *
 * - A JSON answer is handed to every follower as it is.
 * - A stream is teed: one pump reads the leader's stream into a buffer, and every participant (the leader's client
 *   included) reads the buffer from the beginning, chunk for chunk, at its own pace. Followers may join until the
 *   stream ends. The pump does not depend on any one reader: the upstream call is cancelled only when every
 *   participant has gone.
 * - The leader failing before it answers (an error response, a stream that failed before its first event) does not
 *   fail its followers: they try again, and one of them becomes the next leader — at most `maxGenerations` times,
 *   after which they get the last leader's error. A client error (4xx other than 408/429) is the same for every
 *   identical request, so followers get it at once. A stream that fails after it started is the same stream for
 *   everyone: followers see the same in-stream error event.
 */
import type { GatewayResponse, Outcome } from '../pipeline/ctx.js';

export type FlightResult =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: string | Uint8Array; outcome?: Outcome }
  | { kind: 'stream'; headers: Record<string, string>; tee: Tee; outcome: () => Outcome | undefined }
  | { kind: 'failed'; error: unknown; retryable: boolean };

export interface Flight {
  readonly result: Promise<FlightResult>;
  /** Abort signals of everyone waiting on this flight; the upstream is cancelled when all have fired. */
  join(signal: AbortSignal | undefined): void;
}

/** A buffered stream many readers consume from the start. */
export class Tee {
  private readonly chunks: (string | Uint8Array)[] = [];
  private ended = false;
  private waiters: (() => void)[] = [];
  private readers = 0;
  private cancelled = false;

  constructor(private readonly source: AsyncIterator<string | Uint8Array>) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        if (this.cancelled) {
          await this.source.return?.();
          break;
        }
        const r = await this.source.next();
        if (r.done) break;
        this.chunks.push(r.value);
        this.wake();
      }
    } catch {
      /* the relay reports a failure in-stream before it throws; nothing more to hand out */
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get done(): boolean {
    return this.ended;
  }

  /** A reader from the first chunk. `onEnd(complete)` runs once: true when it read to the end. */
  reader(onEnd?: (complete: boolean) => void): AsyncIterableIterator<string | Uint8Array> {
    this.readers++;
    let i = 0;
    let closed = false;
    const close = (complete: boolean) => {
      if (closed) return;
      closed = true;
      if (--this.readers === 0 && !this.ended) this.cancelled = true;
      onEnd?.(complete);
    };
    const it: AsyncIterableIterator<string | Uint8Array> = {
      next: async () => {
        for (;;) {
          if (closed) return { done: true, value: undefined };
          if (i < this.chunks.length) return { done: false, value: this.chunks[i++]! };
          if (this.ended) {
            close(true);
            return { done: true, value: undefined };
          }
          await new Promise<void>((r) => this.waiters.push(r));
        }
      },
      return: async () => {
        close(false);
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }
}

export class Flights {
  private readonly map = new Map<string, Flight & { resolve(r: FlightResult): void }>();

  get size(): number {
    return this.map.size;
  }

  get(key: string): Flight | undefined {
    return this.map.get(key);
  }

  /**
   * Start leading `key`. Returns the flight's abort signal (fires when every participant has left) and `finish`,
   * which hands the result to the followers; `done()` removes the flight (after a stream ends, or at once).
   */
  lead(key: string, leaderSignal: AbortSignal | undefined): { signal: AbortSignal; finish(r: FlightResult): void; done(): void } {
    const ac = new AbortController();
    let resolve!: (r: FlightResult) => void;
    const result = new Promise<FlightResult>((r) => (resolve = r));
    let live = 0;
    const join = (s: AbortSignal | undefined) => {
      live++;
      if (!s) return;
      const gone = () => {
        if (--live === 0) ac.abort(s.reason);
      };
      if (s.aborted) gone();
      else s.addEventListener('abort', gone, { once: true });
    };
    const f = { result, join, resolve };
    this.map.set(key, f);
    join(leaderSignal);
    return {
      signal: ac.signal,
      finish: (r) => resolve(r),
      done: () => {
        if (this.map.get(key) === f) this.map.delete(key);
      },
    };
  }
}

/** The error status a follower must not retry: the same request fails the same way. */
export function sameForAll(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429 && status !== 499;
}

export function responseOf(r: Extract<FlightResult, { kind: 'json' }>): GatewayResponse {
  return { status: r.status, headers: { ...r.headers }, body: r.body };
}
