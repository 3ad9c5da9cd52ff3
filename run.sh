#!/usr/bin/env bash
# Run the app. On first start: creates .venv, installs the pinned requirements, creates the
# embedded database with demo data, and prints the URL and the demo sign-ins.
#   ./run.sh                 # http://localhost:8501
#   PORT=8600 ./run.sh
#   CRM_DATABASE_URL=postgresql://user@host/db ./run.sh
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
ensure_venv requirements.txt
port="${PORT:-8501}"
.venv/bin/python -m crm init >/dev/null
if [[ "$(.venv/bin/python -m crm users list | wc -l)" -le 1 ]]; then
    echo "No users yet: loading demo data (${DEMO_CONTACTS:-20000} contacts, ${DEMO_LEADS:-20000} leads) ..."
    .venv/bin/python -m crm demo --contacts "${DEMO_CONTACTS:-20000}" --leads "${DEMO_LEADS:-20000}" >/dev/null
fi
echo
echo "Leads & Contacts is starting at http://localhost:${port}"
.venv/bin/python -m crm init
exec .venv/bin/python -m crm.ui.serve --server.port "$port" --server.headless true
