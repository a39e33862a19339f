/**
 * `npm run eval:prompt-cache [DIR]`: prompt-cache savings on Mooncake prefix-block traces (default
 * ../shared/data/mooncake-traces, else the vendored sample in data/mooncake-sample). Prints, per trace, the input bill
 * with no caching, OpenAI-style automatic caching, Anthropic breakpoints writing every prefix at 5 m / 1 h, costgate's
 * online TTL policy (the same TtlPolicy class the context stage uses, asked with the model's minimum cacheable length),
 * and the 5 m oracle that writes only prefixes
 * read again within the TTL. Priced from the catalog: Anthropic rows at claude-sonnet-4-5, the OpenAI row at gpt-4.1.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { nanosToUsd } from '../src/pricing/decimal.js';
import { multipliersOf, parseTrace, priceTotals, simulate, type Policy } from '../src/optimize/prompt-cache-sim.js';
import { minCacheableTokens } from '../src/providers/anthropic/prompt-cache.js';

const ANTHROPIC_MODEL = process.env.EVAL_ANTHROPIC_MODEL ?? 'claude-sonnet-4-5';
const OPENAI_MODEL = process.env.EVAL_OPENAI_MODEL ?? 'gpt-4.1';

export interface EvalRow {
  policy: string;
  model: string;
  readTokens: number;
  writeTokens: number;
  costNanos: bigint;
  /** Cost relative to the same model's no-cache bill. */
  ratio: number;
  /** Share of the oracle's saving this row achieves (Anthropic rows). */
  ofOracle?: number;
}

export function evaluate(text: string, catalog = new PriceCatalog()): EvalRow[] {
  const reqs = parseTrace(text);
  const ar = catalog.rates(ANTHROPIC_MODEL, 'anthropic')!;
  const or = catalog.rates(OPENAI_MODEL, 'openai')!;
  const prices = multipliersOf(ar);
  // The policy is asked with the model's minimum cacheable length, as the gateway (and `costgate simulate`) ask it.
  const minTokens = minCacheableTokens(ANTHROPIC_MODEL);
  const run = (name: string, p: Policy, rates = ar, model = ANTHROPIC_MODEL) => {
    const t = simulate(reqs, p, prices);
    return { name, t, model, rates, cost: priceTotals(t, rates) };
  };
  const noneA = run('no prompt cache', { kind: 'none' });
  const noneO = run('no prompt cache', { kind: 'none' }, or, OPENAI_MODEL);
  const rows = [
    noneA,
    run('OpenAI-style automatic', { kind: 'openai' }, or, OPENAI_MODEL),
    run('Anthropic, every prefix, 5m', { kind: 'write-all', ttl: '5m' }),
    run('Anthropic, every prefix, 1h', { kind: 'write-all', ttl: '1h' }),
    run('costgate online policy (5m only)', { kind: 'costgate', ttls: ['5m'], minTokens }),
    run('costgate online policy (5m/1h)', { kind: 'costgate', minTokens }),
    run('oracle (5m, writes only prefixes reused in TTL)', { kind: 'oracle', ttl: '5m' }),
    run('oracle (1h)', { kind: 'oracle', ttl: '1h' }),
  ];
  const oracle = rows[6]!;
  const oracleSaving = noneA.cost - oracle.cost;
  return rows.map((r) => {
    const base = r.model === OPENAI_MODEL ? noneO.cost : noneA.cost;
    const row: EvalRow = { policy: r.name, model: r.model, readTokens: r.t.cacheRead, writeTokens: r.t.write5m + r.t.write1h, costNanos: r.cost, ratio: Number((r.cost * 1_000_000n) / base) / 1_000_000 };
    if (r.model === ANTHROPIC_MODEL && oracleSaving > 0n) row.ofOracle = Number(((noneA.cost - r.cost) * 1_000_000n) / oracleSaving) / 1_000_000;
    return row;
  });
}

export function formatTable(name: string, requests: number, rows: EvalRow[]): string {
  const lines = [`### ${name} (${requests.toLocaleString('en-US')} requests)`, '', '| policy | priced at | cache reads (tok) | cache writes (tok) | input cost (USD) | × no-cache | share of oracle saving |', '|---|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.policy} | ${r.model} | ${r.readTokens.toLocaleString('en-US')} | ${r.writeTokens.toLocaleString('en-US')} | ${nanosToUsd(r.costNanos)} | ${r.ratio.toFixed(3)} | ${r.ofOracle === undefined ? '' : `${(r.ofOracle * 100).toFixed(1)} %`} |`);
  }
  return lines.join('\n');
}

function main(): void {
  const arg = process.argv[2];
  const dirs = [arg, '../shared/data/mooncake-traces', 'data/mooncake-sample'].filter((d): d is string => !!d);
  const dir = dirs.find((d) => existsSync(d));
  if (!dir) throw new Error(`no trace directory among ${dirs.join(', ')}`);
  console.log(`traces: ${dir}\n`);
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    const rows = evaluate(text);
    console.log(formatTable(f, parseTrace(text).length, rows) + '\n');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
