/** SseSplitter.exact: when a relay may forward the upstream's bytes instead of re-encoding the events. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseSplitter, parseEvent } from './sse.js';

const b = (s: string) => Buffer.from(s);

test('a chunk of whole events is exact; one that ends mid-event, and the one after it, are not', () => {
  const s = new SseSplitter();
  assert.equal(s.push(b('data: {"a":1}\n\ndata: {"b":2}\n\n')).length, 2);
  assert.equal(s.exact, true);
  assert.equal(s.push(b('data: {"c":')).length, 0);
  assert.equal(s.exact, false);
  assert.deepEqual(s.push(b('3}\n\n')).map((e) => e.data), ['{"c":3}']);
  assert.equal(s.exact, false); // the event began in the previous chunk
  s.push(b('data: x\n\n'));
  assert.equal(s.exact, true);
});

test('CR line endings, dropped empty events and a character split across chunks are never exact', () => {
  const crlf = new SseSplitter();
  assert.deepEqual(crlf.push(b('data: 1\r\n\r\n')).map((e) => e.data), ['1']);
  assert.equal(crlf.exact, false);
  const blank = new SseSplitter();
  assert.equal(blank.push(b('data: 1\n\n\n\n')).length, 1);
  assert.equal(blank.exact, false);
  const euro = Buffer.from('data: €\n\n');
  const split = new SseSplitter();
  split.push(euro.subarray(0, 7));
  assert.equal(split.exact, false);
  assert.deepEqual(split.push(euro.subarray(7)).map((e) => e.data), ['€']);
  assert.equal(split.exact, false);
});

test('parseEvent: the one-line fast path agrees with the general one', () => {
  assert.deepEqual(parseEvent('data: {"x":1}'), { raw: 'data: {"x":1}', data: '{"x":1}' });
  assert.deepEqual(parseEvent('event: ping\ndata: {}'), { raw: 'event: ping\ndata: {}', event: 'ping', data: '{}' });
  assert.deepEqual(parseEvent('data: a\ndata: b'), { raw: 'data: a\ndata: b', data: 'a\nb' });
  assert.deepEqual(parseEvent('data:x'), { raw: 'data:x', data: 'x' });
});
