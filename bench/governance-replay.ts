/**
 * `npm run replay:governance`: Azure's 2023 conversation-service trace (../shared/data/azure-llm-trace-2023 when
 * present, else the vendored first 2,000 rows) replayed at N× speed (default 10×) through the gateway's in-process
 * pipeline (`gw.handle`: auth, limits, route, budget, admission, dispatch, meter) to the built-in simulator, under one
 * budget smaller than the trace's demand, with every request given a priority. It prints, per priority, how many
 * calls were served, shed by the budget fraction, refused by the budget itself and shed or queued by capacity, and
 * what the served calls cost — the evidence that critical traffic is served and optional traffic is shed first.
 *
 * The trace names no priority: each row gets one from a hash of its row number (20 % critical, 40 % important, 40 %
 * optional), so the three classes arrive interleaved with the same arrival process and token mix. The trace covers one
 * hour; the budget stands for that period's share of a daily budget (a rolling 24 h window, so a replay that crosses
 * midnight is not reset half way). Demand = the trace's tokens priced as gpt-4o-mini (catalog rates).
 *
 * @example
 * npm run replay:governance                          # full trace at 10× (~6 min), budget 60 % of demand
 * npm run replay:governance -- --speed 100 --budget-share 0.5 --max-in-flight 8
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGateway } from '../src/gateway.js';
import { nanosToUsd } from '../src/pricing/decimal.js';
import { usdToNanos } from '../src/budgets/money.js';
import { emptyUsage } from '../src/providers/usage.js';
import type { Priority } from '../src/pipeline/ctx.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const VENDORED_TRACE = join(ROOT, 'data/azure-llm-trace-2023/conv-first-2000.csv');
export const SHARED_TRACE = join(ROOT, '../shared/data/azure-llm-trace-2023/AzureLLMInferenceTrace_conv.csv');
const MODEL = 'gpt-4o-mini';
const PRIORITIES: Priority[] = ['critical', 'important', 'optional'];

export interface TraceRow {
  i: number;
  /** Seconds since the first request. */
  at: number;
  context: number;
  generated: number;
}

export function readAzureTrace(path: string): TraceRow[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter(Boolean);
  if (lines[0] !== 'TIMESTAMP,ContextTokens,GeneratedTokens') throw new Error(`${path}: not an Azure LLM trace (header ${lines[0]})`);
  const rows = lines.slice(1).map((l, i) => {
    const [ts, c, g] = l.split(',');
    const m = /^\d{4}-\d{2}-\d{2} (\d{2}):(\d{2}):(\d{2}\.\d+)$/.exec(ts ?? '');
    if (!m || !/^\d+$/.test(c ?? '') || !/^\d+$/.test(g ?? '')) throw new Error(`${path}: bad row ${i + 2}: ${l}`);
    return { i, at: Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]), context: Number(c), generated: Number(g) };
  });
  const t0 = rows[0]?.at ?? 0;
  for (const r of rows) r.at -= t0;
  return rows;
}

/** Deterministic priority mix: 20 % critical, 40 % important, 40 % optional, by a hash of the row number. */
export function priorityOf(i: number): Priority {
  const h = (Math.imul(i + 1, 2654435761) >>> 0) % 10;
  return h < 2 ? 'critical' : h < 6 ? 'important' : 'optional';
}

const WORDS = 'the a gateway cost token model cache answer request budget route user feature team provider stream usage price'.split(' ');

/** About `k` tokens of prompt (single-token words); exactness does not matter here, the ledger records what was sent. */
function promptOf(i: number, k: number): string {
  const n = Math.max(1, k - 10);
  const out = new Array<string>(n);
  for (let j = 0; j < n; j++) out[j] = WORDS[(i + j * 7) % WORDS.length]!;
  return `Row ${i}: ${out.join(' ')}`;
}

export interface ReplayOptions {
  trace: TraceRow[];
  speedup: number;
  /** Budget as a share of the trace's demand (its total cost with nothing shed). */
  budgetShare: number;
  /** Shares of the budget optional / important calls may use. */
  fractions: { optional: number; important: number };
  /** Gateway capacity (0 = unlimited); important calls queue for up to queueTimeoutMs. */
  maxInFlight: number;
  queueTimeoutMs?: number;
  /** Simulated upstream speed (ms per output token, and to the first token), at trace time: divided by `speedup`. */
  perTokenMs?: number;
  ttftMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PriorityRow {
  priority: Priority;
  requests: number;
  served: number;
  shedBudget: number;
  refusedBudget: number;
  shedCapacity: number;
  queued: number;
  otherErrors: number;
  /** Trace seconds of the first call refused or shed by the budget (Infinity: never). */
  firstBudgetRefusalAt: number;
  demandNanos: bigint;
  spentNanos: bigint;
}

export interface ReplayResult {
  rows: PriorityRow[];
  demandNanos: bigint;
  budgetNanos: bigint;
  spentNanos: bigint;
  wallMs: number;
  traceSeconds: number;
  ledgerRows: number;
  ledgerGovernance: Record<string, number>;
}

export async function replayGovernance(o: ReplayOptions): Promise<ReplayResult> {
  const perToken = (o.perTokenMs ?? 20) / o.speedup;
  const ttft = Math.round((o.ttftMs ?? 300) / o.speedup);
  // Price the demand first (a gateway with no budget, only for its pricer).
  const probe = await createGateway({ config: { ledger: { store: 'memory' }, providers: { sim: { type: 'simulator' } } }, env: {} });
  const byPri = new Map<Priority, PriorityRow>(
    PRIORITIES.map((p) => [p, { priority: p, requests: 0, served: 0, shedBudget: 0, refusedBudget: 0, shedCapacity: 0, queued: 0, otherErrors: 0, firstBudgetRefusalAt: Infinity, demandNanos: 0n, spentNanos: 0n }]),
  );
  let demandNanos = 0n;
  for (const r of o.trace) {
    const c = BigInt(probe.pricer.cost({ ...emptyUsage(), inputTokens: r.context, outputTokens: r.generated }, MODEL, 'sim')?.nanos ?? 0);
    demandNanos += c;
    byPri.get(priorityOf(r.i))!.demandNanos += c;
  }
  await probe.close();
  const budgetNanos = (demandNanos * BigInt(Math.round(o.budgetShare * 1e6))) / 1_000_000n;
  const gw = await createGateway({
    env: {},
    config: {
      ledger: { store: 'memory' },
      providers: { sim: { type: 'simulator', simulator: { defaultOutputTokens: 1_000_000, ttftMs: ttft, perTokenMs: perToken } } },
      budgets: [{ name: 'daily', scope: 'global', window: { rolling: '24h' }, amount: nanosToUsd(budgetNanos) }],
      priorities: { budgetFraction: o.fractions, maxInFlight: o.maxInFlight, queue: { maxSize: 10_000, timeoutMs: o.queueTimeoutMs ?? 2000 } },
      limits: { maxInputTokens: 0 },
    },
  });
  const start = performance.now();
  let done = 0;
  const pending: Promise<void>[] = [];
  try {
    for (const r of o.trace) {
      const due = (r.at * 1000) / o.speedup - (performance.now() - start);
      if (due > 1) await new Promise((res) => setTimeout(res, due));
      const p = priorityOf(r.i);
      const row = byPri.get(p)!;
      row.requests++;
      pending.push(
        gw
          .handle({
            endpoint: 'chat',
            body: { model: MODEL, max_tokens: Math.max(1, r.generated), messages: [{ role: 'user', content: promptOf(r.i, r.context) }] },
            headers: { 'x-costgate-priority': p, 'x-costgate-feature': 'azure-conv' },
          })
          .then(async (res) => {
            if (res.stream) for await (const _ of res.stream) void _;
            const shed = res.headers['x-costgate-shed'];
            if (res.status === 200) {
              row.served++;
              if (res.headers['x-costgate-queued-ms'] !== undefined) row.queued++;
              row.spentNanos += usdToNanos(res.headers['x-costgate-cost-usd'] ?? '0');
            } else if (res.status === 503 && shed?.startsWith('budget:')) {
              row.shedBudget++;
              row.firstBudgetRefusalAt = Math.min(row.firstBudgetRefusalAt, r.at);
            } else if (res.status === 402) {
              row.refusedBudget++;
              row.firstBudgetRefusalAt = Math.min(row.firstBudgetRefusalAt, r.at);
            } else if (res.status === 503 && shed) row.shedCapacity++;
            else row.otherErrors++;
            if (++done % 1000 === 0) o.onProgress?.(done, o.trace.length);
          }),
      );
    }
    await Promise.all(pending);
    const wallMs = performance.now() - start;
    await gw.ledger.writer.flushNow();
    const ledgerGovernance: Record<string, number> = {};
    let ledgerRows = 0;
    let cursor: string | undefined;
    do {
      const page = await gw.ledger.store.query({ limit: 1000, cursor });
      for (const row of page.rows) {
        ledgerRows++;
        for (const g of (row.governance ?? '').split(';').filter(Boolean)) {
          const k = g.replace(/\(asked \d+\)|=\d+$/, '');
          ledgerGovernance[k] = (ledgerGovernance[k] ?? 0) + 1;
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
    const rows = PRIORITIES.map((p) => byPri.get(p)!);
    return { rows, demandNanos, budgetNanos, spentNanos: rows.reduce((s, r) => s + r.spentNanos, 0n), wallMs, traceSeconds: o.trace.at(-1)?.at ?? 0, ledgerRows, ledgerGovernance };
  } finally {
    await gw.close();
  }
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : '-');
const usd = (n: bigint) => `$${(Number(n) / 1e9).toFixed(4)}`;

export function formatReplay(r: ReplayResult, o: Pick<ReplayOptions, 'speedup' | 'budgetShare' | 'fractions' | 'maxInFlight'>, source: string): string {
  const lines = [
    `Azure conv trace (${source}): ${r.rows.reduce((s, x) => s + x.requests, 0)} requests over ${(r.traceSeconds / 60).toFixed(1)} min of trace, replayed at ${o.speedup}× in ${(r.wallMs / 1000).toFixed(1)} s`,
    `demand ${usd(r.demandNanos)} (gpt-4o-mini), budget ${usd(r.budgetNanos)} (${Math.round(o.budgetShare * 100)} % of demand); optional may use ${Math.round(o.fractions.optional * 100)} % of it, important ${Math.round(o.fractions.important * 100)} %, critical all; capacity ${o.maxInFlight || 'unlimited'} in flight`,
    '',
    '| priority | requests | served | shed by budget (503) | refused by budget (402) | shed by capacity (503) | queued, then served | first budget refusal (trace min) | spend | share of demand served |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const x of r.rows) {
    lines.push(
      `| ${x.priority} | ${x.requests} | ${x.served} (${pct(x.served, x.requests)}) | ${x.shedBudget} | ${x.refusedBudget} | ${x.shedCapacity} | ${x.queued} | ${Number.isFinite(x.firstBudgetRefusalAt) ? (x.firstBudgetRefusalAt / 60).toFixed(1) : 'never'} | ${usd(x.spentNanos)} | ${pct(Number(x.spentNanos), Number(x.demandNanos))} |`,
    );
  }
  lines.push('', `spent ${usd(r.spentNanos)} of the ${usd(r.budgetNanos)} budget (${pct(Number(r.spentNanos), Number(r.budgetNanos))}); ledger: ${r.ledgerRows} rows, governance ${JSON.stringify(r.ledgerGovernance)}`);
  const other = r.rows.reduce((s, x) => s + x.otherErrors, 0);
  if (other) lines.push(`other errors: ${other}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      speed: { type: 'string', default: '10' },
      'budget-share': { type: 'string', default: '0.6' },
      optional: { type: 'string', default: '0.5' },
      important: { type: 'string', default: '0.8' },
      'max-in-flight': { type: 'string', default: '0' },
      rows: { type: 'string' },
      trace: { type: 'string' },
    },
  });
  const path = values.trace ?? (existsSync(SHARED_TRACE) ? SHARED_TRACE : VENDORED_TRACE);
  if (!values.trace && path === VENDORED_TRACE) console.log('../shared/data/azure-llm-trace-2023 not present: replaying the vendored first 2,000 rows');
  let trace = readAzureTrace(path);
  if (values.rows) trace = trace.slice(0, Number(values.rows));
  const o = {
    trace,
    speedup: Number(values.speed),
    budgetShare: Number(values['budget-share']),
    fractions: { optional: Number(values.optional), important: Number(values.important) },
    maxInFlight: Number(values['max-in-flight']),
    onProgress: (d: number, n: number) => process.stderr.write(`  ${d}/${n}\r`),
  };
  const r = await replayGovernance(o);
  console.log(formatReplay(r, o, path === SHARED_TRACE ? 'full file, ../shared' : path === VENDORED_TRACE ? 'vendored first 2,000 rows' : path));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
