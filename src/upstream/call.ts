/**
 * One upstream HTTP call on undici's dispatcher, with the attempt's deadlines built in. It replaces
 * `Agent.request()` on the hot path: that wraps every call in an AsyncResource, a Readable stream for the body and
 * (with the timeouts the gateway needs) three AbortSignals, which together cost more CPU than the gateway's own
 * work on a small request. Here one handler object per call receives undici's callbacks directly; the body is a
 * small pull queue with backpressure (undici's parser pauses while unread data exceeds BODY_HIGH_WATER).
 *
 * What may end a call early: the client leaving (its AbortSignal), the first-byte budget (dispatch → headers, on a
 * precise timer: undici's own headersTimeout runs on a ~1 s timer wheel and stays as a backstop) and the total
 * budget (dispatch → last byte). A call aborted that way fails with the signal's reason, or with a DOMException
 * named TimeoutError for the budgets, exactly as `request()` with `AbortSignal.any`/`AbortSignal.timeout` did. 0
 * disables a budget, as in undici.
 */
import { util, type Dispatcher } from 'undici';

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

export interface UpstreamResponse {
  statusCode: number;
  headers: UpstreamHeaders;
  body: UpstreamBody;
}

export interface CallOptions {
  origin: string;
  path: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Aborts the call when the client goes away. */
  signal?: AbortSignal;
  firstByteMs: number;
  totalMs: number;
}

/** Unread body bytes above which undici is asked to pause reading the socket. */
const BODY_HIGH_WATER = 64 * 1024;

const timeoutError = (what: string) => new DOMException(what, 'TimeoutError');

/** `dispatcher.dispatch` as a promise of the response head; the body is read from `body`. */
export function callUpstream(dispatcher: Dispatcher, o: CallOptions): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const call = new Call(o, resolve, reject);
    if (call.settled) return;
    dispatcher.dispatch({ origin: o.origin, path: o.path, method: o.method, headers: o.headers, body: o.body ?? null }, call as unknown as Dispatcher.DispatchHandler);
  });
}

/** undici's (v7 "legacy", the core's native) handler interface, plus the call's deadlines. */
class Call {
  /** The head promise is resolved or rejected. */
  settled = false;
  /** Completed, failed or aborted: nothing more will arrive. */
  private over = false;
  private abortFn: ((err?: Error) => void) | undefined;
  private reason: unknown;
  private body: UpstreamBody | undefined;
  private firstByteTimer: NodeJS.Timeout | undefined;
  private totalTimer: NodeJS.Timeout | undefined;
  private readonly client: AbortSignal | undefined;
  private readonly onClientAbort = (): void => this.abort(this.client!.reason);

  constructor(
    o: CallOptions,
    private readonly resolve: (r: UpstreamResponse) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.client = o.signal;
    if (o.signal?.aborted) {
      this.over = this.settled = true;
      reject(o.signal.reason);
      return;
    }
    o.signal?.addEventListener('abort', this.onClientAbort, { once: true });
    if (o.firstByteMs > 0) this.firstByteTimer = setTimeout(() => this.abort(timeoutError('first byte timeout')), o.firstByteMs);
    if (o.totalMs > 0) {
      this.totalTimer = setTimeout(() => this.abort(timeoutError('The operation was aborted due to timeout')), o.totalMs);
      this.totalTimer.unref();
    }
  }

  /** Stop the call (deadline, client gone, body no longer wanted); the head promise or the body fails with `reason`. */
  abort(reason: unknown): void {
    if (this.over) return;
    this.reason = reason;
    if (this.abortFn) {
      this.abortFn(reason as Error); // undici calls onError(reason) synchronously
      return;
    }
    // Not on a socket yet (queued for a connection): fail now, and cancel it as soon as undici hands it a socket.
    this.finish();
    this.fail(reason);
  }

  private finish(): void {
    this.over = true;
    clearTimeout(this.firstByteTimer);
    clearTimeout(this.totalTimer);
    this.client?.removeEventListener('abort', this.onClientAbort);
  }

  private fail(err: unknown): void {
    if (this.body) this.body.fail(err);
    else if (!this.settled) {
      this.settled = true;
      this.reject(err);
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.over) abort((this.reason as Error) ?? new Error('aborted'));
    else this.abortFn = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the real head follows
    clearTimeout(this.firstByteTimer);
    this.body = new UpstreamBody(resume, (r) => this.abort(r));
    this.settled = true;
    this.resolve({ statusCode, headers: util.parseHeaders(rawHeaders) as UpstreamHeaders, body: this.body });
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.body!.push(chunk);
  }

  onComplete(): void {
    this.finish();
    this.body!.end();
  }

  onError(err: Error): void {
    this.finish();
    // After our own abort the reason is what callers see (a timeout, the client's reason), not undici's wrapper.
    this.fail(this.reason !== undefined ? this.reason : err);
  }
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * A response body: read it whole (`bytes`, `text`) or chunk by chunk (async iteration). `destroy()` before the end
 * aborts the call, which closes the upstream connection (the upstream sees the stream abandoned).
 */
export class UpstreamBody implements AsyncIterableIterator<Buffer> {
  private chunks: Buffer[] = [];
  private queued = 0;
  private paused = false;
  private ended = false;
  private error: { e: unknown } | undefined;
  private destroyed = false;
  private waiter: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: unknown) => void } | undefined;
  private collector: { resolve: (b: Buffer) => void; reject: (e: unknown) => void } | undefined;

  constructor(
    private readonly resume: () => void,
    private readonly abortCall: (reason: unknown) => void,
  ) {}

  /** From undici: one chunk; false asks it to pause until `resume()`. */
  push(chunk: Buffer): boolean {
    if (this.destroyed) return true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: chunk, done: false });
      return true;
    }
    this.chunks.push(chunk);
    this.queued += chunk.length;
    if (!this.collector && this.queued > BODY_HIGH_WATER) {
      this.paused = true;
      return false;
    }
    return true;
  }

  end(): void {
    this.ended = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(DONE);
    }
    if (this.collector) {
      const c = this.collector;
      this.collector = undefined;
      c.resolve(this.take());
    }
  }

  fail(e: unknown): void {
    if (this.ended || this.error || this.destroyed) return;
    this.error = { e };
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(e);
    }
    if (this.collector) {
      const c = this.collector;
      this.collector = undefined;
      c.reject(e);
    }
  }

  private take(): Buffer {
    const b = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.queued);
    this.chunks = [];
    this.queued = 0;
    return b;
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.chunks.length > 0) {
      const value = this.chunks.shift()!;
      this.queued -= value.length;
      if (this.paused && this.queued <= BODY_HIGH_WATER / 2) {
        this.paused = false;
        this.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.destroyed || (this.ended && !this.error)) return Promise.resolve(DONE);
    if (this.error) return Promise.reject(this.error.e);
    if (this.waiter) return Promise.reject(new Error('UpstreamBody: concurrent next()'));
    if (this.paused) {
      this.paused = false;
      this.resume();
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The chunks already received and not read yet (none to wait for): lets a reader take a whole socket read at once. */
  drain(): Buffer[] {
    if (this.chunks.length === 0) return [];
    const out = this.chunks;
    this.chunks = [];
    this.queued = 0;
    if (this.paused) {
      this.paused = false;
      this.resume();
    }
    return out;
  }

  return(): Promise<IteratorResult<Buffer>> {
    this.destroy();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The whole (remaining) body. */
  bytes(): Promise<Buffer> {
    if (this.error) return Promise.reject(this.error.e);
    if (this.ended) return Promise.resolve(this.take());
    if (this.destroyed) return Promise.reject(new Error('body destroyed'));
    return new Promise((resolve, reject) => {
      this.collector = { resolve, reject };
      if (this.paused) {
        this.paused = false;
        this.resume();
      }
    });
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  /** Stop reading: an unfinished call is aborted (its connection closed); a finished one just drops its data. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.chunks = [];
    this.queued = 0;
    const w = this.waiter;
    const c = this.collector;
    this.waiter = this.collector = undefined;
    w?.resolve(DONE);
    c?.reject(new Error('body destroyed'));
    if (!this.ended && !this.error) this.abortCall(new Error('upstream body discarded'));
  }
}
