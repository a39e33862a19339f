/** The `costgate` command. */
import { Command, InvalidArgumentError } from 'commander';
import { createGateway } from '../gateway.js';
import { startHttpServer } from '../server/http.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { addReportCommand } from './report.js';
import { addKeysCommand } from './keys.js';
import { addCalcCommand } from './calc.js';
import { addSimulateCommand } from './simulate.js';
import { addRouterCommand } from './router.js';
import { addAlertsCommand, alertLines } from './alerts.js';
import { addDemoCommand } from './demo.js';
import { addExportCommand } from './finetune.js';
import { governanceLines } from '../governance/describe.js';
import { cacheLines } from '../cache/describe.js';
import { routingLines } from '../routing/describe.js';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
};

function fail(e: unknown): never {
  if (e instanceof ConfigError) console.error(`costgate: ${e.message}`);
  else console.error(`costgate: ${(e as Error)?.message ?? e}`);
  process.exit(1);
}

export function buildCli(): Command {
  const program = new Command('costgate').description('LLM API cost gateway').showHelpAfterError();

  program
    .command('start')
    .description('run the gateway (OpenAI- and Anthropic-compatible) on 127.0.0.1:8787')
    .option('-c, --config <file>', 'config file (YAML or JSON)', process.env.COSTGATE_CONFIG)
    .option('--host <host>', 'listen address (overrides server.host)')
    .option('-p, --port <port>', 'listen port (overrides server.port)', int)
    .action(async (o: { config?: string; host?: string; port?: number }) => {
      try {
        const gw = await createGateway({ config: o.config });
        const http = await startHttpServer(gw, { host: o.host, port: o.port });
        const providers = [...gw.config.providers.values()].map((p) => `${p.name} (${p.type}${p.type === 'simulator' ? ', in-process' : ''})`).join(', ');
        console.log(`costgate listening on ${http.url}  config: ${gw.config.source}  providers: ${providers}`);
        console.log(`  OpenAI SDK:    baseURL ${http.url}/v1`);
        console.log(`  Anthropic SDK: baseURL ${http.url}`);
        console.log(`  dashboard:     ${http.url}/dashboard`);
        console.log(`  ledger: ${gw.ledger.store.kind}${gw.config.ledger.store === 'sqlite' ? ` (${gw.config.ledger.path})` : ''}`);
        const sem = gw.semantic as { embedder?: { name: string; whenReady?: () => Promise<void> } } | undefined;
        if (sem?.embedder) {
          console.log(`  semantic cache: ${sem.embedder.name}${sem.embedder.whenReady ? ' (loading; lookups miss until ready)' : ''}`);
          const t0 = Date.now();
          sem.embedder.whenReady?.().then(
            () => console.log(`costgate: semantic cache embedder ready (${Date.now() - t0} ms)`),
            (e) => console.error(`costgate: semantic cache embedder failed, semantic lookups stay misses: ${(e as Error).message}`),
          );
        }
        let stopping = false;
        const stop = async (sig: string) => {
          if (stopping) return;
          stopping = true;
          console.log(`costgate: ${sig}, draining in-flight requests...`);
          await http.close();
          await gw.close();
          process.exit(0);
        };
        process.on('SIGTERM', () => void stop('SIGTERM'));
        process.on('SIGINT', () => void stop('SIGINT'));
      } catch (e) {
        fail(e);
      }
    });

  program
    .command('simulator')
    .description('run the provider simulator alone (a test and demo tool: fake OpenAI/Anthropic answers, no network)')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('-p, --port <port>', 'listen port', int, 8788)
    .option('--ttft <ms>', 'time to first token', int, 0)
    .option('--per-token <ms>', 'delay per output token', int, 0)
    .option('--fault-rate <p>', 'share of requests that get a random fault (0..1)', parseFloat, 0)
    .option('--jitter <ms>', 'random extra time to first token, 0..ms', int, 0)
    .option('--faults <list>', 'comma-separated fault kinds drawn at --fault-rate (429,500,503,timeout,cut-stream,...)')
    .option('--output-tokens <n>', 'default completion length', int, 64)
    .option('--quality <file>', 'quality table (JSON): per-model and per-prompt answer correctness, reported in x-sim-correct')
    .option('--seed <n>', 'seed for faults, jitter and default-probability answers', int, 1)
    .action(async (o: { host: string; port: number; ttft: number; perToken: number; jitter: number; faults?: string; faultRate: number; outputTokens: number; quality?: string; seed: number }) => {
      try {
        const { startSimulator } = await import('../providers/simulator/server.js');
        const quality = o.quality !== undefined ? { file: o.quality, models: {}, prompts: [] } : undefined;
        const sim = await startSimulator({ host: o.host, port: o.port, ttftMs: o.ttft, perTokenMs: o.perToken, jitterMs: o.jitter, faultRate: o.faultRate, ...(o.faults ? { faults: o.faults.split(',').map((x) => x.trim()).filter(Boolean) } : {}), defaultOutputTokens: o.outputTokens, seed: o.seed, quality });
        console.log(`costgate simulator on ${sim.url} (OpenAI base URL ${sim.baseUrl}, Anthropic base URL ${sim.url})`);
        process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
        process.on('SIGINT', () => void sim.close().then(() => process.exit(0)));
      } catch (e) {
        fail(e);
      }
    });

  program
    .command('config-check')
    .description('validate a config file and print what it resolves to (no secrets)')
    .argument('<file>', 'config file')
    .action((file: string) => {
      try {
        const c = loadConfig(file);
        console.log(`ok: ${c.providers.size} provider(s), ${c.deployments.size} deployment(s), ${c.aliases.size} model alias(es)`);
        for (const p of c.providers.values()) console.log(`  provider ${p.name}: ${p.type} ${p.baseUrl ?? '(in-process simulator)'} key: ${p.apiKey ? 'set' : 'none'}`);
        for (const [a, d] of c.aliases) console.log(`  model ${a} → ${d.join(' → ')}`);
        for (const line of governanceLines(c)) console.log(`  ${line}`);
        for (const line of cacheLines(c.cache)) console.log(`  ${line}`);
        for (const line of routingLines(c.routing)) console.log(`  ${line}`);
        for (const line of alertLines(c)) console.log(`  ${line}`);
        const sb = c.ledger.storeBodies;
        if (sb.enabled) console.log(`  ledger: stores redacted request bodies for ${sb.features ? sb.features.join(', ') : 'every feature'} (sample ${sb.sampleRate}, max ${sb.maxBytes} bytes, kept ${sb.retentionDays} days, ${sb.redact.length} extra pattern(s))`);
      } catch (e) {
        fail(e);
      }
    });
  addReportCommand(program, fail);
  addKeysCommand(program, fail);
  addCalcCommand(program, fail);
  addSimulateCommand(program, fail);
  addRouterCommand(program, fail);
  addAlertsCommand(program, fail);
  addDemoCommand(program, fail);
  addExportCommand(program, fail);
  return program;
}
