#!/usr/bin/env bash
# File tailing into the local log store (`--logs.config.file`): lines/s and CPU-seconds per 1M
# lines from tailing `gen_logs.py --format raw` files (written before bongsu starts, so the
# tailer reads as fast as it can: poll, read, label, checkpointed append to the log WAL); then
# the same with a pipeline on every line (`json` extracting `level` and `method`, `labels`
# making them stream labels: what a JSON-logging fleet's promtail.yml does); then memory (RSS)
# of a bongsu tailing 1,000 files, next to the same bongsu without a --logs.config.file.
#
#   usage: benches/log_tailing.sh [--lines N] [--files N]
# Needs: a built bongsu ($BONGSU, default target/release/bongsu), python3, curl, and
# shared/bench/gen_logs.py (shared/ as benches/lib/peers.sh finds it: $BONGSU_SHARED, ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
BONGSU=${BONGSU:-target/release/bongsu}
LINES=1000000
FILES=1000
while [ $# -gt 0 ]; do
    case $1 in
        --lines) LINES=$2; shift 2 ;;
        --files) FILES=$2; shift 2 ;;
        *) echo "unknown argument $1"; exit 2 ;;
    esac
done
# shellcheck source=lib/peers.sh
source benches/lib/peers.sh
GEN=$(shared_dir)/bench/gen_logs.py
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clk=$(getconf CLK_TCK)
cpu_s() { awk -v t="$clk" '{print ($14+$15)/t}' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# start NAME [ARGS...]: bongsu on a fresh data dir, waits for /-/ready.
start() {
    local name=$1; shift
    PORT=$(free_port)
    echo 'scrape_configs: []' > "$WORK/quiet.yml"
    "$BONGSU" --storage.tsdb.path "$WORK/data-$name" --config.file "$WORK/quiet.yml" \
        --web.listen-address "127.0.0.1:$PORT" --logs.ingestion-rate-mb=0 "$@" \
        2> "$WORK/$name.log" &
    PID=$!
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && return 0; sleep 0.1; done
    echo "bongsu not ready:"; cat "$WORK/$name.log"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
# stored JOB: lines stored for job JOB (a metric query, so no entry limit applies).
stored() {
    curl -sfG "http://127.0.0.1:$PORT/loki/api/v1/query" \
        --data-urlencode "query=sum(count_over_time({job=\"$1\"}[1d]))" \
        --data-urlencode "time=$(( $(date +%s) + 60 ))" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'
}
# promtail_yml JOB GLOB [STAGES]: a promtail.yml tailing GLOB as job JOB, with the
# pipeline_stages list STAGES (YAML flow style) if given.
promtail_yml() {
    printf 'positions: {filename: %s}\nscrape_configs:\n  - job_name: %s\n    pipeline_stages: %s\n    static_configs:\n      - targets: [localhost]\n        labels: {job: %s, __path__: "%s"}\n' \
        "$WORK/$1-positions.yaml" "$1" "${3:-[]}" "$1" "$2" > "$WORK/$1.yml"
}
# tail_and_store JOB: times bongsu from its start until all $LINES lines of $WORK/JOB.yml are
# stored; prints lines/s and CPU-seconds per 1M lines.
tail_and_store() {
    # Timed from the start of the process (tailing starts before /-/ready answers), start-up included.
    local t0 t1 cpu1 n
    t0=$(date +%s.%N)
    start "$1" --logs.config.file "$WORK/$1.yml"
    while [ "$(stored "$1")" -lt "$LINES" ]; do sleep 0.2; done
    t1=$(date +%s.%N); cpu1=$(cpu_s "$PID")
    n=$(stored "$1")
    [ "$n" -eq "$LINES" ] || { echo "stored $n lines, want $LINES"; exit 1; }
    awk -v n="$LINES" -v b="$bytes" -v t0="$t0" -v t1="$t1" -v c1="$cpu1" 'BEGIN {
        el = t1 - t0
        printf "   %.1f s wall, %.0f lines/s, %.1f MiB/s, %.2f CPU-s per 1M lines (whole process: start-up, store, count queries)\n",
            el, n / el, b / el / 1048576, c1 / n * 1e6 }'
    echo "   RSS after: $(rss_mib "$PID") MiB"
    stop
}

echo "== generating $LINES lines (gen_logs.py --format raw)"
python3 "$GEN" --format raw --lines "$LINES" --out "$WORK/raw" 2> /dev/null
nfiles=$(find "$WORK/raw" -type f | wc -l)
bytes=$(cat "$WORK/raw"/* | wc -c)
echo "   $nfiles files, $bytes bytes"

echo "== tail + store $LINES lines"
promtail_yml bench "$WORK/raw/*.log"
tail_and_store bench

echo "== tail + json + labels + store $LINES lines"
promtail_yml json "$WORK/raw/*.log" '[{json: {expressions: {level: level, method: method}}}, {labels: {level: "", method: ""}}]'
tail_and_store json

echo "== memory with $FILES tailed files"
mkdir -p "$WORK/many"
python3 - "$WORK/raw" "$WORK/many" "$FILES" <<'PY'
import os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = []
for f in sorted(os.listdir(src)):
    with open(os.path.join(src, f)) as fh:
        lines.extend(fh.readlines())
    if len(lines) >= n * 20:
        break
for i in range(n):
    with open(os.path.join(dst, f"f{i:04}.log"), "w") as out:
        out.writelines(lines[i * 20:(i + 1) * 20])
PY
want=$(cat "$WORK/many"/*.log | wc -l)
start idle
sleep 2
echo "   bongsu without --logs.config.file: $(rss_mib "$PID") MiB RSS"
stop
promtail_yml many "$WORK/many/*.log"
start many --logs.config.file "$WORK/many.yml"
while [ "$(stored many)" -lt "$want" ]; do sleep 0.2; done
sleep 3
echo "   bongsu tailing $FILES files ($want lines stored): $(rss_mib "$PID") MiB RSS, $(find /proc/"$PID"/fd -mindepth 1 | wc -l) fds"
cpu0=$(cpu_s "$PID"); sleep 10; cpu1=$(cpu_s "$PID")
awk -v a="$cpu0" -v b="$cpu1" -v n="$FILES" 'BEGIN { printf "   idle polling of %d files: %.1f%% of one core\n", n, (b - a) * 10 }'
stop
