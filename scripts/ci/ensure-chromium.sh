#!/usr/bin/env bash
# Installs Debian's chromium package when no `chromium` is on the PATH: the
# GraphQL explorer's browser test (test/e2e/explorer.test.ts) drives it, and in
# CI (CI=true) fails without it. Nothing is done when it is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no chromium on the PATH and no apt-get to install it; install Chromium or set CHROMIUM_PATH" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo -n)
fi
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
command -v chromium >/dev/null
