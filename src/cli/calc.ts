/** `costgate calc`: compare models for a workload; `costgate calc self-host`: GPU-hour economics. */
import { Command, InvalidArgumentError } from 'commander';
import { PriceCatalog, type PriceOverride } from '../pricing/catalog.js';
import { fmtUsd, priceMix, priceWorkload, selfHost, type ModelCost, type Workload } from '../pricing/calc.js';
import { loadConfig } from '../config/load.js';

const DEFAULT_MODELS = ['gpt-4.1-nano', 'gpt-4o-mini', 'gpt-4.1-mini', 'gemini-2.0-flash', 'claude-haiku-4-5', 'o4-mini', 'gpt-4.1', 'gpt-4o', 'claude-sonnet-4-5', 'claude-opus-4-1'];

const nat = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number ≥ 0');
  return n;
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `model=IN/OUT[/CACHE_READ[/BATCH_IN/BATCH_OUT]]`, $ per million tokens. */
export function parsePrice(s: string): [string, PriceOverride] {
  const m = /^([^=]+)=([\d.]+)\/([\d.]+)(?:\/([\d.]+))?(?:\/([\d.]+)\/([\d.]+))?$/.exec(s);
  if (!m) throw new InvalidArgumentError(`--price MODEL=IN/OUT[/CACHE_READ[/BATCH_IN/BATCH_OUT]] ($ per million tokens), got '${s}'`);
  const o: PriceOverride = { input: Number(m[2]), output: Number(m[3]) };
  if (m[4]) o.cacheRead = Number(m[4]);
  if (m[5]) Object.assign(o, { batchInput: Number(m[5]), batchOutput: Number(m[6]) });
  return [m[1]!, o];
}

function table(rows: ModelCost[]): string {
  const head = ['model', 'per call', 'per day', 'per month', 'price source'];
  const body = rows.map((r) => [r.model, fmtUsd(r.perCallNanos), fmtUsd(r.perDayNanos), fmtUsd(r.perMonthNanos), r.source]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 || i === 4 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

export function addCalcCommand(program: Command, fail: (e: unknown) => never): void {
  const calc = program
    .command('calc')
    .description('cost calculator: price a workload on each model (catalog prices, exact), sorted by monthly cost')
    .argument('[models...]', `models to compare (default: ${DEFAULT_MODELS.join(', ')})`)
    .option('--input <n>', 'input tokens per call (required)', nat)
    .option('--output <n>', 'output tokens per call (required)', nat)
    .option('--calls-per-day <n>', 'calls per day (a month is 30 days)', nat)
    .option('--calls-per-month <n>', 'calls per month', nat)
    .option('--cached-share <s>', 'share of input tokens read from a prompt cache (0-1)')
    .option('--batch-share <s>', 'share of calls sent through a Batch API (0-1)')
    .option('--long-share <s>', 'share of calls with a long context (0-1)')
    .option('--long-input <n>', 'input tokens of a long-context call', nat)
    .option('--mix <list>', 'also price a mix by share of calls, e.g. gpt-4.1-nano:0.6,gpt-4.1-mini:0.3,gpt-4.1:0.1')
    .option('--price <model=in/out>', 'price override or custom model, $/M tokens: IN/OUT[/CACHE_READ[/BATCH_IN/BATCH_OUT]] (repeatable)', collect)
    .option('-c, --config <file>', 'take price overrides from this config (pricing.models)')
    .option('--json', 'print JSON (money as exact decimal strings)')
    .action((models: string[], o) => {
      try {
        if (o.input === undefined || o.output === undefined) throw new Error('give --input and --output (tokens per call)');
        if ((o.callsPerDay === undefined) === (o.callsPerMonth === undefined)) throw new Error('give exactly one of --calls-per-day, --calls-per-month');
        const overrides: Record<string, PriceOverride> = { ...(o.config ? loadConfig(o.config).pricing.models : {}) };
        for (const p of (o.price as string[] | undefined) ?? []) {
          const [m, v] = parsePrice(p);
          overrides[m] = v;
        }
        const catalog = new PriceCatalog(overrides);
        const w: Workload = {
          inputTokens: o.input, outputTokens: o.output,
          callsPerMonth: o.callsPerMonth !== undefined ? BigInt(o.callsPerMonth) : BigInt(o.callsPerDay) * 30n,
          cachedShare: o.cachedShare, batchShare: o.batchShare, longShare: o.longShare, longInputTokens: o.longInput,
        };
        const names = models.length ? models : [...new Set([...DEFAULT_MODELS.filter((m) => catalog.rates(m)), ...Object.keys(overrides)])];
        const rows = names.map((m) => priceWorkload(catalog, m, w));
        let mix: ReturnType<typeof priceMix> | undefined;
        if (o.mix) {
          const parts = String(o.mix).split(',').map((x) => {
            const i = x.lastIndexOf(':');
            if (i <= 0) throw new Error(`--mix: MODEL:SHARE,… (got '${x}')`);
            return { model: x.slice(0, i).trim(), share: x.slice(i + 1).trim() };
          });
          mix = priceMix(catalog, parts, w);
          rows.push(mix);
        }
        rows.sort((a, b) => (a.perMonthNanos < b.perMonthNanos ? -1 : a.perMonthNanos > b.perMonthNanos ? 1 : 0));
        if (o.json) {
          const j = (r: ModelCost) => ({ model: r.model, source: r.source, per_call_usd: fmtUsd(r.perCallNanos).slice(1), per_day_usd: fmtUsd(r.perDayNanos).slice(1), per_month_usd: fmtUsd(r.perMonthNanos).slice(1) });
          console.log(JSON.stringify({ workload: { ...w, callsPerMonth: w.callsPerMonth.toString() }, models: rows.map(j) }, null, 2));
          return;
        }
        const shares = [o.cachedShare && `${o.cachedShare} of input cached`, o.batchShare && `${o.batchShare} of calls batched`, o.longShare && `${o.longShare} of calls at ${o.longInput} input tokens`].filter(Boolean);
        console.log(`${o.input} in / ${o.output} out per call, ${w.callsPerMonth} calls per month${shares.length ? `, ${shares.join(', ')}` : ''}\n`);
        console.log(table(rows));
      } catch (e) {
        fail(e);
      }
    });

  calc
    .command('self-host')
    .description('what a self-hosted model costs per million tokens, and when it beats an API model')
    .requiredOption('--gpu-hour <usd>', '$ per GPU-hour', Number)
    .requiredOption('--tokens-per-sec <n>', 'sustained output tokens per second (all GPUs of one replica)', Number)
    .option('--utilization <u>', 'share of the time the GPUs are busy (0-1]', Number, 0.6)
    .option('--gpus <n>', 'GPUs per replica', Number, 1)
    .option('--versus <model>', 'API model to compare with', 'gpt-4o-mini')
    .option('--input <n>', 'input tokens per call (for the comparison)', nat, 500)
    .option('--output <n>', 'output tokens per call (for the comparison)', nat, 150)
    .option('--json', 'print JSON')
    .action((o) => {
      try {
        const s = selfHost({ usdPerGpuHour: o.gpuHour, gpus: o.gpus, tokensPerSec: o.tokensPerSec, utilization: o.utilization });
        const catalog = new PriceCatalog();
        const api = priceWorkload(catalog, o.versus, { inputTokens: o.input, outputTokens: o.output, callsPerMonth: 1n });
        const apiPerCall = Number(api.perCallNanos) / 1e9;
        const capacityCalls = Math.floor(s.monthlyCapacityTokens / Math.max(1, o.output));
        const breakEvenCalls = apiPerCall > 0 ? Math.ceil(s.monthlyUsd / apiPerCall) : Infinity;
        const beats = breakEvenCalls <= capacityCalls;
        const out = {
          usd_per_million_output_tokens: Number(s.usdPerMTok.toFixed(4)), monthly_usd_per_replica: Number(s.monthlyUsd.toFixed(2)),
          monthly_capacity_output_tokens: Math.round(s.monthlyCapacityTokens), monthly_capacity_calls: capacityCalls,
          versus: o.versus, api_usd_per_call: apiPerCall, break_even_calls_per_month: Number.isFinite(breakEvenCalls) ? breakEvenCalls : null, beats_api_within_one_replica: beats,
        };
        // `--json` after `self-host` is parsed by `calc` (commander gives a parent's options precedence).
        if (o.json || calc.opts().json) return void console.log(JSON.stringify(out, null, 2));
        console.log(`self-hosted: $${out.usd_per_million_output_tokens}/M output tokens at ${o.tokensPerSec} tok/s, ${o.utilization} utilization, ${o.gpus} GPU(s) at $${o.gpuHour}/h`);
        console.log(`one replica all month: $${out.monthly_usd_per_replica}, capacity ${(out.monthly_capacity_output_tokens / 1e6).toFixed(2)} M output tokens (${capacityCalls} calls of ${o.output} tokens)`);
        console.log(`${o.versus} at ${o.input} in / ${o.output} out: $${apiPerCall.toFixed(9)} per call`);
        console.log(
          beats
            ? `self-hosting beats ${o.versus} above ${breakEvenCalls} calls per month (one replica serves up to ${capacityCalls})`
            : `self-hosting does not beat ${o.versus}: one replica's $${out.monthly_usd_per_replica} would need ${breakEvenCalls} calls a month to pay off, more than the ${capacityCalls} it can serve (each extra replica adds the same cost and capacity)`,
        );
      } catch (e) {
        fail(e);
      }
    });
}
