/** The bench's wrk-output parsing (bench/wrk.ts); the bench itself never runs under `npm test`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrkOutput, percentiles } from '../bench/wrk.js';

const PLAIN = `Running 10s test @ http://127.0.0.1:8080/v1/chat/completions
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.31ms  520.11us  14.02ms   91.20%
    Req/Sec    13.90k   612.44    14.80k    88.00%
  Latency Distribution
     50%    2.20ms
     75%    2.41ms
     90%    2.80ms
     99%    4.10ms
  138412 requests in 10.00s, 160.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  13840.55
Transfer/sec:     16.01MB
`;

test('parses wrk plain output: totals, rate, errors, latency distribution', () => {
  const r = parseWrkOutput(PLAIN);
  assert.equal(r.requests, 138412);
  assert.equal(r.durationUs, 10_000_000);
  assert.equal(r.rps, 13840.55);
  assert.deepEqual(r.errors, { connect: 0, read: 2, write: 0, timeout: 1, status: 7 });
  assert.equal(r.service!.p50, 2200);
  assert.equal(r.service!.p99, 4100);
  assert.ok(Number.isNaN(r.service!.p999));
});

test('prefers the BENCH_RESULT line of the Lua scripts', () => {
  const line =
    'BENCH_RESULT {"mode":"paced","requests":10001,"duration_us":10000500,"bytes":123,"samples":10001,"non2xx":0,' +
    '"unmatched":1,"behind":3,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},' +
    '"service_us":{"p50":180,"p90":240,"p99":610,"p999":1900,"max":4200}}';
  const r = parseWrkOutput(`${PLAIN.replace('Non-2xx or 3xx responses: 7\n', '')}${line}\n`);
  assert.equal(r.requests, 10001);
  assert.equal(r.rps, 13840.55);
  assert.equal(r.samples, 10001);
  assert.equal(r.unmatched, 1);
  assert.equal(r.behind, 3);
  assert.deepEqual(r.service, { p50: 180, p90: 240, p99: 610, p999: 1900, max: 4200 });
});

test('seconds-long latencies and minute-long runs convert to microseconds', () => {
  const r = parseWrkOutput(PLAIN.replace('99%    4.10ms', '99%    1.50s').replace('in 10.00s', 'in 1.00m'));
  assert.equal(r.service!.p99, 1_500_000);
  assert.equal(r.durationUs, 60_000_000);
});

test('rejects output that holds no result', () => {
  assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n'), /unrecognised wrk output/);
});

test('percentiles are nearest-rank', () => {
  const xs = Array.from({ length: 1000 }, (_, i) => 1000 - i);
  const p = percentiles(xs);
  assert.equal(p.p50, 500);
  assert.equal(p.p99, 990);
  assert.equal(p.p999, 999);
  assert.equal(p.max, 1000);
  assert.ok(Number.isNaN(percentiles([]).p50));
});
