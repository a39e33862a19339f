/**
 * The processes of a bench run (mock upstream, costgate, Portkey), each started under `taskset` on its own core,
 * and what /proc says about them: CPU from utime+stime deltas, memory from VmRSS / VmHWM.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Proc {
  name: string;
  pid: number;
  port: number;
  /** Everything it printed (stdout and stderr), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A free loopback port (bound, then released; the race with other programs is accepted for a bench). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitHttp(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`not answering on 127.0.0.1:${port} after ${deadlineMs} ms`);
}

export interface StartOptions {
  name: string;
  cpus: string;
  command: string;
  args: string[];
  port: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** `taskset -c <cpus> <command> …` (taskset execs, so the pid is the program's), then wait until it answers HTTP. */
export async function startPinned(o: StartOptions): Promise<Proc> {
  const child = spawn('taskset', ['-c', o.cpus, o.command, ...o.args], { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer) => {
    out += c;
    if (out.length > 64_000) out = out.slice(-32_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const proc: Proc = {
    name: o.name,
    pid: child.pid!,
    port: o.port,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await waitHttp(o.port, child, 30_000);
  } catch (e) {
    await proc.stop();
    throw new Error(`${o.name} did not start: ${(e as Error).message}\n${out.slice(-2000)}`);
  }
  return proc;
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout?.trim()) || 100;
  }
  return clockTicks;
}

export interface ProcSample {
  /** CPU seconds (user + system) so far. */
  cpuS: number;
  rssKb: number;
  /** Peak RSS over the process's life. */
  hwmKb: number;
  atMs: number;
}

export function sample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(f[11]) + Number(f[12])) / ticksPerSecond();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { cpuS, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), atMs: performance.now() };
}

export interface Usage {
  /** Percent of one core over the interval. */
  cpuPct: number;
  rssPeakKb: number;
  rssEndKb: number;
}

/** Watch a process during one load run: CPU over the interval, RSS sampled every 200 ms. */
export function watch(pid: number): { stop(): Usage } {
  const first = sample(pid);
  let peak = first.rssKb;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, sample(pid).rssKb);
    } catch {
      /* the process ended; stop() reports what was seen */
    }
  }, 200);
  return {
    stop() {
      clearInterval(timer);
      const last = sample(pid);
      peak = Math.max(peak, last.rssKb);
      const wallS = (last.atMs - first.atMs) / 1000;
      return { cpuPct: wallS > 0 ? (100 * (last.cpuS - first.cpuS)) / wallS : NaN, rssPeakKb: peak, rssEndKb: last.rssKb };
    },
  };
}

/** Jiffies of one CPU from /proc/stat (busy excludes idle and iowait). */
export function coreTimes(cpu: number): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return { busy: NaN, total: NaN };
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3]! - v[4]!, total };
}
