#!/usr/bin/env bash
# A throw-away 3-master Redis Cluster on loopback for the cluster tests.
#
#   bash scripts/redis-cluster.sh start   # idempotent: does nothing if the cluster is already up and ok
#   bash scripts/redis-cluster.sh stop    # stops the nodes this script started and removes their files
#   bash scripts/redis-cluster.sh status
#
# Ports come from REDIS_CLUSTER_PORTS (default "7000 7001 7002"); the tests read the addresses
# from REDIS_CLUSTER_NODES (default 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002). Nodes bind to
# 127.0.0.1 only, run daemonized, keep nothing on disk but their cluster config (no RDB, no AOF),
# and live in REDIS_CLUSTER_DIR (default: $TMPDIR/tessera-redis-cluster).
set -euo pipefail

read -r -a PORTS <<<"${REDIS_CLUSTER_PORTS:-7000 7001 7002}"
DIR="${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/tessera-redis-cluster}"
HOST=127.0.0.1

log() { printf 'redis-cluster: %s\n' "$*" >&2; }
cli() { redis-cli -h "$HOST" -p "$1" "${@:2}"; }
up() { [[ "$(cli "$1" ping 2>/dev/null)" == PONG ]]; }
state_ok() { cli "$1" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok'; }

all_ok() {
  local port
  for port in "${PORTS[@]}"; do
    up "$port" && state_ok "$port" || return 1
  done
}

stop_nodes() {
  local port pid
  for port in "${PORTS[@]}"; do
    [[ -f "$DIR/$port.pid" ]] || continue
    pid="$(cat "$DIR/$port.pid")"
    # Only a node this script started: its pid file and a redis-server process with that pid.
    if [[ -n "$pid" ]] && ps -p "$pid" -o comm= 2>/dev/null | grep -q '^redis-server'; then
      cli "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do ps -p "$pid" >/dev/null 2>&1 || break; sleep 0.1; done
    fi
  done
  rm -rf "$DIR"
}

start() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || {
    log "redis-server and redis-cli are required"
    exit 1
  }
  if all_ok; then
    log "already running on ports ${PORTS[*]} (cluster_state:ok)"
    return 0
  fi
  # Half-started or broken: start over from nothing (nothing is persisted).
  stop_nodes
  local port
  for port in "${PORTS[@]}"; do
    if up "$port"; then
      log "port $port is taken by a server this script did not start; set REDIS_CLUSTER_PORTS"
      exit 1
    fi
  done
  mkdir -p "$DIR"
  for port in "${PORTS[@]}"; do
    redis-server --port "$port" --bind "$HOST" --protected-mode yes --daemonize yes \
      --cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 5000 \
      --save "" --appendonly no --dir "$DIR" --pidfile "$DIR/$port.pid" --logfile "$DIR/$port.log"
  done
  for port in "${PORTS[@]}"; do
    for _ in $(seq 100); do up "$port" && break; sleep 0.1; done
    up "$port" || { log "node $port did not start; see $DIR/$port.log"; exit 1; }
  done
  local nodes=()
  for port in "${PORTS[@]}"; do nodes+=("$HOST:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/create.log" 2>&1 || {
    cat "$DIR/create.log" >&2
    exit 1
  }
  for _ in $(seq 200); do
    all_ok && break
    sleep 0.1
  done
  all_ok || { log "cluster did not reach cluster_state:ok"; exit 1; }
  log "up on ports ${PORTS[*]} (cluster_state:ok)"
}

case "${1:-}" in
  start) start ;;
  stop) stop_nodes; log "stopped" ;;
  status) all_ok && log "ok" || { log "not ok"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
