import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, retryAfterMs, sleep } from './backoff.js';

test('backoff doubles per attempt from the base', () => {
  const top = () => 1 - Number.EPSILON;
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffDelay(n, 100, 10_000, top)), [100, 200, 400, 800]);
});

test('backoff is capped at maxDelayMs, however many attempts', () => {
  for (const n of [6, 7, 20, 1000, 5000]) assert.equal(backoffDelay(n, 100, 1500, () => 1 - Number.EPSILON), 1500);
  assert.ok(Number.isFinite(backoffDelay(5000, 100, 1500, () => 0.5)), 'no Infinity/NaN from 2^large');
});

test('jitter stays within [cap/2, cap] and spans the range', () => {
  assert.equal(backoffDelay(3, 100, 10_000, () => 0), 200);
  assert.equal(backoffDelay(3, 100, 10_000, () => 0.5), 300);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < 2000; i++) {
    const d = backoffDelay(4, 100, 10_000);
    min = Math.min(min, d);
    max = Math.max(max, d);
    assert.ok(d >= 400 && d <= 800, `delay ${d} outside [400, 800]`);
  }
  assert.ok(max - min > 200, 'jitter actually varies the delay');
});

test('a misbehaving random source cannot push the delay out of range', () => {
  assert.equal(backoffDelay(2, 100, 1000, () => 7), 200);
  assert.equal(backoffDelay(2, 100, 1000, () => -3), 100);
});

test('attempt numbers below 1 are treated as the first', () => {
  assert.equal(backoffDelay(0, 100, 1000, () => 0), 50);
  assert.equal(backoffDelay(-5, 100, 1000, () => 0), 50);
});

test('Retry-After as delay-seconds', () => {
  assert.equal(retryAfterMs({ 'retry-after': '2' }), 2000);
  assert.equal(retryAfterMs({ 'retry-after': '0' }), 0);
  assert.equal(retryAfterMs({ 'retry-after': ' 3 ' }), 3000);
  assert.equal(retryAfterMs({ 'retry-after': '0.25' }), 250);
  assert.equal(retryAfterMs({ 'retry-after': ['4', '9'] }), 4000, 'first of repeated headers');
});

test('Retry-After as an HTTP-date, relative to now', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  assert.equal(retryAfterMs({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }, now), 30_000);
  assert.equal(retryAfterMs({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }, now), 0, 'a date in the past means now');
});

test('retry-after-ms wins over retry-after, and falls back to it when unusable', () => {
  assert.equal(retryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '9' }), 1500);
  assert.equal(retryAfterMs({ 'retry-after-ms': '12.5' }), 12.5);
  assert.equal(retryAfterMs({ 'retry-after-ms': '', 'retry-after': '2' }), 2000, 'empty is not 0');
  assert.equal(retryAfterMs({ 'retry-after-ms': 'soon', 'retry-after': '2' }), 2000);
  assert.equal(retryAfterMs({ 'retry-after-ms': '-5', 'retry-after': '2' }), 2000);
});

test('absent or unparseable Retry-After is undefined', () => {
  assert.equal(retryAfterMs({}), undefined);
  assert.equal(retryAfterMs({ 'retry-after': '' }), undefined);
  assert.equal(retryAfterMs({ 'retry-after': '-1' }), undefined);
  assert.equal(retryAfterMs({ 'retry-after': 'later' }), undefined);
  assert.equal(retryAfterMs({ 'retry-after': '0x10' }), undefined, 'hex is not delay-seconds');
  assert.equal(retryAfterMs({ 'retry-after': '1e3' }), undefined, 'exponents are not delay-seconds');
});

test('sleep resolves, and rejects at once when its signal aborts', async () => {
  await sleep(1);
  const ac = new AbortController();
  const p = sleep(60_000, ac.signal);
  ac.abort(new Error('client gone'));
  await assert.rejects(p, /client gone/);
  await assert.rejects(sleep(10, AbortSignal.abort(new Error('already'))), /already/);
});
