#!/usr/bin/env bash
# Logs, bongsu against ClickHouse in the same run, with VictoriaLogs' and Loki's figures from
# ../shared/bench/LOGS-ANCHORS.md beside them (neither can be installed here): gen_logs.py's
# day of 1M lines pushed to bongsu as Loki JSON over 4 connections (push_logs.py, server CPU
# and RSS from /proc), flushed into blocks, bytes on disk counted, then the six anchor queries
# timed (best of 3) and their answers compared with the ground truth computed from the NDJSON;
# ClickHouse (chdb, in process) loads the same lines and answers the same questions.
#
#   usage: benches/logs_compare.sh [--lines N] [--workdir DIR] [--skip-clickhouse]
#   env:   BONGSU (default target/release/bongsu)
# Prints a Markdown table; exits 1 if an answer differs from the truth.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
lines=1000000
work=${TMPDIR:-/tmp}/bongsu-logs-compare
skip_ch=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --lines) lines=$2; shift 2 ;;
    --workdir) work=$2; shift 2 ;;
    --skip-clickhouse) skip_ch=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bongsu=${BONGSU:-$repo/target/release/bongsu}
# shellcheck source=lib/peers.sh
source "$repo/benches/lib/peers.sh"
shared=$(shared_dir)
[[ -x $bongsu ]] || { echo "no bongsu binary at $bongsu (cargo build --release)" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

mkdir -p "$work"
push=$work/push-$lines.jsonl
ndjson=$work/logs-$lines.ndjson
[[ -s $push ]] || python3 "$shared/bench/gen_logs.py" --lines "$lines" --format loki-json --out "$push" 2>/dev/null
[[ -s $ndjson ]] || python3 "$shared/bench/gen_logs.py" --lines "$lines" --format ndjson --out "$ndjson" 2>/dev/null
log "data: $lines lines ($(du -b "$ndjson" | cut -f1) B of NDJSON)"

python3 "$here/lib/logs_reference.py" truth "$ndjson" >"$work/truth.json"
if [[ $skip_ch -eq 0 ]]; then
  log "clickhouse (chdb): load, OPTIMIZE FINAL, queries"
  rm -rf "$work/ch"
  python3 "$here/lib/logs_reference.py" clickhouse "$ndjson" "$work/ch" >"$work/clickhouse.json"
fi

log "bongsu: $("$bongsu" --version 2>&1 | head -1)"
data=$work/bongsu-data
rm -rf "$data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bongsu" --storage.tsdb.path="$data" --web.listen-address="127.0.0.1:$port" \
  --logs.retention.time=100y --logs.ingestion-rate-mb=0 >"$work/bongsu.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break
  sleep 0.1
done
python3 "$shared/bench/push_logs.py" "$push" --url "http://127.0.0.1:$port/loki/api/v1/push" \
  --conns 4 --pid "$pid" >"$work/push.json"
cpu0=$(awk '{print $14+$15}' "/proc/$pid/stat")
curl -sf -X POST "http://127.0.0.1:$port/flush" >/dev/null
cpu1=$(awk '{print $14+$15}' "/proc/$pid/stat")
disk=$(du -sb "$data/logs" | cut -f1)
blocks=$(du -sb "$data/logs/blocks" 2>/dev/null | cut -f1 || echo 0)
rss=$(awk '/VmRSS/{print $2*1024}' "/proc/$pid/status")
python3 "$here/lib/logs_reference.py" loki "http://127.0.0.1:$port" >"$work/bongsu.json"
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT

python3 - "$work" "$lines" "$disk" "$blocks" "$rss" "$cpu0" "$cpu1" "$skip_ch" <<'EOF'
import json, os, sys
work, lines, disk, blocks, rss, cpu0, cpu1, skip_ch = sys.argv[1:]
lines, disk, blocks, rss = int(lines), int(disk), int(blocks), int(rss)
tick = os.sysconf("SC_CLK_TCK")
flush_cpu = (float(cpu1) - float(cpu0)) / tick
truth = json.load(open(f"{work}/truth.json"))
b = json.load(open(f"{work}/bongsu.json"))
push = json.load(open(f"{work}/push.json"))
ch = None if skip_ch == "1" else json.load(open(f"{work}/clickhouse.json"))
qs = ["q1", "q2", "q3", "q4", "q5", "q6"]
ok = True
def equal(q, got, want):
    # Q4: p99s rounded to 9 digits; interpolation formulas equal on paper differ in the last
    # bits, which can move the rounding by one unit of the 9th digit.
    if q == "q4":
        return got.keys() == want.keys() and all(
            abs(got[k] - want[k]) <= 1e-7 * max(abs(want[k]), 1.0) for k in want)
    return got == want
def answer(r, q):
    global ok
    if r is None:
        return ""
    same = equal(q, r[q], truth[q])
    ok &= same or r is ch
    return "" if same else " (WRONG)"
print(f"| {lines:,} lines | VictoriaLogs 1.26 (anchor) | Loki 3.8 (anchor) | ClickHouse (chdb, this run) | bongsu (this run) | goal |")
print("|---|---|---|---|---|---|")
print(f"| disk, B/line | 51.0 | 54.2 (+273 WAL) | {ch['disk_bytes']/lines:.1f} |" if ch else "| disk, B/line | 51.0 | 54.2 (+273 WAL) | — |", end="")
print(f" {disk/lines:.1f} (blocks {blocks/lines:.1f}) | ≤ 40 |")
chcpu = f"{ch['ingest_cpu_s']:.2f} (local file)" if ch else "—"
print(f"| ingest server CPU, s | 7.1 | 14.1 | {chcpu} | {push.get('server_cpu_s', float('nan')):.2f} (+{flush_cpu:.2f} flush) | ≤ 5 |")
print(f"| ingest wall, s | 4.3–6.1 | 8.4–8.7 | {ch['ingest_wall_s']:.2f} |" if ch else "| ingest wall, s | 4.3–6.1 | 8.4–8.7 | — |", end="")
print(f" {push['wall_s']:.2f} | |")
print(f"| RSS after ingest, MB | ~200 | ~410 | — | {push.get('server_rss_bytes', 0)/1e6:.0f} (after flush {rss/1e6:.0f}) | ≤ 100 |")
anchors = {"q1": ("1 ms", "1.26 s", "≤ 5 ms"), "q2": ("40 ms", "1.49 s", "≤ 20 ms"),
           "q3": ("0.79 s", "0.33 s", "≤ 60 ms"), "q4": ("0.25 s", "0.71 s", "≤ 0.1 s"),
           "q5": ("93 ms", "0.32 s", "≤ 50 ms"), "q6": ("89 ms", "5 ms", "≤ 5 ms")}
names = {"q1": "Q1 count all", "q2": "Q2 rare trace id", "q3": "Q3 nginx (?i)error per 5 min",
         "q4": "Q4 JSON p99 duration_ms by app", "q5": "Q5 top-10 paths by 5xx", "q6": "Q6 last 100 lines of a stream"}
for q in qs:
    vl, lk, goal = anchors[q]
    chs = f"{ch[q+'_s']*1000:.1f} ms{answer(ch, q)}" if ch else "—"
    print(f"| {names[q]} | {vl} | {lk} | {chs} | {b[q+'_s']*1000:.1f} ms{answer(b, q)} | {goal} |")
print()
print("answers equal to the ground truth:", "all" if ok else "NO")
sys.exit(0 if ok else 1)
EOF
