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
# Several servers may start together on one PostgreSQL: the load runs once, under a database
# lock; the others find the data there and go on.
echo "Loading demo data into an empty database (${DEMO_CONTACTS:-20000} contacts, ${DEMO_LEADS:-20000} leads) ..."
.venv/bin/python -m crm demo --if-empty --contacts "${DEMO_CONTACTS:-20000}" \
    --leads "${DEMO_LEADS:-20000}" | tail -1
echo
echo "Leads & Contacts is starting at http://localhost:${port}"
exec .venv/bin/python -m crm.ui.serve --server.port "$port" --server.headless true
