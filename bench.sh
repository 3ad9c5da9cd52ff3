#!/usr/bin/env bash
# Benchmarks at a million rows; figures in bench/results/.
#   ./bench.sh                  lists, export and demo load (bench/run.py), then import
#   ./bench.sh --rows 200000    a quicker run of bench/run.py (import bench skipped)
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv requirements-dev.txt
.venv/bin/python bench/run.py "$@"
if [[ $# -eq 0 ]]; then
    .venv/bin/python bench/import_bench.py --out bench/results/import.json
fi
