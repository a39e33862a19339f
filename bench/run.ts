/**
 * `npm run bench`: costgate's performance benchmark, on loopback only.
 *
 * Processes: the 0 ms mock upstream (bench/mock-upstream.ts) and wrk share core 1; the gateway under test runs alone
 * on core 0 (`taskset -c 0`). For each target (direct = wrk → mock, costgate, and with --vs-portkey Portkey) and
 * each request kind (a ~1 KB chat request, non-streaming and streaming) it runs: a warm-up, a closed loop for max
 * throughput, then paced open loops at 100 and 1,000 req/s (bench/lua/paced.lua explains how latency is timed).
 * It samples the gateway's CPU (/proc/<pid>/stat) and RSS (/proc/<pid>/status) and prints ratios against direct.
 *
 * @example
 * npm run bench                      # ~2.5 min
 * npm run bench -- --quick           # smoke check, ~40 s
 * npm run bench -- --vs-portkey --json --duration 5
 * npm run bench -- --profile         # also `node --cpu-prof` the gateway and print its top self-time functions
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, availableParallelism, loadavg, cpus as cpusInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { ensureWrk, percentiles, readSamples, runWrk } from './wrk.js';
import { coreTimes, sample, watch, type Proc } from './procs.js';
import { chatBody, direct, installPortkey, requestHeaders, startCostgate, startMock, startPortkey, PORTKEY_VERSION, type Target } from './targets.js';
import { render, verdicts, type Load, type MemResult, type Mode, type RunResult } from './report.js';
import { formatProfile, newestProfile, summariseProfile, type ProfileSummary } from './profile.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LUA = join(ROOT, 'bench/lua');
const OUT = join(ROOT, 'bench/out');
const RATES = [100, 1000];
const CLOSED_CONNECTIONS = 32;
const USAGE = `usage: npm run bench -- [--duration <s>] [--quick] [--json] [--vs-portkey] [--profile]
  --duration <s>  seconds per measured wrk run (default 10; warm-up is a third of it, at least 1 s)
  --quick         2 s runs: a smoke check, numbers are rough
  --json          also write the results to bench/out/bench-<time>.json
  --vs-portkey    add @portkey-ai/gateway@${PORTKEY_VERSION} (installed into a temp folder) as a third target
  --profile       run costgate under node --cpu-prof (bench/out/profiles/) and print its top self-time functions`;

interface Options {
  durationS: number;
  warmupS: number;
  json: boolean;
  vsPortkey: boolean;
  profile: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { duration: { type: 'string' }, quick: { type: 'boolean' }, json: { type: 'boolean' }, 'vs-portkey': { type: 'boolean' }, profile: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const durationS = values.duration !== undefined ? Number(values.duration) : values.quick ? 2 : 10;
  if (!Number.isInteger(durationS) || durationS < 1 || durationS > 60) throw new Error(`--duration must be a whole number of seconds, 1..60\n${USAGE}`);
  return { durationS, warmupS: Math.max(1, Math.round(durationS / 3)), json: !!values.json, vsPortkey: !!values['vs-portkey'], profile: !!values.profile };
}

const log = (s: string) => process.stderr.write(`${s}\n`);

interface Cpus {
  gateway: string;
  client: string;
  gatewayIndex: number;
}

function cpus(): Cpus {
  if (availableParallelism() >= 2) return { gateway: '0', client: '1', gatewayIndex: 0 };
  log('warning: fewer than 2 CPUs; gateway, mock and wrk all share CPU 0, so ratios are not meaningful');
  return { gateway: '0', client: '0', gatewayIndex: 0 };
}

interface Ctx {
  o: Options;
  cpu: Cpus;
  mock: Proc;
  headers: Record<string, string>;
  bodies: Record<Mode, string>;
  work: string;
}

async function measure(c: Ctx, t: Target, mode: Mode, load: Load, durationS: number): Promise<RunResult> {
  const paced = typeof load === 'number';
  const connections = !paced ? CLOSED_CONNECTIONS : load <= 100 ? 16 : 64;
  const latFile = join(c.work, `lat-${t.name}-${mode}-${load}.txt`);
  const gw = t.proc ? watch(t.proc.pid) : undefined;
  const mk = watch(c.mock.pid);
  const coreBefore = coreTimes(c.cpu.gatewayIndex);
  const r = await runWrk({
    url: t.url,
    script: join(LUA, paced ? 'paced.lua' : 'closed.lua'),
    scriptArgs: paced ? [c.bodies[mode], String(load), latFile] : [c.bodies[mode]],
    connections,
    durationS,
    headers: c.headers,
    cpus: c.cpu.client,
  });
  const coreAfter = coreTimes(c.cpu.gatewayIndex);
  const gateway = gw?.stop();
  const mock = mk.stop();
  const coreBusy = (100 * (coreAfter.busy - coreBefore.busy)) / (coreAfter.total - coreBefore.total);
  const e = r.errors;
  const errors = e.connect + e.read + e.write + e.timeout + Math.max(e.status, r.non2xx ?? 0) + (r.unmatched ?? 0);
  const latencyUs = paced ? percentiles(readSamples(latFile)) : r.service!;
  return { target: t.name, mode, load, connections, rps: r.rps, latencyUs, errors, behind: r.behind, gateway, mock, otherOnGatewayCorePct: Math.max(0, coreBusy - (gateway?.cpuPct ?? 0)) };
}

/** One request of each kind through the target, checking the marker echo that paced latency relies on. */
async function check(c: Ctx, t: Target): Promise<void> {
  for (const mode of ['json', 'stream'] as Mode[]) {
    const body = chatBody(mode === 'stream').replace('bench-0', 'bench-424242');
    const res = await fetch(t.url, { method: 'POST', headers: { ...c.headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200 || !text.includes('bench-424242')) {
      throw new Error(`${t.name} (${mode}) answered ${res.status} without the echoed marker:\n${text.slice(0, 600)}\n${t.proc?.output().slice(-1500) ?? ''}`);
    }
    if (mode === 'stream' && !text.includes('data: [DONE]')) throw new Error(`${t.name} stream did not end with data: [DONE]`);
  }
}

async function benchTarget(c: Ctx, t: Target, results: RunResult[]): Promise<void> {
  await check(c, t);
  for (const mode of ['json', 'stream'] as Mode[]) {
    log(`${t.name} ${mode}: warm-up ${c.o.warmupS} s`);
    await measure(c, t, mode, 'closed', c.o.warmupS);
    for (const load of ['closed', ...RATES] as Load[]) {
      const r = await measure(c, t, mode, load, c.o.durationS);
      results.push(r);
      const l = r.latencyUs;
      log(`${t.name} ${mode} ${load}: ${r.rps.toFixed(0)} req/s, p50 ${(l.p50 / 1000).toFixed(2)} ms, p99 ${(l.p99 / 1000).toFixed(2)} ms, gw CPU ${r.gateway?.cpuPct.toFixed(0) ?? '-'}%, errors ${r.errors}`);
    }
  }
}

function memOf(t: Target): MemResult {
  const s = sample(t.proc!.pid);
  return { target: t.name, peakKb: s.hwmKb, endKb: s.rssKb };
}

function machine(o: Options) {
  const wrk = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim();
  return { node: process.version, cpu: cpuModel(), cpus: availableParallelism(), loadavg: loadavg(), wrk, durationS: o.durationS, warmupS: o.warmupS };
}

function cpuModel(): string {
  return cpusInfo()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
}

/** What the costgate target runs with (bench/targets.ts writes the file): printed so the table says what it measured. */
const COSTGATE_CONFIG =
  'costgate: `node --max-semi-space-size=4 bin/costgate.js start` (as `npm start` runs it) with one openai-compatible provider (the mock) and every other setting at its default: ' +
  'SQLite ledger (WAL, batched writes every 5 ms or 500 rows), pricing of every request, retries (3 attempts) and circuit breaker on, ' +
  'usage forced on streams, no attribution headers';

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  ensureWrk(log);
  const cpu = cpus();
  const work = mkdtempSync(join(tmpdir(), 'costgate-bench-'));
  const bodies = { json: join(work, 'body-json.json'), stream: join(work, 'body-stream.json') };
  writeFileSync(bodies.json, chatBody(false));
  writeFileSync(bodies.stream, chatBody(true));
  const started: { close(): Promise<void> }[] = [];
  const stopAll = () => Promise.all(started.splice(0).map((p) => p.close().catch(() => {})));
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  let portkeyDir: string | undefined;
  const results: RunResult[] = [];
  const mem: MemResult[] = [];
  let profile: ProfileSummary | undefined;
  const before = loadavg();
  try {
    if (o.vsPortkey) portkeyDir = installPortkey(log);
    const mock = await startMock(ROOT, cpu.client);
    started.push({ close: () => mock.stop() });
    const c: Ctx = { o, cpu, mock, headers: requestHeaders(mock), bodies, work };
    await benchTarget(c, direct(mock), results);
    const profileDir = o.profile ? join(OUT, 'profiles') : undefined;
    const gateways: (() => Promise<Target>)[] = [() => startCostgate(ROOT, mock, cpu.gateway, work, profileDir)];
    if (portkeyDir) gateways.push(() => startPortkey(portkeyDir!, cpu.gateway));
    for (const start of gateways) {
      const t = await start();
      started.push(t);
      await benchTarget(c, t, results);
      mem.push(memOf(t));
      await t.close();
      started.splice(started.indexOf(t), 1);
      if (t.name === 'costgate' && profileDir) {
        const f = newestProfile(profileDir);
        if (f) profile = summariseProfile(f);
      }
    }
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
    if (portkeyDir) rmSync(portkeyDir, { recursive: true, force: true });
  }
  const gateways = ['costgate', ...(o.vsPortkey ? ['portkey'] : [])];
  const kb = (Buffer.byteLength(chatBody(false)) / 1024).toFixed(2);
  const header =
    `costgate bench: ${o.durationS} s per run (warm-up ${o.warmupS} s), ~${kb} KB chat request, 0 ms mock upstream; ` +
    `gateway on core ${cpu.gateway}, mock + wrk (-t1) on core ${cpu.client}; ${availableParallelism()} x ${cpuModel()}; ${process.version}; ` +
    `load avg before ${before.map((x) => x.toFixed(2)).join(' ')}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n${COSTGATE_CONFIG}` +
    (o.vsPortkey ? `\nportkey: @portkey-ai/gateway@${PORTKEY_VERSION} build/start-server.js --headless, provider and base URL from x-portkey-* headers` : '');
  console.log(`\n${render(results, mem, gateways, header)}`);
  if (profile) console.log(`\n${formatProfile(profile)}`);
  if (o.json) {
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ machine: machine(o), results, memory: mem, verdicts: verdicts(results, mem, gateways), profile }, null, 2));
    console.log(`\nresults written to ${file}`);
  }
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exit(1);
});
