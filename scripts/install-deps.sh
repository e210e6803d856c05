#!/usr/bin/env bash
# Installs the Debian packages Kofu needs to build, run and test, when any is missing (Debian 12).
set -euo pipefail
# chromium and fonts-noto-cjk: the browser tests of the staff pages (headless, Japanese text in screenshots);
# python3-pip installs Playwright for Python and pytest where the system Python has no pip.
# prometheus provides promtool, which checks and tests deploy/prometheus/kofu-rules.yml.
packages=(pkg-config libcairo2-dev libfreetype-dev libqrencode-dev zlib1g-dev libssl-dev libsqlite3-dev
          poppler-utils zbar-tools qpdf postgresql openssl curl chromium fonts-noto-cjk python3-pip prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian postgresql package starts a cluster on port 5432; the tests start their own on loopback instead.
# The Debian prometheus package enables a Prometheus server on port 9090 (and, with systemd, starts it); only
# its promtool is wanted here, so the server is stopped and disabled where it was just installed.
if [[ " ${missing[*]:-} " == *" prometheus "* ]]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  else
    $sudo service prometheus stop >/dev/null 2>&1 || true
    $sudo update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
fi
