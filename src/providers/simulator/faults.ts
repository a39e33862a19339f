/**
 * Fault injection, chosen per request by the `x-sim-fault` header (set it in a deployment's `headers:` to make one
 * deployment flaky) or at random by `faultRate`. Grammar, comma-separated, first match wins:
 *   429[:retryAfterSec]  500  503  status:CODE  timeout  cut-stream[:events]  stream-error[:events]  malformed-json  slow:ms
 * each optionally suffixed `@N` (only the first N requests carrying this exact header value fail) or `%P`
 * (fail with probability P, 0..1).
 *   - `429:0.2` sends `retry-after: 0.2` (fractional seconds keep tests fast; real providers send integers).
 *   - `status:CODE` answers that HTTP status with the provider's error body (400, 401, 404, 413, 422, 529, ...).
 *   - `timeout` never answers: the gateway's first-byte timeout decides.
 *   - `cut-stream:N` sends the headers and N events, then drops the connection (0: before any event; a
 *     non-streaming request gets half its body).
 *   - `stream-error:N` (streaming only) sends N events, then the provider's own in-stream error event, and ends.
 *   - `malformed-json` answers 200 with a truncated JSON body (also to a streaming request).
 */
export type FaultKind = '429' | '500' | '503' | 'status' | 'timeout' | 'cut-stream' | 'stream-error' | 'malformed-json' | 'slow';

export interface Fault {
  kind: FaultKind;
  arg?: number;
}

const KINDS = new Set<FaultKind>(['429', '500', '503', 'status', 'timeout', 'cut-stream', 'stream-error', 'malformed-json', 'slow']);

export function parseFault(spec: string): { fault: Fault; times?: number; prob?: number } | undefined {
  const m = /^([a-z0-9-]+)(?::(\d+(?:\.\d+)?))?(?:@(\d+)|%(\d*(?:\.\d+)?))?$/.exec(spec.trim());
  if (!m || !KINDS.has(m[1] as FaultKind)) return undefined;
  // A bare `%` would be probability 0, silently never firing: treat it as a typo.
  if (m[4] === '') return undefined;
  if (m[1] === 'status' && !(m[2] !== undefined && /^[1-5]\d\d$/.test(m[2]))) return undefined;
  return {
    fault: { kind: m[1] as FaultKind, arg: m[2] !== undefined ? Number(m[2]) : undefined },
    times: m[3] !== undefined ? Number(m[3]) : undefined,
    prob: m[4] !== undefined ? Number(m[4]) : undefined,
  };
}

export class FaultPicker {
  private readonly seen = new Map<string, number>();

  constructor(private readonly random: () => number) {}

  /** The fault for this request, if any. */
  pick(header: string | undefined, rate: number, pool: string[]): Fault | undefined {
    if (header) {
      const count = (this.seen.get(header) ?? 0) + 1;
      this.seen.set(header, count);
      for (const spec of header.split(',')) {
        const f = parseFault(spec);
        if (!f) continue;
        if (f.times !== undefined && count > f.times) continue;
        if (f.prob !== undefined && this.random() >= f.prob) continue;
        return f.fault;
      }
      return undefined;
    }
    if (rate > 0 && pool.length && this.random() < rate) {
      const f = parseFault(pool[Math.floor(this.random() * pool.length)]!);
      return f?.fault;
    }
    return undefined;
  }
}

export { seededRandom } from '../../util/seeded-random.js';
