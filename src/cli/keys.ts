/** `costgate keys create|list|revoke|rotate`: virtual keys in the store beside the configured ledger. */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { openKeyStore } from '../stores/keys/index.js';
import { KeyService } from '../keys/service.js';
import { parseDuration } from '../budgets/window.js';

async function withKeys<T>(configPath: string | undefined, fn: (k: KeyService) => Promise<T>): Promise<T> {
  const c = loadConfig(configPath);
  if (c.ledger.store === 'memory') throw new Error('keys need a persistent store: the ledger is `memory` in this config (use sqlite or postgres)');
  const store = openKeyStore(c.ledger);
  await store.init();
  try {
    return await fn(new KeyService(store, 0));
  } finally {
    await store.close();
  }
}

export function addKeysCommand(program: Command, fail: (e: unknown) => never): void {
  const keys = program.command('keys').description('virtual keys: create, list, revoke, rotate (stored beside the ledger, only as salted hashes)');
  const cfg = (c: Command) => c.option('-c, --config <file>', 'config file (YAML or JSON)', process.env.COSTGATE_CONFIG);
  const int = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive integer: ${v}`);
    return n;
  };
  cfg(keys.command('create'))
    .description('create a key and print it once (it cannot be shown again)')
    .requiredOption('--name <name>', 'unique among live keys')
    .option('--team <team>', 'default team of its calls')
    .option('--feature <feature>', 'default feature of its calls')
    .option('--models <list>', 'allowed models, comma-separated (globs: gpt-4o*)')
    .option('--budget <amount/window>', 'its own hard budget: 100/month, 5/day, 20/week, 2.5/24h')
    .option('--rpm <n>', 'requests per minute', int)
    .option('--tpm <n>', 'tokens per minute', int)
    .option('--expires <duration>', 'lifetime: 30d, 12h')
    .option('--role <role>', 'client (default), admin or viewer', 'client')
    .option('--json', 'print JSON')
    .action(async (o) => {
      try {
        if (!['client', 'admin', 'viewer'].includes(o.role)) throw new Error(`--role: client, admin or viewer (got ${o.role})`);
        const { key, record } = await withKeys(o.config, (k) =>
          k.create({ name: o.name, team: o.team, feature: o.feature, models: o.models ? String(o.models).split(',').map((s: string) => s.trim()).filter(Boolean) : undefined, budget: o.budget, rpm: o.rpm, tpm: o.tpm, expires: o.expires, role: o.role }),
        );
        if (o.json) console.log(JSON.stringify({ id: record.id, name: record.name, key }));
        else {
          console.log(`created ${record.id} (${record.name}, ${record.role})`);
          console.log(`key: ${key}`);
          console.log('Store it now: costgate keeps only a salted hash and cannot show it again.');
        }
      } catch (e) {
        fail(e);
      }
    });
  cfg(keys.command('list'))
    .description('list keys (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      try {
        const all = await withKeys(o.config, (k) => k.list());
        if (o.json) return void console.log(JSON.stringify(all, null, 2));
        if (!all.length) return void console.log('no keys');
        for (const k of all) {
          const extra = [k.team && `team ${k.team}`, k.feature && `feature ${k.feature}`, k.models.length && `models ${k.models.join(',')}`, k.budget && `budget ${k.budget}`, k.rpm && `${k.rpm} rpm`, k.tpm && `${k.tpm} tpm`, k.expires_at && `expires ${k.expires_at}`]
            .filter(Boolean)
            .join(', ');
          console.log(`${k.id}  ${k.status.padEnd(7)}  ${k.role.padEnd(6)}  ${k.name}${extra ? `  (${extra})` : ''}`);
        }
      } catch (e) {
        fail(e);
      }
    });
  cfg(keys.command('revoke'))
    .description('revoke a key (every gateway stops accepting it within auth.cacheTtlMs)')
    .argument('<id>', 'key id (key_…)')
    .action(async (id: string, o) => {
      try {
        if (!(await withKeys(o.config, (k) => k.revoke(id)))) throw new Error(`no key ${id}`);
        console.log(`revoked ${id}`);
      } catch (e) {
        fail(e);
      }
    });
  cfg(keys.command('rotate'))
    .description('issue a new key with the same settings; the old one keeps working for the overlap')
    .argument('<id>', 'key id (key_…)')
    .option('--overlap <duration>', 'how long the old key stays valid', '1h')
    .option('--json', 'print JSON')
    .action(async (id: string, o) => {
      try {
        const ms = parseDuration(o.overlap);
        if (ms === undefined) throw new Error(`--overlap: a duration like 1h, 30m (got ${o.overlap})`);
        const { key, record } = await withKeys(o.config, (k) => k.rotate(id, ms));
        if (o.json) console.log(JSON.stringify({ id: record.id, name: record.name, key, replaces: id }));
        else {
          console.log(`created ${record.id} replacing ${id} (valid for ${o.overlap} more)`);
          console.log(`key: ${key}`);
        }
      } catch (e) {
        fail(e);
      }
    });
}
