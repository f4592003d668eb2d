#!/usr/bin/env bash
# Set up the virtualenv and run the whole test suite: lint, types, then pytest on
# SQLite and again on PostgreSQL (when reachable, or always with MPP_REQUIRE_SERVICES=1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
.venv/bin/ruff check .
.venv/bin/mypy .
.venv/bin/lint-imports
export MPP_PG_TEST_URL="${MPP_PG_TEST_URL:-postgresql://postgres@127.0.0.1:5432/test}"
# Two workers (the machine has 2 cores); on PostgreSQL each worker gets a database of its own
# (tests/conftest.py), so the passes stay well inside CI's time.
echo "== tests on SQLite"
$PY -m pytest -q -p no:cacheprovider -n 2 "$@"
if [ "${MPP_REQUIRE_SERVICES:-0}" = "1" ] || $PY -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1',5432)))"; then
  echo "== tests on PostgreSQL"
  MPP_TEST_DATABASE_URL="$MPP_PG_TEST_URL" $PY -m pytest -q -p no:cacheprovider -n 2 tests/server "$@"
else
  echo "== PostgreSQL not reachable on 127.0.0.1:5432: database tests ran on SQLite only"
fi
