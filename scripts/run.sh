#!/usr/bin/env bash
# Installs what is missing, builds Kofu, makes a seal key and a sample linkage batch on first run, imports it
# into the embedded SQLite database and starts the server: kiosk API on http://127.0.0.1:8080, staff pages on
# :8081, public verification on :8082 (printed at start), ready for kiosk requests.
# The demo keeps the kiosk service open around the clock (KOFU_ISSUANCE_SERVICE_HOURS below).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# A debug build shares .build with the test command; production uses `swift build -c release`.
swift build --product kofu
kofu=".build/debug/kofu"
export KOFU_DATA_DIR=${KOFU_DATA_DIR:-data/demo}
export KOFU_ISSUANCE_SERVICE_HOURS=${KOFU_ISSUANCE_SERVICE_HOURS:-00:00-24:00}
export KOFU_ISSUANCE_CLOSED_DAYS=${KOFU_ISSUANCE_CLOSED_DAYS:-}
# Printed beside the QR on every certificate: where to check it (here, the demo's own verification listener).
export KOFU_SEAL_VERIFY_URL=${KOFU_SEAL_VERIFY_URL:-http://${KOFU_PUBLIC_HOST:-127.0.0.1}:${KOFU_PUBLIC_PORT:-8082}/verify}
mkdir -p "$KOFU_DATA_DIR"
if [ ! -f "$KOFU_DATA_DIR/keys/keyring.json" ]; then "$kofu" keys generate; fi
batch="$KOFU_DATA_DIR/sample-batch"
today=$(TZ=Asia/Tokyo date +%Y-%m-%d)
if [ ! -f "$batch/manifest.json" ] || [ "$(cat "$KOFU_DATA_DIR/.sample-day" 2>/dev/null)" != "$today" ]; then
  rm -rf "$batch"
  "$kofu" sample --people "${KOFU_SAMPLE_PEOPLE:-2000}" --out "$batch" --today "$today"
  echo "$today" > "$KOFU_DATA_DIR/.sample-day"
fi
"$kofu" import "$batch"
echo "Demo cards (which card serial shows which case, and what each certificate kind gets): $batch/demo-cards.md" >&2
host=${KOFU_HTTP_HOST:-127.0.0.1}
cat >&2 <<URLS
Kofu listens on three surfaces:
  kiosk API (certificate center):  http://$host:${KOFU_HTTP_PORT:-8080}/kiosk/v1/issuances
  staff pages (city hall):         http://${KOFU_STAFF_HOST:-127.0.0.1}:${KOFU_STAFF_PORT:-8081}/staff
  public verification:             http://${KOFU_PUBLIC_HOST:-127.0.0.1}:${KOFU_PUBLIC_PORT:-8082}/verify
URLS
exec "$kofu" serve
