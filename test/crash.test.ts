/**
 * Crash safety: `kill -9` of the real CLI under load, several times at random points, on one SQLite ledger.
 * Counted against what clients were told (a 200 whose body arrived complete):
 * - `ledger.durability: sync`: every acknowledged non-streaming call has its row — 0 lost;
 * - `batched` (default): only calls acknowledged within the flush window just before the kill may be missing
 *   (README: at most `flushIntervalMs` plus one write; the test allows 1 s of scheduling slack on a loaded machine);
 * - never a duplicate request id (no double charge), and every row's attempts are there;
 * - budget reservations: the memory store's die with the process (a restarted gateway reserves from zero); the Redis
 *   store's outlive it and are released once `reservationTtlMs` has passed (the next reserve reconciles them).
 */
import { startCliGateway } from './helpers/cli.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { REDIS_URL, requireRedis } from './helpers/services.js';


interface Child {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startCli(config: object, dir: string): Promise<Child> {
  const cfgPath = join(dir, 'costgate.json');
  writeFileSync(cfgPath, JSON.stringify(config));
  return startCliGateway(cfgPath, dir);
}

interface Sent {
  id: string;
  /** ms timestamp when the complete 200 body arrived. */
  ackAt?: number;
}

/** Closed-loop load from `workers` clients until the child dies; resolves with every request sent. */
function loadUntilDead(gw: Child, workers: number, tag: string, stream: (i: number) => boolean, sent: Sent[] = []): Promise<Sent[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  let dead = false;
  void gw.exited.then(() => (dead = true));
  let n = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const i = n++;
      const s: Sent = { id: `${tag}-${i}` };
      sent.push(s);
      const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 8, stream: stream(i), messages: [{ role: 'user', content: `crash test ${i}` }] });
      const req = httpRequest(new URL('/v1/chat/completions', gw.url), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-costgate-request-id': s.id } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          if (res.statusCode === 200 && res.complete) s.ackAt = Date.now();
          resolve();
        });
        res.on('error', () => resolve());
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.end(body);
    });
  const worker = async () => {
    while (!dead) await one();
  };
  return Promise.all(Array.from({ length: workers }, worker)).then(() => {
    agent.destroy();
    return sent;
  });
}

function ledgerRows(path: string): { ids: Map<string, number>; attemptsMissing: number } {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT request_id, COUNT(*) AS n FROM ledger_requests GROUP BY request_id').all() as { request_id: string; n: number }[];
    const missing = (db.prepare('SELECT COUNT(*) AS n FROM ledger_requests r WHERE r.attempt_count > (SELECT COUNT(*) FROM ledger_attempts a WHERE a.uid = r.uid)').get() as { n: number }).n;
    return { ids: new Map(rows.map((r) => [r.request_id, r.n])), attemptsMissing: missing };
  } finally {
    db.close();
  }
}

async function crashRounds(o: { durability: 'sync' | 'batched'; budgetStore?: object; rounds: number; onKilled?: (round: number) => Promise<void> }) {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-crash-'));
  const ledger = join(dir, 'ledger.db');
  const config = {
    server: { port: 0 },
    providers: { sim: { type: 'simulator', simulator: { ttftMs: 20, perTokenMs: 2, defaultOutputTokens: 8 } } },
    ledger: { store: 'sqlite', path: ledger, durability: o.durability },
    budgets: [{ name: 'crash-daily', scope: 'global', window: 'day', amount: '1000' }],
    ...(o.budgetStore ? { budgetStore: o.budgetStore } : {}),
  };
  const report: { round: number; sent: number; acked: number; lost: number; lateLost: number }[] = [];
  try {
    for (let round = 0; round < o.rounds; round++) {
      const gw = await startCli(config, dir);
      const tag = `${o.durability}-${round}-${randomBytes(3).toString('hex')}`;
      const sentSoFar: Sent[] = [];
      const load = loadUntilDead(gw, 16, tag, (i) => o.durability === 'batched' && i % 4 === 3, sentSoFar);
      // A random point in the load once it is under way: after 20–120 acknowledged calls, plus 0–50 ms.
      const target = 20 + Math.floor(Math.random() * 100);
      for (let i = 0; i < 3000 && sentSoFar.filter((s) => s.ackAt !== undefined).length < target; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50)));
      const killedAt = Date.now();
      gw.child.kill('SIGKILL');
      const exit = await gw.exited;
      assert.equal(exit.signal, 'SIGKILL');
      const sent = await load;
      await o.onKilled?.(round);
      const { ids, attemptsMissing } = ledgerRows(ledger);
      const acked = sent.filter((s) => s.ackAt !== undefined);
      const lost = acked.filter((s) => !ids.has(s.id));
      // Rows lost beyond the durability window: acknowledged more than 1 s before the kill.
      const late = lost.filter((s) => s.ackAt! < killedAt - 1_000);
      report.push({ round, sent: sent.length, acked: acked.length, lost: lost.length, lateLost: late.length });
      assert.ok(acked.length > 20, `round ${round}: load was under way (${acked.length} acknowledged)`);
      for (const [id, n] of ids) assert.equal(n, 1, `request ${id} has ${n} rows (double charge)`);
      assert.equal(attemptsMissing, 0, 'every row has its attempts');
      if (o.durability === 'sync') {
        const nonStream = lost.filter((s) => !/-(\d+)$/.test(s.id) || Number(/-(\d+)$/.exec(s.id)![1]) % 4 !== 3);
        assert.deepEqual(nonStream.map((s) => s.id), [], `sync: acknowledged calls missing from the ledger`);
      } else assert.deepEqual(late.map((s) => s.id), [], 'batched: rows lost outside the flush window');
      // Rows the ledger has for requests nobody acknowledged are fine (answered as the process died), invented ones are not.
      const sentIds = new Set(sent.map((s) => s.id));
      for (const id of ids.keys()) if (id.startsWith(tag)) assert.ok(sentIds.has(id), `row ${id} was never sent`);
    }
  } finally {
    console.log(`crash ${o.durability}: ${JSON.stringify(report)}`);
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

test('kill -9 under load, durability sync: 0 acknowledged rows lost, no duplicates (3 kills)', { timeout: 120_000 }, async () => {
  const r = await crashRounds({ durability: 'sync', rounds: 3 });
  assert.equal(r.reduce((a, x) => a + x.lost, 0), 0);
});

test('kill -9 under load, durability batched: losses only inside the flush window, no duplicates (3 kills)', { timeout: 120_000 }, async () => {
  await crashRounds({ durability: 'batched', rounds: 3 });
});

test('kill -9 with a Redis budget store: stale reservations are released after reservationTtlMs', { timeout: 120_000 }, async (t) => {
  if (!(await requireRedis())) return t.skip('Redis not reachable');
  const prefix = `cgtest:crash:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  const reservedNanos = async () => {
    let sum = 0n;
    for (const k of await redis.keys(`${prefix}r:*`)) sum += BigInt((await redis.get(k)) ?? '0');
    return sum;
  };
  let sawStale = false;
  try {
    await crashRounds({
      durability: 'batched',
      rounds: 2,
      budgetStore: { kind: 'redis', url: REDIS_URL, prefix, reservationTtlMs: 1500 },
      onKilled: async () => {
        // In-flight calls held reservations when the process died; nobody will settle them.
        if ((await reservedNanos()) > 0n) sawStale = true;
      },
    });
    assert.ok(sawStale, 'a kill left reservations behind (else this test shows nothing)');
    // Past the TTL, the next reservation (any call to a gateway sharing the store) releases them.
    await new Promise((r) => setTimeout(r, 1700));
    const dir = mkdtempSync(join(tmpdir(), 'costgate-crash-'));
    const gw = await startCli(
      {
        server: { port: 0 },
        providers: { sim: { type: 'simulator' } },
        ledger: { store: 'memory' },
        budgets: [{ name: 'crash-daily', scope: 'global', window: 'day', amount: '1000' }],
        budgetStore: { kind: 'redis', url: REDIS_URL, prefix, reservationTtlMs: 1500 },
      },
      dir,
    );
    try {
      const res = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }) });
      assert.equal(res.status, 200);
      await res.text();
      let left = await reservedNanos();
      for (let i = 0; i < 50 && left > 0n; i++) {
        await new Promise((r) => setTimeout(r, 20));
        left = await reservedNanos();
      }
      assert.equal(left, 0n, 'every stale reservation was released');
      assert.equal(await redis.hlen(`${prefix}res`), 0);
    } finally {
      gw.child.kill('SIGKILL');
      await gw.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
});

test('kill -9 with the memory budget store: a restarted gateway starts with no reservations', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-crash-'));
  // A budget that fits about one call's worst case at a time: held reservations of the dead process would refuse it.
  const config = {
    server: { port: 0 },
    providers: { sim: { type: 'simulator', simulator: { ttftMs: 2000 } } },
    ledger: { store: 'memory' },
    budgets: [{ name: 'tiny', scope: 'global', window: 'day', amount: '0.0001' }],
  };
  try {
    const a = await startCli(config, dir);
    const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    const held = fetch(a.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const refused = await fetch(a.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(refused.status, 402, 'the first call holds the budget');
    await refused.text();
    a.child.kill('SIGKILL');
    await a.exited;
    await held;
    const b = await startCli({ ...config, providers: { sim: { type: 'simulator' } } }, dir);
    try {
      const ok = await fetch(b.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(ok.status, 200, await ok.text());
    } finally {
      b.child.kill('SIGKILL');
      await b.exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
