/** `costgate simulate`: replay the ledger or a trace against what-if policies and print what each lever would save. */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { openLedgerStore } from '../stores/ledger/index.js';
import { filterFrom } from '../observability/reports/params.js';
import { PriceCatalog } from '../pricing/catalog.js';
import { Pricer } from '../pricing/pricer.js';
import { fromLedger, fromTraceFile, type Workload } from '../simulate/workload.js';
import { loadPolicy } from '../simulate/policy.js';
import { whatIf, whatIfJson, whatIfTable } from '../simulate/run.js';

interface SimulateOptions {
  config?: string;
  policy: string[];
  trace?: string;
  format: 'azure' | 'mooncake' | 'auto';
  model: string;
  since?: string;
  until?: string;
  feature?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Progress on stderr: a bar on a terminal, a line every 10 % otherwise (CI logs). */
export function progress(label: string, total?: number): (n: number) => void {
  let lastTenth = -1;
  return (n) => {
    if (process.stderr.isTTY) {
      const bar = total ? `[${'#'.repeat(Math.round((n / total) * 30)).padEnd(30)}] ` : '';
      process.stderr.write(`\r${label}: ${bar}${n}${total ? `/${total}` : ''}`);
    } else if (total) {
      const tenth = Math.floor((n / total) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`${label}: ${n}/${total}\n`);
      }
    }
  };
}

export async function runSimulate(o: SimulateOptions, print: (s: string) => void = console.log): Promise<void> {
  if (!o.policy.length) throw new Error('give at least one --policy FILE (YAML or JSON; see README "What-if simulator")');
  const policies = o.policy.map(loadPolicy);
  const config = loadConfig(o.config);
  const pricer = new Pricer({ catalog: new PriceCatalog(config.pricing.models), providerType: (n) => (n ? config.providers.get(n)?.type : undefined), aliasBaseline: (a) => config.baselines.get(a), defaultBaseline: config.pricing.baselineModel });
  let w: Workload;
  if (o.trace) w = fromTraceFile(o.trace, o.format, o.model);
  else {
    const store = await openLedgerStore(config.ledger);
    try {
      const filter = filterFrom({ since: o.since, until: o.until, feature: o.feature });
      w = await fromLedger(store, filter, progress('reading ledger', await store.count(filter)));
    } finally {
      await store.close();
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
  }
  const results = policies.map((p) => whatIf(w, p, pricer));
  if (o.json) return print(JSON.stringify(results.map(whatIfJson), null, 2));
  print(results.map(whatIfTable).join('\n\n'));
}

export function addSimulateCommand(program: Command, fail: (e: unknown) => never): void {
  program
    .command('simulate')
    .description('what-if: replay the ledger (or a trace) against policies and print the cost before/after for each lever alone and combined')
    .requiredOption('--policy <file>', 'what-if policy (YAML/JSON; repeatable: one table per policy)', collect, [])
    .option('-c, --config <file>', 'config naming the ledger and price overrides')
    .option('--trace <file>', 'replay a trace instead of the ledger: Azure LLM trace CSV or Mooncake JSONL')
    .option('--format <f>', 'trace format: azure | mooncake | auto', 'auto')
    .option('--model <name>', 'model a trace\'s calls were made on', 'gpt-4o')
    .option('--since <time>', 'ledger rows from (ISO date or 7d, 24h)')
    .option('--until <time>', 'ledger rows until')
    .option('--feature <name>', 'only this feature')
    .option('--json', 'machine-readable output')
    .action(async (o: SimulateOptions) => {
      try {
        await runSimulate(o);
      } catch (e) {
        fail(e);
      }
    });
}
