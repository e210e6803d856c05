#!/usr/bin/env bash
# Multi-node benchmark (issue 16): kiosk issuances/s with 1, 2 and 3 `kofu serve` nodes on one PostgreSQL,
# and one node on SQLite beside one on PostgreSQL. Figures go to docs/performance.md.
#
# Self-contained: a throw-away PostgreSQL (scripts/postgres-test-server.sh, on its own port and directory;
# note its settings: fsync=off, synchronous_commit=off), a fresh data directory under /tmp, a seal key, a
# sample batch imported into both databases, then for each setup the nodes are started on free loopback ports
# (each with its own data directory and node.id) and driven by one wrk per node (scripts/bench/issue-deliver.lua:
# issue with the PDF in the answer, then delivered), the connections split evenly between the nodes.
# Issuances/s = issuances that reached `delivered` in the ledger during the run / its duration; the
# 1-minute load average is read at the end of each run. Every setup runs KOFU_BENCH_RUNS times.
#
# On this machine the nodes share the same cores (and with PostgreSQL and wrk): more nodes cannot be faster;
# the point is that they do not collapse (lock contention on the number sequence, the pool, the spool).
#
# Environment (defaults in brackets): KOFU_BENCH_PEOPLE [5000] KOFU_BENCH_DURATION [20] KOFU_BENCH_CONNECTIONS [24]
#   KOFU_BENCH_RUNS [2] KOFU_BENCH_WARMUP [5] KOFU_BENCH_SKIP_BUILD [0] KOFU_BENCH_BIN [.build-release/release/kofu]
#   KOFU_BENCH_SETUPS ["sqlite:1 postgres:1 postgres:2 postgres:3"]
# Exit status: 0 when every run took place, 2 on a setup failure. All traffic stays on 127.0.0.1.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PEOPLE=${KOFU_BENCH_PEOPLE:-5000}
DURATION=${KOFU_BENCH_DURATION:-20}
CONNS=${KOFU_BENCH_CONNECTIONS:-24}
RUNS=${KOFU_BENCH_RUNS:-2}
WARMUP=${KOFU_BENCH_WARMUP:-5}
SETUPS=${KOFU_BENCH_SETUPS:-"sqlite:1 postgres:1 postgres:2 postgres:3"}
SCRATCH=.build-release
LUA="$ROOT/scripts/bench/issue-deliver.lua"
PIDS=()
DIR=""
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

log() { echo "bench-cluster: $*" >&2; }

stop_nodes() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  done
  PIDS=()
}

cleanup() {
  stop_nodes
  if [ -n "$DIR" ] && [ -d "$DIR/pg/pgdata" ]; then
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/pg/pgdata" -m immediate stop >/dev/null 2>&1
    else "$PGBIN/pg_ctl" -D "$DIR/pg/pgdata" -m immediate stop >/dev/null 2>&1; fi
  fi
  if [ -n "$DIR" ] && [ "${KOFU_BENCH_KEEP:-0}" = "0" ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT

fail() { log "SETUP FAILURE: $*"; exit 2; }

for tool in wrk sqlite3 curl awk; do command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install $tool)"; done
[ -n "$PGBIN" ] || fail "PostgreSQL server binaries not found"

if [ "${KOFU_BENCH_SKIP_BUILD:-0}" != "1" ]; then
  log "building the release binary (swift build -c release --product kofu --scratch-path $SCRATCH)"
  swift build -c release --product kofu --scratch-path "$SCRATCH" >&2 || fail "release build failed"
fi
BIN=${KOFU_BENCH_BIN:-"$ROOT/$SCRATCH/release/kofu"}
[ -x "$BIN" ] || fail "no binary at $BIN"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

DIR=$(mktemp -d /tmp/kofu-bench-cluster.XXXXXX) || fail "mktemp"
chmod 755 "$DIR"
PGURL=$(bash scripts/postgres-test-server.sh "$DIR/pg" "$(free_port)") || fail "PostgreSQL did not start"
export KOFU_ISSUANCE_SERVICE_HOURS=00:00-24:00 KOFU_ISSUANCE_CLOSED_DAYS=
TODAY=$(TZ=Asia/Tokyo date +%F)
mkdir -p "$DIR/base"
KOFU_DATA_DIR="$DIR/base" "$BIN" keys generate > "$DIR/keys.log" 2>&1 || { cat "$DIR/keys.log" >&2; fail "kofu keys generate"; }
"$BIN" sample --people "$PEOPLE" --out "$DIR/batch" --today "$TODAY" > "$DIR/sample.log" 2>&1 || fail "kofu sample"
KOFU_DATA_DIR="$DIR/base" "$BIN" import "$DIR/batch" > "$DIR/import-sqlite.log" 2>&1 || fail "kofu import (SQLite)"
KOFU_DATA_DIR="$DIR/base" KOFU_DATABASE_URL="$PGURL" "$BIN" import "$DIR/batch" > "$DIR/import-pg.log" 2>&1 \
  || { cat "$DIR/import-pg.log" >&2; fail "kofu import (PostgreSQL)"; }
DB="$DIR/base/kofu.sqlite"
YEAR=$(sqlite3 "$DB" "SELECT max(fiscal_year) FROM tax_assessments;")
sqlite3 "$DB" "
  SELECT c.card_serial FROM tax_cards c
  JOIN tax_residents r ON r.addressee_id = c.addressee_id
  JOIN tax_assessments a ON a.addressee_id = c.addressee_id AND a.fiscal_year = $YEAR
  WHERE r.status = 'resident' AND r.status_date < '$TODAY' AND c.revoked = 0 AND c.valid_until >= '$TODAY'
    AND NOT EXISTS (SELECT 1 FROM tax_restrictions x WHERE x.addressee_id = c.addressee_id);" > "$DIR/cards.txt"
UNPRINTABLE=$(awk '/"card_serial"/ { s = $0; gsub(/.*: "|",?$/, "", s) }
  /"case" : "unprintable_name_character"/ { print s }' "$DIR/batch/demo-cards.json")
if [ -n "$UNPRINTABLE" ]; then grep -v -x -F "$UNPRINTABLE" "$DIR/cards.txt" > "$DIR/cards.tmp" && mv "$DIR/cards.tmp" "$DIR/cards.txt"; fi
[ -s "$DIR/cards.txt" ] || fail "no issuable card"
log "$(wc -l < "$DIR/cards.txt") issuable cards, fiscal year $YEAR; PostgreSQL at $PGURL"

# delivered <backend> : issuances delivered so far
delivered() {
  if [ "$1" = sqlite ]; then sqlite3 "$DB" "SELECT COUNT(*) FROM issuances WHERE status = 'delivered';"
  else "$PGBIN/psql" -qtA "$PGURL" -c "SELECT COUNT(*) FROM issuances WHERE status = 'delivered';"; fi
}

# start_nodes <backend> <n> : starts n nodes, sets URLS
start_nodes() {
  local backend=$1 n=$2 i port node
  URLS=()
  for i in $(seq 1 "$n"); do
    node="$DIR/node$i"
    rm -rf "$node"; cp -a "$DIR/base" "$node"; rm -f "$node"/kofu.sqlite*; rm -rf "$node/spool"
    port=$(free_port)
    local dbenv=()
    if [ "$backend" = sqlite ]; then node="$DIR/base"; else dbenv=(KOFU_DATABASE_URL="$PGURL"); fi
    env KOFU_DATA_DIR="$node" KOFU_NODE_ID="bench-$i" KOFU_HTTP_HOST=127.0.0.1 KOFU_HTTP_PORT="$port" \
      KOFU_STAFF_PORT=0 KOFU_PUBLIC_PORT=0 "${dbenv[@]}" "$BIN" serve >> "$DIR/serve-$backend-$n-$i.log" 2>&1 &
    PIDS+=($!)
    URLS+=("http://127.0.0.1:$port")
  done
  for url in "${URLS[@]}"; do
    for _ in $(seq 1 120); do curl -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null && break; sleep 0.5; done
    curl -fsS -o /dev/null --max-time 2 "$url/readyz" || fail "a node did not become ready ($url)"
  done
}

# load <seconds> <label> : one wrk per node, the connections split between them
load() {
  local secs=$1 label=$2 per=$(( CONNS / ${#URLS[@]} )) k=0 wpids=()
  [ "$per" -ge 1 ] || per=1
  for url in "${URLS[@]}"; do
    k=$((k + 1))
    KOFU_BENCH_CARDS="$DIR/cards.txt" KOFU_BENCH_YEAR="$YEAR" KOFU_BENCH_RUN="$label$k$(date +%s)" KOFU_BENCH_HONOR_RETRY_AFTER=1 \
      timeout $((secs + 60)) wrk -t1 -c"$per" -d"${secs}s" --timeout 10s -s "$LUA" "$url" > "$DIR/wrk-$label-$k.txt" 2>&1 &
    wpids+=($!)
  done
  for p in "${wpids[@]}"; do wait "$p"; done
}

RESULTS=()
for setup in $SETUPS; do
  backend=${setup%%:*}; n=${setup##*:}
  log "setup $backend x $n"
  start_nodes "$backend" "$n"
  [ "$WARMUP" -gt 0 ] && load "$WARMUP" "warm-$backend-$n"
  for run in $(seq 1 "$RUNS"); do
    sleep 2
    before=$(delivered "$backend")
    load "$DURATION" "$backend-$n-$run"
    sleep 1
    after=$(delivered "$backend")
    loadavg=$(cut -d' ' -f1 /proc/loadavg)
    rate=$(awk -v a="$before" -v b="$after" -v d="$DURATION" 'BEGIN { printf "%.1f", (b - a) / d }')
    non2xx=$(cat "$DIR"/wrk-"$backend-$n-$run"-*.txt | awk '/Non-2xx/ { s += $NF } END { print s + 0 }')
    RESULTS+=("$backend nodes=$n run=$run issuances/s=$rate non-2xx=$non2xx load1=$loadavg")
    log "${RESULTS[-1]}"
  done
  stop_nodes
done

echo "kofu bench-cluster: $(date -u +%FT%TZ), $(nproc) cores, $(uname -sr), binary $BIN"
echo "data: $PEOPLE people, income_taxation FY$YEAR, 1 copy; $CONNS connections in all (split per node), ${DURATION} s per run, wrk honours Retry-After"
printf '%s\n' "${RESULTS[@]}"
