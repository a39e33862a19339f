/** `costgate alerts`: firing alerts and recent history from the alert store beside the ledger; `--evaluate` runs the rules once. */
import type { Command } from 'commander';
import { loadConfig, type ResolvedConfig } from '../config/load.js';
import { openLedgerStore } from '../stores/ledger/index.js';
import { openAlertStore } from '../stores/alerts/index.js';
import { AlertManager } from '../observability/alerts/manager.js';

export interface AlertsOptions {
  config?: string;
  evaluate?: boolean;
  json?: boolean;
  limit?: string;
}

export async function runAlerts(o: AlertsOptions, print: (s: string) => void = console.log, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(o.config, env);
  const ledger = await openLedgerStore(config.ledger);
  const c = config.cache;
  const cacheOn = c.enabled || [...Object.values(c.routes), ...Object.values(c.features)].some((p) => p.enabled === true);
  // Channels are the configured ones: an evaluation from the CLI notifies like the gateway's would (and shares its state).
  const m = new AlertManager({ config: config.alerts, ledger, store: await openAlertStore(config), budgets: config.budgets, cacheOn, env });
  try {
    const ev = o.evaluate ? await m.evaluate() : undefined;
    const firing = await m.firing();
    const history = await m.history(Number(o.limit ?? 20));
    if (o.json) {
      print(JSON.stringify({ evaluated: ev ? { events: ev.events, errors: ev.errors, deliveries: ev.deliveries } : null, firing, history }, null, 2));
      return;
    }
    if (ev) print(`evaluated: ${ev.events.length} notification(s)${ev.errors.length ? `, ${ev.errors.length} rule error(s): ${ev.errors.map((e) => `${e.rule}: ${e.error}`).join('; ')}` : ''}`);
    print(firing.length ? `firing (${firing.length}):` : 'firing: none');
    for (const f of firing) print(`  [${f.level}] ${f.key} since ${new Date(f.since).toISOString()}: ${f.message}`);
    if (history.length) print('recent:');
    for (const h of history) print(`  ${new Date(h.ts).toISOString()} ${h.kind.padEnd(8)} ${h.key}: ${h.message}`);
  } finally {
    await m.close();
    await ledger.close();
  }
}

export function addAlertsCommand(program: Command, fail: (e: unknown) => never): void {
  program
    .command('alerts')
    .description('firing alerts and recent notifications; --evaluate runs the rules once against the ledger (and notifies)')
    .option('-c, --config <file>', 'config file (names the ledger and the alert rules)', process.env.COSTGATE_CONFIG)
    .option('--evaluate', 'evaluate the rules now')
    .option('--json', 'JSON output')
    .option('--limit <n>', 'history entries', '20')
    .action(async (o: AlertsOptions) => {
      try {
        await runAlerts(o);
      } catch (e) {
        fail(e);
      }
    });
}

/** `config-check` lines: which rules and channels are on, and where OTel exports. */
export function alertLines(c: Pick<ResolvedConfig, 'alerts' | 'otel'>): string[] {
  const a = c.alerts;
  const out: string[] = [];
  if (!a.enabled) out.push('alerts: off');
  else {
    const rules = Object.entries(a.rules).filter(([, r]) => r.enabled).map(([n]) => n);
    const channels = a.channels.map((ch) => (ch.type === 'email' ? `email(${ch.host}:${ch.port} → ${ch.to.join(', ')})` : ch.type === 'log' ? 'log' : `${ch.type}(${new URL(ch.url).host})`));
    out.push(`alerts: every ${a.interval}, rules ${rules.join(', ') || 'none'}; channels ${channels.join(', ') || 'none'}${a.renotify ? `; renotify every ${a.renotify}` : ''}`);
  }
  out.push(c.otel.enabled ? `otel: ${[c.otel.traces && 'traces', c.otel.metrics && 'metrics'].filter(Boolean).join(' + ')} → ${c.otel.endpoint} (service ${c.otel.serviceName})` : 'otel: off');
  return out;
}
