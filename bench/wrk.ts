/**
 * wrk, the load generator: finding (or installing) it, running one bounded load, and reading its output. The Lua
 * scripts in bench/lua/ end with one `BENCH_RESULT {json}` line; the human-readable part is parsed as a fallback and
 * for the request rate.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** One wrk run. Times are in microseconds. */
export interface WrkResult {
  requests: number;
  durationUs: number;
  /** Completed requests per second, as wrk prints it. */
  rps: number;
  errors: WrkErrors;
  /** wrk's own latency (from the actual send of each request). */
  service?: LatencySummary;
  /** Paced runs: responses timed by the Lua script, non-2xx answers, responses without the echoed marker, requests sent late. */
  samples?: number;
  non2xx?: number;
  unmatched?: number;
  behind?: number;
}

const ZERO: WrkErrors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };

/** Parse wrk's stdout (with or without the BENCH_RESULT line our scripts print). Throws when it holds no result. */
export function parseWrkOutput(text: string): WrkResult {
  const line = /^BENCH_RESULT (\{.*\})\s*$/m.exec(text);
  const rpsMatch = /^\s*Requests\/sec:\s*([\d.]+)/m.exec(text);
  if (line) {
    const j = JSON.parse(line[1]!) as { requests: number; duration_us: number; errors: WrkErrors; service_us: LatencySummary; samples?: number; non2xx?: number; unmatched?: number; behind?: number };
    const rps = rpsMatch ? Number(rpsMatch[1]) : j.duration_us > 0 ? j.requests / (j.duration_us / 1e6) : 0;
    return { requests: j.requests, durationUs: j.duration_us, rps, errors: { ...ZERO, ...j.errors }, service: j.service_us, samples: j.samples, non2xx: j.non2xx, unmatched: j.unmatched, behind: j.behind };
  }
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),/m.exec(text);
  if (!total || !rpsMatch) throw new Error(`unrecognised wrk output:\n${text.slice(0, 500)}`);
  const unit = { us: 1, ms: 1e3, s: 1e6, m: 60e6 }[total[3] as 'us' | 'ms' | 's' | 'm'];
  const errors = { ...ZERO };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (sock) Object.assign(errors, { connect: +sock[1]!, read: +sock[2]!, write: +sock[3]!, timeout: +sock[4]! });
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (non2xx) errors.status = +non2xx[1]!;
  const res: WrkResult = { requests: +total[1]!, durationUs: Number(total[2]) * unit, rps: Number(rpsMatch[1]), errors };
  const dist = parseLatencyDistribution(text);
  if (dist) res.service = dist;
  return res;
}

/** `--latency` lines (`50%  1.23ms`) to microseconds; p99.9 and max are not printed by wrk, so they stay NaN. */
function parseLatencyDistribution(text: string): LatencySummary | undefined {
  const at = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) * { us: 1, ms: 1e3, s: 1e6 }[m[2] as 'us' | 'ms' | 's'] : NaN;
  };
  const p50 = at('50');
  if (Number.isNaN(p50)) return undefined;
  return { p50, p90: at('90'), p99: at('99'), p999: NaN, max: NaN };
}

/** Nearest-rank percentiles of latency samples (any unit), sorted in place. */
export function percentiles(samples: number[]): LatencySummary {
  if (samples.length === 0) return { p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.max(0, Math.ceil((p * samples.length) / 100 - 1e-9) - 1))]!;
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: samples[samples.length - 1]! };
}

/** Latency samples (one integer per line) as written by paced.lua. */
export function readSamples(path: string): number[] {
  const out: number[] = [];
  for (const l of readFileSync(path, 'utf8').split('\n')) if (l) out.push(Number(l));
  return out;
}

const INSTALL_HINT = 'wrk (the HTTP load generator) is required: install it with `sudo apt-get install -y wrk` (Debian/Ubuntu), then re-run `npm run bench`.';

/** Make sure wrk is on PATH; as root, try `apt-get install -y wrk` once. Throws with instructions otherwise. */
export function ensureWrk(log: (s: string) => void): void {
  const has = () => spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
  if (has()) return;
  if (process.getuid?.() !== 0) throw new Error(INSTALL_HINT);
  log('wrk not found; installing it with apt-get (running as root)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit', env });
  }
  if (r.status !== 0 || !has()) throw new Error(`could not install wrk automatically. ${INSTALL_HINT}`);
}

export interface WrkRun {
  url: string;
  script: string;
  scriptArgs: string[];
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  /** CPU list for taskset (the client shares the mock's core). */
  cpus: string;
}

/** Run wrk once (bounded by its duration plus a grace period) and parse its output. */
export function runWrk(o: WrkRun): Promise<WrkResult> {
  const args = ['-c', o.cpus, 'wrk', '-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--timeout', '10s', '-s', o.script];
  for (const [k, v] of Object.entries(o.headers)) args.push('-H', `${k}: ${v}`);
  args.push(o.url, '--', ...o.scriptArgs);
  return new Promise((resolve, reject) => {
    const p = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c));
    p.stderr.on('data', (c: Buffer) => (err += c));
    const kill = setTimeout(() => p.kill('SIGKILL'), (o.durationS + 30) * 1000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(kill);
      try {
        if (code !== 0) throw new Error(`wrk exited with ${code}: ${err || out}`);
        resolve(parseWrkOutput(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}
