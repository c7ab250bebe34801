#!/usr/bin/env bash
# Installs what the tests need (Python test extras; Debian's poppler-utils, chromium and a CJK font
# when root) and runs ruff and the whole pytest suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check --quiet . && echo "ruff: clean"
exec .venv/bin/python -m pytest "$@"
