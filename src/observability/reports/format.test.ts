import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usd, usdColumn, table } from './format.js';

test('usd: as precise as the amount needs; cents from $100 rounded half to even; sign before the $', () => {
  assert.deepEqual([0, 40, 290_400_000, 20_750_250, 123_456_789_012n, 123_455_000_000n, 123_445_000_000n, -5000, -123_456_789_012n, 100_999_999_999n].map(usd), [
    '$0.000000', '$0.000000040', '$0.290400', '$0.020750250', '$123.46', '$123.46', '$123.44', '-$0.000005', '-$123.46', '$101.00',
  ]);
  // Past 2^53 n$: exact from a bigint.
  assert.equal(usd(9_007_199_254_740_993n * 10n), '$90071992.55');
});

test('usdColumn: one precision per column, the finest any value needs', () => {
  assert.deepEqual(usdColumn([290_400_000, 40]), ['$0.290400000', '$0.000000040']);
  assert.deepEqual(usdColumn([290_400_000, 5000]), ['$0.290400', '$0.000005']);
  assert.deepEqual(usdColumn([123_456_789_012n, 200_000_000_000n]), ['$123.46', '$200.00']);
  assert.deepEqual(usdColumn([123_456_789_012n, 5000]), ['$123.456789', '$0.000005']);
  assert.deepEqual(usdColumn([]), []);
});

test('table: label columns left-aligned, numbers right-aligned', () => {
  assert.equal(table(['user', 'cost'], [['u1', '$1.00'], ['u10', '$12.00']]), ['user    cost', '----  ------', 'u1     $1.00', 'u10   $12.00'].join('\n'));
});
