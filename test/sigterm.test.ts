/**
 * SIGTERM under load loses no ledger rows. The real CLI (`node bin/costgate.js start`) runs as a child process with
 * an in-process simulator that has some latency and a temp ledger (SQLite file; Postgres in a private schema when
 * reachable). The test drives a few hundred concurrent requests over loopback — chat streaming and not, Anthropic
 * messages, embeddings, a few malformed bodies — sends SIGTERM mid-load, waits for the exit, then opens the ledger:
 * the set of request ids with a row must be exactly the set of requests that got any HTTP response from the
 * gateway (no row lost, none duplicated, none invented), with every attempt row present, and the exit code 0.
 *
 * Two drains, as the README describes them: with a generous `shutdownGraceMs` every in-flight request and stream
 * finishes normally; with a short one, streams still running at the deadline are cut — and still recorded.
 */
import { startCliGateway, type CliGateway } from './helpers/cli.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PG_URL, requirePostgres } from './helpers/services.js';


type Gateway = CliGateway;

async function startCli(config: object, dir: string, env: NodeJS.ProcessEnv = {}): Promise<Gateway> {
  const cfgPath = join(dir, 'costgate.json');
  writeFileSync(cfgPath, JSON.stringify(config));
  return startCliGateway(cfgPath, dir, env);
}

type Kind = 'chat' | 'chat-stream' | 'messages-stream' | 'embeddings' | 'malformed';

interface Outcome {
  id: string;
  kind: Kind;
  /** HTTP status, when the gateway answered at all. */
  status?: number;
  /** The body arrived complete (not cut by the shutdown). */
  complete: boolean;
  error?: string;
}

function bodyFor(kind: Kind, maxTokens: number): string {
  const messages = [{ role: 'user', content: 'summarize the ledger for me' }];
  switch (kind) {
    case 'chat':
      return JSON.stringify({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages });
    case 'chat-stream':
      return JSON.stringify({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages, stream: true });
    case 'messages-stream':
      // An OpenAI-wire model behind the Anthropic surface: translated, and spares the child the slow Claude tokenizer.
      return JSON.stringify({ model: 'gpt-4o-mini', max_tokens: maxTokens, messages, stream: true });
    case 'embeddings':
      return JSON.stringify({ model: 'text-embedding-3-small', input: 'count me once' });
    case 'malformed':
      return '{"model": "gpt-4o-mini", "messages": [';
  }
}

const PATHS: Record<Kind, string> = {
  chat: '/v1/chat/completions',
  'chat-stream': '/v1/chat/completions',
  'messages-stream': '/v1/messages',
  embeddings: '/v1/embeddings',
  malformed: '/v1/chat/completions',
};

/** One request; resolves (never rejects) with what the client saw. `onResponse` fires when the status line arrives. */
function send(base: string, agent: Agent, id: string, kind: Kind, maxTokens: number, onResponse: () => void): Promise<Outcome> {
  const url = new URL(PATHS[kind], base);
  const body = bodyFor(kind, maxTokens);
  return new Promise((resolve) => {
    const o: Outcome = { id, kind, complete: false };
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      if (error) o.error = error;
      resolve(o);
    };
    const req = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-costgate-request-id': id } }, (res) => {
      o.status = res.statusCode;
      onResponse();
      res.on('data', () => undefined);
      res.on('end', () => {
        o.complete = res.complete;
        finish();
      });
      res.on('aborted', () => finish('aborted'));
      res.on('error', (e) => finish(e.message));
      res.on('close', () => finish(res.complete ? undefined : 'closed'));
    });
    req.on('error', (e) => finish((e as NodeJS.ErrnoException).code ?? e.message));
    req.end(body);
  });
}

interface Load {
  outcomes: Outcome[];
  answered: Outcome[];
  /** How many had a response when SIGTERM was sent. */
  atSigterm: number;
}

/** `total` concurrent requests (at most `sockets` at a time); SIGTERM once `killAfter` responses have started. */
async function loadAndTerm(gw: Gateway, o: { total: number; sockets: number; killAfter: number; maxTokens: number; kinds: Kind[] }): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.sockets });
  let started = 0;
  let atSigterm = -1;
  const prefix = randomBytes(4).toString('hex');
  const onResponse = () => {
    if (++started === o.killAfter) {
      atSigterm = started;
      gw.child.kill('SIGTERM');
    }
  };
  const all = Array.from({ length: o.total }, (_, i) => send(gw.url, agent, `st-${prefix}-${i}`, o.kinds[i % o.kinds.length]!, o.maxTokens, onResponse));
  const outcomes = await Promise.all(all);
  agent.destroy();
  assert.ok(atSigterm > 0, `SIGTERM was sent mid-load (${started} responses in all)`);
  return { outcomes, answered: outcomes.filter((x) => x.status !== undefined), atSigterm };
}

interface LedgerCounts {
  ids: string[];
  rows: number;
  attempts: number;
  /** Sum of attempt_count over the request rows. */
  attemptCountSum: number;
  statuses: Map<string, number>;
}

function readSqlite(path: string): LedgerCounts {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT request_id, status, attempt_count FROM ledger_requests').all() as { request_id: string; status: number; attempt_count: number }[];
    const attempts = (db.prepare('SELECT COUNT(*) AS n FROM ledger_attempts').get() as { n: number }).n;
    return summarize(rows, attempts);
  } finally {
    db.close();
  }
}

function summarize(rows: { request_id: string; status: number; attempt_count: number }[], attempts: number): LedgerCounts {
  return {
    ids: rows.map((r) => r.request_id).sort(),
    rows: rows.length,
    attempts,
    attemptCountSum: rows.reduce((s, r) => s + Number(r.attempt_count), 0),
    statuses: new Map(rows.map((r) => [r.request_id, Number(r.status)])),
  };
}

/**
 * The core claim: rows written == requests answered, id for id; plus attempt rows all present. With `cutBeforeHeaders`
 * (a grace deadline that destroys connections), a request the gateway had already taken in but not yet answered when
 * its connection was destroyed is a row too — its upstream call ran and may have cost money — but only as a 499, and
 * only for a request whose connection was reset: one that was refused never reached the gateway and has no row.
 */
function assertNoLoss(load: Load, ledger: LedgerCounts, gw: Gateway, exit: { code: number | null; signal: NodeJS.Signals | null }, cutBeforeHeaders = false): void {
  const diag = `\nstdout:\n${gw.stdout()}\nstderr:\n${gw.stderr()}`;
  assert.deepEqual(exit, { code: 0, signal: null }, `clean exit${diag}`);
  assert.match(gw.stdout(), /SIGTERM, draining in-flight requests/);
  assert.doesNotMatch(gw.stderr(), /could not be written|ledger write failed/, diag);
  const answered = load.answered.map((o) => o.id).sort();
  assert.equal(new Set(ledger.ids).size, ledger.rows, 'no request has two rows');
  const missing = answered.filter((id) => !ledger.statuses.has(id));
  let extra = ledger.ids.filter((id) => !answered.includes(id));
  if (cutBeforeHeaders) {
    const byId = new Map(load.outcomes.map((o) => [o.id, o]));
    for (const id of extra) {
      assert.equal(ledger.statuses.get(id), 499, `unanswered ${id} recorded as cut by the shutdown`);
      assert.notEqual(byId.get(id)!.error, 'ECONNREFUSED', `${id} was refused, so it never reached the gateway`);
    }
    extra = [];
  }
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `rows ${ledger.rows} vs answered ${answered.length}${diag}`);
  if (!cutBeforeHeaders) assert.equal(ledger.rows, answered.length);
  assert.equal(ledger.attempts, ledger.attemptCountSum, 'one attempt row per upstream attempt');
  // The row's status is what the client was told (streams: the status line, 200, even when later cut).
  for (const o of load.answered) if (o.complete) assert.equal(ledger.statuses.get(o.id), o.status, `${o.id} (${o.kind})`);
}

const KINDS: Kind[] = ['chat', 'chat-stream', 'chat', 'messages-stream', 'chat-stream', 'embeddings', 'chat', 'chat-stream', 'malformed'];

/**
 * The generous-grace runs use a long flush interval (the load lasts about a second) and a small batch, so rows are
 * written by batch-size flushes during the load and the rest only by the shutdown flush: a broken shutdown path then
 * loses dozens of rows, not just the last few milliseconds' worth.
 */
const SLOW_FLUSH = { flushIntervalMs: 10_000, batchSize: 32 };

function config(ledger: object, graceMs: number, sim: object) {
  return {
    server: { host: '127.0.0.1', port: 0, shutdownGraceMs: graceMs },
    providers: { sim: { type: 'simulator', simulator: { jitterMs: 0, ...sim } } },
    ledger: { flushIntervalMs: 5, batchSize: 500, ...ledger },
  };
}

test('SIGTERM mid-load (SQLite ledger, generous grace): every answered request has its row, every in-flight one completes', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-sigterm-'));
  const dbPath = join(dir, 'ledger.db');
  const gw = await startCli(config({ store: 'sqlite', path: dbPath, ...SLOW_FLUSH }, 15_000, { ttftMs: 30, perTokenMs: 3 }), dir);
  try {
    const load = await loadAndTerm(gw, { total: 300, sockets: 64, killAfter: 80, maxTokens: 24, kinds: KINDS });
    const exit = await gw.exited;
    const ledger = readSqlite(dbPath);
    assertNoLoss(load, ledger, gw, exit);
    // Drained, not cut: everything that was answered finished, with the status it would have had anyway.
    const cut = load.answered.filter((o) => !o.complete);
    assert.deepEqual(cut.map((o) => o.id), [], 'no answer was cut by a shutdown with time to spare');
    for (const o of load.answered) assert.equal(o.status, o.kind === 'malformed' ? 400 : 200, `${o.id} ${o.kind}`);
    assert.ok(load.answered.length > load.atSigterm, `in-flight requests kept being answered after SIGTERM (${load.atSigterm} → ${load.answered.length})`);
    assert.ok(load.answered.length < load.outcomes.length, 'new connections were refused after SIGTERM (so the count means something)');
    console.log(`# sqlite generous grace: ${load.outcomes.length} sent, ${load.atSigterm} answered at SIGTERM, ${load.answered.length} answered, ${ledger.rows} rows, ${ledger.attempts} attempt rows`);
  } finally {
    if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM with a short grace: streams still running at the deadline are cut, and still recorded', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-sigterm-'));
  const dbPath = join(dir, 'ledger.db');
  // Streams of 300 tokens at 10 ms a token (~3 s) against a 300 ms grace.
  const gw = await startCli(config({ store: 'sqlite', path: dbPath }, 300, { ttftMs: 10, perTokenMs: 10 }), dir);
  try {
    const load = await loadAndTerm(gw, { total: 60, sockets: 60, killAfter: 40, maxTokens: 300, kinds: ['chat-stream', 'messages-stream', 'chat-stream'] });
    const exit = await gw.exited;
    const ledger = readSqlite(dbPath);
    assertNoLoss(load, ledger, gw, exit, true);
    const cut = load.answered.filter((o) => !o.complete);
    assert.ok(cut.length > 0, 'some streams were cut at the grace deadline');
    for (const o of cut) assert.ok(ledger.statuses.has(o.id), `cut stream ${o.id} has its row`);
    console.log(`# sqlite short grace: ${load.outcomes.length} sent, ${load.answered.length} answered (${cut.length} cut), ${ledger.rows} rows (${ledger.rows - load.answered.length} cut before their headers); cut statuses ${[...new Set(cut.map((o) => ledger.statuses.get(o.id)))].join(',')}`);
  } finally {
    if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM mid-load (Postgres ledger): the graceful flush loses no rows either', { timeout: 60_000 }, async (t) => {
  if (!(await requirePostgres())) {
    return void t.skip(`postgres unreachable at ${PG_URL}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'costgate-sigterm-'));
  const schema = `costgate_sigterm_${randomBytes(6).toString('hex')}`;
  const gw = await startCli(config({ store: 'postgres', url: 'env:DATABASE_URL', schema, ...SLOW_FLUSH }, 15_000, { ttftMs: 30, perTokenMs: 3 }), dir, { DATABASE_URL: PG_URL });
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const load = await loadAndTerm(gw, { total: 250, sockets: 64, killAfter: 60, maxTokens: 24, kinds: KINDS });
    const exit = await gw.exited;
    const rows = (await c.query(`SELECT request_id, status, attempt_count FROM "${schema}".ledger_requests`)).rows;
    const attempts = Number((await c.query(`SELECT COUNT(*) AS n FROM "${schema}".ledger_attempts`)).rows[0].n);
    const ledger = summarize(rows, attempts);
    assertNoLoss(load, ledger, gw, exit);
    console.log(`# postgres: ${load.outcomes.length} sent, ${load.answered.length} answered, ${ledger.rows} rows`);
  } finally {
    if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await c.end().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
