/**
 * Durability of deferred requests: the real CLI runs as a child process (SQLite ledger and queue in a temp dir, the
 * simulator in this process so it outlives the gateway). 20 deferred requests are accepted (202), then the child is
 * killed with SIGKILL at each stage — right after accepting, after the JSONL upload, after the provider accepted the
 * batch (before costgate recorded it), after results were stored (before the ledger), after the ledger write (before
 * it was marked) — and started again. Every time: every job completes, the ledger has exactly one row per job (batch
 * priced), and the provider received each line exactly once (nothing submitted, so nothing billed, twice).
 */
import { startCliGateway } from './helpers/cli.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startSimulator, type Simulator } from '../src/providers/simulator/server.js';
import { PG_URL, requirePostgres } from './helpers/services.js';

const N = 20;

interface Child {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

const startCli = (cfgPath: string, dir: string, env: NodeJS.ProcessEnv): Promise<Child> => startCliGateway(cfgPath, dir, env);

async function defer(url: string, i: number, point: string): Promise<string> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-costgate-defer': '6h', 'x-costgate-feature': 'crash', 'x-costgate-request-id': `crash-${point}-${i}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: `classify item ${i}` }] }),
  });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  return (JSON.parse(text) as { id: string }).id;
}

async function waitDone(url: string, n: number, timeoutMs = 30_000): Promise<Record<string, number>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${url}/v1/costgate/deferred`);
    const { counts } = (await r.json()) as { counts: Record<string, number> };
    if (counts.done === n) return counts;
    if (Date.now() > end) throw new Error(`not done: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const CASES: { point: string; store: 'sqlite' | 'postgres' }[] = [
  ...['accepted', 'uploaded', 'submitted', 'results', 'ledgered'].map((point) => ({ point, store: 'sqlite' as const })),
  // The queue follows a Postgres ledger into its schema.
  ...['submitted', 'results'].map((point) => ({ point, store: 'postgres' as const })),
];

for (const { point, store } of CASES) {
  test(`SIGKILL at '${point}' loses no deferred request and charges none twice (${store} ledger and queue)`, { timeout: 90_000 }, async (t) => {
    if (store === 'postgres' && !(await requirePostgres())) return void t.skip(`postgres unreachable at ${PG_URL}`);
    const schema = `cg_batch_${randomBytes(4).toString('hex')}`;
    const dir = mkdtempSync(join(tmpdir(), `cg-batch-crash-${point}-`));
    const sim: Simulator = await startSimulator({ batchCompletionMs: 300 });
    const children: Child[] = [];
    try {
      const cfgPath = join(dir, 'costgate.json');
      writeFileSync(
        cfgPath,
        JSON.stringify({
          server: { port: 0 },
          providers: { sim: { type: 'simulator', baseUrl: sim.baseUrl } },
          ledger: store === 'sqlite' ? { store: 'sqlite', path: join(dir, 'ledger.db') } : { store: 'postgres', url: 'env:DATABASE_URL', schema },
          // All N are accepted before anything is flushed (however slow the machine): the batch fills on size, not age.
          // 'accepted': never fills, so the test kills the gateway with everything still queued.
          batch: { maxAgeMs: 60_000, maxBatchSize: point === 'accepted' ? 1000 : N, tickMs: 50, pollIntervalMs: 50, fallbackMarginMs: 0 },
        }),
      );
      const env = store === 'postgres' ? { DATABASE_URL: PG_URL } : {};
      const first = await startCli(cfgPath, dir, point === 'accepted' ? env : { ...env, COSTGATE_BATCH_CRASH_AT: point });
      children.push(first);
      const ids: string[] = [];
      for (let i = 0; i < N; i++) ids.push(await defer(first.url, i, point));
      if (point === 'accepted') first.child.kill('SIGKILL');
      const ex = await Promise.race([first.exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no crash at ${point}:\n${first.output()}`)), 30_000))]);
      assert.equal(ex.signal, 'SIGKILL');
      if (point === 'accepted') assert.equal(sim.batch.submitted.size, 0, 'nothing was submitted before the kill');
      if (point === 'submitted' || point === 'results' || point === 'ledgered') assert.equal(sim.batch.submitted.size, N, 'the provider had the batch');

      // Restart without the crash point ('accepted': with a short age, so the recovered queue is flushed now).
      if (point === 'accepted') {
        const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
        cfg.batch.maxAgeMs = 300;
        writeFileSync(cfgPath, JSON.stringify(cfg));
      }
      const second = await startCli(cfgPath, dir, env);
      children.push(second);
      const counts = await waitDone(second.url, N);
      assert.deepEqual(counts, { queued: 0, submitted: 0, syncing: 0, done: N, failed: 0 });
      // Results recovered from the queue reach the ledger on the restarted gateway's first pass.
      const end = Date.now() + 20_000;
      for (;;) {
        const r = (await (await fetch(`${second.url}/v1/costgate/requests?feature=crash&limit=1000`)).json()) as { data?: unknown[]; rows?: unknown[] };
        if ((r.data ?? r.rows ?? []).length >= N || Date.now() > end) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      second.child.kill('SIGTERM');
      assert.equal((await second.exited).code, 0);

      // Each line went to the provider exactly once.
      assert.equal(sim.batch.submitted.size, N);
      assert.deepEqual([...new Set(sim.batch.submitted.values())], [1]);
      assert.equal(sim.batch.batches, 1, 'one provider batch: recovery adopted it instead of submitting again');
      // Exactly one ledger row per job, at batch prices.
      type Row = { request_id: string; batch: number | boolean; status: number; cost_nanos: number | string; baseline_cost_nanos: number | string };
      let rows: Row[];
      if (store === 'sqlite') {
        const db = new Database(join(dir, 'ledger.db'), { readonly: true });
        try {
          rows = db.prepare(`SELECT request_id, batch, status, cost_nanos, baseline_cost_nanos FROM ledger_requests WHERE feature = 'crash'`).all() as Row[];
          // The queue lived beside the ledger.
          const q = new Database(join(dir, 'ledger.db.batch.db'), { readonly: true });
          assert.equal((q.prepare(`SELECT COUNT(*) AS n FROM deferred_jobs WHERE status = 'done'`).get() as { n: number }).n, N);
          q.close();
        } finally {
          db.close();
        }
      } else {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        try {
          rows = (await c.query(`SELECT request_id, batch, status, cost_nanos, baseline_cost_nanos FROM "${schema}".ledger_requests WHERE feature = 'crash'`)).rows;
          assert.equal(Number((await c.query(`SELECT COUNT(*) AS n FROM "${schema}".deferred_jobs WHERE status = 'done'`)).rows[0].n), N);
        } finally {
          await c.end();
        }
      }
      {
        assert.equal(rows.length, N);
        assert.deepEqual(rows.map((r) => r.request_id).sort(), [...ids].sort());
        for (const r of rows) {
          assert.ok(r.batch === 1 || r.batch === true);
          assert.equal(Number(r.status), 200);
          assert.ok(Number(r.cost_nanos) > 0);
          assert.ok(Math.abs(Number(r.cost_nanos) * 2 - Number(r.baseline_cost_nanos)) <= 2);
        }
      }
    } finally {
      if (store === 'postgres') {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect().then(() => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch(() => undefined).finally(() => c.end());
      }
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
