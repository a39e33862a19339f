-- Closed loop (max throughput) for `npm run bench`: each connection sends its next request as soon as the
-- previous response is complete. The request is static, so wrk formats it once.
-- Usage: wrk -s bench/lua/closed.lua <url> -- <body-file>
-- Prints one line `BENCH_RESULT {json}`; latency is wrk's own (from the actual send), in microseconds.

function init(args)
  local f = assert(io.open(args[1], "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"mode":"closed","requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"service_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
