/** `costgate calc`: the seeds' worked examples, priced with the prices they state (as overrides), exactly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PriceCatalog } from './catalog.js';
import { fmtUsd, parseShare, priceMix, priceWorkload, selfHost } from './calc.js';

const BIN = fileURLToPath(new URL('../../../bin/costgate.js', import.meta.url));

test('seed: 500 in / 150 out on a $0.15/$0.60 model is $0.000165 a call and $4,950 a month at 1M calls a day', () => {
  const c = priceWorkload(new PriceCatalog({ seed: { input: 0.15, output: 0.6 } }), 'seed', { inputTokens: 500, outputTokens: 150, callsPerMonth: 30_000_000n });
  assert.deepEqual([c.perCallNanos, c.perDayNanos, c.perMonthNanos], [165_000n, 165_000_000_000n, 4_950_000_000_000n]);
  assert.deepEqual([fmtUsd(c.perCallNanos), fmtUsd(c.perMonthNanos)], ['$0.000165', '$4950.00']);
  // The catalog's own gpt-4o-mini has those list prices.
  assert.equal(priceWorkload(new PriceCatalog(), 'gpt-4o-mini', { inputTokens: 500, outputTokens: 150, callsPerMonth: 30_000_000n }).perMonthNanos, 4_950_000_000_000n);
});

test('seed: 1M reviews a month at 200 in / 100 out on $1.25/$10 is $1,250 real-time and $625 batch', () => {
  const cat = new PriceCatalog({ seed: { input: 1.25, output: 10, batchInput: 0.625, batchOutput: 5 } });
  const w = { inputTokens: 200, outputTokens: 100, callsPerMonth: 1_000_000n };
  assert.equal(priceWorkload(cat, 'seed', w).perMonthNanos, 1_250_000_000_000n);
  assert.equal(priceWorkload(cat, 'seed', { ...w, batchShare: '1' }).perMonthNanos, 625_000_000_000n);
  assert.equal(priceWorkload(cat, 'seed', { ...w, batchShare: '0.5' }).perMonthNanos, 937_500_000_000n, 'half batched');
});

test('seed: a 100K-request/month support bot at 500 in / 300 out split 60/30/10 across tiers vs all on the flagship', () => {
  const cat = new PriceCatalog({ small: { input: 0.1, output: 0.4 }, mid: { input: 0.4, output: 1.6 }, flagship: { input: 2, output: 8 } });
  const w = { inputTokens: 500, outputTokens: 300, callsPerMonth: 100_000n };
  const mix = priceMix(cat, [{ model: 'small', share: '0.6' }, { model: 'mid', share: '0.3' }, { model: 'flagship', share: '0.1' }], w);
  const all = priceWorkload(cat, 'flagship', w);
  // per call: small 170 µ$, mid 680 µ$, flagship 3,400 µ$ → 0.6·170 + 0.3·680 + 0.1·3400 = 646 µ$
  assert.equal(mix.perCallNanos, 646_000n);
  assert.equal(mix.perMonthNanos, 64_600_000_000n);
  assert.equal(all.perMonthNanos, 340_000_000_000n);
  assert.deepEqual(mix.parts.map((p) => p.perCallNanos), [170_000n, 680_000n, 3_400_000n]);
  assert.throws(() => priceMix(cat, [{ model: 'small', share: '0.6' }, { model: 'mid', share: '0.3' }], w), /add up to 0.9, not 1/);
});

test('cached, long-context and batch shares combine exactly; bad shares and unknown models are clear errors', () => {
  const cat = new PriceCatalog({ m: { input: 1, output: 2, cacheRead: 0.1 } });
  // 1000 in, half cached: 500×1 + 500×0.1 = 550 µ$ + 100 out × 2 = 200 µ$ → 750 µ$
  assert.equal(priceWorkload(cat, 'm', { inputTokens: 1000, outputTokens: 100, callsPerMonth: 1n, cachedShare: '0.5' }).perCallNanos, 750_000n);
  // 10 % of calls at 10,000 input: 0.9 × (1000 + 200) + 0.1 × (10000 + 200) = 1080 + 1020 = 2100 µ$
  assert.equal(priceWorkload(cat, 'm', { inputTokens: 1000, outputTokens: 100, callsPerMonth: 1n, longShare: '0.1', longInputTokens: 10_000 }).perCallNanos, 2_100_000n);
  assert.equal(parseShare('0.333333333', 's'), 333_333_333n);
  assert.throws(() => parseShare('1.5', 's'), /s: a share from 0 to 1/);
  assert.throws(() => parseShare('-0.1', 's'), /a share from 0 to 1/);
  assert.throws(() => priceWorkload(cat, 'nope-model', { inputTokens: 1, outputTokens: 1, callsPerMonth: 1n }), /no price for model 'nope-model'/);
  assert.throws(() => priceWorkload(cat, 'm', { inputTokens: 1, outputTokens: 1, callsPerMonth: 1n, longShare: '0.2' }), /--long-input/);
});

test('self-host: $12.24/GPU-hour at 30 tok/s and 60 % utilization is $188.89 per million tokens', () => {
  const s = selfHost({ usdPerGpuHour: 12.24, gpus: 1, tokensPerSec: 30, utilization: 0.6 });
  assert.equal(s.usdPerMTok.toFixed(2), '188.89');
  assert.equal(s.monthlyUsd.toFixed(2), '8812.80');
  assert.equal(Math.round(s.monthlyCapacityTokens), 46_656_000);
  assert.throws(() => selfHost({ usdPerGpuHour: 1, gpus: 1, tokensPerSec: 0, utilization: 0.5 }));
});

test('CLI: calc prints the sorted table and JSON; self-host says when it beats an API model', () => {
  const run = (...a: string[]) => spawnSync(process.execPath, [BIN, 'calc', ...a], { encoding: 'utf8' });
  const t = run('gpt-4o', 'seed', '--input', '500', '--output', '150', '--calls-per-day', '1000000', '--price', 'seed=0.15/0.60');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /500 in \/ 150 out per call, 30000000 calls per month/);
  const lines = t.stdout.trim().split('\n').slice(-2);
  assert.match(lines[0]!, /^seed\s+\$0\.000165\s+\$165\.00\s+\$4950\.00\s+config/);
  assert.match(lines[1]!, /^gpt-4o\s+/);
  const j = JSON.parse(run('seed', '--input', '200', '--output', '100', '--calls-per-month', '1000000', '--price', 'seed=1.25/10/0.125/0.625/5', '--batch-share', '1', '--json').stdout);
  assert.equal(j.models[0].per_month_usd, '625.00');
  const bad = run('--input', '1', '--output', '1');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /exactly one of --calls-per-day, --calls-per-month/);
  const sh = run('self-host', '--gpu-hour', '2', '--tokens-per-sec', '2000', '--versus', 'gpt-4o', '--json');
  assert.equal(sh.status, 0, sh.stderr);
  const s = JSON.parse(sh.stdout);
  assert.equal(s.beats_api_within_one_replica, true);
  assert.equal(s.break_even_calls_per_month, Math.ceil(1440 / 0.00275));
});
