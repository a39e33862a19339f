/**
 * The fault soak's short form (bench/soak.ts; the full 10-minute run is `npm run soak`): 20 s at 100 req/s against
 * the simulator injecting 10 % faults (429, 500, 503, timeouts, cut streams). Every request must get an answer or a
 * clean error, the ledger must hold exactly one row per request with its attempts adding up, and the gateway's RSS
 * and descriptors must stay flat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, soak } from '../bench/soak.js';

test('soak flags: --duration, --rate, --fault-rate; bad values are refused', () => {
  assert.deepEqual(parseArgs([]), { durationSec: 600, rate: 200, faultRate: 0.1 });
  assert.deepEqual(parseArgs(['--duration', '20', '--rate', '100', '--fault-rate', '0.2']), { durationSec: 20, rate: 100, faultRate: 0.2 });
  assert.throws(() => parseArgs(['--rate', '-1']), /--rate/);
  assert.throws(() => parseArgs(['--fault-rate', '2']), /--fault-rate/);
  assert.throws(() => parseArgs(['--bogus']), /unknown option/);
});

test('fault soak, short form: 20 s at 100 req/s with 10 % faults', { timeout: 120_000 }, async () => {
  const r = await soak({ durationSec: 20, rate: 100, faultRate: 0.1 });
  console.log(`soak: ${JSON.stringify({ results: r.results, statuses: r.statuses, ledger: r.ledger, samples: r.samples, loadavg: r.loadavgEnd })}`);
  assert.deepEqual(r.failures, []);
  assert.equal(r.sent, 2000);
  assert.equal(r.results.FAILED, undefined);
  // Faults were injected and surfaced as clean errors or were retried away.
  assert.ok(r.ledger.retried > 0, 'some calls were retried');
  assert.ok((r.results['clean-error'] ?? 0) + (r.results['stream-error'] ?? 0) > 0, 'some faults reached clients as clean errors');
  assert.equal(r.ledger.rows, 2000);
  assert.equal(r.ledger.missing, 0);
  assert.equal(r.ledger.duplicates, 0);
  assert.equal(r.ledger.unknown, 0);
  assert.equal(r.ledger.attemptMismatch, 0);
  assert.equal(r.ledger.attemptRows, r.ledger.attemptCountSum);
  assert.ok(r.ok, `RSS +${r.rssGrowthKb} KiB, fds ${JSON.stringify(r.samples.map((s) => s.fds))}`);
});
