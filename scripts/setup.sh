#!/usr/bin/env bash
# Creates .venv and installs the project into it. Usage: scripts/setup.sh [extra]   (extra: test)
# Idempotent and quick on a second run: pip only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
if [ -n "$extra" ]; then
  .venv/bin/pip install -q -e ".[$extra]"
else
  .venv/bin/pip install -q -e .
fi
