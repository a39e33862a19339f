/**
 * The bench's results and how they are printed: one table for closed-loop throughput, one for paced latency, one
 * for memory, then the targets with pass/fail. Comparisons are ratios and differences against `direct` (wrk → mock
 * on the same machine in the same run) because absolute numbers on a shared 2-core machine move between runs.
 */
import type { LatencySummary } from './wrk.js';
import type { Usage } from './procs.js';

export type Mode = 'json' | 'stream';
export type Load = 'closed' | number;

export interface RunResult {
  target: string;
  mode: Mode;
  load: Load;
  connections: number;
  /** Completed requests per second. */
  rps: number;
  /** Paced: from the (intended) send time, by paced.lua. Closed: wrk's own, from the actual send. Microseconds. */
  latencyUs: LatencySummary;
  /** Socket errors + non-2xx + responses that did not carry the echoed marker (paced). */
  errors: number;
  /** Paced: requests sent after their slot because every connection was busy. */
  behind?: number;
  gateway?: Usage;
  mock: Usage;
  /** Busy % of the gateway's core not spent by the gateway (other engineers' tests, the kernel): noise. */
  otherOnGatewayCorePct: number;
}

export interface MemResult {
  target: string;
  /** VmHWM at the end (peak RSS over the process's life), and VmRSS at the end. */
  peakKb: number;
  endKb: number;
}

export const TARGETS = { throughputRatio: 0.4, addedP99Ms: 1, rssMb: 120, atRate: 1000 } as const;

const ms = (us: number) => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '–');
const pct = (u?: Usage) => (u && Number.isFinite(u.cpuPct) ? `${u.cpuPct.toFixed(0)}%` : '–');
const mb = (kb: number) => (kb / 1024).toFixed(1);
const signed = (x: number, digits = 2) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(digits)}` : '–');
const mark = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** Plain-text table: first two columns left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function find(rs: RunResult[], target: string, mode: Mode, load: Load): RunResult | undefined {
  return rs.find((r) => r.target === target && r.mode === mode && r.load === load);
}

export function throughputRatio(rs: RunResult[], target: string, mode: Mode): number {
  const d = find(rs, 'direct', mode, 'closed');
  const t = find(rs, target, mode, 'closed');
  return d && t && d.rps > 0 ? t.rps / d.rps : NaN;
}

/** Added latency (ms) of a target over direct at one rate and percentile. */
export function added(rs: RunResult[], target: string, mode: Mode, load: number, p: keyof LatencySummary): number {
  const d = find(rs, 'direct', mode, load);
  const t = find(rs, target, mode, load);
  return d && t ? (t.latencyUs[p] - d.latencyUs[p]) / 1000 : NaN;
}

export interface Verdict {
  target: string;
  what: string;
  value: string;
  pass: boolean;
}

export function verdicts(rs: RunResult[], mem: MemResult[], gateways: string[]): Verdict[] {
  const out: Verdict[] = [];
  for (const g of gateways) {
    for (const mode of ['json', 'stream'] as Mode[]) {
      const r = throughputRatio(rs, g, mode);
      out.push({ target: g, what: `closed-loop throughput >= ${TARGETS.throughputRatio}x direct (${mode})`, value: `${r.toFixed(2)}x`, pass: r >= TARGETS.throughputRatio });
      const a = added(rs, g, mode, TARGETS.atRate, 'p99');
      out.push({ target: g, what: `added p99 <= ${TARGETS.addedP99Ms} ms at ${TARGETS.atRate} req/s (${mode})`, value: `${signed(a)} ms`, pass: a <= TARGETS.addedP99Ms });
    }
    const m = mem.find((x) => x.target === g);
    if (m) out.push({ target: g, what: `RSS <= ${TARGETS.rssMb} MB (peak)`, value: `${mb(m.peakKb)} MB`, pass: m.peakKb / 1024 <= TARGETS.rssMb });
  }
  return out;
}

export function render(rs: RunResult[], mem: MemResult[], gateways: string[], header: string): string {
  const targets = ['direct', ...gateways];
  const modes: Mode[] = ['json', 'stream'];
  const rates = [...new Set(rs.map((r) => r.load).filter((l): l is number => typeof l === 'number'))].sort((a, b) => a - b);
  const out: string[] = [header, ''];

  const closed: string[][] = [];
  for (const t of targets)
    for (const m of modes) {
      const r = find(rs, t, m, 'closed');
      if (!r) continue;
      const perCore = r.gateway && r.gateway.cpuPct > 0 ? ((100 * r.rps) / r.gateway.cpuPct).toFixed(0) : '–';
      closed.push([t, m, r.rps.toFixed(0), t === 'direct' ? '1.00x' : `${throughputRatio(rs, t, m).toFixed(2)}x`, ms(r.latencyUs.p50), ms(r.latencyUs.p99), pct(r.gateway), perCore, pct(r.mock), String(r.errors)]);
    }
  out.push(`Closed loop (max throughput; ${rs.find((r) => r.load === 'closed')?.connections ?? '?'} connections; latency is wrk's, from the actual send, ms)`);
  out.push(table(['target', 'request', 'req/s', 'x direct', 'p50', 'p99', 'gw CPU', 'req/CPU-s', 'mock CPU', 'errors'], closed));
  out.push('(req/CPU-s = req/s divided by the gateway\'s share of its core: what one full core would serve, less sensitive to noise)', '');

  const paced: string[][] = [];
  for (const rate of rates)
    for (const m of modes)
      for (const t of targets) {
        const r = find(rs, t, m, rate);
        if (!r) continue;
        const l = r.latencyUs;
        const d = t === 'direct';
        paced.push([t, m, String(rate), r.rps.toFixed(0), ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), d ? '' : signed(added(rs, t, m, rate, 'p50')), d ? '' : signed(added(rs, t, m, rate, 'p99')), pct(r.gateway), String(r.errors), String(r.behind ?? 0)]);
      }
  out.push('Paced open loop (latency in ms from the send time, late sends counted from their scheduled time; streams to the last byte)');
  out.push(table(['target', 'request', 'rate', 'done/s', 'p50', 'p90', 'p99', 'p99.9', '+p50', '+p99', 'gw CPU', 'errors', 'late'], paced), '');

  if (mem.length) {
    out.push('Gateway memory (MB; peak = VmHWM over the whole bench, end = VmRSS after the last run)');
    out.push(table(['target', 'peak', 'end'], mem.map((m) => [m.target, mb(m.peakKb), mb(m.endKb)])), '');
  }

  out.push('Targets');
  for (const v of verdicts(rs, mem, gateways)) out.push(`  ${mark(v.pass)}  ${v.target.padEnd(8)} ${v.what}: ${v.value}`);

  const noisy = rs.filter((r) => r.otherOnGatewayCorePct > 15);
  if (noisy.length) {
    out.push('', 'Noise: other load on the gateway core (core 0) during these runs, numbers may be disturbed:');
    for (const r of noisy) out.push(`  ${r.target} ${r.mode} ${r.load}: ${r.otherOnGatewayCorePct.toFixed(0)}% of core 0 busy with other work`);
  }
  return out.join('\n');
}
