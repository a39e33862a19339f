/**
 * Fault soak (`npm run soak`, not part of `npm test`): the real CLI as a child process, an in-process simulator
 * injecting faults into a share of calls (429, 500, 503, timeouts, cut streams), and an open-loop client at a fixed
 * rate (chat and Anthropic messages, streaming and not). Checked at the end:
 * - every client request got an answer — a 200 with a complete body, or a clean error (JSON in the surface's shape,
 *   or an in-stream error event), never a hang, a reset or a 500;
 * - the ledger (SQLite, read after a graceful SIGTERM flushed it) has exactly one row per request, and its attempt
 *   rows add up to each row's `attempt_count`;
 * - the gateway's RSS and open file descriptors (`/proc/<pid>/status`, `/proc/<pid>/fd`), sampled after warm-up and
 *   at the end, stay flat.
 *
 *   node dist/bench/soak.js [--duration 600] [--rate 200] [--fault-rate 0.1] [--json FILE]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request as httpRequest } from 'node:http';
import Database from 'better-sqlite3';

const BIN = fileURLToPath(new URL('../../bin/costgate.js', import.meta.url));

export interface SoakOptions {
  durationSec: number;
  rate: number;
  faultRate: number;
}

export function parseArgs(argv: string[]): SoakOptions & { json?: string } {
  const o: SoakOptions & { json?: string } = { durationSec: 600, rate: 200, faultRate: 0.1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    const num = (name: string) => {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`${name} needs a positive number`);
      i++;
      return n;
    };
    if (a === '--duration') o.durationSec = num('--duration');
    else if (a === '--rate') o.rate = num('--rate');
    else if (a === '--fault-rate') {
      o.faultRate = Number(v);
      if (!(o.faultRate >= 0 && o.faultRate <= 1)) throw new Error('--fault-rate needs a number in 0..1');
      i++;
    } else if (a === '--json') {
      o.json = v;
      i++;
    } else throw new Error(`unknown option ${a} (use --duration S --rate N --fault-rate P --json FILE)`);
  }
  return o;
}

interface Sample {
  atSec: number;
  rssKb: number;
  fds: number;
  sockets: number;
  /** The gateway's CPU time so far (user + system, /proc/<pid>/stat), ms. */
  cpuMs: number;
  /** Live V8 heap, from the gateway's /metrics (undefined when the scrape failed). */
  heapUsedKb?: number;
  /** The gateway's worst event-loop delay since the previous sample (a stall shows here). */
  loopLagMaxMs?: number;
  /** The soak client's own worst event-loop delay since the previous sample (a starved client shows here). */
  clientLagMaxMs?: number;
}

function sample(pid: number, t0: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  const fds = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between the listing and the readlink
    }
  }
  // utime and stime are fields 14 and 15, counted after the parenthesised command name (which may hold spaces).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  return { atSec: Math.round((Date.now() - t0) / 100) / 10, rssKb, fds: fds.length, sockets, cpuMs };
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on every mainstream architecture). */
const CLK_TCK = 100;

type Kind = 'chat' | 'chat-stream' | 'messages' | 'messages-stream';
const KINDS: Kind[] = ['chat', 'chat', 'chat-stream', 'chat-stream', 'messages', 'messages-stream'];

interface Outcome {
  id: string;
  kind: Kind;
  status?: number;
  /** When it was sent and when its answer ended, ms after the start (for placing failures against the ledger). */
  sentMs?: number;
  endMs?: number;
  /** 'ok' | 'clean-error' | 'stream-error' (200 then an in-stream error event) | a failure description */
  result: string;
}

function bodyOf(kind: Kind, i: number): { path: string; body: string } {
  const messages = [{ role: 'user', content: `soak request ${i}: summarise the quarterly cost report` }];
  const stream = kind.endsWith('stream');
  if (kind.startsWith('messages')) return { path: '/v1/messages', body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, stream, messages }) };
  return { path: '/v1/chat/completions', body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 16, stream, stream_options: stream ? { include_usage: true } : undefined, messages }) };
}

function classify(kind: Kind, status: number, text: string): string {
  const anthropic = kind.startsWith('messages');
  if (status === 200) {
    if (!kind.endsWith('stream')) {
      try {
        const j = JSON.parse(text);
        return (anthropic ? j.type === 'message' : j.object === 'chat.completion') ? 'ok' : `200 with a bad body: ${text.slice(0, 200)}`;
      } catch {
        return `200 with unparseable body: ${text.slice(0, 200)}`;
      }
    }
    const errorEvent = anthropic ? /event: error\ndata: \{"type":"error","error":\{"type":"\w+","message":/ : /data: \{"error":\{"message":/;
    if (errorEvent.test(text)) return 'stream-error';
    const end = anthropic ? /event: message_stop/ : /data: \[DONE\]\n\n$/;
    return end.test(text) ? 'ok' : `stream ended without its terminator: …${text.slice(-200)}`;
  }
  if (status >= 500 && ![502, 503, 504].includes(status)) return `gateway ${status}: ${text.slice(0, 200)}`;
  try {
    const j = JSON.parse(text);
    const ok = anthropic ? j.type === 'error' && typeof j.error?.message === 'string' : typeof j.error?.message === 'string' && typeof j.error?.code === 'string';
    return ok ? 'clean-error' : `error body in the wrong shape: ${text.slice(0, 200)}`;
  } catch {
    return `error body not JSON: ${text.slice(0, 200)}`;
  }
}

function send(base: string, agent: Agent, id: string, kind: Kind, i: number, t0: number): Promise<Outcome> {
  const { path, body } = bodyOf(kind, i);
  return new Promise((resolve) => {
    const o: Outcome = { id, kind, result: 'no answer' };
    let done = false;
    o.sentMs = Date.now() - t0;
    const finish = (r?: string) => {
      if (done) return;
      done = true;
      o.endMs = Date.now() - t0;
      if (r) o.result = r;
      resolve(o);
    };
    const req = httpRequest(new URL(path, base), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-costgate-request-id': id } }, (res) => {
      o.status = res.statusCode;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => finish(res.complete ? classify(kind, res.statusCode ?? 0, text) : 'response cut'));
      res.on('error', (e) => finish(`response error: ${e.message}`));
      res.on('close', () => finish(res.complete ? undefined : 'response closed early'));
    });
    // No answer within 30 s (timeouts are 2 s upstream, 3 attempts): a hang.
    req.setTimeout(30_000, () => req.destroy(new Error('client timeout: no answer in 30 s')));
    req.on('error', (e) => finish(`request error: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    req.end(body);
  });
}

export interface SoakResult {
  options: SoakOptions;
  loadavgStart: number[];
  loadavgEnd: number[];
  sent: number;
  results: Record<string, number>;
  statuses: Record<string, number>;
  failures: string[];
  /** Failed requests by the 10-second window they were sent in. */
  failuresBySec: Record<string, number>;
  /** For each failed request (the first 2,000): the client's send/end times and the gateway's ledger row for it. */
  failedInLedger: Record<string, unknown>[];
  /** The gateway's stderr (its last 4 kB) when anything failed. */
  gatewayStderr?: string;
  ledger: { rows: number; missingIds: string[]; attemptRows: number; attemptCountSum: number; missing: number; duplicates: number; unknown: number; attemptMismatch: number; retried: number };
  samples: Sample[];
  rssGrowthKb: number;
  fdGrowth: number;
  /**
   * The share of one core the gateway used between the warm-up and the end-of-load samples. Under an open-loop client,
   * a gateway the machine cannot give that much CPU falls behind without bound: requests wait in the kernel's accept
   * queue before the gateway reads them (the ledger's `ts` is when it did), and the client's 30 s limit expires.
   */
  gatewayCpuShare: number;
  achievedRate: number;
  ok: boolean;
}

/** Starts a CLI child and resolves with the first stdout match of `re` (its group 1). */
function startChild(args: string[], cwd: string, env: NodeJS.ProcessEnv, re: RegExp): { child: ChildProcess; url: Promise<string>; exited: Promise<number | null>; err: () => string } {
  const child: ChildProcess = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += out.length < 100_000 ? c : ''));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c.length + err.length < 1_000_000 ? c : ''));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start:\n${out}\n${err}`)), 30_000);
    child.stdout!.on('data', () => {
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => reject(new Error(`${args.join(' ')} exited (${code}) before listening:\n${out}\n${err}`)));
  });
  url.catch(() => undefined);
  return { child, url, exited, err: () => err };
}

/**
 * The gateway's V8 heap in use and its worst event-loop delay since the previous scrape, from its own `/metrics`
 * (prom-client's process metrics; the lag histogram resets on every scrape).
 */
async function scrape(base: string): Promise<{ heapUsedKb?: number; loopLagMaxMs?: number }> {
  try {
    const res = await fetch(new URL('/metrics', base), { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const num = (name: string) => {
      const m = new RegExp(`^costgate_process_${name} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const heap = num('nodejs_heap_size_used_bytes');
    const lag = num('nodejs_eventloop_lag_max_seconds');
    return { ...(heap !== undefined ? { heapUsedKb: Math.round(heap / 1024) } : {}), ...(lag !== undefined ? { loopLagMaxMs: Math.round(lag * 1000) } : {}) };
  } catch (e) {
    if (process.env.SOAK_DEBUG) console.error('metrics scrape:', e);
    return {};
  }
}

/**
 * The gateway's V8 heap cap in the soak, as a container's memory limit would set it. Without one, V8 on a 24 GiB
 * machine defers old-space collection and RSS climbs by about 1 MiB/s of uncollected garbage at 200 req/s (measured:
 * 178 → 238 MiB in 60 s) while two heap snapshots 30 s apart differed by 4 MB; capped at 80 MiB, RSS was flat
 * (172 → 178 MiB in 60 s at 100 req/s).
 */
export const SOAK_HEAP_MB = 192;
/** After the load: the client's sockets are closed by then (upstream keep-alive sockets stay, up to the pool size). */
const IDLE_WAIT_MS = 3000;
/** The soak client's socket pool; with the upstream pool (`connections`, 256) it bounds the gateway's sockets. */
const CLIENT_SOCKETS = 512;
const UPSTREAM_CONNECTIONS = 256;

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'costgate-soak-'));
  const ledgerPath = join(dir, 'ledger.db');
  const env = { ...process.env };
  for (const k of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'COSTGATE_CONFIG', 'NODE_OPTIONS']) delete env[k];
  // The simulator runs as its own process, so the gateway's RSS, descriptors and CPU are its own.
  const sim = startChild(
    [BIN, 'simulator', '--port', '0', '--ttft', '5', '--per-token', '1', '--jitter', '5', '--output-tokens', '16', '--fault-rate', String(o.faultRate), '--faults', '429,500,503,timeout,cut-stream', '--seed', '7'],
    dir,
    env,
    /costgate simulator on (http:\/\/\S+)/,
  );
  let gateway: ReturnType<typeof startChild> | undefined;
  try {
    const simUrl = await sim.url;
    const cfg = {
      server: { port: 0, shutdownGraceMs: 30_000 },
      providers: {
        sim: { type: 'simulator', baseUrl: `${simUrl}/v1`, connections: UPSTREAM_CONNECTIONS, timeouts: { connectMs: 1000, firstByteMs: 2000, totalMs: 5000, idleMs: 1000 } },
      },
      retries: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100, maxRetryAfterMs: 200 },
      // One deployment: an open circuit would turn the faults into 503s without attempts; keep it closed.
      circuitBreaker: { failureThreshold: 1_000_000, cooldownMs: 1000 },
      ledger: { store: 'sqlite', path: ledgerPath },
    };
    writeFileSync(join(dir, 'costgate.json'), JSON.stringify(cfg));
    gateway = startChild([`--max-old-space-size=${SOAK_HEAP_MB}`, BIN, 'start', '--config', join(dir, 'costgate.json')], dir, env, /costgate listening on (http:\/\/\S+)/);
    const { child, exited } = gateway;
    const url = await gateway.url;
    const pid = child.pid!;
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENT_SOCKETS });
    const t0 = Date.now();
    const samples: Sample[] = [];
    const loadavgStart = loadavg();
    const pending: Promise<Outcome>[] = [];
    const clientLag = monitorEventLoopDelay({ resolution: 20 });
    clientLag.enable();
    const total = Math.round(o.durationSec * o.rate);
    // Warm-up sample once the tokenizers and connection pools are up (5 s, or a tenth of a short run).
    const warmMs = Math.min(5000, (o.durationSec * 1000) / 4);
    let nextSample = warmMs;
    const sampleEvery = Math.max(1000, (o.durationSec * 1000) / 20);
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / o.rate;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (Date.now() - t0 >= nextSample) {
        const s1 = sample(pid, t0);
        s1.clientLagMaxMs = Math.round(clientLag.max / 1e6);
        clientLag.reset();
        samples.push(s1);
        void scrape(url).then((m) => Object.assign(s1, m));
        nextSample += sampleEvery;
      }
      pending.push(send(url, agent, `soak-${i}`, KINDS[i % KINDS.length]!, i, t0));
    }
    const sendSec = (Date.now() - t0) / 1000;
    clientLag.disable();
    // The end sample under the same load as the start one (the upstream pool and in-flight count at steady state).
    samples.push(sample(pid, t0));
    const underLoad = samples.length;
    const outcomes = await Promise.all(pending);
    // The client's keep-alive sockets go; the gateway's upstream pool keeps its idle ones (up to `connections`) until
    // the keep-alive expires (the simulator's 60 s hint), as it should.
    agent.destroy();
    await new Promise((r) => setTimeout(r, IDLE_WAIT_MS));
    samples.push(sample(pid, t0));
    const loadavgEnd = loadavg();
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`gateway exited ${code} after SIGTERM:\n${gateway.err().slice(-2000)}`);

    const results: Record<string, number> = {};
    const statuses: Record<string, number> = {};
    const failures: string[] = [];
    const failuresBySec: Record<string, number> = {};
    for (const x of outcomes) {
      const r = ['ok', 'clean-error', 'stream-error'].includes(x.result) ? x.result : 'FAILED';
      results[r] = (results[r] ?? 0) + 1;
      statuses[String(x.status ?? 'none')] = (statuses[String(x.status ?? 'none')] ?? 0) + 1;
      if (r === 'FAILED') {
        if (failures.length < 20) failures.push(`${x.id} ${x.kind}: ${x.result}`);
        // When they happened: the send time's 10-second bucket (ids are sequential at the fixed rate).
        const bucket = String(Math.floor(Number(x.id.slice(5)) / o.rate / 10) * 10);
        failuresBySec[bucket] = (failuresBySec[bucket] ?? 0) + 1;
      }
    }
    const db = new Database(ledgerPath, { readonly: true });
    const rows = db.prepare('SELECT uid, request_id, attempt_count FROM ledger_requests').all() as { uid: string; request_id: string; attempt_count: number }[];
    // What the gateway recorded for the failed requests: when it took them (ts, against the client's send time),
    // how long it took to answer them, and with what — tells a stalled gateway from a starved client or a lost reply.
    const failed = outcomes.filter((x) => !['ok', 'clean-error', 'stream-error'].includes(x.result));
    const byId = db.prepare('SELECT ts, status, latency_ms, ttft_ms, error_type, attempt_count FROM ledger_requests WHERE request_id = ?');
    const failedInLedger = failed.slice(0, 2000).map((x) => {
      const r = byId.get(x.id) as { ts: number; status: number; latency_ms: number; ttft_ms: number | null; error_type: string | null; attempt_count: number } | undefined;
      return { id: x.id, kind: x.kind, sentMs: x.sentMs, endMs: x.endMs, result: x.result, ...(r ? { gatewayTookMs: r.ts - t0, status: r.status, latencyMs: Math.round(r.latency_ms), ttftMs: r.ttft_ms === null ? null : Math.round(r.ttft_ms), errorType: r.error_type, attempts: r.attempt_count } : { inLedger: false }) };
    });
    const attemptsByUid = new Map((db.prepare('SELECT uid, COUNT(*) AS n FROM ledger_attempts GROUP BY uid').all() as { uid: string; n: number }[]).map((r) => [r.uid, r.n]));
    const attemptRows = (db.prepare('SELECT COUNT(*) AS n FROM ledger_attempts').get() as { n: number }).n;
    db.close();
    const sentIds = new Set(outcomes.map((x) => x.id));
    const seen = new Map<string, number>();
    let attemptMismatch = 0;
    let attemptCountSum = 0;
    let retried = 0;
    for (const r of rows) {
      seen.set(r.request_id, (seen.get(r.request_id) ?? 0) + 1);
      attemptCountSum += r.attempt_count;
      if (r.attempt_count > 1) retried++;
      if ((attemptsByUid.get(r.uid) ?? 0) !== r.attempt_count) attemptMismatch++;
    }
    const ledger = {
      rows: rows.length,
      attemptRows,
      attemptCountSum,
      missing: [...sentIds].filter((id) => !seen.has(id)).length,
      missingIds: [...sentIds].filter((id) => !seen.has(id)).slice(0, 20),
      duplicates: [...seen.values()].filter((n) => n > 1).length,
      unknown: [...seen.keys()].filter((id) => !sentIds.has(id)).length,
      attemptMismatch,
      retried,
    };
    const first = samples[0]!;
    const last = samples[underLoad - 1]!;
    const rssGrowthKb = last.rssKb - first.rssKb;
    const fdGrowth = last.fds - first.fds;
    const gatewayCpuShare = Math.round(((last.cpuMs - first.cpuMs) / ((last.atSec - first.atSec) * 1000)) * 1000) / 1000;
    // Flat: the end-of-load RSS within 25 % (+16 MiB of allocator slack) of the warm-up sample, with the heap capped as
    // in a container. Descriptors: under load they follow the momentary concurrency (client and upstream keep-alive
    // sockets; on a starved machine requests last longer, so more are open at once), so the check there is a bound,
    // never more than the two pools allow plus 64 for files, pipes and listeners. A leak shows after the load, once the
    // client is gone: only the upstream pool's idle sockets (and the listener) may remain, and the other descriptors
    // (files, pipes, eventfds) must be as many as at warm-up.
    const fdBound = CLIENT_SOCKETS + UPSTREAM_CONNECTIONS + 64;
    const idle = samples[samples.length - 1]!;
    const descriptorsOk = samples.every((x) => x.fds <= fdBound) && idle.sockets <= UPSTREAM_CONNECTIONS + 4 && idle.fds - idle.sockets <= first.fds - first.sockets + 4;
    const flat = rssGrowthKb <= first.rssKb * 0.25 + 16 * 1024 && descriptorsOk;
    const ok =
      !results.FAILED && ledger.missing === 0 && ledger.duplicates === 0 && ledger.unknown === 0 && ledger.attemptMismatch === 0 && ledger.attemptRows === ledger.attemptCountSum && flat;
    return { options: o, loadavgStart, loadavgEnd, sent: outcomes.length, results, statuses, failures, failuresBySec, failedInLedger, ...(ok ? {} : { gatewayStderr: gateway.err().slice(-4000) }), ledger, samples, rssGrowthKb, fdGrowth, gatewayCpuShare, achievedRate: Math.round(outcomes.length / sendSec), ok };
  } finally {
    if (gateway && gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    if (sim.child.exitCode === null) sim.child.kill('SIGKILL');
    if (process.env.SOAK_KEEP) console.error(`soak: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const o = parseArgs(process.argv.slice(2));
  console.log(`soak: ${o.durationSec} s at ${o.rate} req/s, ${Math.round(o.faultRate * 100)} % faults (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  soak(o).then(
    (r) => {
      const s0 = r.samples[0]!;
      const s1 = r.samples[r.samples.length - 2]!;
      const idle = r.samples[r.samples.length - 1]!;
      console.log(JSON.stringify(r, null, 1));
      console.log(
        `sent ${r.sent} (${r.achievedRate}/s): ${JSON.stringify(r.results)}; statuses ${JSON.stringify(r.statuses)}; ledger ${r.ledger.rows} rows, ${r.ledger.attemptRows} attempts (${r.ledger.retried} calls retried), missing ${r.ledger.missing}, duplicates ${r.ledger.duplicates}; ` +
          `RSS ${(s0.rssKb / 1024).toFixed(1)} → ${(s1.rssKb / 1024).toFixed(1)} MiB (heap cap ${SOAK_HEAP_MB} MiB; live heap ${((s0.heapUsedKb ?? NaN) / 1024).toFixed(1)} → ${((s1.heapUsedKb ?? NaN) / 1024).toFixed(1)} MiB), fds ${s0.fds} → ${s1.fds} (${idle.fds} idle after); gateway CPU ${(r.gatewayCpuShare * 100).toFixed(0)} % of a core; load ${r.loadavgStart.map((x) => x.toFixed(2)).join(' ')} → ${r.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}; ${r.ok ? 'OK' : 'FAILED'}`,
      );
      if (o.json) writeFileSync(o.json, JSON.stringify(r, null, 1));
      process.exitCode = r.ok ? 0 : 1;
    },
    (e) => {
      console.error(e);
      process.exitCode = 2;
    },
  );
}
