#!/usr/bin/env bash
# Ramp SIPp calls per second against a SIP target, hold at the maximum rate,
# then print SIPp's statistics. Every run is bounded by --duration.
#
# The target defaults to 127.0.0.1 and any other address is rejected unless
# --i-own-this-target is given: load tests go only to servers you run.
#
# Example, self-contained on this host (a SIPp callee answers on 127.0.0.1):
#   sipp/ramp.sh --with-local-callee --start-rate 1 --step 1 --max-rate 5 --duration 30
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MAX_DURATION_S=3600

target="127.0.0.1:5090"
service="15550100"
start_rate=1
step=1
step_seconds=5
max_rate=10
hold_ms=3000
max_concurrent=200
duration_s=60
own_target=false
local_callee=false
output_dir=""

usage() {
    cat <<USAGE
Usage: $0 [options]
  --target HOST:PORT      SIP target (default $target)
  --service NUMBER        user part of the request URI (default $service)
  --start-rate N          calls per second at start (default $start_rate)
  --step N                calls per second added every --step-seconds (default $step)
  --step-seconds S        seconds between rate increases (default $step_seconds)
  --max-rate N            calls per second held once reached (default $max_rate)
  --hold-ms MS            talk time of each answered call in ms (default $hold_ms)
  --max-concurrent N      maximum simultaneous calls (default $max_concurrent)
  --duration S            total run time in seconds, 1 to $MAX_DURATION_S (default $duration_s)
  --output-dir DIR        where SIPp writes statistics (default: a new temporary directory)
  --with-local-callee     start sipp/uas_answer_hangup.xml on the target (127.0.0.1 only)
  --i-own-this-target     allow a target other than 127.0.0.1
USAGE
}

fail() {
    echo "ramp.sh: $*" >&2
    exit 2
}

require_positive_integer() {
    [[ "$2" =~ ^[1-9][0-9]*$ ]] || fail "invalid $1 '$2': expected a positive integer"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --target) target="${2:?--target needs HOST:PORT}"; shift 2 ;;
        --service) service="${2:?--service needs a number}"; shift 2 ;;
        --start-rate) start_rate="${2:-}"; shift 2 ;;
        --step) step="${2:-}"; shift 2 ;;
        --step-seconds) step_seconds="${2:-}"; shift 2 ;;
        --max-rate) max_rate="${2:-}"; shift 2 ;;
        --hold-ms) hold_ms="${2:-}"; shift 2 ;;
        --max-concurrent) max_concurrent="${2:-}"; shift 2 ;;
        --duration) duration_s="${2:-}"; shift 2 ;;
        --output-dir) output_dir="${2:?--output-dir needs a directory}"; shift 2 ;;
        --with-local-callee) local_callee=true; shift ;;
        --i-own-this-target) own_target=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "unknown option '$1'" ;;
    esac
done

require_positive_integer --start-rate "$start_rate"
require_positive_integer --step "$step"
require_positive_integer --step-seconds "$step_seconds"
require_positive_integer --max-rate "$max_rate"
require_positive_integer --hold-ms "$hold_ms"
require_positive_integer --max-concurrent "$max_concurrent"
require_positive_integer --duration "$duration_s"
(( duration_s <= MAX_DURATION_S )) || fail "invalid --duration $duration_s: the maximum is $MAX_DURATION_S s"
(( start_rate <= max_rate )) || fail "invalid --start-rate $start_rate: above --max-rate $max_rate"

host="${target%:*}"
port="${target##*:}"
[[ "$target" == *:* && "$port" =~ ^[0-9]+$ ]] || fail "invalid --target '$target': expected HOST:PORT"
case "$host" in
    127.0.0.1|localhost) ;;
    *)
        [[ "$own_target" == true ]] || fail "rejected target '$host': only 127.0.0.1 is allowed unless you pass --i-own-this-target for a server you run"
        [[ "$local_callee" == false ]] || fail "--with-local-callee needs a 127.0.0.1 target"
        ;;
esac

command -v sipp >/dev/null || fail "sipp not found: install it (apt-get install sip-tester) or put it on PATH"

if [[ -z "$output_dir" ]]; then
    output_dir="$(mktemp -d -t dialer-ramp.XXXXXX)"
fi
mkdir -p "$output_dir"

callee_pid=""
cleanup() {
    if [[ -n "$callee_pid" ]] && kill -0 "$callee_pid" 2>/dev/null; then
        kill "$callee_pid"
        wait "$callee_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

if [[ "$local_callee" == true ]]; then
    (cd "$output_dir" && exec sipp -sf "$SCRIPT_DIR/uas_answer_hangup.xml" -i 127.0.0.1 -p "$port" \
        -mi 127.0.0.1 -mp $((port + 1000)) -rtp_echo -nostdin -timeout $((duration_s + 10)) \
        -trace_screen -screen_file callee_screen.log >/dev/null 2>&1) &
    callee_pid=$!
    sleep 0.5
fi

echo "ramp: target=$target rate=${start_rate}->${max_rate} cps (+$step every ${step_seconds}s)" \
     "hold_ms=$hold_ms duration_s=$duration_s output_dir=$output_dir"

set +e
(cd "$output_dir" && sipp "$target" -sf "$SCRIPT_DIR/uac_load.xml" -s "$service" \
    -i 127.0.0.1 -mi 127.0.0.1 -mp $((port + 2000)) -nostdin \
    -r "$start_rate" -rate_increase "$step" -rate_interval "${step_seconds}s" -rate_max "$max_rate" -no_rate_quit \
    -l "$max_concurrent" -d "$hold_ms" -timeout "${duration_s}s" \
    -fd "$step_seconds" -trace_stat -stf caller_stats.csv -trace_screen -screen_file caller_screen.log \
    >/dev/null 2>caller_errors.log)
sipp_status=$?
set -e

echo "ramp: sipp exit status $sipp_status (0: every call succeeded, 1: some calls failed)"
if [[ -s "$output_dir/caller_screen.log" ]]; then
    cat "$output_dir/caller_screen.log"
fi
if [[ -s "$output_dir/caller_stats.csv" ]]; then
    echo "ramp: periodic statistics in $output_dir/caller_stats.csv (last row):"
    head -n 1 "$output_dir/caller_stats.csv" | tr ';' '\n' | paste -d'=' - <(tail -n 1 "$output_dir/caller_stats.csv" | tr ';' '\n') \
        | grep -E '^(ElapsedTime|CallRate|OutgoingCall|CurrentCall|SuccessfulCall|FailedCall)\(C\)=' || true
fi
exit "$sipp_status"
