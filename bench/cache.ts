/**
 * `npm run bench:cache`: hit-path latency vs miss, through the HTTP gateway on loopback, for each cache store.
 * The upstream is the in-process simulator answering at once (ttft 0, 0 ms per token), so a miss measures the
 * gateway's own path plus the simulator's work; a hit never leaves the gateway. Sequential requests (one at a time),
 * so the numbers are latencies, not throughput under load.
 *
 * @example
 * npm run bench:cache                 # 400 requests per case
 * npm run bench:cache -- --n 1000 --stores memory,sqlite
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createGateway } from '../src/gateway.js';
import { startHttpServer } from '../src/server/http.js';

const { values } = parseArgs({ options: { n: { type: 'string' }, stores: { type: 'string' } } });
const N = Number(values.n ?? 400);
const STORES = (values.stores ?? 'memory,sqlite,redis').split(',');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function time(url: string, body: unknown): Promise<{ ms: number; cache: string | null }> {
  const t = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return { ms: performance.now() - t, cache: res.headers.get('x-costgate-cache') };
}

const dir = mkdtempSync(join(tmpdir(), 'cg-bench-cache-'));
const rows: string[] = [];
try {
  for (const kind of STORES) {
    const store = kind === 'sqlite' ? { kind, path: join(dir, 'cache.db') } : kind === 'redis' ? { kind, url: process.env.REDIS_URL || 'redis://127.0.0.1:6379', prefix: `cgbench:${randomBytes(4).toString('hex')}:` } : { kind };
    const gw = await createGateway({ env: {}, config: { providers: { sim: { type: 'simulator', simulator: { ttftMs: 0, perTokenMs: 0 } } }, ledger: { store: 'memory' }, cache: { enabled: true, store } } as never });
    const http = await startHttpServer(gw, { host: '127.0.0.1', port: 0 });
    const url = `${http.url}/v1/chat/completions`;
    const q = (i: number, stream: boolean) => ({ model: 'gpt-4o-mini', temperature: 0, max_tokens: 64, messages: [{ role: 'user', content: `Benchmark question number ${i}: what is the boiling point of water?` }], ...(stream ? { stream: true } : {}) });
    for (const stream of [false, true]) {
      // Warm-up (JIT, connections, tokenizer tables).
      for (let i = 0; i < 50; i++) await time(url, q(-1 - i, stream));
      const miss: number[] = [];
      const hit: number[] = [];
      const base = stream ? 1_000_000 : 0;
      for (let i = 0; i < N; i++) {
        const m = await time(url, q(base + i, stream));
        if (m.cache !== 'miss') throw new Error(`expected a miss, got ${m.cache}`);
        miss.push(m.ms);
      }
      for (let i = 0; i < N; i++) {
        const h = await time(url, q(base + i, stream));
        if (h.cache !== 'hit') throw new Error(`expected a hit, got ${h.cache}`);
        hit.push(h.ms);
      }
      const f = (xs: number[]) => `${pct(xs, 50).toFixed(2)} | ${pct(xs, 90).toFixed(2)} | ${pct(xs, 99).toFixed(2)}`;
      rows.push(`| ${kind} | ${stream ? 'stream' : 'JSON'} | ${f(miss)} | ${f(hit)} | ${(pct(miss, 50) / pct(hit, 50)).toFixed(1)}× |`);
      console.error(rows.at(-1));
    }
    await http.close(1000);
    await gw.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`requests per case: ${N} misses then the same ${N} as hits, sequential; simulator upstream at 0 ms`);
console.log('| store | response | miss p50 | p90 | p99 ms | hit p50 | p90 | p99 ms | miss/hit p50 |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
