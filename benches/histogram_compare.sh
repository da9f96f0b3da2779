#!/usr/bin/env bash
# Native histograms: bongsu vs Prometheus 3.5 on the same data, answers and speed.
#
# lib/push_histograms.py remote-writes the same request-latency data (native histograms and
# the same observations as a classic histogram, samples every 15 s ending now) to a fresh
# Prometheus (--web.enable-remote-write-receiver --enable-feature=native-histograms) and a
# fresh bongsu (no scrape jobs). Then lib/query_compare.py sends query files to both:
#
#   --mode diff   queries/histograms.promql as instant and range queries on both; answers must
#                 be equal (labels exactly, floats and histogram counts, sums and buckets within
#                 1e-6 relative), except the known mismatches of queries/histograms_known.txt.
#   --mode bench  queries/histograms_quantile.promql (histogram_quantile over native vs classic)
#                 as range queries on both; median wall time per query.
#
# Exit status: 0 all good; 1 a tool failed or bad usage; 2 unexpected mismatches (diff mode).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benches/histogram_compare.sh [options]

  --mode diff|bench   differential check (default) or timing
  --workdir DIR       work directory (default: ${TMPDIR:-/tmp}/bongsu-histogram-compare)
  --hosts N           simulated hosts, 4 histogram series each (default 10)
  --hours H           hours of data (default 2)
  --queries FILE      query file (default: by mode, see above)
  --runs N            bench mode: timed runs per query and server (default 5)
  --step S            bench mode: range query step in seconds (default 15)
  --timeout S         bound for every wait on a server (default 120)
  -h, --help          this text

environment:
  BONGSU              bongsu binary (default: <repo>/target/release/bongsu)
EOF
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
UTIL=(python3 "$SCRIPT_DIR/lib/bench_util.py")
MODE="diff"
WORKDIR=${TMPDIR:-/tmp}/bongsu-histogram-compare
HOSTS=10
HOURS=2
QUERIES=()
RUNS=5
STEP=15
TIMEOUT=120

while (($#)); do
  case "$1" in
    --mode) MODE=${2:?--mode needs a value}; shift 2 ;;
    --workdir) WORKDIR=${2:?--workdir needs a value}; shift 2 ;;
    --hosts) HOSTS=${2:?--hosts needs a value}; shift 2 ;;
    --hours) HOURS=${2:?--hours needs a value}; shift 2 ;;
    --queries) QUERIES+=("${2:?--queries needs a value}"); shift 2 ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --step) STEP=${2:?--step needs a value}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done
[[ $MODE == diff || $MODE == bench ]] || { echo "--mode must be diff or bench" >&2; exit 1; }
if ((${#QUERIES[@]} == 0)); then
  if [[ $MODE == diff ]]; then
    QUERIES=("$SCRIPT_DIR/queries/histograms.promql")
  else
    QUERIES=("$SCRIPT_DIR/queries/histograms_quantile.promql")
  fi
fi
BONGSU=${BONGSU:-$REPO_DIR/target/release/bongsu}

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
RUN=$WORKDIR/run
rm -rf "$RUN"
mkdir -p "$RUN"

# log, die, start_server (+ the exit trap), wait_ready; use_peers (lib/peers.sh)
# shellcheck source-path=SCRIPTDIR source=lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"
use_peers
PROMETHEUS=$(command -v prometheus || true)
[[ -n $PROMETHEUS ]] || die "prometheus not found in $PEERS_BIN"
[[ -x $BONGSU ]] || die "no bongsu executable at $BONGSU (cargo build --release, or set BONGSU=...)"

cat >"$RUN/empty.yml" <<'YAML'
# no scrape targets: the data comes by remote write only
global:
  scrape_interval: 1h
scrape_configs: []
YAML

port=$("${UTIL[@]}" freeport)
PROM_URL=http://127.0.0.1:$port
start_server "$RUN/prometheus.log" "$PROMETHEUS" --config.file="$RUN/empty.yml" \
  --storage.tsdb.path="$RUN/prometheus-data" --web.listen-address="127.0.0.1:$port" \
  --web.enable-remote-write-receiver --enable-feature=native-histograms \
  --query.max-samples=1000000000
PROM_PID=$SERVER_PID
wait_ready "$PROM_URL/-/ready" "$PROM_PID" prometheus "$RUN/prometheus.log"

port=$("${UTIL[@]}" freeport)
BONGSU_URL=http://127.0.0.1:$port
start_server "$RUN/bongsu.log" "$BONGSU" --config.file="$RUN/empty.yml" \
  --storage.tsdb.path="$RUN/bongsu-data" --web.listen-address="127.0.0.1:$port"
BONGSU_PID=$SERVER_PID
wait_ready "$BONGSU_URL/-/ready" "$BONGSU_PID" bongsu "$RUN/bongsu.log"

END_TIME=$(($(date +%s) / 15 * 15))
log "pushing $HOURS h of histograms for $HOSTS hosts to both (ending at $END_TIME)"
python3 "$SCRIPT_DIR/lib/push_histograms.py" --url "$PROM_URL/api/v1/write" \
  --url "$BONGSU_URL/api/v1/write" --hosts "$HOSTS" --hours "$HOURS" --end "$END_TIME" |
  tee "$RUN/push.log"
START_TIME=$(python3 -c "print($END_TIME - int($HOURS * 3600) + 15)")

QARGS=()
for q in "${QUERIES[@]}"; do QARGS+=(--queries "$q"); done
COMPARE=(python3 "$SCRIPT_DIR/lib/query_compare.py" "$MODE"
  --target "prometheus=$PROM_URL@$PROM_PID" --target "bongsu=$BONGSU_URL@$BONGSU_PID"
  "${QARGS[@]}" --start "$START_TIME" --end "$END_TIME")
if [[ $MODE == diff ]]; then
  rc=0
  COMPARE+=(--known "$SCRIPT_DIR/queries/histograms_known.txt")
  "${COMPARE[@]}" --summary "$RUN/diff-summary.tsv" || rc=$?
  log "per-query summary: $RUN/diff-summary.tsv, server logs: $RUN"
  ((rc == 0)) || { log "differential check FAILED"; exit 2; }
else
  log "bench: $RUNS runs per query, range over the data's span, step ${STEP}s; load: $(uptime)"
  "${COMPARE[@]}" --runs "$RUNS" --step "$STEP" --summary "$RUN/bench.md"
  log "load after: $(uptime); table: $RUN/bench.md"
fi
