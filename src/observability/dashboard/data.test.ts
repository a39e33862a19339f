/** Dashboard timeseries over a memory ledger: top series and `(other)`, `by=none`, empty buckets, filters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timeseries, MAX_SERIES } from './data.js';
import { SqliteLedger } from '../../stores/ledger/sqlite.js';
import { makeRow, T0, HOUR } from '../../../test/fixtures/ledger-rows.js';

test('timeseries: the top series by spend, the rest summed as (other); totals include every row; empty buckets are 0', async () => {
  const store = new SqliteLedger(':memory:');
  await store.init();
  try {
    // 11 models; model-i costs (i+1) × 1000 n$ per row, two rows each, in hours 0 and 2 of a 4-hour range.
    const rows = Array.from({ length: 11 }, (_, i) => [0, 2].map((h) => makeRow({ ts: T0 + h * HOUR + i, model: `model-${String(i).padStart(2, '0')}`, costNanos: (i + 1) * 1000, feature: i % 2 ? 'odd' : 'even' }))).flat();
    await store.write(rows, []);
    const range = { since: T0, until: T0 + 4 * HOUR };
    const ts = await timeseries(store, range, 'hour', 'model', T0 + 4 * HOUR);
    assert.deepEqual(ts.t, [0, 1, 2, 3].map((h) => (T0 + h * HOUR) / 1000));
    assert.equal(ts.series.length, MAX_SERIES + 1);
    assert.deepEqual(ts.series.slice(0, 3).map((s) => s.name), ['model-10', 'model-09', 'model-08']);
    const other = ts.series.at(-1)!;
    assert.equal(other.name, '(other)');
    // model-00..02: (1 + 2 + 3) × 1000 n$ in each of hours 0 and 2.
    assert.deepEqual(other.cost_usd, ['0.000006000', '0.000000000', '0.000006000', '0.000000000']);
    assert.equal(ts.total.sum_cost_usd, '0.000132000'); // 2 × (1+…+11) × 1000
    assert.deepEqual(ts.total.requests, [11, 0, 11, 0]);
    const none = await timeseries(store, range, 'hour', 'none', T0 + 4 * HOUR);
    assert.deepEqual(none.series, []);
    assert.deepEqual(none.total.cost_usd, ts.total.cost_usd);
    const odd = await timeseries(store, { ...range, feature: 'odd' }, 'day', 'feature', T0 + 4 * HOUR);
    assert.deepEqual(odd.series.map((s) => [s.name, s.total_usd]), [['odd', '0.000060000']]); // 2 × (2+4+…+10) × 1000
  } finally {
    await store.close();
  }
});
