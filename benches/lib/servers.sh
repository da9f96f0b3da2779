# shellcheck shell=bash disable=SC2034  # the variables set here are the callers' outputs
# Shell functions shared by the benches that import a data set into bongsu, Prometheus and
# VictoriaMetrics and serve it (storage_compare.sh, query_compare.sh); scrape_load.sh uses the
# logging and process functions. Source it after setting:
#
#   UTIL     the bench_util.py command line, as an array: (python3 .../bench_util.py)
#   TIMEOUT  bound in seconds for every wait (server readiness, VictoriaMetrics merges)
#   RUN      the run's output directory (logs, configs, served copies)
#   STOP_TIMEOUT  optional: seconds each server gets to stop on exit (default 10)
#
# Every process started with start_server is stopped on exit (trap installed here).

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

PIDS=()
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < ${STOP_TIMEOUT:-10} * 10; i++)); do # bounded wait for a clean shutdown
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server LOGFILE CMD... : start CMD in the background; its pid lands in $SERVER_PID
start_server() {
  local logfile=$1; shift
  "$@" >"$logfile" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}

# stop_server PID : TERM, then KILL after 10 s; forget the pid (it may be reused later)
stop_server() {
  local pid=$1 i p keep=()
  for p in "${PIDS[@]}"; do
    [[ $p == "$pid" ]] || keep+=("$p")
  done
  PIDS=("${keep[@]}")
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_ready URL PID NAME LOGFILE : bounded wait for URL to answer 2xx
wait_ready() {
  "${UTIL[@]}" wait-http "$1" "$TIMEOUT" "$2" || {
    tail -n 20 "$4" >&2 || true
    die "$3 did not become ready (log: $4)"
  }
}

# timed NAME CMD... : run CMD with stdout+stderr to $RUN/NAME.log; sets T_WALL (seconds)
# and T_CPU (user+sys of CMD and its children, "-" without /usr/bin/time)
timed() {
  local name=$1; shift
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$RUN/$name.time" "$@" >"$RUN/$name.log" 2>&1 || rc=$?
  else
    "$@" >"$RUN/$name.log" 2>&1 || rc=$?
  fi
  t1=$(date +%s.%N)
  T_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  T_CPU="-"
  if [[ -x /usr/bin/time && -s "$RUN/$name.time" ]]; then
    T_CPU=$("${UTIL[@]}" timev "$RUN/$name.time" | cut -d' ' -f1) || T_CPU="-"
  fi
  if ((rc != 0)); then
    tail -n 20 "$RUN/$name.log" >&2 || true
    die "$name failed with exit status $rc (log: $RUN/$name.log)"
  fi
}

# use_peers (install.sh's Prometheus 3.5, VictoriaMetrics 1.145, ... first on PATH) and
# peer_version CMD (the version a binary reports)
# shellcheck source=SCRIPTDIR/peers.sh
source "$(dirname "${BASH_SOURCE[0]}")/peers.sh"

# find_generator REPO_DIR : sets GEN to gen_node_dataset.py (unless GEN is already set)
find_generator() {
  local g
  [[ -z ${GEN:-} ]] || return 0
  for g in "$1/benches/gen_node_dataset.py" "$1/../shared/bench/gen_node_dataset.py" \
           /work/shared/bench/gen_node_dataset.py; do
    if [[ -f $g ]]; then GEN=$g; return 0; fi
  done
}

# vm_import_blocks PROM_BLOCKS VM_DIR EXPECTED_SAMPLES [ATTEMPTS] : start victoria-metrics on
# a free port with VM_DIR as storage and load promtool's blocks into it with vmctl. vmctl 1.79
# sometimes dropped the last few series it read (it reported the lower "total samples"
# itself); then the import is redone from scratch, up to ATTEMPTS (default 3) times.
# Sets VM_URL, VM_PID, VM_ATTEMPT, VMCTL_SAMPLES, VM_CPU0 (server CPU s before the load) and
# T_WALL / T_CPU of the last vmctl run.
vm_import_blocks() {
  local blocks=$1 dir=$2 expected=$3 attempts=${4:-3} port cmd=()
  for ((VM_ATTEMPT = 1; VM_ATTEMPT <= attempts; VM_ATTEMPT++)); do
    rm -rf "$dir"
    port=$("${UTIL[@]}" freeport)
    VM_URL=http://127.0.0.1:$port
    log "victoriametrics: starting on 127.0.0.1:$port (import attempt $VM_ATTEMPT/$attempts)"
    # -retentionPeriod=100y: the data set lies in 2023, far outside the default 1 month.
    # -search.disableCache: recommended by VictoriaMetrics when backfilling, and it keeps
    # the query benchmark from timing cached answers.
    start_server "$RUN/victoria-metrics.log" "$VMSERVER" \
      -storageDataPath="$dir" -httpListenAddr="127.0.0.1:$port" \
      -retentionPeriod=100y -search.disableCache
    VM_PID=$SERVER_PID
    wait_ready "$VM_URL/health" "$VM_PID" victoria-metrics "$RUN/victoria-metrics.log"
    VM_CPU0=$("${UTIL[@]}" metric "$VM_URL" process_cpu_seconds_total)

    # -s: no confirmation prompt. vmctl 1.145 runs without a terminal (1.79 wanted one for
    # its progress bars; the flag is --disable-progress-bar now, --vm-disable-progress-bar then).
    cmd=("$VMCTL" prometheus -s --prom-snapshot="$blocks" \
      --vm-addr="$VM_URL" --vm-concurrency=1 --disable-progress-bar)
    log "victoriametrics: ${cmd[*]}"
    timed vmctl "${cmd[@]}" </dev/null
    VMCTL_SAMPLES=$(awk '/total samples:/ { gsub(";", "", $3); print $3 }' "$RUN/vmctl.log")
    log "victoriametrics: vmctl sent ${VMCTL_SAMPLES:-?} of $expected samples"
    [[ $VMCTL_SAMPLES != "$expected" && $VM_ATTEMPT -lt $attempts ]] || break
    stop_server "$VM_PID"
  done
}

# vm_settle VM_DIR : wait until VictoriaMetrics at $VM_URL runs no merge, has nothing pending,
# holds no in-memory part (1.145 keeps /internal/force_flush's parts in memory for several
# seconds before it writes them: a size taken earlier misses them) and VM_DIR's size stayed
# the same for 3 polls in a row
vm_settle() {
  local dir=$1 stable=0 last=-1 cur merges pending inmemory deadline=$((SECONDS + TIMEOUT))
  while ((stable < 3)); do
    ((SECONDS < deadline)) || die "victoriametrics did not settle within ${TIMEOUT}s"
    sleep 1
    merges=$("${UTIL[@]}" metric "$VM_URL" vm_active_merges)
    pending=$("${UTIL[@]}" metric "$VM_URL" vm_pending_rows)
    inmemory=$(curl -sf --max-time 30 "$VM_URL/metrics" |
      awk '/^vm_parts\{type="[^"]*inmemory"\}/ { n += $2 } END { print n + 0 }')
    cur=$("${UTIL[@]}" size "$dir")
    if [[ $merges == 0.0 && $pending == 0.0 && $inmemory == 0 && $cur == "$last" ]]; then
      stable=$((stable + 1))
    else
      stable=0
    fi
    last=$cur
  done
}

# serve_prometheus BLOCKS : serve a copy of promtool's BLOCKS (Prometheus adds a WAL and may
# compact; the measured blocks stay as promtool wrote them) on a free port, no scrape targets.
# Sets PROM_URL and PROM_PID.
serve_prometheus() {
  local port
  cp -a "$1" "$RUN/prometheus-server-data"
  cat >"$RUN/prometheus.yml" <<'YAML'
# no scrape targets: this Prometheus only serves the imported blocks
global:
  scrape_interval: 1h
scrape_configs: []
YAML
  port=$("${UTIL[@]}" freeport)
  PROM_URL=http://127.0.0.1:$port
  log "prometheus: serving the blocks on 127.0.0.1:$port"
  start_server "$RUN/prometheus.log" "$PROMETHEUS" \
    --config.file="$RUN/prometheus.yml" \
    --storage.tsdb.path="$RUN/prometheus-server-data" \
    --storage.tsdb.retention.time=100y \
    --web.listen-address="127.0.0.1:$port" \
    --query.max-samples=1000000000
  PROM_PID=$SERVER_PID
  wait_ready "$PROM_URL/-/ready" "$PROM_PID" prometheus "$RUN/prometheus.log"
}

# serve_bongsu DIR : serve bongsu's imported DIR on a free port. Sets BONGSU_URL, BONGSU_PID.
serve_bongsu() {
  local port
  port=$("${UTIL[@]}" freeport)
  BONGSU_URL=http://127.0.0.1:$port
  log "bongsu: serving $1 on 127.0.0.1:$port"
  start_server "$RUN/bongsu.log" "$BONGSU" \
    --storage.tsdb.path "$1" \
    --storage.tsdb.retention.time 100y \
    --web.listen-address "127.0.0.1:$port"
  BONGSU_PID=$SERVER_PID
  wait_ready "$BONGSU_URL/-/ready" "$BONGSU_PID" bongsu "$RUN/bongsu.log"
}
