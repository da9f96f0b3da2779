#!/usr/bin/env bash
# Remote-write sender benchmark: bongsu and Prometheus 3.5 as senders, on the same scrape load,
# to the same receiver (VictoriaMetrics 1.145; both peers from shared/peers/install.sh).
#
# examples/fake_targets serves N node_exporter pages (about 500 series each) on one port; each
# sender, in turn (never side by side: they would share the two cores), scrapes them every
# --interval and remote-writes (1.0) to a fresh VictoriaMetrics. After a warm-up the script
# measures over --duration seconds, per sender:
#
#   sent/s       delta of prometheus_remote_storage_samples_total / wall seconds
#   appended/s   delta of prometheus_tsdb_head_samples_appended_total / wall seconds
#   CPU cores    (utime + stime of the sender, after − before) / wall seconds: scraping, storing
#                and sending together (the same work for both)
#   RSS          VmRSS at the end and VmHWM (peak), MiB
#   pending      prometheus_remote_storage_samples_pending at the end (the queue's backlog)
#   failed       prometheus_remote_storage_samples_failed_total at the end
#
# Everything binds to 127.0.0.1 on free ports; every wait is bounded; processes started here
# are stopped on exit. Results: a table on stdout and results.tsv in the work dir.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: benches/remote_write_sender.sh [options]

  --targets N      fake targets (default 200)
  --interval D     scrape_interval (default 5s)
  --warmup S       seconds before measuring (default 30)
  --duration S     measured seconds (default 60)
  --workdir DIR    configs, data and logs (default ${TMPDIR:-/tmp}/bongsu-rw-sender-bench, wiped)
  --timeout S      bound for start-up waits (default 60)
  -h, --help       this text

environment:
  BONGSU        bongsu binary (default <repo>/target/release/bongsu)
  FAKE_TARGETS  fake target server (default <repo>/target/release/examples/fake_targets)
USAGE
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
UTIL=(python3 "$SCRIPT_DIR/lib/bench_util.py")

TARGETS=200
INTERVAL=5s
WARMUP=30
DURATION=60
WORKDIR="${TMPDIR:-/tmp}/bongsu-rw-sender-bench"
TIMEOUT=60
while (($#)); do
  case "$1" in
    --targets) TARGETS=${2:?--targets needs a value}; shift 2 ;;
    --interval) INTERVAL=${2:?--interval needs a value}; shift 2 ;;
    --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --workdir) WORKDIR=${2:?--workdir needs a value}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done
BONGSU=${BONGSU:-$REPO_DIR/target/release/bongsu}
FAKE_TARGETS=${FAKE_TARGETS:-$REPO_DIR/target/release/examples/fake_targets}

RUN=$WORKDIR
STOP_TIMEOUT=30
# log, die, start_server, stop_server (+ the exit trap), wait_ready, use_peers, peer_version
# shellcheck source-path=SCRIPTDIR source=lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"
use_peers

[[ -x $BONGSU ]] || die "no bongsu binary at $BONGSU (cargo build --release)"
[[ -x $FAKE_TARGETS ]] || die "no $FAKE_TARGETS (cargo build --release --example fake_targets)"
for tool in curl python3 prometheus victoria-metrics; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
log "peers: $(peer_version prometheus), $(peer_version victoria-metrics)"

rm -rf "$WORKDIR"
mkdir -p "$WORKDIR"

CLK_TCK=$(getconf CLK_TCK)
# cpu_seconds PID : utime + stime of PID in seconds
cpu_seconds() {
  local stat
  stat=$(<"/proc/$1/stat")
  awk -v hz="$CLK_TCK" '{ printf "%.2f\n", ($12 + $13) / hz }' <<<"${stat##*) }"
}

# status_mib PID FIELD : a /proc/PID/status memory field (VmRSS, VmHWM) in MiB
status_mib() { awk -v f="$2:" '$1 == f { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"; }

# metric BASE_URL NAME : sum of a metric's values on BASE_URL/metrics
metric() { "${UTIL[@]}" metric "$1" "$2"; }

FAKE_PORT=$("${UTIL[@]}" freeport)
start_server "$WORKDIR/fake-targets.log" "$FAKE_TARGETS" --listen "127.0.0.1:$FAKE_PORT" \
  --targets "$TARGETS"
wait_ready "http://127.0.0.1:$FAKE_PORT/metrics/0" "$SERVER_PID" fake-targets "$WORKDIR/fake-targets.log"

# config RECEIVER_PORT : the scrape jobs and one remote_write to 127.0.0.1:RECEIVER_PORT
config() {
  printf 'global:\n  scrape_interval: %s\n' "$INTERVAL"
  printf 'scrape_configs:\n  - job_name: fake\n    static_configs:\n      - targets:\n'
  for ((n = 0; n < TARGETS; n++)); do
    printf "          - 'host-%04d:9100'\n" "$n"
  done
  cat <<YAML
    relabel_configs:
      - source_labels: [__address__]
        target_label: instance
      - source_labels: [__address__]
        regex: 'host-0*(\\d+):9100'
        target_label: __metrics_path__
        replacement: '/metrics/\$1'
      - target_label: __address__
        replacement: '127.0.0.1:$FAKE_PORT'
remote_write:
  - url: http://127.0.0.1:$1/api/v1/write
    name: bench
YAML
}

TSV=$WORKDIR/results.tsv
printf 'sender\tsent_per_s\tappended_per_s\tcpu_cores\trss_mib\tpeak_rss_mib\tpending\tfailed\n' >"$TSV"

# run NAME CMD... : a fresh VictoriaMetrics, then CMD as the sender; measure; stop both
run() {
  local name=$1; shift
  local vm_port port vm_pid pid url t0 t1 wall cpu0 cpu1 sent0 sent1 app0 app1
  vm_port=$("${UTIL[@]}" freeport)
  start_server "$WORKDIR/vm-$name.log" victoria-metrics -httpListenAddr="127.0.0.1:$vm_port" \
    -storageDataPath="$WORKDIR/vm-$name-data" -retentionPeriod=1d
  vm_pid=$SERVER_PID
  wait_ready "http://127.0.0.1:$vm_port/health" "$vm_pid" victoria-metrics "$WORKDIR/vm-$name.log"
  config "$vm_port" >"$WORKDIR/$name.yml"
  port=$("${UTIL[@]}" freeport)
  url=http://127.0.0.1:$port
  start_server "$WORKDIR/$name.log" "$@" --config.file="$WORKDIR/$name.yml" \
    --storage.tsdb.path="$WORKDIR/$name-data" --web.listen-address="127.0.0.1:$port"
  pid=$SERVER_PID
  wait_ready "$url/-/ready" "$pid" "$name" "$WORKDIR/$name.log"
  log "$name: warm-up ${WARMUP}s"
  sleep "$WARMUP"
  t0=$(date +%s.%N)
  cpu0=$(cpu_seconds "$pid")
  sent0=$(metric "$url" prometheus_remote_storage_samples_total)
  app0=$(metric "$url" prometheus_tsdb_head_samples_appended_total)
  log "$name: measuring ${DURATION}s"
  sleep "$DURATION"
  t1=$(date +%s.%N)
  cpu1=$(cpu_seconds "$pid")
  sent1=$(metric "$url" prometheus_remote_storage_samples_total)
  app1=$(metric "$url" prometheus_tsdb_head_samples_appended_total)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  printf '%s\t%.0f\t%.0f\t%.2f\t%s\t%s\t%.0f\t%.0f\n' "$name" \
    "$(awk -v a="$sent0" -v b="$sent1" -v w="$wall" 'BEGIN { print (b - a) / w }')" \
    "$(awk -v a="$app0" -v b="$app1" -v w="$wall" 'BEGIN { print (b - a) / w }')" \
    "$(awk -v a="$cpu0" -v b="$cpu1" -v w="$wall" 'BEGIN { print (b - a) / w }')" \
    "$(status_mib "$pid" VmRSS)" "$(status_mib "$pid" VmHWM)" \
    "$(metric "$url" prometheus_remote_storage_samples_pending)" \
    "$(metric "$url" prometheus_remote_storage_samples_failed_total)" >>"$TSV"
  stop_server "$pid"
  stop_server "$vm_pid"
}

run bongsu "$BONGSU"
run prometheus prometheus
column -t -s $'\t' "$TSV"
