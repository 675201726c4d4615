-- ocsp.lua: wrk script for bench/edge/run.sh — OCSP GET requests over a
-- file of request paths (one "/ocsp/{b64url}" per line, as bench_edgeload
-- writes them; line k is the serial of popularity rank k).
--
--   wrk ... -s ocsp.lua URL -- PATHS MODE [ARG] [DELAY_MS]
--     MODE zipf     P(rank k) ~ 1/k^ARG (ARG default 1.0), by binary search
--                   in a precomputed CDF
--          uniform  every path equally likely
--          seq      each thread walks its own stripe of the file in order
--                   (for filling caches; it wraps around at the end); ARG
--                   is the number of wrk threads (-t)
--     DELAY_MS > 0  wait an exponentially distributed time with this mean
--                   between a connection's requests (wrk's delay() hook,
--                   whole milliseconds, rounded at random so the mean holds):
--                   an approximately fixed offered rate for latency runs.
--
-- done() prints one machine-readable line that run.sh parses:
--   WRK_RESULT requests=N duration_us=N bytes=N errors=N status_errors=N
--              timeouts=N p50=US p90=US p99=US p999=US max=US
-- Requests are built once in init() (paths x "GET ... HTTP/1.1"), so the
-- per-request cost in the load generator is a table lookup.

local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local reqs = {}
local n = 0
local mode = "zipf"
local cdf = nil
local pos = 0
local step = 1
local delay_ms = 0

function init(args)
  local file = args[1]
  mode = args[2] or "zipf"
  local arg = tonumber(args[3] or "1.0") or 1.0
  delay_ms = tonumber(args[4] or "0") or 0
  local host = wrk.host
  if wrk.port then
    host = host .. ":" .. wrk.port
  end
  local tail = " HTTP/1.1\r\nHost: " .. host .. "\r\n\r\n"
  for line in io.lines(file) do
    if #line > 0 then
      n = n + 1
      reqs[n] = "GET " .. line .. tail
    end
  end
  if n == 0 then
    error("no paths in " .. file)
  end
  local t = tid or 0
  math.randomseed(12345 + 7919 * t)
  if mode == "zipf" then
    cdf = {}
    local sum = 0.0
    for k = 1, n do
      sum = sum + 1.0 / (k ^ arg)
      cdf[k] = sum
    end
    for k = 1, n do
      cdf[k] = cdf[k] / sum
    end
  elseif mode == "seq" then
    pos = t
    step = math.max(1, math.floor(arg))
  end
  if delay_ms > 0 then
    -- Defined only when asked for: with a delay() global wrk arms a timer
    -- per request, which costs load-generator CPU. (wrk looks for it after
    -- the first thread's init.)
    delay = function()
      local d = -math.log(1.0 - math.random()) * delay_ms
      local whole = math.floor(d)
      if math.random() < d - whole then
        whole = whole + 1
      end
      return whole
    end
  end
end

local function pick_zipf()
  local u = math.random()
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then
      lo = mid + 1
    else
      hi = mid
    end
  end
  return lo
end

function request()
  local k
  if mode == "zipf" then
    k = pick_zipf()
  elseif mode == "uniform" then
    k = math.random(n)
  else
    k = (pos % n) + 1
    pos = pos + step
  end
  return reqs[k]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d bytes=%d errors=%d status_errors=%d timeouts=%d " ..
    "p50=%d p90=%d p99=%d p999=%d max=%d\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write, e.status, e.timeout,
    latency:percentile(50.0), latency:percentile(90.0),
    latency:percentile(99.0), latency:percentile(99.9), latency.max))
end
