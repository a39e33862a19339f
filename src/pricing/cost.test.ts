import { test } from 'node:test';
import assert from 'node:assert/strict';
import { costOf } from './cost.js';
import { toScaled } from './decimal.js';
import { rateAt, rateFrom, scaleRate, type ModelRates } from './rates.js';
import { emptyUsage, type Usage } from '../providers/usage.js';

/** Rates from $/Mtok literals (synthetic models: these tests pin the arithmetic, not any catalog). */
const $ = (v: string) => toScaled(v);
const usage = (u: Partial<Usage>): Usage => ({ ...emptyUsage(), ...u });
const model = (r: Partial<ModelRates>): ModelRates => ({ source: 'test', model: 'm', input: $('2'), output: $('8'), ...r });
const sonnetLike = model({
  input: rateFrom({ base: 3, tiers: [{ start: 200_000, price: 6 }] })!,
  output: rateFrom({ base: 15, tiers: [{ start: 200_000, price: 22.5 }] })!,
  cacheRead: rateFrom({ base: 0.3, tiers: [{ start: 200_000, price: 0.6 }] }),
  cacheWrite5m: rateFrom({ base: 3.75, tiers: [{ start: 200_000, price: 7.5 }] }),
  cacheWrite1h: rateFrom({ base: 6, tiers: [{ start: 200_000, price: 12 }] }),
});

test('rateFrom / rateAt: tiers sorted, applied strictly above their start, to every token', () => {
  assert.equal(rateFrom(undefined), undefined);
  assert.equal(rateFrom(0.15), $('0.15'));
  assert.equal(rateFrom(1.5e-7, 6), $('0.15'));
  const r = rateFrom({ base: 1, tiers: [{ start: 256_000, price: 3 }, { start: 128_000, price: 2 }] })!;
  assert.deepEqual(typeof r === 'bigint' ? [] : r.tiers.map((t) => t.start), [128_000, 256_000]);
  assert.equal(rateAt(r, 0), $('1'));
  assert.equal(rateAt(r, 128_000), $('1'));
  assert.equal(rateAt(r, 128_001), $('2'));
  assert.equal(rateAt(r, 256_000), $('2'));
  assert.equal(rateAt(r, 256_001), $('3'));
  assert.equal(rateAt($('4'), 10 ** 9), $('4'));
  assert.deepEqual(scaleRate(r, 1n, 2n), { base: $('0.5'), tiers: [{ start: 128_000, rate: $('1') }, { start: 256_000, rate: $('1.5') }] });
  assert.equal(scaleRate($('0.15'), 1n, 2n), $('0.075'));
});

test('zero usage costs exactly zero', () => {
  const c = costOf(emptyUsage(), sonnetLike);
  assert.equal(c.nanos, 0);
  assert.equal(c.exact, 0n);
  assert.ok(Object.values(c.parts).every((p) => p === 0n));
  assert.equal(c.tier, undefined);
  assert.equal(costOf(emptyUsage(), sonnetLike, { batch: true }).nanos, 0);
});

test('long-context tier boundary: exactly 200000 is base, 200001 reprices everything', () => {
  const at = (inputTokens: number) => costOf(usage({ inputTokens, cacheReadTokens: 10_000, cacheWrite5mTokens: 1000, cacheWrite1hTokens: 1000, outputTokens: 100 }), sonnetLike);
  const base = at(200_000); // 188000 x 3 + 10000 x 0.3 + 1000 x 3.75 + 1000 x 6 + 100 x 15 = 564000 + 3000 + 3750 + 6000 + 1500
  assert.equal(base.nanos, 578_250_000);
  assert.equal(base.tier, undefined);
  const above = at(200_001); // 188001 x 6 + 10000 x 0.6 + 1000 x 7.5 + 1000 x 12 + 100 x 22.5 = 1128006 + 6000 + 7500 + 12000 + 2250
  assert.equal(above.nanos, 1_155_756_000);
  assert.equal(above.tier, 200_000);
  // Batch keeps the tier: everything halves.
  const batchRates = { ...sonnetLike, batchInput: scaleRate(sonnetLike.input, 1n, 2n), batchOutput: scaleRate(sonnetLike.output, 1n, 2n) };
  assert.equal(costOf(usage({ inputTokens: 200_001, cacheReadTokens: 10_000, cacheWrite5mTokens: 1000, cacheWrite1hTokens: 1000, outputTokens: 100 }), batchRates, { batch: true }).nanos, 577_878_000);
});

test('cached > input guard: fresh input never goes negative', () => {
  // A malformed report (150 cached of 100 prompt tokens): fresh input clamps to 0, reads billed once at the read rate.
  const c = costOf(usage({ inputTokens: 100, cacheReadTokens: 150, outputTokens: 10 }), model({ cacheRead: $('0.5') }));
  assert.equal(c.parts.input, 0n);
  assert.equal(c.parts.cacheRead, 150n * $('0.5'));
  assert.equal(c.nanos, 155000); // 75 + 80
  const w = costOf(usage({ inputTokens: 10, cacheWrite5mTokens: 20, cacheWrite1hTokens: 20 }), sonnetLike);
  assert.equal(w.parts.input, 0n);
  assert.equal(w.nanos, 195000); // 20 x 3.75 + 20 x 6
});

test('reasoning tokens are part of output: billed once, at the reasoning rate only when one exists', () => {
  const u = usage({ inputTokens: 0, outputTokens: 100, reasoningTokens: 40 });
  assert.equal(costOf(u, model({})).nanos, 800000); // 100 x $8
  const c = costOf(u, model({ reasoning: $('20') }));
  assert.equal(c.parts.output, 60n * $('8'));
  assert.equal(c.parts.reasoning, 40n * $('20'));
  assert.equal(c.nanos, 1280000);
  // More reasoning than output (malformed): clamped, never negative visible output.
  assert.equal(costOf(usage({ outputTokens: 10, reasoningTokens: 50 }), model({ reasoning: $('20') })).nanos, 200000);
  // Batch discounts a separate reasoning rate like output; a free output rate must not divide by zero.
  assert.equal(costOf(u, model({ reasoning: $('20'), batchInput: $('1'), batchOutput: $('4') }), { batch: true }).nanos, 640000);
  assert.equal(costOf(u, model({ output: 0n, reasoning: $('20'), batchInput: $('1'), batchOutput: 0n }), { batch: true }).nanos, 800000);
});

test('fallback rates: no cache-read rate bills reads as input; no 1h rate bills 1h writes at the 5m rate', () => {
  const noCache = model({});
  assert.equal(costOf(usage({ inputTokens: 1000, cacheReadTokens: 400 }), noCache).nanos, 2000000);
  const no1h = model({ cacheWrite5m: $('2.5') });
  assert.equal(costOf(usage({ inputTokens: 1000, cacheWrite1hTokens: 1000 }), no1h).nanos, 2500000);
});

test('batch: discount from batch rates; cache parts scale by the same ratio; no batch rate means list price', () => {
  const r = model({ cacheRead: $('0.5'), cacheWrite5m: $('2.5'), batchInput: $('1'), batchOutput: $('4') });
  const u = usage({ inputTokens: 3000, cacheReadTokens: 1000, cacheWrite5mTokens: 1000, outputTokens: 1000 });
  const list = costOf(u, r); // 1000 x 2 + 1000 x 0.5 + 1000 x 2.5 + 1000 x 8
  assert.equal(list.nanos, 13_000_000);
  const batch = costOf(u, r, { batch: true });
  assert.equal(batch.nanos, 6500000);
  assert.equal(batch.batch, true);
  assert.equal(costOf(u, model({ cacheRead: $('0.5'), cacheWrite5m: $('2.5') }), { batch: true }).nanos, 13_000_000);
  // A batch input rate without a batch output rate discounts input only.
  assert.equal(costOf(usage({ inputTokens: 1000, outputTokens: 1000 }), model({ batchInput: $('1') }), { batch: true }).nanos, 9000000);
});

test('the sum is rounded once, half to even', () => {
  // $0.0005/Mtok is half a nano-dollar per token.
  const half = model({ input: $('0.0005'), output: $('0.0005') });
  assert.equal(costOf(usage({ inputTokens: 1, outputTokens: 1 }), half).nanos, 1); // 0.5 + 0.5 n$, not round(0.5) + round(0.5)
  assert.equal(costOf(usage({ inputTokens: 1 }), model({ input: $('0.0025') })).nanos, 2);
  assert.equal(costOf(usage({ inputTokens: 1 }), model({ input: $('0.0035') })).nanos, 4);
  // What µ$ got wrong: a 10-token text-embedding-3-small call ($0.02/Mtok) is 0.2 µ$, which rounded to $0.
  assert.equal(costOf(usage({ inputTokens: 10 }), model({ input: $('0.02') })).nanos, 200);
  assert.equal(costOf(usage({ inputTokens: 1001, outputTokens: 33 }), model({ input: $('0.15'), output: $('0.6') })).exact, 169_950_000_000_000n);
});
