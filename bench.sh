#!/usr/bin/env bash
# Benchmarks at a million rows (see bench/run.py for options); figures in bench/results/.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv requirements-dev.txt
exec .venv/bin/python bench/run.py "$@"
