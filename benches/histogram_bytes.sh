#!/usr/bin/env bash
# Bytes per native histogram sample: Prometheus 3.5's chunks next to bongsu's, on the same data,
# and a byte-for-byte check of bongsu's histogram chunk encoders against Prometheus' chunks.
#
# lib/push_histograms.py remote-writes request-latency native histograms (schema 3, integer
# counts, a sample every 15 s ending now) to a fresh Prometheus 3.5
# (--web.enable-remote-write-receiver --enable-feature=native-histograms --web.enable-admin-api).
# A TSDB snapshot then writes Prometheus' head, chunks as the head cut them, into a block.
# The example `prom_histogram_chunks` (crates/tsdb/examples) reads that block's chunk files:
#   - every histogram chunk is decoded and re-encoded by bongsu's encoder; the bytes must be
#     equal but for the counter-reset header bits (exit status 2 otherwise);
#   - bytes per histogram sample of Prometheus' chunk data, and of a bongsu block written from
#     the same samples (bongsu cuts block chunks at 2 h windows and 1,024 histograms, so its
#     chunks are longer than the head's ~1 KiB chunks).
#
# No bongsu server is needed: ingestion by remote write is measured elsewhere
# (histogram_compare.sh); this measures the storage format.
#
# Exit status: 0 good; 1 a tool failed or bad usage; 2 a chunk is not encoded byte for byte.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: benches/histogram_bytes.sh [options]

  --workdir DIR   work directory (default: ${TMPDIR:-/tmp}/bongsu-histogram-bytes)
  --hosts N       simulated hosts, 4 histogram series each (default 10)
  --hours H       hours of data (default 2)
  --timeout S     bound for every wait on a server (default 120)
  --all-kinds     also push float, gauge and custom-bucket histograms
                  (lib/push_float_histograms.py): checks those chunk encodings byte for
                  byte too, but mixes them into the bytes-per-sample figures
  -h, --help      this text

environment:
  CHECKER   the prom_histogram_chunks example binary (default: built with
            `cargo build -p bongsu-tsdb --example prom_histogram_chunks`)
EOF
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
UTIL=(python3 "$SCRIPT_DIR/lib/bench_util.py")
WORKDIR=${TMPDIR:-/tmp}/bongsu-histogram-bytes
HOSTS=10
HOURS=2
CHECK_KINDS=0
TIMEOUT=120 # read by lib/servers.sh (wait_ready)
export TIMEOUT

while (($#)); do
  case "$1" in
    --workdir) WORKDIR=${2:?--workdir needs a value}; shift 2 ;;
    --hosts) HOSTS=${2:?--hosts needs a value}; shift 2 ;;
    --hours) HOURS=${2:?--hours needs a value}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    --all-kinds) CHECK_KINDS=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done

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

if [[ -z ${CHECKER:-} ]]; then
  log "building the prom_histogram_chunks example"
  (cd "$REPO_DIR" && cargo build -q -p bongsu-tsdb --example prom_histogram_chunks) ||
    die "cannot build the checker"
  CHECKER=$REPO_DIR/target/debug/examples/prom_histogram_chunks
fi
[[ -x $CHECKER ]] || die "no checker at $CHECKER"

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
  --web.enable-admin-api
PROM_PID=$SERVER_PID
wait_ready "$PROM_URL/-/ready" "$PROM_PID" prometheus "$RUN/prometheus.log"
log "prometheus: $(peer_version prometheus)"

END_TIME=$(($(date +%s) / 15 * 15))
log "pushing $HOURS h of histograms for $HOSTS hosts (ending at $END_TIME)"
python3 "$SCRIPT_DIR/lib/push_histograms.py" --url "$PROM_URL/api/v1/write" \
  --hosts "$HOSTS" --hours "$HOURS" --end "$END_TIME" | tee "$RUN/push.log"
if ((CHECK_KINDS)); then
  log "pushing float, gauge and custom-bucket histograms (chunk check only)"
  # Within the last hour: Prometheus refuses samples older than half a block range before
  # its newest one.
  python3 "$SCRIPT_DIR/lib/push_float_histograms.py" --url "$PROM_URL/api/v1/write" \
    --hours 0.9 --end "$END_TIME" | tee -a "$RUN/push.log"
fi

log "snapshot of Prometheus' head"
curl -fsS -X POST "$PROM_URL/api/v1/admin/tsdb/snapshot" >"$RUN/snapshot.json" ||
  die "snapshot failed (log: $RUN/prometheus.log)"
mapfile -t FILES < <(find "$RUN/prometheus-data/snapshots" -path '*/chunks/*' -type f | sort)
((${#FILES[@]} > 0)) || die "the snapshot holds no chunk files"

rc=0
"$CHECKER" --bongsu-block "$RUN/bongsu-block" "${FILES[@]}" | tee "$RUN/result.txt" || rc=$?
if ((rc != 0)); then
  log "histogram chunks differ from Prometheus' (see above); files: ${FILES[*]}"
  exit 2
fi
log "result: $RUN/result.txt"
