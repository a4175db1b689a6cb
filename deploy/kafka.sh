#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, broker+controller in one JVM) for the
# test suite, on 127.0.0.1 only. Jars come from Maven Central via
# deploy/kafka/pom.xml; no Kafka distribution or Docker needed.
#
#   deploy/kafka.sh install|start|stop|status|bootstrap|reset
#
# Environment: FUPIN_KAFKA_CACHE (jars, default <repo>/.cache/kafka),
# FUPIN_KAFKA_DIR (config, data, logs; default <repo>/.cache/kafka/run),
# FUPIN_KAFKA_PORT (default 29092), FUPIN_KAFKA_CONTROLLER_PORT (default 29093),
# FUPIN_PYTHON (a Python with aiokafka for the readiness probe; default <repo>/.venv).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$REPO/deploy/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
CACHE="$(realpath -m "${FUPIN_KAFKA_CACHE:-$REPO/.cache/kafka}")"
LIBS="$CACHE/libs"
RUN="$(realpath -m "${FUPIN_KAFKA_DIR:-$REPO/.cache/kafka/run}")"
PORT="${FUPIN_KAFKA_PORT:-29092}"
CONTROLLER_PORT="${FUPIN_KAFKA_CONTROLLER_PORT:-29093}"
PYTHON="${FUPIN_PYTHON:-$REPO/.venv/bin/python}"
PID_FILE="$RUN/kafka.pid"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { echo "kafka: $*" >&2; }
die() { log "error: $*"; exit 1; }

apt_install() {
    [[ "$(id -u)" == 0 ]] || die "missing $*; installing it needs root"
    log "installing $* with apt-get"
    # Serialised with deploy/postgres.sh, which may run apt-get at the same time.
    flock "${TMPDIR:-/tmp}/fupin-apt.lock" env DEBIAN_FRONTEND=noninteractive bash -c '
        apt-get update -q -o DPkg::Lock::Timeout=300 &&
        apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "$@"' _ "$@" ||
        die "apt-get install $* failed"
}

cmd_install() {
    local jar="$LIBS/kafka_2.13-$KAFKA_VERSION.jar"
    command -v "$JAVA" >/dev/null || apt_install default-jre-headless
    [[ -f "$jar" ]] && return 0
    command -v mvn >/dev/null || apt_install maven
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
    # Into a scratch dir first, so an interrupted fetch never looks complete.
    rm -rf "$LIBS.tmp"
    mkdir -p "$CACHE"
    mvn -q -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$LIBS.tmp" || die "mvn dependency:copy-dependencies failed"
    [[ -f "$LIBS.tmp/$(basename "$jar")" ]] || die "mvn did not produce $(basename "$jar")"
    rm -rf "$LIBS"
    mv "$LIBS.tmp" "$LIBS"
}

# A zombie (exited, parent not reaping) counts as dead.
alive() {
    [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null &&
        ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

running_pid() {
    local pid
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(cat "$PID_FILE")"
    alive "$pid" || return 1
    # Guard against a recycled pid: it must be our broker with our config.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$RUN/server.properties" || return 1
    echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
    mkdir -p "$RUN/data" "$RUN/logs"
    cat >"$RUN/server.properties" <<EOF
# Written by deploy/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$RUN/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
EOF
    cat >"$RUN/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$RUN/logs/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
EOF
}

format_storage() {
    [[ -f "$RUN/data/meta.properties" ]] && return 0
    if [[ ! -s "$RUN/cluster.id" ]]; then
        "$JAVA" -Dlog4j.configuration="file:$RUN/log4j.properties" -cp "$LIBS/*" \
            kafka.tools.StorageTool random-uuid >"$RUN/cluster.id.tmp"
        mv "$RUN/cluster.id.tmp" "$RUN/cluster.id"
    fi
    log "formatting $RUN/data (cluster $(cat "$RUN/cluster.id"))"
    "$JAVA" -Dlog4j.configuration="file:$RUN/log4j.properties" -cp "$LIBS/*" \
        kafka.tools.StorageTool format -t "$(cat "$RUN/cluster.id")" -c "$RUN/server.properties" \
        >"$RUN/logs/format.log" 2>&1 || { cat "$RUN/logs/format.log" >&2; die "storage format failed"; }
}

# A metadata round trip that lists broker 1: the port alone opens before the
# broker has caught up with the controller.
probe() {
    if "$PYTHON" -c 'import aiokafka' 2>/dev/null; then
        "$PYTHON" - "127.0.0.1:$PORT" >/dev/null 2>&1 <<'EOF'
import asyncio, sys
from aiokafka import AIOKafkaClient

async def main() -> None:
    client = AIOKafkaClient(bootstrap_servers=sys.argv[1], request_timeout_ms=3000)
    try:
        await client.bootstrap()
        if not client.cluster.brokers():
            sys.exit(1)
    finally:
        await client.close()

asyncio.run(main())
EOF
    else
        "$JAVA" -cp "$LIBS/*" kafka.admin.BrokerApiVersionsCommand \
            --bootstrap-server "127.0.0.1:$PORT" >/dev/null 2>&1
    fi
}

fail_with_logs() {
    log "$1; last lines of $RUN/logs/server.log and kafka.out:"
    tail -n 50 "$RUN/logs/server.log" >&2 2>/dev/null || true
    tail -n 20 "$RUN/kafka.out" >&2 2>/dev/null || true
    exit 1
}

wait_ready() {
    local pid="$1" deadline=$((SECONDS + 90))
    while ((SECONDS < deadline)); do
        alive "$pid" || fail_with_logs "the broker exited during start-up"
        if port_open "$PORT" && probe; then
            return 0
        fi
        sleep 0.5
    done
    fail_with_logs "the broker did not answer on 127.0.0.1:$PORT within 90 s"
}

cmd_start() {
    cmd_install
    mkdir -p "$RUN"
    exec 9>"$RUN/start.lock"
    flock -w 120 9 || die "another start holds $RUN/start.lock"
    local pid
    if pid="$(running_pid)"; then
        log "already running (pid $pid)"
    else
        port_open "$PORT" && die "127.0.0.1:$PORT is taken by another process"
        port_open "$CONTROLLER_PORT" && die "127.0.0.1:$CONTROLLER_PORT is taken by another process"
        write_config
        format_storage
        log "starting on 127.0.0.1:$PORT"
        # setsid: out of the caller's process group, so Ctrl-C in a test run
        # does not kill it; 9>&-: it must not inherit the start lock.
        nohup setsid "$JAVA" -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
            -Dlog4j.configuration="file:$RUN/log4j.properties" \
            -cp "$LIBS/*" kafka.Kafka "$RUN/server.properties" \
            </dev/null >"$RUN/kafka.out" 2>&1 9>&- &
        pid=$!
        echo "$pid" >"$PID_FILE"
    fi
    wait_ready "$pid"
    log "ready: $(cmd_bootstrap)"
}

cmd_stop() {
    local pid i
    if ! pid="$(running_pid)"; then
        log "not running"
        rm -f "$PID_FILE"
        return 0
    fi
    # SIGTERM makes Kafka shut down cleanly (no log recovery on the next start).
    kill -TERM "$pid"
    for ((i = 0; i < 300; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "no clean exit after 30 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        log "running (pid $pid) on 127.0.0.1:$PORT"
    else
        log "not running"
        return 1
    fi
}

cmd_bootstrap() { echo "127.0.0.1:$PORT"; }

cmd_reset() {
    cmd_stop
    rm -rf "$RUN"
    log "removed $RUN"
}

case "${1:-}" in
    install | start | stop | status | bootstrap | reset) "cmd_$1" ;;
    *) echo "usage: $0 install|start|stop|status|bootstrap|reset" >&2; exit 2 ;;
esac
