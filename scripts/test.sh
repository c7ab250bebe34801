#!/usr/bin/env bash
# Installs what the tests need and runs them: the Python test extras, and (when root and missing)
# Debian's poppler-utils (pdftoppm, to render receipts) and chromium (the applicant-page test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
missing=()
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} missing and not root; the tests that need them will skip"
  fi
fi
.venv/bin/ruff check --quiet . && echo "ruff: clean"
exec .venv/bin/python -m pytest "$@"
