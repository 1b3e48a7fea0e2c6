#!/usr/bin/env bash
# What the tests need beyond Python packages:
# - Debian's Chromium and its driver, for the web page's end-to-end tests (Playwright drives
#   /usr/bin/chromium; it never downloads a browser);
# - axe-core from the npm registry (tests/axe/package-lock.json, pinned), which those tests inject
#   into the page for the accessibility audit. `npm ci` installs exactly the lock file's version and
#   runs no install scripts; nothing is downloaded by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver fonts-dejavu-core)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
npm ci --prefix tests/axe --ignore-scripts --no-audit --no-fund --loglevel=error
