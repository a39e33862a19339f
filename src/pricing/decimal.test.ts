import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RATE_DECIMALS, nanosToUsd, roundScaled, scaledToString, toScaled } from './decimal.js';

const S = 10n ** BigInt(RATE_DECIMALS);

test('toScaled: catalog numbers become the exact decimal their author wrote', () => {
  assert.equal(toScaled(0.15), 150_000_000_000n);
  assert.equal(toScaled('2.50'), 2_500_000_000_000n);
  assert.equal(toScaled(3.75), 3_750_000_000_000n);
  assert.equal(toScaled(0), 0n);
  assert.equal(toScaled('  15 '), 15n * S);
  assert.equal(toScaled('5.'), 5n * S);
  assert.equal(toScaled('.5'), S / 2n);
  assert.equal(toScaled(-0.5), -S / 2n);
  // Exponent forms, as JS prints small and large numbers (String(1.25e-7) === '1.25e-7').
  assert.equal(toScaled(1.25e-7), 125_000n);
  assert.equal(toScaled('1.25E-7'), 125_000n);
  assert.equal(toScaled(1e21), 10n ** 33n);
  assert.equal(toScaled('2.5e+3'), 2500n * S);
  // shift = 6: LiteLLM's $ per token → $ per Mtok (= µ$ per token).
  assert.equal(toScaled(1.25e-7, 6), 125_000_000_000n); // $0.125 / Mtok
  assert.equal(toScaled(7.5e-8, 6), 75_000_000_000n); // $0.075 / Mtok
  assert.equal(toScaled(0.00000375, 6), 3_750_000_000_000n);
  assert.equal(toScaled(5.5e-7, 6), toScaled(0.55));
});

test('toScaled: finer than 10^-12 is an error, not a silent rounding', () => {
  assert.throws(() => toScaled('0.0000000000001'), /more than 12 decimals/);
  assert.throws(() => toScaled(1e-13), /more than 12 decimals/);
  assert.throws(() => toScaled(1.5e-19, 6), /more than 12 decimals/);
  // Float noise is rejected rather than billed: 0.1 + 0.2 prints as 0.30000000000000004.
  assert.throws(() => toScaled(0.1 + 0.2), /more than 12 decimals/);
  // Trailing zeros past the 12th decimal are still exact.
  assert.equal(toScaled('0.0000000000010'), 1n);
  assert.equal(toScaled('0.000000000001'), 1n);
});

test('toScaled: malformed input throws', () => {
  for (const bad of ['', '.', 'abc', '1.2.3', '1e', '--1', '+1', '0x10', '1,5']) assert.throws(() => toScaled(bad), /not a decimal number/, bad);
  for (const bad of [NaN, Infinity, -Infinity]) assert.throws(() => toScaled(bad), /not a finite rate/);
});

test('roundScaled: half to even, symmetric for negatives', () => {
  const r = (units: bigint, frac: bigint) => roundScaled(units * S + frac);
  const half = S / 2n;
  assert.equal(r(0n, 0n), 0n);
  assert.equal(r(0n, half), 0n);
  assert.equal(r(1n, half), 2n);
  assert.equal(r(2n, half), 2n);
  assert.equal(r(3n, half), 4n);
  assert.equal(r(2n, half + 1n), 3n);
  assert.equal(r(2n, half - 1n), 2n);
  assert.equal(r(7n, 1n), 7n);
  assert.equal(r(7n, S - 1n), 8n);
  assert.equal(roundScaled(-(2n * S + half)), -2n);
  assert.equal(roundScaled(-(3n * S + half)), -4n);
  assert.equal(roundScaled(-(1n * S + half - 1n)), -1n);
  // 169.95 µ$ → 170; 50.505 → 51; 9609.6 → 9610 when rounding to whole units...
  assert.equal(roundScaled(toScaled('169.95')), 170n);
  assert.equal(roundScaled(toScaled('50.505')), 51n);
  assert.equal(roundScaled(toScaled('9609.6')), 9610n);
  // ...and exact when keeping 3 decimals (µ$ → n$, the ledger's unit); a 4th decimal rounds half to even.
  assert.equal(roundScaled(toScaled('50.505'), 3), 50_505n);
  assert.equal(roundScaled(toScaled('0.0025'), 3), 2n);
  assert.equal(roundScaled(toScaled('0.0035'), 3), 4n);
  assert.equal(roundScaled(toScaled('-0.0035'), 3), -4n);
  // Sums of halves do not drift: 1000 x 0.5 rounded each way would be 0 or 1000; rounded once it is 500.
  assert.equal(roundScaled(1000n * half), 500n);
});

test('scaledToString and nanosToUsd are exact', () => {
  assert.equal(scaledToString(150_000_000_000n), '0.15');
  assert.equal(scaledToString(3n * S), '3');
  assert.equal(scaledToString(-S / 4n), '-0.25');
  assert.equal(scaledToString(1n), '0.000000000001');
  assert.equal(scaledToString(toScaled('169.95')), '169.95');
  assert.equal(scaledToString(toScaled('1.23456789'), 4), '1.2345');
  assert.equal(nanosToUsd(1_234_567_891), '1.234567891');
  assert.equal(nanosToUsd(5), '0.000000005');
  assert.equal(nanosToUsd(0), '0.000000000');
  assert.equal(nanosToUsd(-1_500_000_000n), '-1.500000000');
  assert.equal(nanosToUsd(123_456_789_012_345_678_901n), '123456789012.345678901');
  assert.equal(nanosToUsd(Number.MAX_SAFE_INTEGER), '9007199.254740991');
});

test('nanosToUsd: the number fast path agrees with the BigInt path up to 2^53', () => {
  const edges = [0, 1, -1, 999_999_999, 1_000_000_000, -1_000_000_000, -999_999_999, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 9_007_199_999_999_999 - 1e9];
  for (let k = 1; k < 9_007_199; k = k * 3 + 1) edges.push(k * 1_000_000_000 - 1, k * 1_000_000_000, k * 1_000_000_000 + 1, -(k * 1_000_000_000 - 1));
  for (const n of edges.filter(Number.isSafeInteger)) assert.equal(nanosToUsd(n), nanosToUsd(BigInt(n)), String(n));
  assert.equal(nanosToUsd(Number.MAX_SAFE_INTEGER), '9007199.254740991');
  assert.equal(nanosToUsd(-1), '-0.000000001');
  assert.equal(nanosToUsd(-2_500_000_000), '-2.500000000');
});
