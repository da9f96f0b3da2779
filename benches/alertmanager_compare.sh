#!/usr/bin/env bash
# Alertmanager throughput, bongsu vs Alertmanager 0.33 (shared/peers/install.sh) in the same
# run: alerts POSTed to /api/v2/alerts at --rate across --groups groups (group_wait 1s,
# group_interval 1s), delivered to a webhook; reports the achieved rate and p50/p99 time from
# POST to the alert's first webhook delivery (which includes group_wait or up to one
# group_interval).
#
#   usage: benches/alertmanager_compare.sh [--rate N] [--groups N] [--seconds S]
# Needs: a built bongsu ($BONGSU, default target/release/bongsu); Alertmanager comes from
# shared/peers/install.sh (benches/lib/peers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=SCRIPTDIR/lib/peers.sh
source benches/lib/peers.sh
use_peers
echo "peers: $(peer_version alertmanager)"
BONGSU=${BONGSU:-target/release/bongsu}
LOAD_ARGS=("$@")
WORK=$(mktemp -d)
PIDS=()
# shellcheck disable=SC2154 # p is the trap's own loop variable
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "not ready: $1"; exit 1; }

run() { # run NAME START_COMMAND...
    local name=$1 hook
    hook=$(free_port)
    cat > "$WORK/am-$name.yml" <<EOF
route:
  receiver: hook
  group_by: [group]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: hook
  webhook_configs:
  - url: http://127.0.0.1:$hook/
EOF
    shift
    local port
    port=$(free_port)
    "$@" "$WORK/am-$name.yml" "$port" > "$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    wait_ready "http://127.0.0.1:$port/api/v2/status"
    printf '%-14s ' "$name"
    python3 benches/lib/alertmanager_load.py --target "http://127.0.0.1:$port" --hook-port "$hook" "${LOAD_ARGS[@]}"
    kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}
start_bongsu() {
    echo "global: {scrape_interval: 1h}" > "$WORK/prom.yml"
    exec "$BONGSU" --config.file "$WORK/prom.yml" --alertmanager.config.file "$1" \
        --storage.tsdb.path "$WORK/bongsu-data" --web.listen-address "127.0.0.1:$2"
}
start_alertmanager() {
    exec alertmanager --config.file "$1" --storage.path "$WORK/am-data" \
        --web.listen-address "127.0.0.1:$2" --cluster.listen-address= 
}
run bongsu start_bongsu
run alertmanager start_alertmanager
