-- wrk script for loadtest/bench.py: POST one single-unit order per request, each from the
-- next viewer in a token file (so per-user limits never bind), and print the result as
-- one JSON line: requests, seconds, answers by status, latency percentiles (ms).
--   wrk -t2 -c128 -d10s -s loadtest/wrk/orders.lua <url> -- <token file> <mode> <threads>

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do table.insert(tokens, line) end
  body = '{"mode":"' .. (args[2] or "direct") .. '","qty":1}'
  step = tonumber(args[3] or "1")
  next_token = id  -- threads interleave: thread k uses tokens k, k + n, k + 2n, ...
  statuses = {}
end

function request()
  local token = tokens[(next_token % #tokens) + 1]
  next_token = next_token + step
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local answers = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      answers[status] = (answers[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(answers) do table.insert(parts, '"' .. status .. '":' .. n) end
  io.write(string.format(
    'WRK {"requests":%d,"seconds":%.3f,"errors":%d,"answers":{%s},' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    table.concat(parts, ","),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000))
end
