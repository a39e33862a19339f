/** `costgate report finetune` (fine-tune / distillation candidates) and `costgate export finetune` (training JSONL). */
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, type ResolvedConfig } from '../config/load.js';
import { openLedgerStore } from '../stores/ledger/index.js';
import { filterFrom } from '../observability/reports/params.js';
import { table, usdColumn } from '../observability/reports/format.js';
import { PriceCatalog } from '../pricing/catalog.js';
import { toScaled } from '../pricing/decimal.js';
import { usdToNanos } from '../budgets/money.js';
import { candidateJson, finetuneCandidates, type FinetuneOptions } from '../simulate/finetune.js';
import { exportFineTune } from '../simulate/finetune-export.js';

export interface FinetuneCliOptions {
  config?: string;
  since?: string;
  until?: string;
  feature?: string;
  json?: boolean;
  targetModel?: string;
  targetInputPrice?: string;
  targetOutputPrice?: string;
  trainingCostPerMtok?: string;
  trainingCost?: string;
  epochs?: string;
  examples?: string;
  minMonthlyRequests?: string;
  minExamples?: string;
  minPrefixTokens?: string;
  flagship?: string;
  flagshipMinInputPrice?: string;
}

const int = (v: string | undefined, name: string, dflt: number) => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: must be a non-negative integer`);
  return n;
};
const rate = (v: string, name: string) => {
  try {
    const r = toScaled(v);
    if (r < 0n) throw new Error('negative');
    return r;
  } catch {
    throw new Error(`--${name}: a non-negative decimal $ per million tokens (e.g. 0.30)`);
  }
};

/** routing.strong / routing.tiers.complex, and the models of the deployments those aliases name. */
function flagshipTiers(config: ResolvedConfig): string[] {
  const out = new Set<string>();
  for (const t of [config.routing.strong, config.routing.tiers.complex]) {
    if (!t || t.startsWith('@')) continue;
    out.add(t);
    for (const d of config.aliases.get(t) ?? []) {
      const dep = config.deployments.get(d);
      if (dep) out.add(dep.model);
    }
  }
  return [...out];
}

export function finetuneOptions(o: FinetuneCliOptions, config: ResolvedConfig, catalog: PriceCatalog, now = Date.now()): FinetuneOptions {
  if (!o.targetModel) throw new Error('--target-model: the fine-tuned model to price (e.g. gpt-4o-mini)');
  const cat = catalog.rates(o.targetModel);
  const input = o.targetInputPrice !== undefined ? rate(o.targetInputPrice, 'target-input-price') : cat?.input;
  const output = o.targetOutputPrice !== undefined ? rate(o.targetOutputPrice, 'target-output-price') : cat?.output;
  if (input === undefined || output === undefined) throw new Error(`--target-model ${o.targetModel}: not in the price catalog; give --target-input-price and --target-output-price ($/M)`);
  if (typeof input !== 'bigint' || typeof output !== 'bigint') throw new Error(`--target-model ${o.targetModel}: tiered catalog prices; give --target-input-price and --target-output-price ($/M)`);
  if (o.trainingCost !== undefined && o.trainingCostPerMtok !== undefined) throw new Error('give --training-cost or --training-cost-per-mtok, not both');
  const f = filterFrom({ since: o.since, until: o.until, feature: o.feature }, now);
  return {
    since: f.since,
    until: f.until,
    feature: f.feature,
    now,
    minMonthlyRequests: int(o.minMonthlyRequests, 'min-monthly-requests', 10_000),
    minExamples: int(o.minExamples, 'min-examples', 2),
    minPrefixTokens: int(o.minPrefixTokens, 'min-prefix-tokens', 500),
    ...(o.flagship ? { flagship: o.flagship.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    flagshipTiers: flagshipTiers(config),
    flagshipMinInput: rate(o.flagshipMinInputPrice ?? '2.5', 'flagship-min-input-price'),
    target: { model: o.targetModel, input, output },
    epochs: Math.max(1, int(o.epochs, 'epochs', 3)),
    ...(o.examples !== undefined ? { examples: int(o.examples, 'examples', 0) } : {}),
    ...(o.trainingCostPerMtok !== undefined ? { trainingPerMTok: rate(o.trainingCostPerMtok, 'training-cost-per-mtok') } : {}),
    ...(o.trainingCost !== undefined ? { trainingFlatNanos: usdToNanos(o.trainingCost) } : {}),
  };
}

export async function runFinetuneReport(o: FinetuneCliOptions, print: (s: string) => void = console.log): Promise<void> {
  const config = loadConfig(o.config);
  const catalog = new PriceCatalog(config.pricing.models);
  const opts = finetuneOptions(o, config, catalog);
  const store = await openLedgerStore(config.ledger);
  try {
    const rows = await finetuneCandidates(store, catalog, opts);
    if (o.json) return print(JSON.stringify(rows.map(candidateJson), null, 2));
    if (!rows.length) return print('no calls on a flagship model in the window (see --flagship, --flagship-min-input-price)');
    const col = (f: (r: (typeof rows)[number]) => bigint) => usdColumn(rows.map(f));
    const [cur, tgt, sav, train, net] = [col((r) => r.currentMonthlyNanos), col((r) => r.targetMonthlyNanos), col((r) => r.monthlySavingNanos), col((r) => r.trainingCostNanos), col((r) => r.firstYearNetNanos)];
    print(`target ${opts.target.model}; training ${opts.trainingFlatNanos !== undefined ? 'flat' : opts.trainingPerMTok !== undefined ? `per M tokens × ${opts.epochs} epochs` : 'cost not given (0)'}`);
    print(
      table(
        ['feature', 'model', 'req/month', 'few-shot', 'prefix tok', 'removed tok', 'now/month', 'target/month', 'saves/month', 'training', 'break-even mo', '1st-year net', 'candidate'],
        rows.map((r, i) => [
          r.feature ?? '(none)', r.model, String(r.monthlyRequests),
          r.fewShot ? `${r.fewShot.fewShotCalls}/${r.fewShot.storedCalls}` : 'unknown', r.fewShot ? String(r.fewShot.avgPrefixTokens) : '-', r.fewShot ? String(r.fewShot.avgRemovedTokens) : '-',
          cur[i]!, tgt[i]!, sav[i]!, train[i]!, r.breakEvenMonths ?? '-', net[i]!, r.candidate ? 'yes' : `no: ${r.reasons.join('; ')}`,
        ]),
        2,
      ),
    );
  } finally {
    await store.close();
  }
}

export interface ExportCliOptions {
  config?: string;
  feature?: string;
  since?: string;
  until?: string;
  out?: string;
}

export async function runExportFinetune(o: ExportCliOptions, print: (s: string) => void = console.log): Promise<void> {
  if (!o.feature) throw new Error('--feature: which feature\'s stored calls to export');
  if (!o.out) throw new Error('--out: the JSONL file to write');
  const config = loadConfig(o.config);
  const f = filterFrom({ since: o.since, until: o.until, feature: o.feature });
  const store = await openLedgerStore(config.ledger);
  const out = createWriteStream(o.out);
  try {
    const r = await exportFineTune(store, { since: f.since, until: f.until, feature: o.feature }, (l) => out.write(l));
    const skipped = Object.entries(r.skipped).map(([k, n]) => `${k} ${n}`).join(', ');
    print(`wrote ${r.lines} examples to ${o.out}${skipped ? `; skipped: ${skipped}` : ''}${config.ledger.storeBodies.enabled ? '' : ' (ledger.storeBodies is off in this config)'}`);
  } finally {
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    await store.close();
  }
}

export function addExportCommand(program: Command, fail: (e: unknown) => never): void {
  const exp = program.command('export').description('export data from the ledger');
  exp
    .command('finetune')
    .description('stored (redacted) request/response pairs of a feature as OpenAI chat fine-tuning JSONL')
    .requiredOption('--feature <name>', 'the feature to export')
    .requiredOption('--out <file>', 'JSONL file to write')
    .option('--since <when>', 'start: 7d, 24h, ISO date, epoch ms')
    .option('--until <when>', 'end (exclusive)')
    .option('-c, --config <file>', 'config file (names the ledger store)', process.env.COSTGATE_CONFIG)
    .action(async (o: ExportCliOptions) => {
      try {
        await runExportFinetune(o);
      } catch (e) {
        fail(e);
      }
    });
}
