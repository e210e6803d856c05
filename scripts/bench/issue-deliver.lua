-- wrk script: each connection alternates "issue (PDF in the answer)" and "delivered" for that issuance,
-- so one pair = one complete kiosk issuance (issue + fetch + delivered).
-- Card serials of issuable residents are read from the file named by KOFU_BENCH_CARDS (one per line).
local cards = {}
for line in io.lines(os.getenv("KOFU_BENCH_CARDS")) do cards[#cards + 1] = line end
local year = os.getenv("KOFU_BENCH_YEAR") or "2026"
local counter = 0
local thread_id = 0
local pending = nil

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
  seq = 0
end

request = function()
  if pending then
    local id = pending
    pending = nil
    return wrk.format("POST", "/kiosk/v1/issuances/" .. id .. "/delivered", {["Content-Length"] = "0"}, "")
  end
  seq = seq + 1
  local card = cards[math.random(#cards)]
  local body = string.format('{"request_id":"B%d-%d-%d","card_serial":"%s","kind":"income_taxation","fiscal_year":%s,"copies":1}',
    thread_id, os.time(), seq, card, year)
  return wrk.format("POST", "/kiosk/v1/issuances",
    {["Content-Type"] = "application/json", ["Accept"] = "application/pdf"}, body)
end

response = function(status, headers, body)
  if status == 201 then
    pending = headers["Kofu-Issuance-Id"] or headers["kofu-issuance-id"]
  end
end

done = function(summary, latency, requests)
  local codes = summary.errors
  io.write(string.format("requests=%d duration_s=%.1f non2xx=%d timeouts=%d\n", summary.requests,
    summary.duration / 1e6, codes.status, codes.timeout))
  io.write(string.format("latency_ms p50=%.1f p90=%.1f p99=%.1f max=%.1f\n", latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("issuances_per_s=%.1f\n", summary.requests / 2 / (summary.duration / 1e6)))
end
