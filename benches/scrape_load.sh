#!/usr/bin/env bash
# Scrape load benchmark: bongsu and Prometheus scraping the same many fake targets.
#
# examples/fake_targets serves N node_exporter pages (about 500 series each, values moving on
# every request) on one 127.0.0.1 port as /metrics/0 … /metrics/N-1. One config is written for
# both servers: one job whose static targets are host-0000:9100 … (distinct `instance`
# labels), relabeled to that one port with __metrics_path__ = /metrics/<n>. bongsu (release)
# and Prometheus 3.5 (shared/peers/install.sh) then scrape them side by side in the same run,
# each with its own data directory. After a warm-up (first scrape of every target: series
# creation), the script measures over --duration seconds, per server:
#
#   CPU cores    (utime + stime from /proc/PID/stat, after − before) / wall seconds
#   RSS          VmRSS at the end, and VmHWM (peak) from /proc/PID/status
#   samples/s    delta of prometheus_tsdb_head_samples_appended_total (both servers export
#                it) over the window / wall seconds
#   targets up   sum(up) and count(up) at the end
#   scrape s     mean scrape_duration_seconds over the targets at the end
#   head series  prometheus_tsdb_head_series
#
# Everything binds to 127.0.0.1 on free ports; every wait is bounded; processes started here
# are stopped on exit. See benches/README.md ("Scraping: 1,000 targets × 500 series").
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benches/scrape_load.sh [options]

  --targets N        fake targets (default 1000)
  --interval D       scrape_interval (default 15s; scrape_timeout stays at 10s or the interval)
  --warmup S         seconds before measuring (default 45: every target scraped, series created)
  --duration S       measured seconds (default 180)
  --workdir DIR      configs, data and logs (default ${TMPDIR:-/tmp}/bongsu-scrape-bench, wiped)
  --skip-prometheus  measure bongsu only
  --timeout S        bound for start-up waits (default 60)
  -h, --help         this text

environment:
  BONGSU        bongsu binary (default <repo>/target/release/bongsu)
  FAKE_TARGETS  fake target server (default <repo>/target/release/examples/fake_targets;
                build it with `cargo build --release --example fake_targets`)
EOF
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
UTIL=(python3 "$SCRIPT_DIR/lib/bench_util.py")

TARGETS=1000
INTERVAL=15s
WARMUP=45
DURATION=180
WORKDIR="${TMPDIR:-/tmp}/bongsu-scrape-bench"
SKIP_PROM=0
TIMEOUT=60
while (($#)); do
  case "$1" in
    --targets) TARGETS=${2:?--targets needs a value}; shift 2 ;;
    --interval) INTERVAL=${2:?--interval needs a value}; shift 2 ;;
    --warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --workdir) WORKDIR=${2:?--workdir needs a value}; shift 2 ;;
    --skip-prometheus) SKIP_PROM=1; shift ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done
BONGSU=${BONGSU:-$REPO_DIR/target/release/bongsu}
FAKE_TARGETS=${FAKE_TARGETS:-$REPO_DIR/target/release/examples/fake_targets}

RUN=$WORKDIR
STOP_TIMEOUT=30 # a large head flushes its WAL on the way out
# log, die, start_server (+ the exit trap), wait_ready, use_peers, peer_version
# shellcheck source-path=SCRIPTDIR source=lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"
((SKIP_PROM)) || use_peers

[[ -x $BONGSU ]] || die "no bongsu binary at $BONGSU (cargo build --release)"
[[ -x $FAKE_TARGETS ]] || die "no $FAKE_TARGETS (cargo build --release --example fake_targets)"
PROMETHEUS=$(command -v prometheus || true)
if ((!SKIP_PROM)) && [[ -z $PROMETHEUS ]]; then
  log "prometheus not found in $PEERS_BIN: measuring bongsu only"
  SKIP_PROM=1
fi
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done

rm -rf "$WORKDIR"
mkdir -p "$WORKDIR"

CLK_TCK=$(getconf CLK_TCK)
# cpu_seconds PID : utime + stime of PID in seconds (fields 14 and 15 of /proc/PID/stat; the
# command name in parentheses may hold spaces, so count from after the closing parenthesis)
cpu_seconds() {
  local stat
  stat=$(<"/proc/$1/stat")
  awk -v hz="$CLK_TCK" '{ printf "%.2f\n", ($12 + $13) / hz }' <<<"${stat##*) }"
}

# status_mib PID FIELD : a /proc/PID/status memory field (VmRSS, VmHWM) in MiB
status_mib() {
  awk -v f="$2:" '$1 == f { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"
}

# value BASE_URL QUERY : value of the single series QUERY returns now ("-" if none)
value() {
  local v
  v=$(curl -sf --max-time 30 -G "$1/api/v1/query" --data-urlencode "query=$2" |
    jq -r 'if (.data.result | length) == 1 then .data.result[0].value[1] else "-" end') || v="-"
  echo "${v:--}"
}

# metric BASE_URL NAME : sum of a metric's values on BASE_URL/metrics
metric() { "${UTIL[@]}" metric "$1" "$2"; }

# ---------------------------------------------------------------------------------------
# Fake targets and the shared config
# ---------------------------------------------------------------------------------------
FAKE_PORT=$("${UTIL[@]}" freeport)
start_server "$WORKDIR/fake-targets.log" "$FAKE_TARGETS" --listen "127.0.0.1:$FAKE_PORT" \
  --targets "$TARGETS"
FAKE_PID=$SERVER_PID
wait_ready "http://127.0.0.1:$FAKE_PORT/metrics/0" "$FAKE_PID" fake-targets "$WORKDIR/fake-targets.log"
PAGE_SAMPLES=$(curl -sf "http://127.0.0.1:$FAKE_PORT/metrics/0" | grep -cv '^#')
log "fake targets: $TARGETS × $PAGE_SAMPLES samples on 127.0.0.1:$FAKE_PORT"

CONFIG=$WORKDIR/scrape.yml
{
  printf 'global:\n  scrape_interval: %s\n' "$INTERVAL"
  printf 'scrape_configs:\n  - job_name: fake\n    static_configs:\n      - targets:\n'
  for ((n = 0; n < TARGETS; n++)); do
    printf "          - 'host-%04d:9100'\n" "$n"
  done
  cat <<EOF
    relabel_configs:
      # instance keeps the host name; the scrape goes to /metrics/<n> on the one fake port
      - source_labels: [__address__]
        target_label: instance
      - source_labels: [__address__]
        regex: 'host-0*(\\d+):9100'
        target_label: __metrics_path__
        replacement: '/metrics/\$1'
      - target_label: __address__
        replacement: '127.0.0.1:$FAKE_PORT'
EOF
} >"$CONFIG"

# ---------------------------------------------------------------------------------------
# The servers
# ---------------------------------------------------------------------------------------
NAMES=(bongsu)
BONGSU_PORT=$("${UTIL[@]}" freeport)
start_server "$WORKDIR/bongsu.log" "$BONGSU" --config.file="$CONFIG" \
  --storage.tsdb.path="$WORKDIR/bongsu-data" --web.listen-address="127.0.0.1:$BONGSU_PORT"
declare -A PID URL APPENDED HEAD_SERIES
PID[bongsu]=$SERVER_PID
URL[bongsu]=http://127.0.0.1:$BONGSU_PORT
APPENDED[bongsu]=prometheus_tsdb_head_samples_appended_total
HEAD_SERIES[bongsu]=prometheus_tsdb_head_series
wait_ready "${URL[bongsu]}/-/ready" "${PID[bongsu]}" bongsu "$WORKDIR/bongsu.log"
if ((!SKIP_PROM)); then
  NAMES+=(prometheus)
  PROM_PORT=$("${UTIL[@]}" freeport)
  start_server "$WORKDIR/prometheus.log" "$PROMETHEUS" --config.file="$CONFIG" \
    --storage.tsdb.path="$WORKDIR/prometheus-data" --web.listen-address="127.0.0.1:$PROM_PORT"
  PID[prometheus]=$SERVER_PID
  URL[prometheus]=http://127.0.0.1:$PROM_PORT
  APPENDED[prometheus]=prometheus_tsdb_head_samples_appended_total
  HEAD_SERIES[prometheus]=prometheus_tsdb_head_series
  wait_ready "${URL[prometheus]}/-/ready" "${PID[prometheus]}" prometheus "$WORKDIR/prometheus.log"
fi
for s in "${NAMES[@]}"; do
  log "$s: pid ${PID[$s]} on ${URL[$s]}"
done
if ((!SKIP_PROM)); then
  log "peer: $(peer_version prometheus)"
fi

# ---------------------------------------------------------------------------------------
# Warm up, then measure
# ---------------------------------------------------------------------------------------
log "warm-up: ${WARMUP}s (every target scraped at least once)"
sleep "$WARMUP"
declare -A CPU0 APP0
T0=$(date +%s.%N)
for s in "${NAMES[@]}"; do
  CPU0[$s]=$(cpu_seconds "${PID[$s]}")
  APP0[$s]=$(metric "${URL[$s]}" "${APPENDED[$s]}")
done
log "measuring for ${DURATION}s"
sleep "$DURATION"
T1=$(date +%s.%N)
WALL=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }')

TSV=$WORKDIR/results.tsv
printf 'system\tcpu_cores\trss_mib\tpeak_rss_mib\tsamples_per_s\ttargets_up\ttargets\tmean_scrape_s\thead_series\n' >"$TSV"
for s in "${NAMES[@]}"; do
  kill -0 "${PID[$s]}" 2>/dev/null || die "$s exited during the run (log: $WORKDIR/$s.log)"
  cpu1=$(cpu_seconds "${PID[$s]}")
  app1=$(metric "${URL[$s]}" "${APPENDED[$s]}")
  cores=$(awk -v a="${CPU0[$s]}" -v b="$cpu1" -v w="$WALL" 'BEGIN { printf "%.3f", (b - a) / w }')
  rate=$(awk -v a="${APP0[$s]}" -v b="$app1" -v w="$WALL" 'BEGIN { printf "%.0f", (b - a) / w }')
  up=$(value "${URL[$s]}" 'sum(up{job="fake"})')
  all=$(value "${URL[$s]}" 'count(up{job="fake"})')
  dur_sum=$(value "${URL[$s]}" 'sum(scrape_duration_seconds{job="fake"})')
  mean=$(awk -v a="$dur_sum" -v n="$all" 'BEGIN { if (n + 0 > 0) printf "%.4f", a / n; else print "-" }')
  series=$(metric "${URL[$s]}" "${HEAD_SERIES[$s]}")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\n' "$s" "$cores" "$(status_mib "${PID[$s]}" VmRSS)" \
    "$(status_mib "${PID[$s]}" VmHWM)" "$rate" "$up" "$all" "$mean" "$series" >>"$TSV"
done
fake_cpu=$(cpu_seconds "$FAKE_PID")

echo
echo "Scraping $TARGETS targets × $PAGE_SAMPLES samples every $INTERVAL; measured over ${WALL}s after ${WARMUP}s warm-up"
echo "(expected samples/s: $TARGETS × $PAGE_SAMPLES / interval, plus 5 synthetic series per target)"
column -t -s $'\t' "$TSV"
echo "fake targets: ${fake_cpu} CPU s in total; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
echo "results: $TSV; logs: $WORKDIR/*.log"
