/** `costgate demo`: the savings demo on a fresh machine (no network, no keys): see src/demo/run.ts. */
import type { Command } from 'commander';
import { runDemo, waterfall } from '../demo/run.js';

interface DemoCliOptions {
  support: string;
  nightly: string;
  strongShare: string;
  serve?: boolean;
  json?: boolean;
}

export function addDemoCommand(program: Command, fail: (e: unknown) => never): void {
  program
    .command('demo')
    .description('run a support-bot + nightly-batch workload through the gateway and the simulator, first with no policy on a frontier model, then adding costgate\'s policies one by one; print the savings waterfall and the quality kept')
    .option('--support <n>', 'support-bot calls per step', '600')
    .option('--nightly <n>', 'nightly tagging calls per step', '120')
    .option('--strong-share <s>', 'the learned router\'s dial: share of calls kept on the frontier model', '0.5')
    .option('--serve', 'keep the last step\'s gateway running for its dashboard (Ctrl-C to stop)')
    .option('--json', 'machine-readable result')
    .action(async (o: DemoCliOptions) => {
      try {
        const support = Number(o.support);
        const nightly = Number(o.nightly);
        const strongShare = Number(o.strongShare);
        if (!Number.isInteger(support) || support < 20 || support > 100_000) throw new Error('--support: an integer from 20 to 100000');
        if (!Number.isInteger(nightly) || nightly < 0 || nightly > 10_000) throw new Error('--nightly: an integer from 0 to 10000');
        if (!(strongShare >= 0 && strongShare <= 1)) throw new Error('--strong-share: a number from 0 to 1');
        const t0 = Date.now();
        let lastLine = '';
        const r = await runDemo({
          support,
          nightly,
          strongShare,
          keep: o.serve === true,
          onProgress: (phase, done, total) => {
            const line = `${phase}: ${done}/${total}`;
            if (process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(70)}`);
            else if (done === total && line !== lastLine) process.stderr.write(`${line} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
            lastLine = line;
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(72) + '\r');
        if (o.json) console.log(JSON.stringify({ ...r, close: undefined }, null, 2));
        else {
          console.log(`costgate demo: ${r.requests} calls per step, ${r.steps.length} steps, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
          console.log(waterfall(r));
        }
        if (r.url && r.close) {
          console.log(`\ndashboard: ${r.url}/dashboard (the last step's ledger; Ctrl-C to stop)`);
          const stop = () => void r.close!().then(() => process.exit(0));
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        } else console.log('\nRun `costgate demo --serve` to keep the last step\'s gateway up and open its dashboard.');
      } catch (e) {
        fail(e);
      }
    });
}
