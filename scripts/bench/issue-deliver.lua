-- wrk script for the kiosk issuance benchmark (scripts/bench-http.sh, docs/performance.md).
--
-- One complete kiosk issuance = POST /kiosk/v1/issuances with `Accept: application/pdf` (the PDF comes back
-- in the answer, so issue and fetch are one round trip) followed by POST /kiosk/v1/issuances/{id}/delivered.
--
-- wrk runs one Lua state per thread, shared by all of that thread's connections, and a connection asks for
-- its next request only after its previous answer was read. Ids of issued documents go into a per-thread
-- FIFO; whenever the FIFO is not empty the next request (of any connection of the thread) confirms the
-- oldest one, otherwise it issues a new certificate. So every issued document is confirmed once, shortly
-- after it was issued, and at most one issue answer per connection is unconfirmed when the run stops.
--
-- Environment:
--   KOFU_BENCH_CARDS  file with the card serials of issuable residents, one per line (required)
--   KOFU_BENCH_YEAR   fiscal year asked for (default 2026)
--   KOFU_BENCH_KIND   certificate kind (default income_taxation)
--   KOFU_BENCH_RUN    tag put into every request_id so that runs never reuse an id (default: the time)
--   KOFU_BENCH_HONOR_RETRY_AFTER  1: after a 503 the connection waits the answer's Retry-After before its
--                     next request, as the kiosk center does (KIOSK_API.md); default: it asks again at once
--
-- The done() summary prints `key=value` lines that scripts/bench-http.sh parses.

local cards = {}
local cards_file = os.getenv("KOFU_BENCH_CARDS")
for line in io.lines(cards_file) do
  if #line > 0 then cards[#cards + 1] = line end
end
if #cards == 0 then error("no card serials in " .. tostring(cards_file)) end
local year = os.getenv("KOFU_BENCH_YEAR") or "2026"
local kind = os.getenv("KOFU_BENCH_KIND") or "income_taxation"
local run = os.getenv("KOFU_BENCH_RUN") or tostring(os.time())
local honor_retry_after = os.getenv("KOFU_BENCH_HONOR_RETRY_AFTER") == "1"

local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

-- Per-thread state (each thread has its own copy of these globals).
thread_id = 0
local pending = {}      -- FIFO of issuance ids waiting for `delivered`
local head, tail = 1, 0
seq = 0
errors = {}             -- "<status>_<CODE>" -> count, for every answer that is neither 201 issue nor 200 delivered
issued = 0              -- 201 answers to issue (PDF in the body)
delivered = 0           -- 200 answers to delivered
stale_delivered = 0     -- 200 answers to delivered whose body does not say "status":"delivered"
issue_bytes = 0         -- PDF bytes received
-- wrk calls response() and then delay() for the same connection, so this carries one connection's back-off.
local backoff_ms = 0

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
end

request = function()
  if head <= tail then
    local id = pending[head]
    pending[head] = nil
    head = head + 1
    return wrk.format("POST", "/kiosk/v1/issuances/" .. id .. "/delivered", {["Content-Length"] = "0"}, "")
  end
  seq = seq + 1
  local card = cards[math.random(#cards)]
  local body = string.format(
    '{"request_id":"B%s-%d-%d","card_serial":"%s","kind":"%s","fiscal_year":%s,"copies":1,'
      .. '"terminal":{"store_chain":"7","store_id":"131041-0042","terminal_id":"K%02d"}}',
    run, thread_id, seq, card, kind, year, thread_id % 100)
  return wrk.format("POST", "/kiosk/v1/issuances",
    {["Content-Type"] = "application/json", ["Accept"] = "application/pdf"}, body)
end

delay = function()
  local d = backoff_ms
  backoff_ms = 0
  return d
end

response = function(status, headers, body)
  if status == 503 and honor_retry_after then
    backoff_ms = (tonumber(headers["Retry-After"] or headers["retry-after"] or "2") or 2) * 1000
  end
  local id = headers["Kofu-Issuance-Id"] or headers["kofu-issuance-id"]
  if status == 201 and id then
    issued = issued + 1
    issue_bytes = issue_bytes + (body and #body or 0)
    tail = tail + 1
    pending[tail] = id
  elseif status == 200 and body and string.find(body, '"issuance_id"', 1, true) then
    delivered = delivered + 1
    if not string.find(body, '"status":"delivered"', 1, true) then stale_delivered = stale_delivered + 1 end
  else
    local code = body and string.match(body, '"code"%s*:%s*"([A-Z_]+)"') or "none"
    local key = tostring(status) .. "_" .. code
    errors[key] = (errors[key] or 0) + 1
  end
end

done = function(summary, latency, requests)
  local errs = {}
  local issued_all, delivered_all, stale_all, bytes_all = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("errors") or {}) do errs[k] = (errs[k] or 0) + v end
    issued_all = issued_all + (t:get("issued") or 0)
    delivered_all = delivered_all + (t:get("delivered") or 0)
    stale_all = stale_all + (t:get("stale_delivered") or 0)
    bytes_all = bytes_all + (t:get("issue_bytes") or 0)
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("requests=%d\nduration_s=%.2f\n", summary.requests, seconds))
  io.write(string.format("socket_connect=%d\nsocket_read=%d\nsocket_write=%d\nsocket_timeout=%d\nnon2xx=%d\n",
    e.connect, e.read, e.write, e.timeout, e.status))
  io.write(string.format("latency_ms_p50=%.1f\nlatency_ms_p90=%.1f\nlatency_ms_p99=%.1f\nlatency_ms_max=%.1f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
  local keys = {}
  for k in pairs(errs) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do io.write(string.format("answer_%s=%d\n", k, errs[k])) end
  io.write(string.format("issued=%d\ndelivered=%d\ndelivered_answer_not_delivered=%d\n", issued_all, delivered_all,
    stale_all))
  io.write(string.format("pdf_kb_mean=%.1f\n", issued_all > 0 and bytes_all / issued_all / 1024 or 0))
  io.write(string.format("issued_per_s=%.1f\n", issued_all / seconds))
  io.write(string.format("issuances_per_s=%.1f\n", delivered_all / seconds))
end
