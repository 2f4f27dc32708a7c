-- wrk script of bench/async: POST /v1/async/invocations with a small chat body on every
-- keep-alive connection. Counts every answer that is not 202 (wrk itself counts only
-- statuses >= 400) and, at the end, prints one JSON line for bench/async/run:
--   BENCH_JSON {"requests", "duration_us", "p50_us", "p99_us", "non202", "socket_errors"}

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"builtin","messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":16}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non202 = 0
  first_bad = ""
end

function response(status, headers, body)
  if status ~= 202 then
    non202 = non202 + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local bad, sample = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("non202")
    local b = t:get("first_bad")
    if sample == "" and b ~= nil then sample = b end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non202":%d,"socket_errors":%d,"timeouts":%d,"first_bad":"%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, bad, e.connect + e.read + e.write, e.timeout, (string.gsub(sample, '[%c"\\]', "?"))))
end
