/** Test helpers: a gateway + HTTP server on loopback with an in-process simulator, torn down after each suite. */
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.js';
import { startHttpServer, type HttpServer } from '../../src/server/http.js';
import type { RequestRecord } from '../../src/pipeline/record.js';

export interface TestGateway {
  gw: Gateway;
  http: HttpServer;
  url: string;
  records: RequestRecord[];
  /** Wait until `n` records have been written (streams settle after their last byte). */
  waitRecords(n: number, timeoutMs?: number): Promise<RequestRecord[]>;
  close(): Promise<void>;
}

export async function startTestGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const records: RequestRecord[] = [];
  // Tests get a private in-memory ledger unless they ask for another.
  let config = options.config ?? { ledger: { store: 'memory' } };
  if (typeof config === 'object' && !((config as { providers?: unknown }).providers instanceof Map) && !('ledger' in config)) {
    config = { ...config, ledger: { store: 'memory' } } as typeof config;
  }
  const gw = await createGateway({ env: {}, ...options, config, sinks: [(r) => records.push(r), ...(options.sinks ?? [])] });
  const http = await startHttpServer(gw, { host: '127.0.0.1', port: 0 });
  return {
    gw,
    http,
    url: http.url,
    records,
    async waitRecords(n, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (records.length < n) {
        if (Date.now() > end) throw new Error(`expected ${n} records, got ${records.length}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return records;
    },
    async close() {
      await http.close(1000);
      await gw.close();
    },
  };
}

/** Run `fn` against a fresh test gateway, closed afterwards whatever `fn` does. */
export async function withTestGateway(options: GatewayOptions, fn: (t: TestGateway) => Promise<void>): Promise<void> {
  const t = await startTestGateway(options);
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

/** A request's attempts as `deployment:status:outcome`, e.g. `['p:0:upstream_timeout', 'p:200:ok']`. */
export const trail = (rec: RequestRecord): string[] => rec.attempts.map((a) => `${a.deployment}:${a.status}:${a.outcome === 'ok' ? 'ok' : a.errorCode}`);

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
