/**
 * Capped exponential backoff with jitter, and Retry-After parsing (delay-seconds, HTTP-date, or OpenAI's
 * `retry-after-ms`).
 */

/**
 * Delay before retry number `attempt` (1 = the wait after the first failure): the exponential step
 * `baseMs · 2^(attempt-1)` capped at `maxMs`, then "equal jitter" — uniform in [cap/2, cap]. Half the step is kept
 * so a burst of clients that failed together still backs off; the random half spreads them apart.
 *
 * @example backoffDelay(3, 200, 8000, () => 0.5) // 600: cap 800, jittered into [400, 800]
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(cap / 2 + r * (cap / 2));
}

type Headers = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v)?.trim();

/**
 * Retry-After header → ms, or undefined when absent or unparseable. `retry-after-ms` (OpenAI, millisecond precision)
 * wins when it is a valid number; otherwise `retry-after` as delay-seconds or an HTTP-date (a date in the past means
 * "now", i.e. 0).
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const msText = first(headers['retry-after-ms']);
  if (msText) {
    const ms = Number(msText);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  const v = first(headers['retry-after']);
  if (!v) return undefined;
  // Number() would accept "0x10" or "1e3"; delay-seconds are plain decimals.
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  if (/^-?[\d.]+$/.test(v)) return undefined;
  const date = Date.parse(v);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts (a client that left stops waiting). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
