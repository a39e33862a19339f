/**
 * `npm run bench:dashboard`: how long the dashboard's two JSON endpoints take over a large ledger. Writes `--rows`
 * synthetic rows (default 200,000, spread over 30 days, 8 models, 20 features, 500 users, 1 in 10 retried) into a
 * SQLite ledger file in a temp directory (or Postgres with `--store postgres`, in a private schema that is dropped),
 * then times `timeseries` (48 h hourly by model, 30 d daily by feature) and `overview` (48 h, 30 d) — what one page
 * load asks for — each run 5 times; prints the median.
 *
 * @example
 * npm run bench:dashboard
 * npm run bench:dashboard -- --rows 1000000 --store postgres
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { SqliteLedger } from '../src/stores/ledger/sqlite.js';
import { PostgresLedger } from '../src/stores/ledger/postgres.js';
import type { LedgerStore, AttemptRow } from '../src/stores/ledger/types.js';
import { MemoryBudgetStore } from '../src/stores/budgets/memory.js';
import { timeseries, overview } from '../src/observability/dashboard/data.js';
import { makeRow } from '../test/fixtures/ledger-rows.js';

const { values } = parseArgs({ options: { rows: { type: 'string' }, store: { type: 'string' } } });
const ROWS = Number(values.rows ?? 200_000);
const KIND = values.store ?? 'sqlite';
const DAY = 86_400_000;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-dash-bench-'));
  const schema = `costgate_bench_${randomBytes(4).toString('hex')}`;
  const store: LedgerStore = KIND === 'postgres' ? new PostgresLedger(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', schema) : new SqliteLedger(join(dir, 'ledger.db'));
  await store.init();
  const now = Date.now();
  try {
    const t0 = performance.now();
    for (let start = 0; start < ROWS; start += 5000) {
      const rows = [];
      const attempts: AttemptRow[] = [];
      for (let i = start; i < Math.min(ROWS, start + 5000); i++) {
        const r = makeRow({
          uid: `b-${i}`, requestId: `b-${i}`, ts: now - Math.floor(((i * 7919) % ROWS) / ROWS * 30 * DAY), model: `model-${i % 8}`, feature: `feature-${i % 20}`,
          user: `user-${i % 500}`, team: `team-${i % 5}`, status: i % 50 === 0 ? 502 : 200, cacheStatus: i % 9 === 0 ? 'exact' : 'miss', costNanos: 1000 + (i % 997) * 100,
        });
        rows.push(r);
        if (i % 10 === 0) attempts.push({ uid: r.uid, n: 1, ts: r.ts, deployment: 'd', provider: 'p', model: r.model!, status: 503, outcome: 'error', errorType: 'x', latencyMs: 1, inputTokens: 0, outputTokens: 0, costNanos: 500 });
        attempts.push({ uid: r.uid, n: i % 10 === 0 ? 2 : 1, ts: r.ts, deployment: 'd', provider: 'p', model: r.model!, status: 200, outcome: 'ok', errorType: null, latencyMs: 1, inputTokens: 0, outputTokens: 0, costNanos: r.costNanos });
      }
      await store.write(rows, attempts);
    }
    console.log(`${KIND}: wrote ${ROWS} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const deps = { ledger: store, budgets: [], budgetStore: new MemoryBudgetStore() };
    const cases: [string, () => Promise<unknown>][] = [
      ['timeseries 48h hourly by model', () => timeseries(store, { since: now - 2 * DAY }, 'hour', 'model', now)],
      ['timeseries 30d daily by feature', () => timeseries(store, { since: now - 30 * DAY }, 'day', 'feature', now)],
      ['overview 48h', () => overview(deps, { since: now - 2 * DAY }, 'hour', now)],
      ['overview 30d', () => overview(deps, { since: now - 30 * DAY }, 'day', now)],
    ];
    for (const [name, fn] of cases) {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await fn();
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      console.log(`${name.padEnd(34)} median ${ms[2]!.toFixed(0).padStart(6)} ms   (min ${ms[0]!.toFixed(0)}, max ${ms[4]!.toFixed(0)})`);
    }
  } finally {
    if (store instanceof PostgresLedger) await store.dropSchema();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
