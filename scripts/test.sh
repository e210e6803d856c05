#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts a throw-away PostgreSQL on loopback (the storage
# and server tests run against SQLite and PostgreSQL), builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
pgdir=$(mktemp -d /tmp/kofu-test-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
stop_pg() {
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bindir/pg_ctl" -D "$pgdir/pgdata" -m immediate stop >/dev/null 2>&1 || true
  else "$bindir/pg_ctl" -D "$pgdir/pgdata" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$pgdir"
}
trap stop_pg EXIT
export KOFU_TEST_POSTGRES_URL=$(bash scripts/postgres-test-server.sh "$pgdir" "$port")
echo "PostgreSQL for tests: $KOFU_TEST_POSTGRES_URL" >&2
swift build --build-tests
# Line-buffered output, so a CI log shows every test as it ends; and a hung test fails the run after
# 40 minutes instead of stalling it (the whole suite takes about 5 on two cores).
stdbuf -oL -eL timeout --kill-after=30s "${KOFU_TEST_TIMEOUT:-40m}" swift test --skip-build "$@"
