/** `costgate report [summary|pareto|monthly]`: cost reports read straight from the ledger the config names. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { openLedgerStore } from '../stores/ledger/index.js';
import { filterFrom } from '../observability/reports/params.js';
import { summarize, pareto, callPareto, parseGroupBy } from '../observability/reports/summary.js';
import { summaryTable, summaryCsv, summaryJson, usdColumn, table } from '../observability/reports/format.js';
import { monthlyReport } from '../observability/reports/monthly.js';
import { paretoJson } from '../observability/reports/pareto-json.js';
import { PriceCatalog } from '../pricing/catalog.js';
import { Pricer } from '../pricing/pricer.js';
import { promptCacheReport } from '../observability/reports/prompt-cache.js';
import { wasteReport } from '../observability/reports/waste.js';
import { runFinetuneReport, type FinetuneCliOptions } from './finetune.js';

interface ReportOptions extends FinetuneCliOptions {
  config?: string;
  since?: string;
  until?: string;
  by?: string;
  feature?: string;
  user?: string;
  team?: string;
  key?: string;
  model?: string;
  provider?: string;
  status?: string;
  json?: boolean;
  csv?: boolean;
  month?: string;
  out?: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export async function runReport(kind: string, o: ReportOptions, print: (s: string) => void = console.log): Promise<void> {
  if (kind === 'finetune') return runFinetuneReport(o, print);
  const config = loadConfig(o.config);
  const store = await openLedgerStore(config.ledger);
  try {
    const filter = filterFrom({ since: o.since, until: o.until, feature: o.feature, user: o.user, team: o.team, key: o.key, model: o.model, provider: o.provider, status: o.status });
    if (kind === 'summary') {
      const s = await summarize(store, filter, parseGroupBy(o.by));
      print(o.json ? JSON.stringify(summaryJson(s), null, 2) : o.csv ? summaryCsv(s) : summaryTable(s));
    } else if (kind === 'pareto') {
      const by = parseGroupBy(o.by ?? 'feature')[0] ?? 'feature';
      const g = await pareto(store, filter, by);
      const c = await callPareto(store, filter);
      if (o.json) return print(JSON.stringify(paretoJson(g, c), null, 2));
      print(`Top 20% of calls (${Math.ceil(c.calls * 0.2)} of ${c.calls}) drive ${pct(c.costShareOfTop20)} of cost; ${c.callsFor80} calls (${pct(c.calls ? c.callsFor80 / c.calls : 0)}) make up 80%.`);
      print(`Top 20% of ${by} values drive ${pct(g.costShareOfTop20)} of cost; ${g.groupsFor80} of ${g.groups} ${by} values make up 80%.\n`);
      const costs = usdColumn(g.rows.map((r) => r.costNanos));
      print(table([by, 'cost', 'share', 'cumulative', 'requests'], g.rows.map((r, i) => [r.group[by] ?? '(none)', costs[i]!, pct(r.costShare), pct(r.cumulativeShare), String(r.requests)])));
    } else if (kind === 'monthly') {
      const catalog = new PriceCatalog(config.pricing.models);
      const pricer = new Pricer({ catalog, providerType: (n) => (n ? config.providers.get(n)?.type : undefined), aliasBaseline: (a) => config.baselines.get(a), defaultBaseline: config.pricing.baselineModel });
      const md = await monthlyReport(store, pricer, o.month);
      if (o.out) {
        writeFileSync(o.out, md);
        print(`wrote ${o.out}`);
      } else print(md);
    } else if (kind === 'prompt-cache') {
      const rows = await promptCacheReport(store, new PriceCatalog(config.pricing.models), filter);
      if (o.json) {
        return print(JSON.stringify(rows.map((r) => ({ ...r, savedNanos: String(r.savedNanos), missLostNanos: String(r.missLostNanos), volatileLostNanos: String(r.volatileLostNanos) })), null, 2));
      }
      if (!rows.length) return print('no calls with a stable prefix in the ledger (is optimize.promptCache or optimize.lint enabled?)');
      const saved = usdColumn(rows.map((r) => r.savedNanos));
      const miss = usdColumn(rows.map((r) => r.missLostNanos));
      const vol = usdColumn(rows.map((r) => r.volatileLostNanos));
      print(
        table(
          ['feature', 'prefix', 'requests', 'cacheable tok', 'hit rate', 'saved', 'lost: misses', 'lost: volatile', 'volatile content'],
          rows.map((r, i) => [r.feature ?? '(none)', r.prefixHash.slice(0, 12), String(r.requests), String(r.cacheableTokens), pct(r.hitRate), saved[i]!, miss[i]!, vol[i]!, r.volatile.join(',') || '-']),
          2,
        ),
      );
    } else if (kind === 'waste') {
      const rows = await wasteReport(store, new PriceCatalog(config.pricing.models), filter);
      if (o.json) return print(JSON.stringify(rows.map((r) => ({ ...r, cachingSavesNanos: String(r.cachingSavesNanos), capSavesNanos: String(r.capSavesNanos) })), null, 2));
      if (!rows.length) return print('no calls in the ledger for this filter');
      const cs = usdColumn(rows.map((r) => r.cachingSavesNanos));
      const cap = usdColumn(rows.map((r) => r.capSavesNanos));
      const rw = usdColumn(rows.map((r) => r.retryWasteNanos));
      const sc = usdColumn(rows.map((r) => r.summaryCallNanos));
      print(
        table(
          ['feature', 'requests', 'input tok', 'system share', 'uncached repeated prefix tok', 'fix: prompt caching saves', 'output p50/p90', 'output drift', 'fix: max_tokens at p90 saves', 'retry waste', 'summary calls'],
          rows.map((r, i) => [r.feature ?? '(none)', String(r.requests), String(r.inputTokens), pct(r.systemShare), String(r.uncachedRepeatTokens), cs[i]!, `${r.outputP50}/${r.outputP90}`, r.outputDrift === null ? '-' : `${r.outputDrift.toFixed(2)}×`, cap[i]!, rw[i]!, sc[i]!]),
          1,
        ),
      );
    } else throw new Error(`unknown report '${kind}' (summary, pareto, monthly, prompt-cache, waste, finetune)`);
  } finally {
    await store.close();
  }
}

export function addReportCommand(program: Command, fail: (e: unknown) => never): void {
  program
    .command('report')
    .description('cost reports from the ledger: summary (default), pareto, monthly, prompt-cache, waste, finetune')
    .argument('[kind]', 'summary | pareto | monthly | prompt-cache | waste | finetune', 'summary')
    .option('-c, --config <file>', 'config file (names the ledger store)', process.env.COSTGATE_CONFIG)
    .option('--since <when>', 'start: 7d, 24h, 30m, ISO date, epoch ms', '30d')
    .option('--until <when>', 'end (exclusive)')
    .option('--by <keys>', 'group by: feature,model,provider,user,team,key,day,hour,month,requested_model,endpoint')
    .option('--feature <name>')
    .option('--user <id>')
    .option('--team <name>')
    .option('--key <id>', 'API key id')
    .option('--model <name>')
    .option('--provider <name>')
    .option('--status <ok|error>')
    .option('--json', 'JSON output')
    .option('--csv', 'CSV output')
    .option('--month <YYYY-MM>', 'monthly: which month (default: this month)')
    .option('--out <file>', 'monthly: write the Markdown to a file')
    .option('--target-model <model>', 'finetune: the fine-tuned model (priced from the catalog unless the prices below are given)')
    .option('--target-input-price <usd>', 'finetune: fine-tuned inference input $ per M tokens')
    .option('--target-output-price <usd>', 'finetune: fine-tuned inference output $ per M tokens')
    .option('--training-cost-per-mtok <usd>', 'finetune: training $ per M training tokens (examples × epochs × tokens)')
    .option('--training-cost <usd>', 'finetune: flat training cost in $ instead')
    .option('--epochs <n>', 'finetune: training epochs (default 3)')
    .option('--examples <n>', 'finetune: training examples (default: the feature\'s exportable stored calls)')
    .option('--min-monthly-requests <n>', 'finetune: volume threshold (default 10000)')
    .option('--min-examples <n>', 'finetune: few-shot example pairs per call (default 2)')
    .option('--min-prefix-tokens <n>', 'finetune: system + examples prefix tokens (default 500)')
    .option('--flagship <models>', 'finetune: flagship models, comma-separated (default: routing.strong / tiers.complex, and catalog input price ≥ --flagship-min-input-price)')
    .option('--flagship-min-input-price <usd>', 'finetune: input $ per M at or above which a model is flagship (default 2.5)')
    .action(async (kind: string, o: ReportOptions) => {
      try {
        await runReport(kind, o);
      } catch (e) {
        fail(e);
      }
    });
}
