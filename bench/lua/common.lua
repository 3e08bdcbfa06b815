-- Shared by every scenario: the form POST and the one-line JSON summary bench.py reads.
-- Inputs come from the environment (set by bench.py); nothing here talks to anything but the
-- URL wrk was given (127.0.0.1).

local M = {}

function M.lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then out[#out + 1] = line end
  end
  return out
end

-- A pre-formatted POST (wrk.format builds the raw request once; cycling through a table of
-- them costs the load generator almost nothing per request).
function M.post(path, authorization, body)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = authorization,
  }, body)
end

-- Prints one JSON line that bench.py parses: counts, errors and latency percentiles (µs), and
-- a script's own counts (`extra`: name -> integer), if any.
function M.done(summary, latency, requests, extra)
  local e = summary.errors
  local more = ""
  for name, value in pairs(extra or {}) do
    more = more .. string.format(',"%s":%d', name, value)
  end
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d%s}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, more))
end

return M
