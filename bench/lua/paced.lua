-- Paced open loop for `npm run bench`: requests leave on a fixed schedule (rate/s per wrk thread), whatever the
-- server's latency, so a slow response cannot hold back the next request (no coordinated omission).
-- Usage: wrk -t1 -c<N> -s bench/lua/paced.lua <url> -- <body-file> <rate per thread> <latency-out-file>
--
-- How: wrk is closed loop, but it asks delay() before every request. Each free connection claims the next slot
-- of the thread's schedule (slot k at t0 + k/rate) and waits until then. With enough connections one is always
-- free, so requests go out on time; if all are busy, slots fall behind and the next free connection sends the
-- oldest overdue one at once.
--
-- What is measured: the body carries `bench-<start µs>` and the mock upstream echoes it in the completion id, so
-- response() can compute latency = arrival - start for every response, through any gateway. `start` is the
-- intended (scheduled) send time when the schedule had fallen behind (the wait counts, as in wrk2), and the actual
-- send time otherwise (so wrk's own 1 ms timer granularity is not counted). Streams are timed to their last byte.
-- The body file holds the marker `bench-0`, replaced per request.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local head, tail, period
local next_slot
local q_slot, q_behind, q_first, q_last = {}, {}, 1, 0
lat, non2xx, unmatched, behind_n, out_path = {}, 0, 0, 0, nil

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  local at = assert(body:find("bench-0", 1, true), "body has no bench-0 marker")
  head, tail = body:sub(1, at + 5), body:sub(at + 7)
  period = 1000000 / tonumber(args[2])
  out_path = args[3]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function delay()
  local now = now_us()
  next_slot = next_slot or now + 2000
  local slot = next_slot
  next_slot = slot + period
  q_last = q_last + 1
  q_slot[q_last], q_behind[q_last] = slot, slot < now
  if slot < now then return 0 end
  return math.ceil((slot - now) / 1000)
end

function request()
  local now = now_us()
  local start = now
  if q_first <= q_last then
    -- Timers fire in slot order, so the earliest pending slot is this request's.
    if q_behind[q_first] then
      start = q_slot[q_first]
      behind_n = behind_n + 1
    end
    q_slot[q_first], q_behind[q_first] = nil, nil
    q_first = q_first + 1
  end
  return wrk.format(nil, nil, nil, head .. string.format("%.0f", start) .. tail)
end

function response(status, headers, body)
  local now = now_us()
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  local t = body:match("bench%-(%d+)")
  if t then lat[#lat + 1] = now - tonumber(t) else unmatched = unmatched + 1 end
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  local path, n, nx, um, bh = nil, 0, 0, 0, 0
  local f
  for _, t in ipairs(threads) do
    path = path or t:get("out_path")
    f = f or assert(io.open(path, "wb"))
    for _, v in ipairs(t:get("lat")) do f:write(string.format("%.0f\n", v)); n = n + 1 end
    nx, um, bh = nx + t:get("non2xx"), um + t:get("unmatched"), bh + t:get("behind_n")
  end
  if f then f:close() end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"mode":"paced","requests":%d,"duration_us":%d,"bytes":%d,"samples":%d,"non2xx":%d,' ..
    '"unmatched":%d,"behind":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"service_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, n, nx, um, bh, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
