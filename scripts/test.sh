#!/usr/bin/env bash
# Run the whole test suite: install what is missing (PostgreSQL, Redis,
# Chromium, SIPp, the Python packages), start private PostgreSQL and Redis under
# ./var when they are not running, run pytest, and stop what this script
# started. Extra arguments go to pytest, e.g. `scripts/test.sh -k cdr`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DIALER_WITH_TEST_TOOLS=1 bash scripts/services.sh install

started_pg=0
started_redis=0
redis_port=${DIALER_REDIS_PORT:-56379}
if [ ! -f var/pg/data/postmaster.pid ]; then started_pg=1; fi
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then started_redis=1; fi
bash scripts/services.sh start

cleanup() {
  if [ "$started_pg" = 1 ] && [ "$started_redis" = 1 ]; then
    bash scripts/services.sh stop || true
  fi
}
trap cleanup EXIT

eval "$(bash scripts/services.sh env)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: that is a failure of the suite" >&2
  exit 1
fi
exit "$status"
