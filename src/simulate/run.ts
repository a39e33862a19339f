/**
 * The what-if replay: the workload's cost as it is, after each lever alone, and after all of them in the gateway's
 * order (a waterfall: what each lever adds on top of the ones before it). Money is integer nano-dollars throughout.
 */
import type { Pricer } from '../pricing/pricer.js';
import { nanosToUsd } from '../pricing/decimal.js';
import { applyLever, LEVERS, type LeverName, type SimCall } from './levers.js';
import type { WhatIfPolicy } from './policy.js';
import type { Workload } from './workload.js';

export interface LeverRow {
  lever: LeverName;
  /** Cost with this lever alone. */
  aloneNanos: number;
  /** Cost after this lever and every earlier one (the waterfall step). */
  cumulativeNanos: number;
  touched: number;
  risk: string;
  na?: string;
}

export interface WhatIfResult {
  policy: string;
  source: string;
  calls: number;
  unpriced: number;
  baselineNanos: number;
  levers: LeverRow[];
  combinedNanos: number;
}

export function priceCalls(calls: SimCall[], pricer: Pricer): { nanos: number; unpriced: number } {
  let nanos = 0;
  let unpriced = 0;
  for (const c of calls) {
    if (c.served || c.cacheHit) continue;
    const usage = { inputTokens: c.inputTokens, cacheReadTokens: c.cacheReadTokens, cacheWrite5mTokens: c.cacheWrite5mTokens, cacheWrite1hTokens: c.cacheWrite1hTokens, outputTokens: c.outputTokens, reasoningTokens: 0, estimated: false };
    const p = pricer.cost(usage, c.model, c.provider, new Date(c.ts), c.batch);
    if (p) nanos += p.nanos;
    else unpriced++;
  }
  return { nanos, unpriced };
}

export function whatIf(w: Workload, policy: WhatIfPolicy, pricer: Pricer, onLever?: (name: LeverName) => void): WhatIfResult {
  const base = priceCalls(w.calls, pricer);
  const rows: LeverRow[] = [];
  let cur: SimCall[] = w.calls;
  for (const name of LEVERS) {
    const alone = applyLever(name, w.calls, policy);
    if (!alone) continue;
    onLever?.(name);
    const step = applyLever(name, cur, policy)!;
    cur = step.calls;
    rows.push({
      lever: name,
      aloneNanos: priceCalls(alone.calls, pricer).nanos,
      cumulativeNanos: priceCalls(cur, pricer).nanos,
      touched: alone.touched,
      risk: alone.risk,
      ...(alone.na ? { na: alone.na } : {}),
    });
  }
  return { policy: policy.name ?? 'policy', source: w.source, calls: w.calls.length, unpriced: base.unpriced, baselineNanos: base.nanos, levers: rows, combinedNanos: rows.length ? rows[rows.length - 1]!.cumulativeNanos : base.nanos };
}

const LABEL: Record<LeverName, string> = {
  routing: 'routing',
  exactCache: 'exact cache',
  semanticCache: 'semantic cache',
  promptCache: 'prompt caching',
  outputCap: 'output caps',
  batch: 'batching',
  summarization: 'summarization',
};

/** Display only (4 decimals); sums stay integer nano-dollars. */
const usd = (n: number) => `$${(n / 1e9).toFixed(4)}`;
const share = (part: number, whole: number) => (whole ? `${((part / whole) * 100).toFixed(1)}%` : '0.0%');

/** The table `costgate simulate` prints. */
export function whatIfTable(r: WhatIfResult): string {
  const b = r.baselineNanos;
  const head = ['lever', 'cost alone', 'saved alone', 'waterfall', 'step saves', 'calls changed', 'quality risk'];
  const body: string[][] = [['baseline (as recorded)', usd(b), '', usd(b), '', String(r.calls), '']];
  let prev = b;
  for (const l of r.levers) {
    if (l.na) {
      body.push([LABEL[l.lever], 'n/a', '', usd(l.cumulativeNanos), '', '0', `cannot simulate: ${l.na}`]);
      continue;
    }
    body.push([LABEL[l.lever], usd(l.aloneNanos), share(b - l.aloneNanos, b), usd(l.cumulativeNanos), share(prev - l.cumulativeNanos, b), String(l.touched), l.risk]);
    prev = l.cumulativeNanos;
  }
  body.push(['combined', usd(r.combinedNanos), share(b - r.combinedNanos, b), '', '', '', '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [`${r.policy}: ${r.calls} calls from ${r.source}${r.unpriced ? ` (${r.unpriced} on unpriced models, left out)` : ''}`, line(head), line(widths.map((x) => '-'.repeat(x))), ...body.map(line)];
  return out.join('\n');
}

export function whatIfJson(r: WhatIfResult): unknown {
  return {
    ...r,
    baselineUsd: nanosToUsd(r.baselineNanos),
    combinedUsd: nanosToUsd(r.combinedNanos),
    savedShare: r.baselineNanos ? (r.baselineNanos - r.combinedNanos) / r.baselineNanos : 0,
    levers: r.levers.map((l) => ({ ...l, aloneUsd: nanosToUsd(l.aloneNanos), cumulativeUsd: nanosToUsd(l.cumulativeNanos) })),
  };
}
