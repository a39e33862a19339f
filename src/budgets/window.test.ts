import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calendarRange, parseDuration, windowAt, ROLLING_BUCKETS } from './window.js';
import { usdToNanos } from './money.js';

test('money: USD → nano-dollars exactly', () => {
  assert.equal(usdToNanos('1.00'), 1_000_000_000n);
  assert.equal(usdToNanos(0.1), 100_000_000n);
  assert.equal(usdToNanos('12.345678901'), 12_345_678_901n);
  assert.equal(usdToNanos(1e-9), 1n);
  assert.equal(usdToNanos('250'), 250_000_000_000n);
  assert.throws(() => usdToNanos('0.0000000001'), /finer/);
  assert.throws(() => usdToNanos('-1'), /decimal/);
  assert.throws(() => usdToNanos('abc'), /decimal/);
});

test('calendar day in a time zone (New York, across DST)', () => {
  const t = Date.parse('2026-03-08T12:00:00Z'); // DST starts 02:00 local that day
  const { start, end } = calendarRange('day', 'America/New_York', t);
  assert.equal(new Date(start).toISOString(), '2026-03-08T05:00:00.000Z');
  assert.equal(new Date(end).toISOString(), '2026-03-09T04:00:00.000Z');
  const utc = calendarRange('day', 'UTC', Date.parse('2026-12-02T23:59:59Z'));
  assert.equal(new Date(utc.end).toISOString(), '2026-12-03T00:00:00.000Z');
  const tokyo = calendarRange('day', 'Asia/Tokyo', Date.parse('2026-12-02T16:00:00Z'));
  assert.equal(new Date(tokyo.start).toISOString(), '2026-12-02T15:00:00.000Z');
});

test('calendar week starts Monday; month at the 1st (year rollover)', () => {
  const w = calendarRange('week', 'Europe/Berlin', Date.parse('2026-12-02T10:00:00Z')); // a Wednesday
  assert.equal(new Date(w.start).toISOString(), '2026-11-29T23:00:00.000Z');
  assert.equal(new Date(w.end).toISOString(), '2026-12-06T23:00:00.000Z');
  const m = calendarRange('month', 'UTC', Date.parse('2026-12-31T23:00:00Z'));
  assert.equal(new Date(m.start).toISOString(), '2026-12-01T00:00:00.000Z');
  assert.equal(new Date(m.end).toISOString(), '2027-01-01T00:00:00.000Z');
  const a = windowAt({ kind: 'calendar', unit: 'month', tz: 'UTC' }, Date.parse('2026-12-15T00:00:00Z'));
  assert.equal(a.bucket, a.minBucket);
  assert.equal(a.resetsAt, m.end);
});

test('rolling window: 24 buckets, spend leaves at most one bucket late', () => {
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('0h'), undefined);
  assert.equal(parseDuration('1y'), undefined);
  const w = { kind: 'rolling' as const, ms: 86_400_000 };
  const t = Date.parse('2026-12-02T10:30:00Z');
  const a = windowAt(w, t);
  assert.equal(a.bucket - a.minBucket, ROLLING_BUCKETS - 1);
  const later = windowAt(w, t + 86_400_000);
  assert.ok(later.minBucket > a.bucket, 'a day later the bucket has left');
  const almost = windowAt(w, t + 86_400_000 - 3_600_000);
  assert.ok(almost.minBucket <= a.bucket, 'within the window it still counts');
  assert.ok(a.resetsAt > t && a.resetsAt <= t + 3_600_000);
});
