#!/usr/bin/env bash
# Start-up benchmark: how long bongsu, Prometheus 3.5 and VictoriaMetrics 1.145 (from
# shared/peers/install.sh) take to become ready again over the same data.
#
# For each system a fresh server (own data directory under --workdir, 127.0.0.1, free port)
# receives N series × H hours of samples by remote write (examples/remote_write_load.rs:
# one round per --interval, all series per round, rounds in time order, the first H hours in
# the past, the last about now). The server is then stopped with SIGTERM and started again,
# and the script reports the seconds from process start to ready (`/-/ready` answering 200;
# VictoriaMetrics `/health`), its resident memory right after, and the series it then holds.
# With --kill it also kills that server with SIGKILL and times one more start (an unclean
# start: no clean-shutdown marker, the WAL tail as a crash leaves it).
# $BONGSU_BASE, when set, is a second bongsu binary (e.g. main's) run on its own data as the
# row "bongsu-base", for before/after figures. See benches/README.md for the figures.
#
# Exit status: 0 done; 1 a tool failed or bad usage.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benches/startup_compare.sh [options]

  --series N        series (default 1000000)
  --hours H         hours of data, whole hours (default 2)
  --interval S      seconds between a series' samples (default 60)
  --concurrency N   remote-write requests in flight while loading (default 4)
  --kill            also time a start after SIGKILL
  --timeout S       bound for every wait: readiness, stopping, the load (default 1800)
  --workdir DIR     data directories and logs (default: ${TMPDIR:-/tmp}/bongsu-startup-bench)
  --only LIST       systems to run, of bongsu,bongsu-base,prometheus,victoriametrics
                    (default all; bongsu-base only with $BONGSU_BASE)
  --keep            keep the data directories afterwards
  -h, --help        this text

environment:
  BONGSU       bongsu binary (default: <repo>/target/release/bongsu)
  BONGSU_BASE  a second bongsu binary to compare with (optional)
  LOADGEN      load generator (default: <repo>/target/release/examples/remote_write_load)
EOF
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
UTIL=(python3 "$SCRIPT_DIR/lib/bench_util.py")

SERIES=1000000
HOURS=2
INTERVAL=60
CONCURRENCY=4
KILL=0
TIMEOUT=1800
WORKDIR="${TMPDIR:-/tmp}/bongsu-startup-bench"
ONLY=bongsu,bongsu-base,prometheus,victoriametrics
KEEP=0

while (($#)); do
  case "$1" in
    --series) SERIES=${2:?--series needs a value}; shift 2 ;;
    --hours) HOURS=${2:?--hours needs a value}; shift 2 ;;
    --interval) INTERVAL=${2:?--interval needs a value}; shift 2 ;;
    --concurrency) CONCURRENCY=${2:?--concurrency needs a value}; shift 2 ;;
    --kill) KILL=1; shift ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    --workdir) WORKDIR=${2:?--workdir needs a value}; shift 2 ;;
    --only) ONLY=${2:?--only needs a value}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done
for v in SERIES HOURS INTERVAL CONCURRENCY TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "--${v,,} must be a positive integer" >&2; exit 1; }
done
ROUNDS=$((HOURS * 3600 / INTERVAL))
((ROUNDS > 0)) || { echo "--hours × 3600 must be at least one --interval" >&2; exit 1; }

BONGSU=${BONGSU:-$REPO_DIR/target/release/bongsu}
LOADGEN=${LOADGEN:-$REPO_DIR/target/release/examples/remote_write_load}

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x $BONGSU ]] || die "no bongsu binary at $BONGSU (cargo build --release)"
[[ -x $LOADGEN ]] || die "no load generator at $LOADGEN (cargo build --release --example remote_write_load)"
[[ -z ${BONGSU_BASE:-} || -x $BONGSU_BASE ]] || die "BONGSU_BASE=$BONGSU_BASE is not executable"
# shellcheck source-path=SCRIPTDIR source=lib/peers.sh
source "$SCRIPT_DIR/lib/peers.sh"
use_peers

# Every server started is recorded and stopped on exit.
PIDS=()
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < TIMEOUT * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  ((KEEP)) || rm -rf "$WORKDIR/data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() {
  local pid=$1 p keep=()
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# stop_server PID : SIGTERM, bounded wait (a clean stop may flush a lot), then SIGKILL;
# sets STOP_S to the seconds the stop took
stop_server() {
  local pid=$1 i t0
  forget "$pid"
  t0=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < TIMEOUT * 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null && log "pid $pid did not stop within ${TIMEOUT}s: killed"
  wait "$pid" 2>/dev/null || true
  STOP_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}

# kill_server PID : SIGKILL, as a crash
kill_server() {
  forget "$1"
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# status_mb PID FIELD : a /proc/PID/status memory field (VmRSS, VmHWM) in MiB
status_mb() {
  awk -v f="$2:" '$1 == f { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

# start SYSTEM DIR PORT LOGFILE : start SYSTEM on DIR; sets PID, READY_URL and T0 (the
# time just before the exec)
start() {
  local system=$1 dir=$2 port=$3 logf=$4 bin
  T0=$(date +%s.%N)
  case $system in
    bongsu | bongsu-base)
      bin=$BONGSU
      [[ $system == bongsu ]] || bin=$BONGSU_BASE
      # No scrape jobs: a self-scrape at the wall clock is not part of the data loaded.
      "$bin" --config.file "$dir.yml" --storage.tsdb.path "$dir" \
        --web.listen-address "127.0.0.1:$port" >>"$logf" 2>&1 &
      READY_URL=http://127.0.0.1:$port/-/ready ;;
    prometheus)
      prometheus --config.file="$dir.yml" --storage.tsdb.path="$dir" \
        --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver >>"$logf" 2>&1 &
      READY_URL=http://127.0.0.1:$port/-/ready ;;
    victoriametrics)
      victoria-metrics -httpListenAddr "127.0.0.1:$port" -storageDataPath "$dir" \
        -retentionPeriod=100y -search.disableCache >>"$logf" 2>&1 &
      READY_URL=http://127.0.0.1:$port/health ;;
  esac
  PID=$!
  PIDS+=("$PID")
}

# wait_ready LOGFILE : poll $READY_URL every 20 ms until 200, bounded by --timeout and by
# the process being alive; sets READY_S (seconds since $T0)
wait_ready() {
  local deadline=$((SECONDS + TIMEOUT))
  until curl -sf -o /dev/null --max-time 2 "$READY_URL"; do
    kill -0 "$PID" 2>/dev/null || { tail -n 20 "$1" >&2; die "pid $PID exited before ready (log: $1)"; }
    ((SECONDS < deadline)) || { tail -n 20 "$1" >&2; die "not ready within ${TIMEOUT}s (log: $1)"; }
    sleep 0.02
  done
  READY_S=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
}

# held BASE : series with a sample in the 20 minutes before the load ended ($LOAD_END)
held() {
  "${UTIL[@]}" scalar "$1" 'count(count_over_time({job="loadgen"}[20m]))' "$LOAD_END" soft \
    2>/dev/null || echo "?"
}

# run_one SYSTEM : load SYSTEM, restart it (and, with --kill, kill and restart it); one row
run_one() {
  local system=$1 port dir logf base out result acked mib
  port=$("${UTIL[@]}" freeport)
  dir="$WORKDIR/data/$system"
  logf="$WORKDIR/logs/$system.log"
  base=http://127.0.0.1:$port
  rm -rf "$dir" && mkdir -p "$dir" && : >"$logf"
  printf 'global:\n  scrape_interval: 1h\nscrape_configs: []\n' >"$dir.yml"
  start "$system" "$dir" "$port" "$logf"
  wait_ready "$logf"
  log "$system: loading $SERIES series × $ROUNDS rounds of ${INTERVAL}s"
  out="$WORKDIR/logs/$system.load"
  timeout "$TIMEOUT" "$LOADGEN" --url "$base/api/v1/write" --series "$SERIES" \
    --step-ms "$((INTERVAL * 1000))" --start-ago "${HOURS}h" --rounds "$ROUNDS" \
    --duration "${TIMEOUT}s" --concurrency "$CONCURRENCY" >"$out" 2>&1 || {
    tail -n 5 "$out" >&2
    die "load generator failed against $system (log: $out)"
  }
  LOAD_END=$(date +%s)
  result=$(grep '^RESULT' "$out") || die "no RESULT from the load generator (log: $out)"
  acked=$(sed -E 's/.*ok_samples=([0-9]+).*/\1/' <<<"$result")
  local load_s
  load_s=$(sed -E 's/.* seconds=([0-9.]+).*/\1/' <<<"$result")
  # VictoriaMetrics buffers recent rows in memory; a clean stop writes them, but flush first
  # so that the stop times the same work as the others' (closing, not flushing a buffer).
  [[ $system != victoriametrics ]] || "${UTIL[@]}" get "$base/internal/force_flush" 60 || true
  local before
  before=$(held "$base")
  stop_server "$PID"
  local stop_s=$STOP_S
  mib=$(du -sm "$dir" | cut -f1)

  log "$system: starting again after SIGTERM"
  start "$system" "$dir" "$port" "$logf"
  wait_ready "$logf"
  local ready=$READY_S rss after
  rss=$(status_mb "$PID" VmRSS)
  after=$(held "$base")
  local kready="-" krss="-" kafter="-"
  if ((KILL)); then
    kill_server "$PID"
    log "$system: starting again after SIGKILL"
    start "$system" "$dir" "$port" "$logf"
    wait_ready "$logf"
    kready=$READY_S
    krss=$(status_mb "$PID" VmRSS)
    kafter=$(held "$base")
  fi
  stop_server "$PID"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s / %s |\n' \
    "$system" "$SERIES" "$HOURS h / ${INTERVAL}s" "$acked" "$load_s" "$before" "$stop_s" "$mib" \
    "$ready" "$rss" "$after" "$kready" "$krss" "$kafter"
  ((KEEP)) || rm -rf "$dir" "$dir.yml"
}

mkdir -p "$WORKDIR/logs" "$WORKDIR/data"
log "$("$BONGSU" --version 2>/dev/null | head -1); base: ${BONGSU_BASE:-none}; $(peer_version prometheus); $(peer_version victoria-metrics); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| system | series | data | samples acked | load s | series held | stop s | data MiB | ready after SIGTERM s | RSS MiB / series held | ready after SIGKILL s | RSS MiB / series held |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
IFS=, read -ra SYSTEMS <<<"$ONLY"
for system in "${SYSTEMS[@]}"; do
  case $system in
    bongsu) run_one bongsu ;;
    bongsu-base) [[ -z ${BONGSU_BASE:-} ]] || run_one bongsu-base ;;
    prometheus | victoriametrics)
      command -v "${system/victoriametrics/victoria-metrics}" >/dev/null ||
        { log "$system not found: skipped"; continue; }
      run_one "$system" ;;
    *) die "unknown system: $system" ;;
  esac
done
