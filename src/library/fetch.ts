/**
 * A fetch-compatible front for the in-process gateway, so official SDKs run every policy with no HTTP hop:
 *
 * @example
 * const gw = await createGateway();
 * const client = new OpenAI({ apiKey: 'unused', baseURL: 'http://costgate.local/v1', fetch: gw.fetch });
 */
import type { Gateway } from '../gateway.js';
import { routeRequest } from '../server/routes.js';

const NULL_BODY = new Set([101, 204, 205, 304]);

export function createFetch(gw: Gateway): typeof globalThis.fetch {
  return async function costgateFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    // As with fetch, `init` overrides a Request's own fields; `duplex` is what Node requires for a streamed body.
    const req = new Request(input, init?.body instanceof ReadableStream ? ({ ...init, duplex: 'half' } as RequestInit) : init);
    // As fetch does: an already-aborted signal rejects with its reason, and nothing is sent. The caller's own signal
    // (init's, else the Request's) is checked so the reason is the very object it was aborted with.
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? req.signal;
    if (signal.aborted) throw signal.reason;
    const url = new URL(req.url);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => (headers[k] = v));
    const raw = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await req.arrayBuffer());
    const out = await routeRequest(gw, { method: req.method, path: url.pathname, query: url.searchParams, headers, raw, signal: req.signal });
    if (out.stream) {
      const it = out.stream[Symbol.asyncIterator]();
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await it.next();
          if (done) controller.close();
          else controller.enqueue(typeof value === 'string' ? enc.encode(value) : value);
        },
        async cancel() {
          await it.return?.();
        },
      });
      return new Response(body, { status: out.status, headers: out.headers });
    }
    // Statuses that forbid a body make the Response constructor throw if given even an empty one.
    const body = NULL_BODY.has(out.status) ? null : ((out.body ?? null) as BodyInit | null);
    return new Response(body, { status: out.status, headers: out.headers });
  };
}
