#!/usr/bin/env bash
# Interop tier for collection: bongsu against the real peers.
#
#   node_exporter ──scrape 1s──► bongsu ◄──remote_write── Prometheus ──scrape 1s──► itself
#                                                                     └─scrape 1s──► node_exporter
#
# 1. bongsu scrapes Debian's prometheus-node-exporter (job "node") every second.
# 2. Prometheus 3.5 (shared/peers/install.sh) scrapes itself (job "prometheus") and the same
#    node_exporter (job "node-via-prom"), with external label replica="interop", and
#    remote-writes everything to bongsu's /api/v1/write.
# 3. Asserted through bongsu's query API, each polled with a bound (--timeout):
#    - its own scrape: up{job="node"} == 1 and node_load1{job="node"} exists;
#    - remote write: up{job="prometheus"} == 1 and prometheus_build_info exist with
#      Prometheus' target and external labels;
#    - both paths agree: bongsu's own scrape of node_exporter and the one Prometheus
#      remote-wrote report the same scrape_samples_scraped and node_memory_MemTotal_bytes,
#      and bongsu holds as many series
#      for each job, as many as Prometheus itself holds for "node-via-prom".
#
# Everything binds to 127.0.0.1 on free ports; every process started here is stopped on exit.
# Exit status: 0 all checks passed; 1 a check failed or a process did not start (the logs'
# tails are printed).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tests/interop/collect.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 60)
  --workdir DIR   where configs, data and logs go (default: a new temp dir, removed on success)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
EOF
}

LOG_NAME=collect
TIMEOUT=60
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers prometheus
install_packages prometheus-node-exporter prometheus-node-exporter
need_tools curl jq python3
need_bongsu
make_workdir bongsu-collect
set_traps

# query BASE_URL QUERY : the instant vector now, one "labels-json value" line per series
query() {
  curl -sf --max-time 10 -G "$1/api/v1/query" --data-urlencode "query=$2" |
    jq -r '.data.result[] | "\(.metric | tojson) \(.value[1])"'
}

# value BASE_URL QUERY : the value of the single series QUERY returns, or nothing
value() {
  local out
  out=$(query "$1" "$2") || return 0
  [[ $(wc -l <<<"$out") == 1 && -n $out ]] && echo "${out##* }"
  return 0
}

# is BASE_URL QUERY WANT : QUERY has a single series whose value is WANT
is() { [[ $(value "$1" "$2") == "$3" ]]; }

# exists BASE_URL QUERY : QUERY returns at least one series
exists() { [[ -n $(query "$1" "$2" 2>/dev/null) ]]; }

# ---------------------------------------------------------------------------------------
# Start node_exporter, bongsu, Prometheus
# ---------------------------------------------------------------------------------------
NODE_PORT=$(free_port)
BONGSU_PORT=$(free_port)
PROM_PORT=$(free_port)
NODE=127.0.0.1:$NODE_PORT
BONGSU_URL=http://127.0.0.1:$BONGSU_PORT
PROM_URL=http://127.0.0.1:$PROM_PORT
log "node_exporter: $(prometheus-node-exporter --version 2>&1 | head -n 1)"

log "node_exporter on $NODE"
# The systemd collector only logs errors here (no systemd).
start node-exporter prometheus-node-exporter --web.listen-address="$NODE" --no-collector.systemd
wait_ready "http://$NODE/metrics" node_exporter

cat >"$WORK/bongsu.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['$NODE']
EOF
log "bongsu on 127.0.0.1:$BONGSU_PORT ($BONGSU)"
start bongsu "$BONGSU" --config.file="$WORK/bongsu.yml" --storage.tsdb.path="$WORK/bongsu-data" \
  --web.listen-address="127.0.0.1:$BONGSU_PORT"
wait_ready "$BONGSU_URL/-/ready" bongsu

cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels:
    replica: interop
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROM_PORT']
  - job_name: node-via-prom
    static_configs:
      - targets: ['$NODE']
remote_write:
  - url: $BONGSU_URL/api/v1/write
    queue_config:
      batch_send_deadline: 1s
EOF
log "prometheus on 127.0.0.1:$PROM_PORT, remote-writing to bongsu"
start prometheus prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/prometheus-data" --web.listen-address="127.0.0.1:$PROM_PORT"
wait_ready "$PROM_URL/-/ready" prometheus

# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------
# bongsu's own scrape of node_exporter.
wait_for "bongsu scrapes node_exporter: up{job=\"node\"} == 1" \
  is "$BONGSU_URL" "up{job=\"node\",instance=\"$NODE\"}" 1
wait_for "bongsu has node_load1{job=\"node\"}" \
  exists "$BONGSU_URL" "node_load1{job=\"node\",instance=\"$NODE\"}"
log "node_load1 in bongsu: $(value "$BONGSU_URL" 'node_load1{job="node"}')"

# Prometheus' remote write: its target labels plus its external label.
wait_for "remote write: up{job=\"prometheus\",replica=\"interop\"} == 1 in bongsu" \
  is "$BONGSU_URL" "up{job=\"prometheus\",instance=\"127.0.0.1:$PROM_PORT\",replica=\"interop\"}" 1
wait_for "remote write: prometheus_build_info{replica=\"interop\"} in bongsu" \
  exists "$BONGSU_URL" 'prometheus_build_info{job="prometheus",replica="interop"}'
log "prometheus_build_info in bongsu: $(query "$BONGSU_URL" 'prometheus_build_info{replica="interop"}')"
wait_for "remote write: node_load1{job=\"node-via-prom\"} in bongsu" \
  exists "$BONGSU_URL" "node_load1{job=\"node-via-prom\",instance=\"$NODE\",replica=\"interop\"}"

# Both paths saw the same page: same sample count per scrape, same number of series.
same_samples() {
  local own via
  own=$(value "$BONGSU_URL" 'scrape_samples_scraped{job="node"}')
  via=$(value "$BONGSU_URL" 'scrape_samples_scraped{job="node-via-prom"}')
  [[ -n $own && $own == "$via" ]] && SAMPLES=$own
}
wait_for "scrape_samples_scraped agrees (bongsu's scrape vs Prometheus' via remote write)" same_samples
log "node_exporter page: $SAMPLES samples per scrape"
same_series() {
  local own via prom
  own=$(value "$BONGSU_URL" 'count({job="node"})')
  via=$(value "$BONGSU_URL" 'count({job="node-via-prom"})')
  prom=$(value "$PROM_URL" 'count({job="node-via-prom"})')
  [[ -n $own && $own == "$via" && $own == "$prom" ]] && SERIES=$own
}
same_value() {
  local own via
  own=$(value "$BONGSU_URL" 'node_memory_MemTotal_bytes{job="node"}')
  via=$(value "$BONGSU_URL" 'node_memory_MemTotal_bytes{job="node-via-prom"}')
  [[ -n $own && $own == "$via" ]] && MEMTOTAL=$own
}
wait_for "node_memory_MemTotal_bytes agrees (bongsu's scrape vs Prometheus' via remote write)" same_value
log "node_memory_MemTotal_bytes: $MEMTOTAL"
wait_for "series count agrees: bongsu {job=\"node\"} = bongsu {job=\"node-via-prom\"} = Prometheus {job=\"node-via-prom\"}" same_series
log "series per job: $SERIES"

FAILED=0
log "passed: bongsu scraped node_exporter and received Prometheus' remote write ($SERIES series per job, $SAMPLES samples per scrape)"
