// Cost of one alert evaluation (all seven rules) over a synthetic SQLite ledger, and of the request fingerprint.
// Usage: npm run build && node scripts/bench-alerts.mjs [rows=200000]. Writes only to a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLedger } from '../dist/src/stores/ledger/sqlite.js';
import { MemoryAlertStore } from '../dist/src/stores/alerts/memory.js';
import { AlertManager } from '../dist/src/observability/alerts/manager.js';
import { AlertsSchema } from '../dist/src/config/alerts-schema.js';
import { requestFingerprint } from '../dist/src/pipeline/stages/fingerprint.js';
import { makeRow } from '../dist/test/fixtures/ledger-rows.js';

const N = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'costgate-bench-alerts-'));
try {
  const ledger = new SqliteLedger(join(dir, 'ledger.db'));
  await ledger.init();
  const now = Date.now();
  const span = 8 * 86_400_000; // rows spread over the last 8 days (the widest window a default rule reads)
  for (let i = 0; i < N; i += 5000) {
    const rows = Array.from({ length: Math.min(5000, N - i) }, (_, j) => {
      const k = i + j;
      return makeRow({ uid: `u${k}`, ts: now - Math.floor((k / N) * span), feature: `f${k % 20}`, team: `t${k % 5}`, status: k % 50 ? 200 : 500, requestHash: `h${k % Math.floor(N * 0.9)}`, cacheStatus: k % 3 ? 'miss' : 'exact' });
    });
    await ledger.write(rows, []);
  }
  const config = AlertsSchema.parse({ enabled: true, channels: [], rules: { allocation: { features: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, '100'])) } } });
  const budgets = [{ name: 'daily', scope: 'feature', window: { kind: 'calendar', unit: 'day', tz: 'UTC' }, limitNanos: 10n ** 12n, mode: 'soft', status: 402, exemptPriorities: [] }];
  const m = new AlertManager({ config, ledger, store: new MemoryAlertStore(), budgets, cacheOn: true });
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await m.evaluate();
    times.push(performance.now() - t);
  }
  const [cold, ...warm] = times;
  warm.sort((a, b) => a - b);
  console.log(`evaluate (7 rules, ${N} rows over 8 days, SQLite file): first ${cold.toFixed(1)} ms; then (past days remembered) median ${warm[1].toFixed(1)} ms, max ${warm[3].toFixed(1)} (4 runs)`);
  await m.close();
  await ledger.close();
  const body = { model: 'gpt-4o-mini', max_tokens: 256, temperature: 0, messages: [{ role: 'system', content: 'You are helpful. '.repeat(60) }, { role: 'user', content: 'Summarise this. '.repeat(60) }] };
  const K = 20_000;
  const t = performance.now();
  for (let i = 0; i < K; i++) requestFingerprint('openai', 'gpt-4o-mini', body);
  const us = ((performance.now() - t) * 1000) / K;
  console.log(`fingerprint of a ${JSON.stringify(body).length}-byte chat body: ${us.toFixed(1)} µs per request (${K} runs)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
