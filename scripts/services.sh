#!/usr/bin/env bash
# Install what is missing and start private PostgreSQL and Redis instances
# under $DIALER_VAR (default: ./var). System clusters are never touched: the
# data folders, sockets and logs all live in the project's own folder.
#
#   scripts/services.sh install    Debian packages and the Python venv
#   scripts/services.sh start      start PostgreSQL and Redis if not running
#   scripts/services.sh stop       stop the instances this script started
#   scripts/services.sh env        print the environment that points at them
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${DIALER_VAR:-$ROOT/var}
PG_PORT=${DIALER_PG_PORT:-55432}
REDIS_PORT=${DIALER_REDIS_PORT:-56379}
PG_DB=${DIALER_PG_DB:-dialer}
PG_USER=${DIALER_PG_USER:-dialer}
PG_PASSWORD=${DIALER_PG_PASSWORD:-dialer}
# PostgreSQL refuses to run as root, so as root the cluster runs as this user.
PG_OS_USER=${DIALER_PG_OS_USER:-postgres}

log() { printf '[services] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && echo "$dir"
  done | sort -V | tail -n 1
}

install_packages() {
  local missing=()
  [ -n "$(pg_bindir)" ] || missing+=(postgresql postgresql-contrib)
  command -v psql >/dev/null || missing+=(postgresql-client)
  command -v redis-server >/dev/null || missing+=(redis-server)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  if [ "${DIALER_WITH_TEST_TOOLS:-0}" = 1 ]; then
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    # Debian packages SIPp as sip-tester; its binary is sipp.
    command -v sipp >/dev/null || missing+=(sip-tester)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The Debian package starts a system cluster and Redis; this project never
  # uses them and leaves them as they are.
  local bindir major
  bindir=$(pg_bindir)
  major=$(basename "$(dirname "$bindir")")
  if [ "$major" -lt 15 ]; then
    log "PostgreSQL $major found, 15 or newer is required: install postgresql-15"
    exit 1
  fi
}

install_venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    log "creating the virtual environment in .venv"
    python3 -m venv "$ROOT/.venv"
  fi
  local stamp="$ROOT/.venv/.requirements.sha"
  local sum
  sum=$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    log "installing Python packages from requirements.txt"
    "$ROOT/.venv/bin/pip" install -q --upgrade pip >/dev/null
    "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements.txt"
    "$ROOT/.venv/bin/pip" install -q --no-deps -e "$ROOT" >/dev/null
    echo "$sum" >"$stamp"
  fi
  if [ -d "$ROOT/web/translations" ]; then
    "$ROOT/.venv/bin/pybabel" -q compile -d "$ROOT/web/translations"
  fi
}

run_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

# The PostgreSQL OS user must be able to walk down to the data folder. A
# project cloned into a private folder (mode 0700, as mktemp -d makes) blocks
# it, so the folders on the way get the execute bit for others: it lets a
# user pass through a folder, not list or read it.
grant_traversal() {
  local dir=$1 ancestors=() i
  while [ "$dir" != "/" ]; do
    ancestors=("$dir" "${ancestors[@]}")
    dir=$(dirname "$dir")
  done
  # From the top down, so each check sees its parents already open.
  for i in "${ancestors[@]}"; do
    if ! runuser -u "$PG_OS_USER" -- test -x "$i"; then
      log "allowing $PG_OS_USER to pass through $i (chmod o+x)"
      chmod o+x "$i"
    fi
  done
}

start_postgres() {
  local bindir data="$VAR/pg/data" sock="$VAR/pg/run"
  bindir=$(pg_bindir)
  mkdir -p "$VAR/pg" "$sock" "$VAR/log"
  if [ "$(id -u)" = 0 ]; then
    chown -R "$PG_OS_USER" "$VAR/pg"
    touch "$VAR/log/postgres.log"
    chown "$PG_OS_USER" "$VAR/log/postgres.log"
    chmod o+x "$VAR" "$VAR/log"
    grant_traversal "$VAR"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a private PostgreSQL cluster in $data"
    local pwfile
    pwfile=$(mktemp)
    echo "$PG_PASSWORD" >"$pwfile"
    chmod 644 "$pwfile"
    run_pg "$bindir/initdb" -D "$data" -U "$PG_USER" --pwfile="$pwfile" \
      -A scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 256MB
fsync = on
EOF
  fi
  if run_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "PostgreSQL already running on port $PG_PORT"
  else
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    run_pg "$bindir/pg_ctl" -D "$data" -l "$VAR/log/postgres.log" -w -t 60 start >/dev/null
  fi
  if ! run_pg "$bindir/psql" -h "$sock" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
    run_pg "$bindir/createdb" -h "$sock" -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
  fi
}

stop_postgres() {
  local bindir data="$VAR/pg/data"
  bindir=$(pg_bindir)
  if [ -f "$data/postmaster.pid" ]; then
    log "stopping PostgreSQL"
    run_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
  fi
}

start_redis() {
  mkdir -p "$VAR/redis" "$VAR/log"
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "Redis already running on port $REDIS_PORT"
    return
  fi
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$VAR/redis" \
    --daemonize yes --pidfile "$VAR/redis/redis.pid" \
    --logfile "$VAR/log/redis.log" --save '' --appendonly no
  for _ in $(seq 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  log "Redis did not start: see $VAR/log/redis.log"
  exit 1
}

stop_redis() {
  if [ -f "$VAR/redis/redis.pid" ]; then
    log "stopping Redis"
    kill "$(cat "$VAR/redis/redis.pid")" 2>/dev/null || true
    rm -f "$VAR/redis/redis.pid"
  fi
}

print_env() {
  echo "export DIALER_DATABASE_URL=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
  echo "export DIALER_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

case "${1:-}" in
  install) install_packages; install_venv ;;
  start) start_postgres; start_redis ;;
  stop) stop_redis; stop_postgres ;;
  env) print_env ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
