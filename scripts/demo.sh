#!/usr/bin/env bash
# Installs the project and runs the main job on the embedded defaults:
# the sample portraits -> out/<photo>/<spec>/ (photo.jpg, report.json, receipt.pdf or annotated.jpg)
# and out/index.html, one page showing them all (local files only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/photo-receipt demo --out out "$@"
