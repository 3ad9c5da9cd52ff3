#!/usr/bin/env bash
# Check the code with ruff, then run the whole test suite on DuckDB and PostgreSQL, including
# the browser tests.
#   ./test.sh                       # everything
#   ./test.sh -k sign_in            # any pytest arguments
#   CRM_TEST_BACKENDS=duckdb ./test.sh   # one backend only
# Needs: PostgreSQL at 127.0.0.1:5432 (database test, user postgres; override with
# CRM_TEST_POSTGRES_URL) and Chromium at /usr/bin/chromium (installed through apt when absent
# and running as root).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv requirements-dev.txt
.venv/bin/ruff check --quiet . || { echo "error: ruff check found problems (above)" >&2; exit 1; }
if [[ ! -x "${CRM_CHROMIUM:-/usr/bin/chromium}" ]]; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null; then
        echo "Installing Chromium for the browser tests ..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "error: Chromium not found at ${CRM_CHROMIUM:-/usr/bin/chromium}; install it (apt-get install chromium) or set CRM_CHROMIUM" >&2
        exit 1
    fi
fi
exec .venv/bin/python -m pytest -n "${CRM_TEST_WORKERS:-2}" "$@"
