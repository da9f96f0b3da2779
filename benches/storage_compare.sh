#!/usr/bin/env bash
# Side-by-side storage benchmark: bongsu vs Prometheus vs VictoriaMetrics.
#
# One node_exporter-shaped OpenMetrics data set is imported into each system and the
# on-disk size is reported as bytes per sample, together with import wall/CPU time, and
# a losslessness check that queries the imported data back through the Prometheus HTTP API
# of each server. See benches/README.md for the measured figures and how to reproduce them.
#
#   1. Prometheus:      promtool tsdb create-blocks-from openmetrics DATA OUT
#   2. VictoriaMetrics: victoria-metrics on 127.0.0.1, fed by
#                       vmctl prometheus --prom-snapshot=OUT (the blocks made in step 1)
#   3. bongsu:          $BONGSU import openmetrics DATA --storage.tsdb.path DIR
#
# The peers are Prometheus 3.5 and VictoriaMetrics 1.145 from shared/peers/install.sh (run
# here; it unpacks them once into ~/.cache/bongsu-peers, idempotent afterwards).
#
# Exit status: 0 all good; 1 a tool failed (or bad usage); 2 the losslessness check failed
# (bongsu differs from Prometheus, or Prometheus differs from the data set's own counts).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benches/storage_compare.sh [options]

  --workdir DIR   work directory (default: ${TMPDIR:-/tmp}/bongsu-storage-bench); the
                  generated data set is cached in DIR/data, each run's output goes to DIR/run
  --hosts N       simulated hosts in the data set (default 20)
  --hours H       hours of data (default 2)
  --install       apt-get install -y time (Debian's GNU time, for import CPU times); the
                  peers themselves always come from shared/peers/install.sh
  --repeat N      run the promtool and bongsu imports N times, report the fastest (default 1)
  --timeout S     bound for every wait: server readiness, VictoriaMetrics merges (default 120)
  --skip-victoriametrics   compare bongsu with Prometheus only (CI's interop tier)
  --require-bongsu         fail instead of skipping when the bongsu binary is missing
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/release/bongsu; skipped if absent)
  GEN             data set generator (default: gen_node_dataset.py from the shared bench dir)
EOF
}

# ---------------------------------------------------------------------------------------
# Options and paths
# ---------------------------------------------------------------------------------------
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
UTIL=(python3 "$SCRIPT_DIR/lib/bench_util.py")

WORKDIR="${TMPDIR:-/tmp}/bongsu-storage-bench"
HOSTS=20
HOURS=2
INSTALL=0
TIMEOUT=120
REPEAT=1
SKIP_VM=0
REQUIRE_BONGSU=0

while (($#)); do
  case "$1" in
    --workdir) WORKDIR=${2:?--workdir needs a value}; shift 2 ;;
    --hosts) HOSTS=${2:?--hosts needs a value}; shift 2 ;;
    --hours) HOURS=${2:?--hours needs a value}; shift 2 ;;
    --repeat) REPEAT=${2:?--repeat needs a value}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    --install) INSTALL=1; shift ;;
    --skip-victoriametrics) SKIP_VM=1; shift ;;
    --require-bongsu) REQUIRE_BONGSU=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done

BONGSU=${BONGSU:-$REPO_DIR/target/release/bongsu}

# log, die, start_server/stop_server (+ the exit trap), wait_ready, timed, use_peers, ...
# shellcheck source-path=SCRIPTDIR source=lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"

# timed_best N OUTDIR NAME CMD... : `timed` N times (OUTDIR removed before each run);
# leaves the fastest run's T_WALL and T_CPU (imports are noisy on a shared 2-core machine)
timed_best() {
  local n=$1 outdir=$2 name=$3 r best_wall="" best_cpu=""
  shift 3
  for ((r = 1; r <= n; r++)); do
    rm -rf "$outdir"
    timed "$name" "$@"
    ((n == 1)) || log "$name: run $r/$n: wall $T_WALL s, CPU $T_CPU s"
    if [[ -z $best_wall ]] || awk -v a="$T_WALL" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
      best_wall=$T_WALL best_cpu=$T_CPU
    fi
  done
  T_WALL=$best_wall T_CPU=$best_cpu
}

# div A B [FMT] : A / B for non-empty numeric arguments, "-" otherwise
div() {
  awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN {
    if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-"; else printf f "\n", a / b }'
}

# ---------------------------------------------------------------------------------------
# Peers: shared/peers/install.sh's bin/ first on PATH; GNU time optionally from apt-get
# ---------------------------------------------------------------------------------------
if ((INSTALL)) && [[ ! -x /usr/bin/time ]]; then
  log "installing GNU time: apt-get update && apt-get install -y time"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y time
fi
use_peers

PROMTOOL=$(command -v promtool || true)
PROMETHEUS=$(command -v prometheus || true)
VMSERVER=$(command -v victoria-metrics || true)
VMCTL=$(command -v vmctl || true)

HAVE_PROM=0 HAVE_VM=0 HAVE_BONGSU=0
if [[ -n $PROMTOOL && -n $PROMETHEUS ]]; then
  HAVE_PROM=1
else
  log "SKIP prometheus: promtool/prometheus not found in $PEERS_BIN"
fi
if ((SKIP_VM)); then
  log "SKIP victoriametrics: --skip-victoriametrics"
elif [[ -n $VMSERVER && -n $VMCTL ]]; then
  if ((HAVE_PROM)); then
    HAVE_VM=1
  else
    log "SKIP victoriametrics: it is loaded from promtool's blocks, and promtool is missing"
  fi
else
  log "SKIP victoriametrics: victoria-metrics/vmctl not found in $PEERS_BIN"
fi
if [[ -x $BONGSU ]]; then
  HAVE_BONGSU=1
elif ((REQUIRE_BONGSU)); then
  die "no bongsu executable at $BONGSU"
else
  log "SKIP bongsu: no executable at $BONGSU (build it with 'cargo build --release' or set BONGSU=...)"
fi
[[ -x /usr/bin/time ]] || log "note: /usr/bin/time missing (Debian package 'time'; or pass --install): import CPU time not measured"
((HAVE_PROM || HAVE_BONGSU)) || die "nothing to benchmark"

# ---------------------------------------------------------------------------------------
# Work directory and data set (cached across runs in $WORKDIR/data)
# ---------------------------------------------------------------------------------------
mkdir -p "$WORKDIR/data"
WORKDIR=$(cd "$WORKDIR" && pwd)
RUN=$WORKDIR/run
rm -rf "$RUN"
mkdir -p "$RUN"

find_generator "$REPO_DIR"

DATA=$WORKDIR/data/node-h${HOSTS}-${HOURS}h.om
if [[ ! -s $DATA ]]; then
  [[ -n ${GEN:-} && -f $GEN ]] || die "data set generator not found (set GEN=/path/to/gen_node_dataset.py)"
  log "generating data set: $GEN --hosts $HOSTS --hours $HOURS > $DATA"
  python3 "$GEN" --hosts "$HOSTS" --hours "$HOURS" >"$DATA.tmp"
  mv "$DATA.tmp" "$DATA"
  rm -f "$DATA.counts"
else
  log "using cached data set $DATA"
fi
if [[ ! -s $DATA.counts ]]; then
  log "counting series and samples in the data set"
  "${UTIL[@]}" count-file "$DATA" >"$DATA.counts"
fi
read -r EXP_SERIES EXP_SAMPLES <"$DATA.counts"
log "data set: $EXP_SERIES series, $EXP_SAMPLES samples, $(stat -c %s "$DATA") bytes"

# Per-system results, filled in below ("-" = not measured)
declare -A BYTES WALL CPU SERIES SAMPLES
for s in prometheus victoriametrics bongsu; do
  BYTES[$s]=- WALL[$s]=- CPU[$s]=- SERIES[$s]=- SAMPLES[$s]=-
done
NOTES=()
MISMATCH=0

# ---------------------------------------------------------------------------------------
# 1. Prometheus: promtool import
# ---------------------------------------------------------------------------------------
PROM_DIR=$RUN/prometheus-blocks
if ((HAVE_PROM)); then
  log "prometheus: $(peer_version prometheus), $(peer_version promtool)"
  log "prometheus: promtool tsdb create-blocks-from openmetrics (import)"
  timed_best "$REPEAT" "$PROM_DIR" promtool "$PROMTOOL" tsdb create-blocks-from openmetrics "$DATA" "$PROM_DIR"
  WALL[prometheus]=$T_WALL CPU[prometheus]=$T_CPU
  BYTES[prometheus]=$("${UTIL[@]}" size "$PROM_DIR")
  PROM_CHUNKS=$("${UTIL[@]}" size "$PROM_DIR" /chunks/)
  NOTES+=("prometheus: chunks only $PROM_CHUNKS bytes = $(div "$PROM_CHUNKS" "$EXP_SAMPLES") B/sample; index+meta $((BYTES[prometheus] - PROM_CHUNKS)) bytes")
  log "prometheus: ${BYTES[prometheus]} bytes in $T_WALL s"
fi

# The time at which every query is evaluated: the data set's last sample.
if ((HAVE_PROM)); then
  END_TIME=$("${UTIL[@]}" block-end "$PROM_DIR")
else
  # Without promtool's blocks, take the last sample's timestamp from the file itself.
  END_TIME=$(tail -n 2 "$DATA" | awk '!/^#/ { print $NF }' | tail -n1)
fi
# Range of the count_over_time and spot-check queries: the whole data set and then some.
QRANGE="$(awk -v h="$HOURS" 'BEGIN { printf "%d", int(h) + 1 }')h"
log "queries are evaluated at t=$END_TIME over [$QRANGE]"

# ---------------------------------------------------------------------------------------
# 2. VictoriaMetrics: server on a free loopback port, loaded with vmctl from promtool's blocks
# ---------------------------------------------------------------------------------------
VM_URL=""
if ((HAVE_VM)); then
  VM_DIR=$RUN/victoriametrics-data
  log "victoriametrics: $(peer_version victoria-metrics), $(peer_version vmctl)"
  vm_import_blocks "$PROM_DIR" "$VM_DIR" "$EXP_SAMPLES"
  [[ $VMCTL_SAMPLES == "$EXP_SAMPLES" ]] ||
    NOTES+=("victoriametrics: vmctl sent ${VMCTL_SAMPLES:-?} samples, the data set has $EXP_SAMPLES")
  ((VM_ATTEMPT == 1)) || NOTES+=("victoriametrics: import attempts needed: $VM_ATTEMPT (vmctl dropped samples)")

  # Flush in-memory parts to disk, then wait until no merge is running, nothing is pending
  # and the directory size stayed the same for 3 polls in a row.
  "${UTIL[@]}" get "$VM_URL/internal/force_flush" 60
  vm_settle "$VM_DIR"
  VM_CPU1=$("${UTIL[@]}" metric "$VM_URL" process_cpu_seconds_total)
  # import time = vmctl's wall time; CPU = vmctl's own + the server's during the import
  WALL[victoriametrics]=$T_WALL
  if [[ $T_CPU != "-" ]]; then
    CPU[victoriametrics]=$(awk -v a="$T_CPU" -v b="$VM_CPU0" -v c="$VM_CPU1" 'BEGIN { printf "%.2f", a + c - b }')
  fi
  BYTES[victoriametrics]=$("${UTIL[@]}" size "$VM_DIR")
  # VictoriaMetrics 1.145 keeps the index per partition under data/indexdb/ (1.79: indexdb/).
  VM_DATA=$(($("${UTIL[@]}" size "$VM_DIR" data/small/) + $("${UTIL[@]}" size "$VM_DIR" data/big/)))
  VM_INDEX=$("${UTIL[@]}" size "$VM_DIR" indexdb/)
  NOTES+=("victoriametrics: data/ $VM_DATA bytes = $(div "$VM_DATA" "$EXP_SAMPLES") B/sample, indexdb/ $VM_INDEX bytes")
  log "victoriametrics: ${BYTES[victoriametrics]} bytes after force_flush"
  SERIES[victoriametrics]=$("${UTIL[@]}" scalar "$VM_URL" 'count({__name__=~".+"})' "$END_TIME")
  SAMPLES[victoriametrics]=$("${UTIL[@]}" samples "$VM_URL" "$END_TIME" "$QRANGE")

  # For reference: the size after a forced full merge of the partition (not the headline figure)
  "${UTIL[@]}" get "$VM_URL/internal/force_merge" 600
  vm_settle "$VM_DIR"
  VM_MERGED=$("${UTIL[@]}" size "$VM_DIR")
  NOTES+=("victoriametrics: after /internal/force_merge $VM_MERGED bytes = $(div "$VM_MERGED" "$EXP_SAMPLES") B/sample")
fi

# ---------------------------------------------------------------------------------------
# 3. bongsu: import of the same file
# ---------------------------------------------------------------------------------------
BONGSU_DIR=$RUN/bongsu-data
if ((HAVE_BONGSU)); then
  log "bongsu: $BONGSU import openmetrics (import)"
  timed_best "$REPEAT" "$BONGSU_DIR" bongsu-import "$BONGSU" import openmetrics "$DATA" --storage.tsdb.path "$BONGSU_DIR"
  WALL[bongsu]=$T_WALL CPU[bongsu]=$T_CPU
  BYTES[bongsu]=$("${UTIL[@]}" size "$BONGSU_DIR")
  log "bongsu: ${BYTES[bongsu]} bytes in $T_WALL s"
fi

# ---------------------------------------------------------------------------------------
# 4. Losslessness: serve the imported data and query it back
# ---------------------------------------------------------------------------------------
PROM_URL="" BONGSU_URL=""
if ((HAVE_PROM)); then
  serve_prometheus "$PROM_DIR"
  SERIES[prometheus]=$("${UTIL[@]}" scalar "$PROM_URL" 'count({__name__=~".+"})' "$END_TIME")
  SAMPLES[prometheus]=$("${UTIL[@]}" samples "$PROM_URL" "$END_TIME" "$QRANGE")
  if [[ ${SERIES[prometheus]} != "$EXP_SERIES" || ${SAMPLES[prometheus]} != "$EXP_SAMPLES" ]]; then
    log "MISMATCH prometheus reports ${SERIES[prometheus]} series / ${SAMPLES[prometheus]} samples, the data set has $EXP_SERIES / $EXP_SAMPLES"
    MISMATCH=1
  fi
fi
if ((HAVE_BONGSU)); then
  serve_bongsu "$BONGSU_DIR"
  SERIES[bongsu]=$("${UTIL[@]}" scalar "$BONGSU_URL" 'count({__name__=~".+"})' "$END_TIME")
  SAMPLES[bongsu]=$("${UTIL[@]}" samples "$BONGSU_URL" "$END_TIME" "$QRANGE")
  if [[ ${SERIES[bongsu]} != "$EXP_SERIES" || ${SAMPLES[bongsu]} != "$EXP_SAMPLES" ]]; then
    log "MISMATCH bongsu reports ${SERIES[bongsu]} series / ${SAMPLES[bongsu]} samples, the data set has $EXP_SERIES / $EXP_SAMPLES"
    MISMATCH=1
  fi
fi

# Spot checks: the full raw matrix of a few selectors, compared value by value against
# Prometheus (bongsu: must be equal; VictoriaMetrics: reported only).
SPOT_SELECTORS=(
  'node_cpu_seconds_total{instance="host-0003:9100"}['"$QRANGE"']'
  'node_memory_MemAvailable_bytes['"$QRANGE"']'
  'node_filesystem_avail_bytes{instance="host-0011:9100"}['"$QRANGE"']'
  'go_gc_duration_seconds{instance="host-0000:9100"}['"$QRANGE"']'
  'promhttp_metric_handler_requests_total['"$QRANGE"']'
)
if [[ -n $PROM_URL ]]; then
  for sel in "${SPOT_SELECTORS[@]}"; do
    if [[ -n $BONGSU_URL ]]; then
      rc=0
      out=$("${UTIL[@]}" compare "$PROM_URL" "$BONGSU_URL" "$sel" "$END_TIME") || rc=$?
      ((rc <= 2)) || die "spot check failed: $sel"
      log "bongsu vs prometheus: $out"
      ((rc == 0)) || MISMATCH=1
    fi
    if [[ -n $VM_URL ]]; then
      out=$("${UTIL[@]}" compare "$PROM_URL" "$VM_URL" "$sel" "$END_TIME") || true
      log "victoriametrics vs prometheus: $out"
    fi
  done
fi

# ---------------------------------------------------------------------------------------
# 5. Report
# ---------------------------------------------------------------------------------------
RESULTS=$RUN/results.tsv
printf 'system\tbytes\tB/sample\timport_wall_s\timport_cpu_s\tseries\tsamples\n' >"$RESULTS"
for s in prometheus victoriametrics bongsu; do
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "${BYTES[$s]}" "$(div "${BYTES[$s]}" "$EXP_SAMPLES")" \
    "${WALL[$s]}" "${CPU[$s]}" "${SERIES[$s]}" "${SAMPLES[$s]}" >>"$RESULTS"
done

echo
echo "data set: $DATA"
echo "          $EXP_SERIES series, $EXP_SAMPLES samples (B/sample = bytes / $EXP_SAMPLES)"
echo
column -t -s $'\t' "$RESULTS" 2>/dev/null || cat "$RESULTS"
echo
for n in "${NOTES[@]}"; do echo "  $n"; done
echo "  victoriametrics import = vmctl reading promtool's blocks (not the text file); its CPU"
echo "  includes the server's; series/samples are what each server's query API reports at t=$END_TIME"
echo
bps() { div "${BYTES[$1]}" "$EXP_SAMPLES" "%.6f"; }
for peer in prometheus victoriametrics; do
  echo "bongsu/$peer: bytes $(div "$(bps bongsu)" "$(bps "$peer")")," \
    "import wall $(div "${WALL[bongsu]}" "${WALL[$peer]}")," \
    "import CPU $(div "${CPU[bongsu]}" "${CPU[$peer]}")"
done
echo "(results: $RESULTS, logs: $RUN)"

if ((MISMATCH)); then
  log "losslessness check FAILED"
  exit 2
fi
