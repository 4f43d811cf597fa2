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
  echo "${DEMO_MSG_STOPPING:-Stopping the demo...}"
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$started_services" = 1 ]; then
    bash scripts/services.sh stop || true
  fi
  echo "${DEMO_MSG_STOPPED:-Demo stopped.}"
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
clock_shifted=0
if [ -z "${DIALER_COMPLIANCE_CLOCK_OFFSET_S:-}" ]; then
  DIALER_COMPLIANCE_CLOCK_OFFSET_S=$("$PY" -c 'from dialer_common.demo import calling_hours_offset_s as f; print(f())')
  export DIALER_COMPLIANCE_CLOCK_OFFSET_S
  clock_shifted=1
fi
# What this script prints, in DIALER_DEFAULT_LOCALE (Spanish by default).
eval "$("$PY" -m dialer_common.cli demo messages "seconds=$DIALER_COMPLIANCE_CLOCK_OFFSET_S" "log=$LOG" \
  "dashboard_url=http://127.0.0.1:$web_port/" "cdr_url=http://127.0.0.1:$cdr_port/api/cdr")"
if [ "$clock_shifted" = 1 ]; then
  echo "$DEMO_MSG_CLOCK_SHIFT"
fi

"$PY" -m dialer_common.cli db migrate
"$PY" -m dialer_common.cli db partitions --days 7
seed_output=$("$PY" -m dialer_common.cli demo seed)
echo "$seed_output"
campaign_id=$(echo "$seed_output" | sed -n 's/^campaign_id=\([0-9]*\)$/\1/p' | tail -n 1)
if [ -z "$campaign_id" ]; then
  echo "$DEMO_MSG_NO_CAMPAIGN" >&2
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
  echo "$DEMO_MSG_WEB_NOT_READY" >&2
fi
if ! "$PY" scripts/wait_http.py "http://127.0.0.1:$cdr_port/health" 20; then
  echo "$DEMO_MSG_RECEIVER_NOT_READY" >&2
fi

printf '\n%s\n%s\n%s\n%s\n' "$DEMO_MSG_DASHBOARD" "$DEMO_MSG_CDRS" "$DEMO_MSG_LOGS" "$DEMO_MSG_PRESS_CTRL_C"
wait -n "${pids[@]}" || true
echo "$DEMO_MSG_EXITED" >&2
demo_status=1
