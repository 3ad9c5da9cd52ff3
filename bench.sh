#!/usr/bin/env bash
# Benchmarks at a million rows; figures in bench/results/.
#   ./bench.sh                  lists, export and demo load (bench/run.py), then import
#   ./bench.sh --rows 200000    a quicker run of bench/run.py (import bench skipped)
#   ./bench.sh people [--rows N] [--db URL]
#                               click to drawn result: Chromium with 1 and 3 people
#                               (bench/browser_bench.py), then 25 people over Streamlit's
#                               websocket protocol (bench/load_bench.py); default 100,000 rows
#   ./bench.sh cli --db FILE    the command line: import 100,000 rows, export every lead, each
#                               a fresh process timed from the shell (bench/cli_bench.py)
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv requirements-dev.txt
if [[ "${1:-}" == "cli" ]]; then  # ./bench.sh cli --db FILE_WITH_THE_DEMO [--rows N]
    shift
    exec .venv/bin/python bench/cli_bench.py "$@"
fi
if [[ "${1:-}" == "people" ]]; then
    shift
    .venv/bin/python bench/browser_bench.py "$@"
    .venv/bin/python bench/load_bench.py "$@"
    exit
fi
.venv/bin/python bench/run.py "$@"
if [[ $# -eq 0 ]]; then
    .venv/bin/python bench/import_bench.py --out bench/results/import.json
fi
