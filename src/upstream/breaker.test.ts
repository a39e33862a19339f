import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreakers } from './breaker.js';

/** A breaker on a clock the test moves by hand. */
function setup(threshold = 3, cooldown = 1000) {
  let now = 10_000;
  const b = new CircuitBreakers(threshold, cooldown, () => now);
  return { b, tick: (ms: number) => (now += ms) };
}

test('closed until the threshold of consecutive failures, then open', () => {
  const { b } = setup(3);
  assert.equal(b.state('d'), 'closed');
  b.failure('d');
  b.failure('d');
  assert.equal(b.state('d'), 'closed');
  assert.equal(b.allow('d'), true);
  b.failure('d');
  assert.equal(b.state('d'), 'open');
  assert.equal(b.allow('d'), false);
});

test('a success resets the streak: failures must be consecutive', () => {
  const { b } = setup(3);
  b.failure('d');
  b.failure('d');
  b.success('d');
  b.failure('d');
  b.failure('d');
  assert.equal(b.state('d'), 'closed');
});

test('deployments are independent', () => {
  const { b } = setup(1);
  b.failure('a');
  assert.equal(b.state('a'), 'open');
  assert.equal(b.state('b'), 'closed');
  assert.equal(b.allow('b'), true);
});

test('open → half-open after exactly the cooldown; remainingMs counts down', () => {
  const { b, tick } = setup(1, 1000);
  b.failure('d');
  assert.equal(b.remainingMs('d'), 1000);
  tick(999);
  assert.equal(b.state('d'), 'open');
  assert.equal(b.remainingMs('d'), 1);
  tick(1);
  assert.equal(b.state('d'), 'half-open');
  assert.equal(b.remainingMs('d'), 0);
});

test('half-open lets exactly one trial through', () => {
  const { b, tick } = setup(1, 1000);
  b.failure('d');
  tick(1000);
  assert.equal(b.allow('d'), true);
  assert.equal(b.allow('d'), false, 'a second request while the trial is in flight is refused');
  assert.equal(b.allow('d'), false);
});

test('a successful trial closes the circuit', () => {
  const { b, tick } = setup(2, 1000);
  b.failure('d');
  b.failure('d');
  tick(1000);
  assert.equal(b.allow('d'), true);
  b.success('d');
  assert.equal(b.state('d'), 'closed');
  assert.equal(b.allow('d'), true);
  assert.equal(b.allow('d'), true);
  b.failure('d');
  assert.equal(b.state('d'), 'closed', 'the streak starts again from zero');
});

test('a failed trial re-opens the circuit for a full cooldown from the trial', () => {
  const { b, tick } = setup(2, 1000);
  b.failure('d');
  b.failure('d');
  tick(1500);
  assert.equal(b.allow('d'), true);
  b.failure('d');
  assert.equal(b.state('d'), 'open');
  assert.equal(b.remainingMs('d'), 1000);
  tick(999);
  assert.equal(b.allow('d'), false);
  tick(1);
  assert.equal(b.allow('d'), true);
});

test('release frees the trial slot without changing the state (a client left mid-trial)', () => {
  const { b, tick } = setup(1, 1000);
  b.failure('d');
  tick(1000);
  assert.equal(b.allow('d'), true);
  b.release('d');
  assert.equal(b.state('d'), 'half-open');
  assert.equal(b.allow('d'), true, 'another trial may go');
});

test('a trial that never reports back is presumed lost after another cooldown', () => {
  const { b, tick } = setup(1, 1000);
  b.failure('d');
  tick(1000);
  assert.equal(b.allow('d'), true);
  tick(999);
  assert.equal(b.allow('d'), false);
  tick(1);
  assert.equal(b.allow('d'), true);
});

test('cooldown 0: half-open at once, still one trial at a time', () => {
  const { b } = setup(1, 0);
  b.failure('d');
  assert.equal(b.state('d'), 'half-open');
  assert.equal(b.allow('d'), true);
  assert.equal(b.allow('d'), false);
});

test('invalid options are refused', () => {
  assert.throws(() => new CircuitBreakers(0, 1000), RangeError);
  assert.throws(() => new CircuitBreakers(1, -1), RangeError);
});
