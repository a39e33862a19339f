/** `costgate router train` (labelled outcomes → model JSON) and `costgate router export-routellm` (RouteLLM data → outcomes). */
import { Command, InvalidArgumentError } from 'commander';
import { writeFileSync } from 'node:fs';
import { readOutcomes, trainFromOutcomes, type Label } from '../routing/learned/train-outcomes.js';
import { loadMmlu } from '../routing/learned/routellm.js';

const pos = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a whole number > 0');
  return n;
};

export function addRouterCommand(program: Command, fail: (e: unknown) => never): void {
  const router = program.command('router').description('the learned strong-vs-weak router');
  router
    .command('train')
    .description('train a router model from labelled outcomes JSONL ({"prompt","strong","weak","task"?} per line)')
    .argument('<outcomes>', 'JSONL file of outcomes')
    .requiredOption('-o, --out <file>', 'model JSON to write')
    .option('--label <label>', 'strong-wins (strong strictly better) or weak-fails (weak below --weak-pass)', 'weak-fails')
    .option('--weak-pass <q>', 'weak quality that counts as a pass (weak-fails label)', parseFloat, 1)
    .option('--buckets <n>', 'hashed feature buckets', pos, 1 << 16)
    .option('--epochs <n>', 'training passes', pos, 4)
    .option('--use-task', 'use the lines\' task field as a feature (then send x-costgate-task at run time)', false)
    .action((file: string, o: { out: string; label: string; weakPass: number; buckets: number; epochs: number; useTask: boolean }) => {
      try {
        if (o.label !== 'strong-wins' && o.label !== 'weak-fails') throw new Error(`--label must be strong-wins or weak-fails, got '${o.label}'`);
        const lines = readOutcomes(file);
        const run = trainFromOutcomes(lines, { label: o.label as Label, buckets: o.buckets, epochs: o.epochs, weakPass: o.weakPass, useTask: o.useTask, source: file });
        writeFileSync(o.out, JSON.stringify(run.model) + '\n');
        const c = run.counts;
        console.log(`trained on ${c.train} lines, calibrated on ${c.calibration}, ${c.heldout} held out (not read); wrote ${o.out}`);
      } catch (e) {
        fail(e);
      }
    });
  router
    .command('export-routellm')
    .description("convert RouteLLM's MMLU outcomes (a routellm-evals directory) to outcomes JSONL, contaminated prompts left out")
    .argument('<dir>', 'routellm-evals directory (mmlu/ inside)')
    .requiredOption('-o, --out <file>', 'JSONL to write')
    .action((dir: string, o: { out: string }) => {
      try {
        const { items, excluded } = loadMmlu(dir);
        writeFileSync(o.out, items.map((i) => JSON.stringify({ prompt: i.prompt, strong: i.strong, weak: i.weak, task: i.subject })).join('\n') + '\n');
        console.log(`wrote ${items.length} outcomes to ${o.out} (${excluded} contaminated prompts left out)`);
      } catch (e) {
        fail(e);
      }
    });
}
