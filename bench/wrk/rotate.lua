-- wrk script of the benchmark: each request takes the next entry of the list in BENCH_WRK_DATA
-- (a Lua file returning {method, path, {header = value, ...}, body prefix or nil} entries),
-- so tokens and ids rotate; the run's figures go to BENCH_WRK_OUT as JSON.
local entries = dofile(os.getenv("BENCH_WRK_DATA"))
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("start", threads * 7919)  -- threads begin at different entries
end

function init(args)
  n = start or 0
end

function request()
  n = n + 1
  local e = entries[(n % #entries) + 1]
  local headers = {}
  for name, value in pairs(e[3]) do headers[name] = value end
  local body = nil
  if e[4] then
    headers["Content-Type"] = "application/json"
    body = string.format('{"body": "%s %d"}', e[4], n)
  end
  return wrk.format(e[1], e[2], headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  local out = io.open(os.getenv("BENCH_WRK_OUT"), "w")
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "status": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}',
    summary.requests, summary.duration, errors.status, errors.connect, errors.read, errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  out:close()
end
