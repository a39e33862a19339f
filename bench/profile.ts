/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per area (costgate's own code,
 * undici, node's http internals, GC, idle), so a bench run that misses its throughput target says where time went.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of samples that were not idle. */
  busyPct: number;
  functions: SelfTime[];
  areas: SelfTime[];
}

/** Which part of the stack a script URL belongs to. */
export function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/builtin)';
  const src = /\/dist\/src\/(.+)\.js$/.exec(url);
  if (src) return `costgate ${src[1]!.split('/').slice(0, 2).join('/')}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:internal/deps/undici')) return 'undici (bundled)';
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  return url;
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  const n = url.lastIndexOf('node_modules/');
  return n >= 0 ? url.slice(n + 13) : url;
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the gap before sample i; attribute the gap after a sample to it.
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    total += us;
    if (cf.functionName === '(idle)') idle += us;
    const name = `${cf.functionName || '(anonymous)'} ${cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
    fns.set(name, (fns.get(name) ?? 0) + us);
    const a = areaOf(cf.url, cf.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: busy > 0 ? (100 * us) / busy : 0 }));
  return { file, totalMs: total / 1000, busyPct: total > 0 ? (100 * busy) / total : 0, functions: rank(fns), areas: rank(areas) };
}

/** The newest .cpuprofile in a folder. */
export function newestProfile(dir: string): string | undefined {
  let best: { f: string; t: number } | undefined;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.cpuprofile')) continue;
    const t = statSync(join(dir, f)).mtimeMs;
    if (!best || t > best.t) best = { f: join(dir, f), t };
  }
  return best?.f;
}

export function formatProfile(s: ProfileSummary): string {
  const rows = (xs: SelfTime[]) => xs.map((x) => `  ${x.pct.toFixed(1).padStart(5)}%  ${x.ms.toFixed(0).padStart(7)} ms  ${x.name}`).join('\n');
  return [
    `CPU profile ${s.file} (${(s.totalMs / 1000).toFixed(1)} s sampled, ${s.busyPct.toFixed(0)}% busy; shares are of busy time)`,
    'Top self time by function:',
    rows(s.functions),
    'Self time by area:',
    rows(s.areas),
  ].join('\n');
}
