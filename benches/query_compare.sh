#!/usr/bin/env bash
# PromQL answers and speed: bongsu vs Prometheus (and VictoriaMetrics) on the same data.
#
# One node_exporter-shaped data set (gen_node_dataset.py) plus a classic histogram family
# (lib/gen_histograms.py) is imported into Prometheus (promtool create-blocks-from
# openmetrics), bongsu (bongsu import openmetrics) and, in bench mode, VictoriaMetrics (vmctl
# from promtool's blocks). Then lib/query_compare.py sends the query files through their HTTP
# APIs:
#
#   --mode diff   every query as instant and range query on Prometheus and bongsu; the
#                 answers must be equal (labels exactly, floats within 1e-6 relative).
#                 Queries listed in the known-mismatch file may differ (reported, not fatal).
#   --mode bench  every query as range query on all servers; median wall time per query.
#
# See benches/README.md for the figures and how to reproduce them.
# Exit status: 0 all good; 1 a tool failed or bad usage; 2 unexpected mismatches (diff mode).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benches/query_compare.sh [options]

  --mode diff|bench   differential check (default) or timing
  --workdir DIR       work directory (default: ${TMPDIR:-/tmp}/bongsu-query-compare); the data
                      set and promtool's blocks are cached in DIR/data, each run's output
                      (logs, served copies, summaries) goes to DIR/run
  --hosts N           simulated hosts in the data set (default 20)
  --hours H           hours of data (default 2)
  --histogram-hosts N hosts in the histogram family (default: --hosts); e.g. 2000 makes
                      112,000 histogram series for the 100k-series queries/wide.promql
  --queries FILE      query file (repeatable; default: diff: queries/diff.promql and
                      queries/dashboard.promql, bench: queries/dashboard.promql)
  --known FILE        known-mismatch list for diff mode (default queries/known_mismatches.txt;
                      'none' for no list)
  --report-only       diff mode: report mismatches but exit 0
  --runs N            bench mode: timed runs per query and server (default 5)
  --step S            bench mode: range query step in seconds (default 15)
  --skip-victoriametrics   bench mode without VictoriaMetrics
  --timeout S         bound for every wait on a server (default 120)
  -h, --help          this text

environment:
  BONGSU   bongsu binary (default: <repo>/target/release/bongsu)
  GEN      data set generator (default: gen_node_dataset.py from the shared bench dir)
EOF
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
UTIL=(python3 "$SCRIPT_DIR/lib/bench_util.py")

MODE="diff"
WORKDIR="${TMPDIR:-/tmp}/bongsu-query-compare"
HOSTS=20
HOURS=2
HIST_HOSTS=""
QUERIES=()
KNOWN=$SCRIPT_DIR/queries/known_mismatches.txt
REPORT_ONLY=0
RUNS=5
STEP=15
SKIP_VM=0
TIMEOUT=120

while (($#)); do
  case "$1" in
    --mode) MODE=${2:?--mode needs a value}; shift 2 ;;
    --workdir) WORKDIR=${2:?--workdir needs a value}; shift 2 ;;
    --hosts) HOSTS=${2:?--hosts needs a value}; shift 2 ;;
    --hours) HOURS=${2:?--hours needs a value}; shift 2 ;;
    --histogram-hosts) HIST_HOSTS=${2:?--histogram-hosts needs a value}; shift 2 ;;
    --queries) QUERIES+=("${2:?--queries needs a value}"); shift 2 ;;
    --known) KNOWN=${2:?--known needs a value}; shift 2 ;;
    --report-only) REPORT_ONLY=1; shift ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --step) STEP=${2:?--step needs a value}; shift 2 ;;
    --skip-victoriametrics) SKIP_VM=1; shift ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done
[[ $MODE == diff || $MODE == bench ]] || { echo "--mode must be diff or bench" >&2; exit 1; }
if ((${#QUERIES[@]} == 0)); then
  if [[ $MODE == diff ]]; then
    QUERIES=("$SCRIPT_DIR/queries/diff.promql" "$SCRIPT_DIR/queries/dashboard.promql")
  else
    QUERIES=("$SCRIPT_DIR/queries/dashboard.promql")
  fi
fi
BONGSU=${BONGSU:-$REPO_DIR/target/release/bongsu}
HIST_HOSTS=${HIST_HOSTS:-$HOSTS}

# log, die, start_server (+ the exit trap), wait_ready, timed, serve_*, vm_import_blocks, ...
# shellcheck source-path=SCRIPTDIR source=lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"

# The peers: Prometheus 3.5 and VictoriaMetrics 1.145 from shared/peers/install.sh.
use_peers
PROMTOOL=$(command -v promtool || true)
PROMETHEUS=$(command -v prometheus || true)
VMSERVER=$(command -v victoria-metrics || true)
VMCTL=$(command -v vmctl || true)
[[ -n $PROMTOOL && -n $PROMETHEUS ]] || die "promtool/prometheus not found in $PEERS_BIN"
[[ -x $BONGSU ]] || die "no bongsu executable at $BONGSU (cargo build --release, or set BONGSU=...)"
HAVE_VM=0
if [[ $MODE == bench ]] && ((!SKIP_VM)); then
  if [[ -n $VMSERVER && -n $VMCTL ]]; then
    HAVE_VM=1
  else
    log "SKIP victoriametrics: victoria-metrics/vmctl not found in $PEERS_BIN"
  fi
fi

mkdir -p "$WORKDIR/data"
WORKDIR=$(cd "$WORKDIR" && pwd)
RUN=$WORKDIR/run
rm -rf "$RUN"
mkdir -p "$RUN"

# ---------------------------------------------------------------------------------------
# Data set: the node data with the histogram family appended before its "# EOF"; cached
# together with its counts and promtool's blocks.
# ---------------------------------------------------------------------------------------
find_generator "$REPO_DIR"
DATA=$WORKDIR/data/node-h${HOSTS}-${HOURS}h-hist${HIST_HOSTS}.om
PROM_BLOCKS=$WORKDIR/data/node-h${HOSTS}-${HOURS}h-hist${HIST_HOSTS}.promblocks
if [[ ! -s $DATA ]]; then
  [[ -n ${GEN:-} && -f $GEN ]] || die "data set generator not found (set GEN=/path/to/gen_node_dataset.py)"
  log "generating data set: $GEN --hosts $HOSTS --hours $HOURS + lib/gen_histograms.py --hosts $HIST_HOSTS > $DATA"
  {
    python3 "$GEN" --hosts "$HOSTS" --hours "$HOURS" | sed '/^# EOF$/d'
    python3 "$SCRIPT_DIR/lib/gen_histograms.py" --hosts "$HIST_HOSTS" --hours "$HOURS"
    echo '# EOF'
  } >"$DATA.tmp"
  mv "$DATA.tmp" "$DATA"
  rm -rf "$DATA.counts" "$PROM_BLOCKS"
else
  log "using cached data set $DATA"
fi
[[ -s $DATA.counts ]] || "${UTIL[@]}" count-file "$DATA" >"$DATA.counts"
read -r EXP_SERIES EXP_SAMPLES <"$DATA.counts"
log "data set: $EXP_SERIES series, $EXP_SAMPLES samples"

if [[ ! -d $PROM_BLOCKS ]]; then
  log "prometheus: $(peer_version promtool): promtool tsdb create-blocks-from openmetrics"
  timed promtool "$PROMTOOL" tsdb create-blocks-from openmetrics "$DATA" "$PROM_BLOCKS.tmp"
  mv "$PROM_BLOCKS.tmp" "$PROM_BLOCKS"
fi
START_TIME=$("${UTIL[@]}" block-start "$PROM_BLOCKS")
END_TIME=$("${UTIL[@]}" block-end "$PROM_BLOCKS")
log "data from $START_TIME to $END_TIME"

log "bongsu: $BONGSU import openmetrics"
timed bongsu-import "$BONGSU" import openmetrics "$DATA" --storage.tsdb.path "$RUN/bongsu-data"

# ---------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------
log "peers: $(peer_version prometheus), $(peer_version promtool)"
serve_prometheus "$PROM_BLOCKS"
serve_bongsu "$RUN/bongsu-data"
TARGETS=(--target "prometheus=$PROM_URL@$PROM_PID")
if ((HAVE_VM)); then
  log "victoriametrics: $(peer_version victoria-metrics), $(peer_version vmctl)"
  vm_import_blocks "$PROM_BLOCKS" "$RUN/victoriametrics-data" "$EXP_SAMPLES"
  [[ $VMCTL_SAMPLES == "$EXP_SAMPLES" ]] ||
    log "WARNING: victoriametrics holds ${VMCTL_SAMPLES:-?} of $EXP_SAMPLES samples (vmctl dropped some)"
  "${UTIL[@]}" get "$VM_URL/internal/force_flush" 60
  vm_settle "$RUN/victoriametrics-data"
  TARGETS+=(--target "victoriametrics=$VM_URL@$VM_PID")
fi
TARGETS+=(--target "bongsu=$BONGSU_URL@$BONGSU_PID")

# ---------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------
QARGS=()
for q in "${QUERIES[@]}"; do QARGS+=(--queries "$q"); done
COMPARE=(python3 "$SCRIPT_DIR/lib/query_compare.py" "$MODE" "${TARGETS[@]}" "${QARGS[@]}"
  --start "$START_TIME" --end "$END_TIME")
if [[ $MODE == diff ]]; then
  [[ $KNOWN == none ]] || COMPARE+=(--known "$KNOWN")
  ((!REPORT_ONLY)) || COMPARE+=(--report-only)
  rc=0
  "${COMPARE[@]}" --summary "$RUN/diff-summary.tsv" || rc=$?
  log "per-query summary: $RUN/diff-summary.tsv, server logs: $RUN"
  ((rc == 0)) || { log "differential check FAILED: unexpected mismatches"; exit 2; }
else
  log "bench: $RUNS runs per query, range over the data's span, step ${STEP}s; load: $(uptime)"
  "${COMPARE[@]}" --runs "$RUNS" --step "$STEP" --summary "$RUN/bench.md"
  log "load after: $(uptime); table: $RUN/bench.md"
fi
