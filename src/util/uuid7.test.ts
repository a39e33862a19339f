import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuid7 } from './uuid7.js';

const FORM = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('uuid7: RFC 9562 layout, the millisecond timestamp in the first 48 bits', () => {
  const ms = Date.now() + 10_000; // later than anything made so far in this process
  const id = uuid7(ms);
  assert.match(id, FORM);
  assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), ms);
});

test('uuid7: ids made in one process sort in the order they were made, within a millisecond too', () => {
  const now = Date.now() + 20_000;
  const ids = Array.from({ length: 10_000 }, (_, i) => uuid7(now + Math.floor(i / 5000)));
  for (const id of ids) assert.match(id, FORM);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  // more than 4096 in one millisecond borrow the next millisecond rather than wrap the counter
  assert.equal(parseInt(ids[4999]!.slice(0, 8) + ids[4999]!.slice(9, 13), 16), now + 1);
});

test('uuid7: a clock that steps back keeps the order', () => {
  const a = uuid7(Date.now() + 30_000);
  const b = uuid7(Date.now());
  assert.ok(b > a);
});
