#!/usr/bin/env bash
# HTTP load benchmark of kiosk issuance (issue #5, issue #6 audit cost); figures go to docs/performance.md.
#
# Self-contained: builds the release binary (scratch path .build-release), makes a fresh data directory under
# /tmp, generates a seal key and a sample batch, imports it, lists the card serials of issuable residents,
# starts `kofu serve` on a free loopback port and drives it with wrk (scripts/bench/issue-deliver.lua):
#
#   1. nominal: 32 connections, 2 threads, 30 s — issuances/s (issue with the PDF in the answer + delivered)
#      and latency; targets >= 300 issuances/s, p99 <= 100 ms.
#   2. overload: 4x the connections (128), each honouring the Retry-After of a 503 as the kiosk center does —
#      how many requests are shed with 503 OVERLOADED, and the latency of the ACCEPTED issue requests from the
#      server's own Prometheus histograms (read before and after the run; wrk's latency mixes the quick 503s
#      in). Target: sheds, accepted p99 <= 250 ms.
#   2b. the same 128 connections asking again at once after a 503 (a client ignoring Retry-After): a flood.
#   3. audit on vs off: only when the server has an audit switch (`audit.enabled` / KOFU_AUDIT_ENABLED), which
#      it deliberately has not; `kofu bench issuance` measures the audit cost in-process instead.
#
# Exit status: 0 when every run took place (whether or not the targets were met), 2 on a setup failure.
# All traffic goes to 127.0.0.1; every wait is bounded.
#
# Environment knobs (defaults in brackets):
#   KOFU_BENCH_PEOPLE [20000]  KOFU_BENCH_DURATION [30]  KOFU_BENCH_CONNECTIONS [32]  KOFU_BENCH_THREADS [2]
#   KOFU_BENCH_WARMUP [5] seconds of unreported warm-up load   KOFU_BENCH_SKIP_BUILD [0] use the existing binary
#   KOFU_BENCH_KEEP [1] keep the data directory (server log, wrk outputs, metrics) for inspection
#   KOFU_BENCH_BIN [.build-release/release/kofu] another kofu binary (with KOFU_BENCH_SKIP_BUILD=1)
#   KOFU_BENCH_NOMINAL_ONLY [0] 1: run 1 only (for before/after comparisons of CPU per issuance)
#   KOFU_BENCH_ON_SERVER [""] a command run once run 1's load is on, with the server's pid as its last
#     argument (e.g. "timeout -s INT 15 perf record -F 999 -g -o /tmp/x.data -p"); output in on-server.log
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PEOPLE=${KOFU_BENCH_PEOPLE:-20000}
DURATION=${KOFU_BENCH_DURATION:-30}
CONNS=${KOFU_BENCH_CONNECTIONS:-32}
THREADS=${KOFU_BENCH_THREADS:-2}
WARMUP=${KOFU_BENCH_WARMUP:-5}
OVER_CONNS=$((CONNS * 4))
SCRATCH=.build-release
LUA="$ROOT/scripts/bench/issue-deliver.lua"
SERVER_PID=""
DIR=""

log() { echo "bench-http: $*" >&2; }

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=""
}

cleanup() {
  stop_server
  if [ -n "$DIR" ] && [ "${KOFU_BENCH_KEEP:-1}" = "0" ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT

fail() {
  log "SETUP FAILURE: $*"
  if [ -n "$DIR" ] && [ -f "$DIR/server.log" ]; then log "last server log lines:"; tail -20 "$DIR/server.log" >&2; fi
  exit 2
}

for tool in wrk sqlite3 curl awk; do command -v "$tool" >/dev/null || fail "$tool is not installed"; done

# --- build -------------------------------------------------------------------------------------------------
if [ "${KOFU_BENCH_SKIP_BUILD:-0}" != "1" ]; then
  log "building the release binary (swift build -c release --product kofu --scratch-path $SCRATCH)"
  swift build -c release --product kofu --scratch-path "$SCRATCH" >&2 || fail "release build failed"
fi
BIN=${KOFU_BENCH_BIN:-"$ROOT/$SCRATCH/release/kofu"}
[ -x "$BIN" ] || fail "no binary at $BIN"

# --- data --------------------------------------------------------------------------------------------------
DIR=$(mktemp -d /tmp/kofu-bench-http.XXXXXX) || fail "mktemp"
export KOFU_DATA_DIR="$DIR"
export KOFU_ISSUANCE_SERVICE_HOURS=00:00-24:00
export KOFU_ISSUANCE_CLOSED_DAYS=
TODAY=$(TZ=Asia/Tokyo date +%F)
log "data directory $DIR"
"$BIN" keys generate > "$DIR/keys.log" 2>&1 || { cat "$DIR/keys.log" >&2; fail "kofu keys generate"; }
"$BIN" sample --people "$PEOPLE" --out "$DIR/batch" --today "$TODAY" > "$DIR/sample.log" 2>&1 \
  || { cat "$DIR/sample.log" >&2; fail "kofu sample"; }
IMPORT_T0=$(date +%s.%N)
"$BIN" import "$DIR/batch" > "$DIR/import.log" 2>&1 || { cat "$DIR/import.log" >&2; fail "kofu import"; }
IMPORT_S=$(awk -v a="$IMPORT_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
IMPORT_LINE=$(head -1 "$DIR/import.log")

# Issuable for income_taxation: resident (not moved in today), no restriction at all (the ended ones too, to
# stay simple), a card that is neither revoked nor expired, and an assessment for the latest fiscal year.
DB="$DIR/kofu.sqlite"
YEAR=$(sqlite3 "$DB" "SELECT max(fiscal_year) FROM tax_assessments;") || fail "sqlite3 query"
[ -n "$YEAR" ] || fail "no assessments imported"
sqlite3 "$DB" "
  SELECT c.card_serial FROM tax_cards c
  JOIN tax_residents r ON r.addressee_id = c.addressee_id
  JOIN tax_assessments a ON a.addressee_id = c.addressee_id AND a.fiscal_year = $YEAR
  WHERE r.status = 'resident' AND r.status_date < '$TODAY' AND c.revoked = 0 AND c.valid_until >= '$TODAY'
    AND NOT EXISTS (SELECT 1 FROM tax_restrictions x WHERE x.addressee_id = c.addressee_id);" > "$DIR/cards.txt" \
  || fail "sqlite3 card query"
# The unprintable-name demo case passes the SQL filter but is refused (COUNTER_ONLY): leave it out.
UNPRINTABLE=$(awk '/"card_serial"/ { s = $0; gsub(/.*: "|",?$/, "", s) }
  /"case" : "unprintable_name_character"/ { print s }' "$DIR/batch/demo-cards.json")
if [ -n "$UNPRINTABLE" ]; then grep -v -x -F "$UNPRINTABLE" "$DIR/cards.txt" > "$DIR/cards.tmp" && mv "$DIR/cards.tmp" "$DIR/cards.txt"; fi
CARDS=$(wc -l < "$DIR/cards.txt")
[ "$CARDS" -gt 0 ] || fail "no issuable card found"
ORDINARY=$(awk '/"card_serial"/ { s = $0; gsub(/.*: "|",?$/, "", s) } /"case" : "ordinary"/ { print s; exit }' \
  "$DIR/batch/demo-cards.json")
grep -q -x -F "$ORDINARY" "$DIR/cards.txt" || fail "the demo 'ordinary' card $ORDINARY is not in the issuable list"
log "$CARDS issuable card serials, fiscal year $YEAR"

# --- server ------------------------------------------------------------------------------------------------
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

AUDIT_SWITCH=0
if grep -rqs -e '"audit.enabled"' -e 'KOFU_AUDIT_ENABLED' Sources/KofuConfig Sources/KofuCLI Sources/KofuServer; then
  AUDIT_SWITCH=1
fi

# start_server <log-name> [extra env assignments...]
start_server() {
  local name=$1; shift
  SERVER_LOG=$name
  SERVER_ENV=("$@")
  PORT=$(free_port) || fail "no free loopback port"
  STAFF_PORT=$(free_port) || fail "no free loopback port"
  env SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-interactive=no,timeout=10s,threads=crashed}" \
    KOFU_DATA_DIR="$DIR" KOFU_HTTP_HOST=127.0.0.1 KOFU_HTTP_PORT="$PORT" KOFU_ISSUANCE_SERVICE_HOURS=00:00-24:00 \
    KOFU_STAFF_PORT="$STAFF_PORT" KOFU_PUBLIC_PORT=0 \
    KOFU_ISSUANCE_CLOSED_DAYS= "$@" "$BIN" serve >> "$DIR/$name.log" 2>&1 &
  SERVER_PID=$!
  URL="http://127.0.0.1:$PORT"
  # /metrics is served on the staff listener.
  STAFF_URL="http://127.0.0.1:$STAFF_PORT"
  for _ in $(seq 1 120); do
    kill -0 "$SERVER_PID" 2>/dev/null || fail "kofu serve exited during start (see $DIR/$name.log)"
    curl -fsS -o /dev/null --max-time 2 "$URL/readyz" 2>/dev/null && return 0
    sleep 0.5
  done
  fail "kofu serve not ready after 60 s"
}

# One issuance by hand before any load: 201 with a PDF, then delivered.
smoke_test() {
  local hdr="$DIR/smoke.headers" id
  curl -sS --max-time 30 -D "$hdr" -o "$DIR/smoke.pdf" -X POST -H 'Content-Type: application/json' \
    -H 'Accept: application/pdf' "$URL/kiosk/v1/issuances" \
    --data "{\"request_id\":\"smoke-$1\",\"card_serial\":\"$ORDINARY\",\"kind\":\"income_taxation\",\"fiscal_year\":$YEAR,\"copies\":1}" \
    || fail "smoke issue request failed"
  head -1 "$hdr" | grep -q ' 201' || { cat "$hdr" "$DIR/smoke.pdf" >&2; fail "smoke issue did not answer 201"; }
  head -c 5 "$DIR/smoke.pdf" | grep -q '%PDF-' || fail "smoke issue answer is not a PDF"
  id=$(awk -F': ' 'tolower($1) == "kofu-issuance-id" { gsub(/\r/, "", $2); print $2 }' "$hdr")
  curl -fsS --max-time 30 -o /dev/null -X POST -H 'Content-Length: 0' "$URL/kiosk/v1/issuances/$id/delivered" \
    || fail "smoke delivered failed"
}

# --- measurement helpers -----------------------------------------------------------------------------------
scrape() { curl -fsS --max-time 10 "$STAFF_URL/metrics" > "$1" 2>/dev/null || : > "$1"; }

# counter_delta <before> <after> <metric line prefix, fixed string> : sum of matching samples, after - before
counter_delta() {
  awk -v pat="$3" '
    { f = (FILENAME == ARGV[1]) ? 1 : 2 }
    index($0, pat) == 1 { v[f] += $NF }
    END { printf "%d", v[2] - v[1] }' "$1" "$2"
}

# hist <before> <after> <metric name> <label filter, fixed string or ""> :
# "count p50 p90 p99 share<=100ms share<=250ms" of the histogram delta, quantiles in ms interpolated linearly
# inside the bucket (Prometheus histogram_quantile style).
hist() {
  awk -v name="$3_bucket" -v filt="$4" '
    { f = (FILENAME == ARGV[1]) ? 1 : 2 }
    index($0, name) == 1 && (filt == "" || index($0, filt) > 0) {
      le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le)
      if (f == 1) b[le] += $NF; else { a[le] += $NF; if (!(le in seen)) { seen[le] = 1; order[++n] = le } }
    }
    function q(p,   target, i, prev, prevc, c, up) {
      target = p * total; prev = 0; prevc = 0
      for (i = 1; i <= n; i++) {
        c = a[order[i]] - b[order[i]]
        if (c >= target) {
          if (order[i] == "+Inf") return ">" prev * 1000
          up = order[i] + 0
          if (c == prevc) return up * 1000
          return sprintf("%.0f", (prev + (up - prev) * (target - prevc) / (c - prevc)) * 1000)
        }
        prev = order[i] + 0; prevc = c
      }
      return "n/a"
    }
    END {
      total = a["+Inf"] - b["+Inf"]
      if (total <= 0) { print "0 n/a n/a n/a n/a n/a"; exit }
      s100 = (a["0.1"] - b["0.1"]) / total * 100; s250 = (a["0.25"] - b["0.25"]) / total * 100
      printf "%d %s %s %s %.1f%% %.1f%%\n", total, q(0.5), q(0.9), q(0.99), s100, s250
    }' "$1" "$2"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0; }

# run_wrk <label> <connections> <seconds> : runs wrk, stores outputs and server-side deltas in $DIR/<label>.*
run_wrk() {
  local label=$1 conns=$2 secs=$3 honor=${4:-0} t0 t1
  scrape "$DIR/$label.metrics.before"
  t0=$(cpu_ticks)
  uptime > "$DIR/$label.load"
  KOFU_BENCH_CARDS="$DIR/cards.txt" KOFU_BENCH_YEAR="$YEAR" KOFU_BENCH_RUN="$label$(date +%s)" \
  KOFU_BENCH_HONOR_RETRY_AFTER="$honor" \
    timeout $((secs + 60)) wrk -t"$THREADS" -c"$conns" -d"${secs}s" --timeout 10s -s "$LUA" "$URL" \
    > "$DIR/$label.wrk" 2>&1
  local rc=$?
  t1=$(cpu_ticks)
  # Requests wrk left in flight still finish on the server: let them land in this run's histograms.
  for _ in $(seq 1 60); do
    scrape "$DIR/$label.metrics.after"
    awk '/^http_server_active_requests\{http_request_method="POST"\}/ { n += $NF } END { exit n > 0 }' \
      "$DIR/$label.metrics.after" && break
    sleep 0.5
  done
  echo "wrk_exit=$rc" >> "$DIR/$label.wrk"
  echo "server_cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')" \
    >> "$DIR/$label.wrk"
}

val() { awk -F= -v k="$2" '$1 == k { print $2; exit }' "$DIR/$1.wrk"; }

# report <label> : prints the figures of one run
report() {
  local l=$1 B="$DIR/$1.metrics.before" A="$DIR/$1.metrics.after" issuances secs cpu
  issuances=$(val "$l" issuances_per_s); secs=$(val "$l" duration_s); cpu=$(val "$l" server_cpu_s)
  echo "  wrk: $(val "$l" requests) requests in ${secs} s; issued (201 with PDF) $(val "$l" issued), delivered (200) $(val "$l" delivered)"
  echo "  issuances/s (issue + delivered): ${issuances}   [issue 201/s: $(val "$l" issued_per_s)]"
  echo "  wrk latency, all requests (issue and delivered mixed), ms: p50 $(val "$l" latency_ms_p50)  p90 $(val "$l" latency_ms_p90)  p99 $(val "$l" latency_ms_p99)  max $(val "$l" latency_ms_max)"
  grep -E '^answer_' "$DIR/$l.wrk" | sed 's/^answer_/  non-success answers: /'
  echo "  socket errors: connect $(val "$l" socket_connect) read $(val "$l" socket_read) write $(val "$l" socket_write) timeout $(val "$l" socket_timeout)"
  echo "  delivered answers whose body still said another status: $(val "$l" delivered_answer_not_delivered)"
  set -- $(hist "$B" "$A" http_server_request_duration 'http_route="/kiosk/v1/issuances",http_request_method="POST",http_response_status_code="201"')
  echo "  server: accepted issue requests (HTTP 201, whole request) n=$1 ms p50 $2 p90 $3 p99 $4; <=100 ms: $5, <=250 ms: $6"
  set -- $(hist "$B" "$A" http_server_request_duration 'http_route="/kiosk/v1/issuances/{id}/delivered",http_request_method="POST",http_response_status_code="200"')
  echo "  server: delivered requests (HTTP 200) n=$1 ms p50 $2 p90 $3 p99 $4"
  set -- $(hist "$B" "$A" kofu_issue_duration_seconds "")
  echo "  server: kofu_issue_duration_seconds (admitted issue, service part) n=$1 ms p50 $2 p90 $3 p99 $4; <=100 ms: $5, <=250 ms: $6"
  echo "  server: 503 answers to issue $(counter_delta "$B" "$A" 'hb_requests{http_route="/kiosk/v1/issuances",http_request_method="POST",http_response_status_code="503"}'), kofu_shed_total +$(counter_delta "$B" "$A" 'kofu_shed_total'), 5xx other than 503: $(awk '
      { f = (FILENAME == ARGV[1]) ? 1 : 2 }
      /^hb_requests\{/ && /http_response_status_code="5/ && !/"503"/ { v[f] += $NF }
      END { printf "%d", v[2] - v[1] }' "$B" "$A")"
  echo "  server CPU: ${cpu} s over the run$(awk -v c="$cpu" -v s="$secs" -v i="$issuances" 'BEGIN { if (s > 0 && i > 0) printf " = %.2f cores, %.1f ms CPU per issuance", c / s, c * 1000 / (i * s) }')"
  echo "  load average at start: $(sed 's/.*load average: //' "$DIR/$l.load")"
}

# check_alive <run label>: after a run, is the server still there and answering? If not (crashed, or hung
# while the Swift runtime prints its crash backtrace), record the symptom and the log excerpt in crash.txt,
# and start a fresh server on the same data so that the next run still takes place.
check_alive() {
  local why=""
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    why="exited"
  elif ! curl -fsS -o /dev/null --max-time 10 "$URL/healthz" 2>/dev/null; then
    why="stopped answering"
    for _ in $(seq 1 120); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
  fi
  [ -z "$why" ] && return 0
  CRASHES=$((CRASHES + 1))
  {
    echo "SERVER FAILURE during run '$1': the server $why."
    if grep -q -E 'Fatal error|Signal [0-9]+' "$DIR/$SERVER_LOG.log"; then
      grep -m1 -B2 -A40 -E 'Fatal error|Signal [0-9]+' "$DIR/$SERVER_LOG.log"
    else
      tail -30 "$DIR/$SERVER_LOG.log"
    fi
    echo
  } >> "$DIR/crash.txt"
  stop_server
  log "server failure during $1 (see $DIR/crash.txt); restarting it"
  cp "$DIR/$SERVER_LOG.log" "$DIR/$SERVER_LOG.crash$CRASHES.log"
  : > "$DIR/$SERVER_LOG.log"
  start_server "$SERVER_LOG" "${SERVER_ENV[@]}"
  return 1
}

# --- runs --------------------------------------------------------------------------------------------------
CRASHES=0
: > "$DIR/crash.txt"
start_server server
smoke_test 1
log "server at $URL (pid $SERVER_PID); warm-up ${WARMUP} s"
if [ "$WARMUP" -gt 0 ]; then run_wrk warmup "$CONNS" "$WARMUP"; check_alive warmup; fi
log "run 1: $CONNS connections, $THREADS threads, ${DURATION} s"
ON_SERVER_PID=""
if [ -n "${KOFU_BENCH_ON_SERVER:-}" ]; then
  # Started a second into the run, so that it sees the load only; word splitting of the command is wanted.
  # shellcheck disable=SC2086
  (sleep 1; exec ${KOFU_BENCH_ON_SERVER} "$SERVER_PID") > "$DIR/on-server.log" 2>&1 &
  ON_SERVER_PID=$!
fi
run_wrk nominal "$CONNS" "$DURATION"
if [ -n "$ON_SERVER_PID" ]; then wait "$ON_SERVER_PID"; fi
check_alive nominal
if [ "${KOFU_BENCH_NOMINAL_ONLY:-0}" != 1 ]; then
log "run 2 (overload): $OVER_CONNS connections, ${DURATION} s"
run_wrk overload "$OVER_CONNS" "$DURATION" 1
check_alive overload
log "run 2b (flood: Retry-After ignored): $OVER_CONNS connections, ${DURATION} s"
run_wrk flood "$OVER_CONNS" "$DURATION" 0
check_alive flood
fi
if [ "$AUDIT_SWITCH" = 1 ] && [ "${KOFU_BENCH_NOMINAL_ONLY:-0}" != 1 ]; then
  stop_server
  log "run 3 (audit off): $CONNS connections, ${DURATION} s"
  start_server server-audit-off KOFU_AUDIT_ENABLED=false
  smoke_test 2
  if [ "$WARMUP" -gt 0 ]; then run_wrk warmup-audit-off "$CONNS" "$WARMUP"; check_alive warmup-audit-off; fi
  run_wrk audit-off "$CONNS" "$DURATION"
  check_alive audit-off
fi
stop_server

# --- summary -----------------------------------------------------------------------------------------------
{
  echo "== kofu HTTP issuance benchmark $(date -u +%FT%TZ) =="
  echo "machine: $(nproc) cores, $(uname -sr); data: $PEOPLE people, $CARDS issuable cards, income_taxation FY$YEAR, 1 copy"
  echo "import: $IMPORT_LINE (wall ${IMPORT_S} s incl. process start)"
  echo "binary: $BIN"
  echo
  echo "[1] nominal: $CONNS connections, $THREADS wrk threads, ${DURATION} s (targets: >= 300 issuances/s, p99 <= 100 ms)"
  report nominal
  if [ -f "$DIR/overload.wrk" ]; then
    echo
    echo "[2] overload: $OVER_CONNS connections honouring Retry-After (target: sheds with 503, accepted p99 <= 250 ms)"
    report overload
  fi
  if [ -f "$DIR/flood.wrk" ]; then
    echo
    echo "[2b] flood: $OVER_CONNS connections asking again at once after a 503 (Retry-After ignored)"
    report flood
  fi
  echo
  if [ -f "$DIR/audit-off.wrk" ]; then
    echo "[3] audit off (KOFU_AUDIT_ENABLED=false): $CONNS connections (target: audit costs <= 10 %)"
    report audit-off
    awk -v on="$(val nominal issuances_per_s)" -v off="$(val audit-off issuances_per_s)" \
      'BEGIN { if (off > 0) printf "  audit cost: %.1f %% fewer issuances/s with audit on\n", (off - on) / off * 100 }'
  else
    echo "[3] audit on vs off: the server deliberately has no switch to turn auditing off; the figures above are"
    echo "    with audit on. \`kofu bench issuance\` measures the audit cost in-process (docs/performance.md)."
  fi
  echo
  echo "server failures (crash or hang, server restarted for the next run): $CRASHES"
  if [ -s "$DIR/crash.txt" ]; then cat "$DIR/crash.txt"; fi
  echo "server log lines at level error/critical: $(cat "$DIR"/server*.log | grep -c -E ' (error|critical) ')"
  cat "$DIR"/server*.log | grep -E ' (error|critical) ' | sed 's/^[^ ]* //' | sort | uniq -c | sort -rn | head -5
  echo "raw outputs: $DIR"
} | tee "$DIR/summary.txt"
exit 0
