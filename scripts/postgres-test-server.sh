#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on loopback for the test suite and prints its URL. Tests run in
# parallel, each with its own database and pool (and pg_dump in the backup tests): 200 connections ran out.
# Usage: scripts/postgres-test-server.sh DIR [PORT]   (stop with: pg_ctl -D DIR/pgdata stop)
set -euo pipefail
dir=${1:?usage: postgres-test-server.sh DIR [PORT]}
port=${2:-55432}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# PostgreSQL refuses to run as root: run it as the unprivileged 'postgres' user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
  as_pg "$bindir/initdb" -D "$dir/pgdata" -U kofu --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1
fi
if ! as_pg "$bindir/pg_ctl" -D "$dir/pgdata" status >/dev/null 2>&1; then
  as_pg "$bindir/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" start >/dev/null
fi
echo "postgres://kofu@127.0.0.1:$port/postgres"
