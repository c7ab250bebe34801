#!/usr/bin/env bash
# Creates .venv and installs the project into it. Usage: scripts/setup.sh [test]
# Also installs the Debian packages the project uses when they are missing and we are root:
# a CJK TrueType font (embedded in receipt PDFs) and, for the tests, pdftoppm and chromium.
# Idempotent and quick on a second run.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"

debs=()
ls /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc >/dev/null 2>&1 || debs+=(fonts-wqy-zenhei)
if [ "$extra" = test ]; then
  command -v pdftoppm >/dev/null 2>&1 || debs+=(poppler-utils)
  command -v chromium >/dev/null 2>&1 || debs+=(chromium)
fi
if [ "${#debs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${debs[*]}"
    source scripts/apt-lock.sh  # waits while another apt/dpkg holds the lock, then says how to retry
    apt_with_lock_wait update -qq
    DEBIAN_FRONTEND=noninteractive apt_with_lock_wait install -y -qq "${debs[@]}"
  else
    echo "note: not root, so ${debs[*]} not installed (receipts fall back to STSong-Light; tests needing them skip)"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
target="."
[ -n "$extra" ] && target=".[$extra]"
# pip's build chatter goes to a log; it is shown only when the install fails
if ! .venv/bin/pip install -q -e "$target" >.venv/pip-install.log 2>&1; then
  cat .venv/pip-install.log >&2
  exit 1
fi
# pymatting's numba kernels compile once per install (a minute or two), then load from cache
if [ ! -e .venv/.matting-compiled ]; then
  echo "compiling the matting kernels once (numba; a minute or two on a fresh install) ..."
  .venv/bin/python -c "from receipt.photo.matting import warm_up; warm_up()" && touch .venv/.matting-compiled
fi
