/**
 * A fetch-compatible front for the in-process gateway, so official SDKs run every policy with no HTTP hop:
 *
 * @example
 * const gw = await createGateway();
 * const client = new OpenAI({ apiKey: 'unused', baseURL: 'http://costgate.local/v1', fetch: gw.fetch });
 */
import type { Gateway } from '../gateway.js';
import { routeRequest } from '../server/routes.js';

export function createFetch(gw: Gateway): typeof globalThis.fetch {
  return async function costgateFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => (headers[k] = v));
    const raw = req.method === 'GET' || req.method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await req.arrayBuffer());
    const out = await routeRequest(gw, { method: req.method, path: url.pathname, headers, raw, signal: init?.signal ?? req.signal });
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
    return new Response((out.body ?? null) as BodyInit | null, { status: out.status, headers: out.headers });
  };
}
