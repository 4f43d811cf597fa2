#!/usr/bin/env bash
# Run the benchmarks one after the other and keep their output in
# bench/results/. Speed depends on what else runs on the machine: run them
# on an idle machine and copy the rows into docs/benchmarks.md.
#   scripts/bench.sh            every benchmark, the pacing one in --quick mode
#   BENCH_FULL=1 scripts/bench.sh   the 30-day pacing grid too (takes long)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/services.sh install
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
PY="$ROOT/.venv/bin/python"
OUT="$ROOT/bench/results"
mkdir -p "$OUT"

run() {
  local name=$1
  shift
  echo "== $name: $*"
  "$@" | tee "$OUT/$name.txt"
}

run esl_parse "$PY" bench/esl_parse.py
run safe_harbor "$PY" bench/safe_harbor.py
run compliance_gate "$PY" bench/compliance_gate.py
run cdr_ingest "$PY" bench/cdr_ingest.py
run cdr_receiver "$PY" bench/cdr_receiver.py --seconds 60 --keep-alive
if [ -f bench/orchestrator_load.py ]; then
  run orchestrator_load "$PY" bench/orchestrator_load.py
fi
if [ "${BENCH_FULL:-0}" = 1 ]; then
  run pacing "$PY" -m bench.pacing
else
  run pacing_quick "$PY" -m bench.pacing --quick
fi
