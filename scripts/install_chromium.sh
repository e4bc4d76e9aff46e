#!/usr/bin/env bash
# Installs Debian's Chromium (and a font for its text) for the report's browser test, tests/test_report_browser.py.
# Idempotent: does nothing when /usr/bin/chromium exists, so `make test` and CI can call it on every run.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install_chromium.sh: /usr/bin/chromium is missing and this is not a Debian/Ubuntu system (no apt-get);" \
       "install Chromium another way so that 'chromium' is on PATH." >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
"${as_root[@]}" apt-get update -qq
# No recommends: they pull in printing and desktop packages the headless test never uses.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation
