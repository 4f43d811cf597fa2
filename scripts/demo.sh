#!/usr/bin/env bash
# Bring up the whole product on its embedded default. The script starts
# private PostgreSQL and Redis, applies the migrations, seeds a demo tenant
# with an admin user and a running campaign with agents, and imports the demo
# lead list. Then it starts the web tier, the CDR receiver, the switch
# simulator and the orchestrator. Ctrl-C stops everything this script started.
#
# DEMO_EMAIL and DEMO_PASSWORD set the admin's credentials.
# DIALER_WEB_PORT (8080), DIALER_CDR_RECEIVER_PORT (8099) and DIALER_SIM_PORT
# (8021) move the listeners.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

bash scripts/services.sh install

started_services=0
if [ ! -f var/pg/data/postmaster.pid ] || ! redis-cli -p "${DIALER_REDIS_PORT:-56379}" ping >/dev/null 2>&1; then
  started_services=1
fi
bash scripts/services.sh start

eval "$(bash scripts/services.sh env)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
web_port=${DIALER_WEB_PORT:-8080}
sim_port=${DIALER_SIM_PORT:-8021}
cdr_port=${DIALER_CDR_RECEIVER_PORT:-8099}
export DIALER_CDR_URL=${DIALER_CDR_URL:-http://127.0.0.1:$cdr_port/api/cdr}
export DIALER_ESL_SWITCHES=${DIALER_ESL_SWITCHES:-sim1=127.0.0.1:$sim_port:ClueCon}
# The demo runs with the public default JWT secrets, which the web tier
# accepts only with this flag.
export DIALER_ALLOW_DEV_SECRETS=1
PY="$ROOT/.venv/bin/python"
LOG="$ROOT/var/log"
mkdir -p "$LOG"
# prometheus-client sums the web workers' counters through files here; files
# left by an earlier run would add its counts, so the folder starts empty.
export PROMETHEUS_MULTIPROC_DIR="$ROOT/var/prometheus"
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

pids=()
stop_all() {
  # A second Ctrl-C while stopping must not cut the stop short and leave
  # PostgreSQL and Redis running.
  trap '' INT TERM
  trap - EXIT
  echo
  echo "Stopping the demo..."
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$started_services" = 1 ]; then
    bash scripts/services.sh stop || true
  fi
  echo "Demo stopped."
  exit "${demo_status:-0}"
}
trap stop_all INT TERM EXIT

# The demo's processes run in sessions of their own, so a Ctrl-C reaches
# only this script, which stops them with SIGTERM in order.
start_bg() {
  setsid "$@" &
  pids+=($!)
}

# The demo leads are US numbers: shift the compliance gate's clock into the
# federal calling window so the demo dials at any hour. Production never sets it.
if [ -z "${DIALER_COMPLIANCE_CLOCK_OFFSET_S:-}" ]; then
  DIALER_COMPLIANCE_CLOCK_OFFSET_S=$("$PY" -c 'from dialer_common.demo import calling_hours_offset_s as f; print(f())')
  export DIALER_COMPLIANCE_CLOCK_OFFSET_S
  echo "Demo: calling windows follow a clock shifted by ${DIALER_COMPLIANCE_CLOCK_OFFSET_S} s (19:00 UTC of a weekday)."
fi

"$PY" -m dialer_common.cli db migrate
"$PY" -m dialer_common.cli db partitions --days 7
seed_output=$("$PY" -m dialer_common.cli demo seed)
echo "$seed_output"
campaign_id=$(echo "$seed_output" | sed -n 's/^campaign_id=\([0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$campaign_id" ]; then
  echo "demo seed did not print campaign_id=<id>; see the output above" >&2
  exit 1
fi
"$PY" -m dialer_common.cli leads import demo/leads_demo.csv --campaign "$campaign_id" --tenant demo \
  --rejects "$LOG/leads_demo.rejects.csv"

# Each /ws socket holds a thread for its whole life: at most 32 sockets per
# worker leaves 32 threads per worker for API calls and CDR posts.
start_bg env DIALER_WS_MAX_SOCKETS=32 "$ROOT/.venv/bin/gunicorn" -k gthread --threads 64 -w 2 -b "127.0.0.1:$web_port" \
  --access-logfile "$LOG/web.access.log" --error-logfile "$LOG/web.log" --log-level info --capture-output \
  --no-control-socket 'web:create_app()'
start_bg "$PY" -m cdr_receiver --port "$cdr_port" >"$LOG/cdr_receiver.log" 2>&1
start_bg "$PY" -m switchsim --port "$sim_port" >"$LOG/switchsim.log" 2>&1
sleep 1
start_bg "$PY" -m orchestrator >"$LOG/orchestrator.log" 2>&1

# curl is not on every fresh Debian; Python is.
if ! "$PY" scripts/wait_http.py "http://127.0.0.1:$web_port/health" 20; then
  echo "The web tier did not respond to /health within 20 s; see $LOG/web.log" >&2
fi
if ! "$PY" scripts/wait_http.py "http://127.0.0.1:$cdr_port/health" 20; then
  echo "The CDR receiver did not respond to /health within 20 s; see $LOG/cdr_receiver.log" >&2
fi

cat <<EOF

Dashboard: http://127.0.0.1:$web_port/
CDRs:      http://127.0.0.1:$cdr_port/api/cdr (the CDR receiver)
Logs:      $LOG/{web,cdr_receiver,switchsim,orchestrator}.log
Press Ctrl-C to stop the demo.
EOF
wait -n "${pids[@]}" || true
echo "A demo process exited on its own; see the logs in $LOG" >&2
demo_status=1
