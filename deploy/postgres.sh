#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite, on 127.0.0.1 only.
#
#   deploy/postgres.sh install|start|stop|status|url|reset
#
# Environment: FUPIN_PG_DIR (cluster dir, default <repo>/.cache/pg, or a dir in
# /tmp when the checkout is not reachable by the postgres user),
# FUPIN_PG_PORT (default 25432), FUPIN_PG_DURABLE=1 (keep fsync on, for bench/).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# True when every directory from / down to $1 is searchable by other users.
world_searchable() {
    local d="$1"
    while [[ "$d" != / ]]; do
        [[ ! -d "$d" || "$(stat -c %A "$d")" =~ [xt]$ ]] || return 1
        d="$(dirname "$d")"
    done
}

# As root the server runs as "postgres", which cannot reach a checkout under a
# private home dir (e.g. /root); such a checkout keeps its cluster in /tmp.
default_pg_dir() {
    if [[ "$(id -u)" == 0 ]] && ! world_searchable "$REPO/.cache"; then
        echo "/tmp/fupin-pg-$(printf %s "$REPO" | md5sum | cut -c1-8)"
    else
        echo "$REPO/.cache/pg"
    fi
}

PG_DIR="$(realpath -m "${FUPIN_PG_DIR:-$(default_pg_dir)}")"
PG_PORT="${FUPIN_PG_PORT:-25432}"
PGDATA="$PG_DIR/data"
SOCK_DIR="$PG_DIR/sock"
LOG_FILE="$PG_DIR/server.log"
DATABASES=(fupin_registry fupin_monitoring fupin_funds fupin_tasks)

log() { echo "postgres: $*" >&2; }
die() { log "error: $*"; exit 1; }

pg_bin_dir() {
    # Newest installed major version wins (sort -V: 9.6 < 15).
    local ctls
    ctls="$(shopt -s nullglob; printf '%s\n' /usr/lib/postgresql/*/bin/pg_ctl | sort -V)"
    if [[ -n "$ctls" ]]; then dirname "$(tail -n 1 <<<"$ctls")"; fi
}

# initdb and the server refuse to run as root, so root delegates to "postgres".
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd_install() {
    if [[ -n "$(pg_bin_dir)" ]]; then
        return 0
    fi
    [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed and installing it needs root"
    log "installing PostgreSQL with apt-get"
    # Only the binaries: no "main" cluster, no service started (policy-rc.d 101).
    mkdir -p /etc/postgresql-common
    [[ -e /etc/postgresql-common/createcluster.conf ]] ||
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    local policy_created=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_created=1
    fi
    # Serialised with deploy/kafka.sh, which may run apt-get at the same time.
    local rc=0
    flock "${TMPDIR:-/tmp}/fupin-apt.lock" env DEBIAN_FRONTEND=noninteractive bash -c '
        apt-get update -q -o DPkg::Lock::Timeout=300 &&
        apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold postgresql' || rc=$?
    if [[ "$policy_created" == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
    [[ "$rc" == 0 ]] || die "apt-get failed ($rc)"
    [[ -n "$(pg_bin_dir)" ]] || die "apt-get finished but no /usr/lib/postgresql/*/bin/pg_ctl"
}

ensure_postgres_user() {
    [[ "$(id -u)" == 0 ]] || return 0
    id -u postgres >/dev/null 2>&1 ||
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    # Every ancestor of the cluster dir must be searchable by postgres
    # (a checkout under /root is not); test -x resolves the whole path.
    local parent
    parent="$(dirname "$PG_DIR")"
    mkdir -p "$parent"
    runuser -u postgres -- test -x "$parent" ||
        die "user postgres cannot reach $parent; set FUPIN_PG_DIR to a path it can (e.g. /tmp/fupin-pg)"
}

is_running() {
    local bin
    bin="$(pg_bin_dir)"
    [[ -n "$bin" && -f "$PGDATA/PG_VERSION" ]] || return 1
    as_owner "$bin/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1
}

init_cluster() {
    local bin="$1"
    [[ -f "$PGDATA/PG_VERSION" ]] && return 0
    log "initdb in $PGDATA"
    mkdir -p "$PG_DIR"
    [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$PG_DIR"
    chmod 700 "$PG_DIR"
    as_owner rm -rf "$PGDATA"  # leftovers of an interrupted initdb
    as_owner mkdir -p "$SOCK_DIR"
    local initdb=("$bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8)
    if ! as_owner "${initdb[@]}" --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
        as_owner rm -rf "$PGDATA"
        as_owner "${initdb[@]}" --no-locale >"$PG_DIR/initdb.log" 2>&1 ||
            { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    fi
    echo "include_if_exists = 'fupin.conf'" | as_owner tee -a "$PGDATA/postgresql.conf" >/dev/null
}

# Rewritten on every start so FUPIN_PG_PORT / FUPIN_PG_DURABLE take effect.
write_conf() {
    local durable=off sockets="$SOCK_DIR"
    [[ "${FUPIN_PG_DURABLE:-0}" == 1 ]] && durable=on
    # A unix socket path is limited to ~107 bytes; deep checkouts go TCP-only.
    (( ${#SOCK_DIR} + 20 > 100 )) && sockets=""
    as_owner tee "$PGDATA/fupin.conf" >/dev/null <<EOF
# Written by deploy/postgres.sh; edits are overwritten on the next start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockets'
max_connections = 200
shared_buffers = 256MB
fsync = $durable
synchronous_commit = $durable
full_page_writes = $durable
EOF
}

wait_ready() {
    local bin="$1" i
    for ((i = 0; i < 120; i++)); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -U postgres && return 0
        sleep 0.5
    done
    tail -n 50 "$LOG_FILE" >&2 || true
    die "not ready on 127.0.0.1:$PG_PORT after 60 s"
}

ensure_databases() {
    local bin="$1" db
    local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres)
    {
        echo "SELECT 'CREATE ROLE fupin SUPERUSER LOGIN PASSWORD ''fupin''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fupin')\\gexec"
        for db in "${DATABASES[@]}"; do
            echo "SELECT 'CREATE DATABASE $db OWNER fupin' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\\gexec"
        done
    } | "${psql[@]}" >/dev/null
}

cmd_start() {
    cmd_install
    local bin
    bin="$(pg_bin_dir)"
    ensure_postgres_user
    # Two concurrent starts (e.g. parallel test runners) must not both initdb.
    exec 9>"$PG_DIR.lock"
    flock -w 120 9 || die "another start holds $PG_DIR.lock"
    if is_running; then
        log "already running on 127.0.0.1:$PG_PORT"
    else
        init_cluster "$bin"
        write_conf
        log "starting on 127.0.0.1:$PG_PORT (durable=${FUPIN_PG_DURABLE:-0})"
        # 9>&-: the server must not inherit (and hold forever) the start lock.
        as_owner "$bin/pg_ctl" start -D "$PGDATA" -l "$LOG_FILE" -w -t 60 -s 9>&- ||
            { tail -n 50 "$LOG_FILE" >&2 || true; die "pg_ctl start failed"; }
    fi
    wait_ready "$bin"
    ensure_databases "$bin"
    log "ready: $(cmd_url)"
}

cmd_stop() {
    if is_running; then
        as_owner "$(pg_bin_dir)/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 -s
        log "stopped"
    else
        log "not running"
    fi
}

cmd_status() {
    if is_running; then
        log "running on 127.0.0.1:$PG_PORT ($PGDATA)"
    else
        log "not running"
        return 1
    fi
}

cmd_url() { echo "postgresql+asyncpg://fupin:fupin@127.0.0.1:$PG_PORT"; }

cmd_reset() {
    cmd_stop
    rm -rf "$PG_DIR" "$PG_DIR.lock"
    log "removed $PG_DIR"
}

case "${1:-}" in
    install | start | stop | status | url | reset) "cmd_$1" ;;
    *) echo "usage: $0 install|start|stop|status|url|reset" >&2; exit 2 ;;
esac
