#!/usr/bin/env bash
# Real PostgreSQL and Kafka for the integration tests.
#
#   deploy/servers.sh up      install what is missing, start both, wait until ready
#   deploy/servers.sh down    stop both (data is kept; deploy/<server>.sh reset wipes it)
#   deploy/servers.sh status
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOGS="$(dirname "$HERE")/.cache/servers"

# run_both LABEL ACTION...: runs deploy/<server>.sh ACTION... for both servers in
# parallel; each one's output goes to a log that is shown only if it fails.
run_both() {
    local label="$1" name failed=0 started=$SECONDS
    shift
    local -A pids=()
    mkdir -p "$LOGS"
    for name in postgres kafka; do
        (
            for action in "$@"; do
                bash "$HERE/$name.sh" "$action" || exit
            done
        ) >"$LOGS/$name.log" 2>&1 &
        pids[$name]=$!
    done
    for name in postgres kafka; do
        if wait "${pids[$name]}"; then
            echo "servers: $name $label ($((SECONDS - started)) s)"
        else
            echo "servers: $name FAILED; its output:" >&2
            sed 's/^/    /' "$LOGS/$name.log" >&2
            failed=1
        fi
    done
    return "$failed"
}

case "${1:-}" in
    up)
        echo "servers: starting PostgreSQL and Kafka (the first run installs and downloads)"
        run_both ready install start
        echo "servers: postgres $(bash "$HERE/postgres.sh" url)  kafka $(bash "$HERE/kafka.sh" bootstrap)"
        ;;
    down) run_both stopped stop ;;
    status)
        rc=0
        bash "$HERE/postgres.sh" status || rc=1
        bash "$HERE/kafka.sh" status || rc=1
        exit "$rc"
        ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
