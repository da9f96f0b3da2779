#!/usr/bin/env bash
# Log rules on a day of logs (issue #16's figures). One gen_logs.py day (default 1M lines)
# ending 9 minutes from now (Loki's creation grace period lets lines be 10 minutes ahead), so
# that the rules' ranges stay full while they run, is pushed into bongsu, then:
#   1. cost: 100 LogQL alerting rules (benches/lib/log_rules_many.py: 20 variations of each
#      example alert) loaded by a reload, evaluated every INTERVAL for DURATION seconds; the
#      bongsu process's CPU seconds per evaluation round and per rule, with and without its
#      idle CPU (the quieter of DURATION/2 without rules before and after), and the groups'
#      evaluationTime (wall) from /api/v1/rules;
#   2. windows: every alerting rule of rules/logs-*.yml run over the day as the ruler would
#      (benches/lib/log_rule_windows.py): which of the three incident windows it finds, and
#      when it fires outside them.
# No Loki here (none is installed on these machines), so there is no Loki figure beside it.
#
#   usage: benches/log_rules.sh [--lines N] [--interval 15s] [--duration 120] [--skip-windows]
# Needs: a built bongsu ($BONGSU, default target/release/bongsu), python3 with PyYAML (step 1),
# curl, and ../shared/bench/gen_logs.py and push_logs.py (or /work/shared/bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
BONGSU=${BONGSU:-target/release/bongsu}
LINES=1000000
INTERVAL=15s
DURATION=120
WINDOWS=1
while [ $# -gt 0 ]; do
    case $1 in
        --lines) LINES=$2; shift 2 ;;
        --interval) INTERVAL=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --skip-windows) WINDOWS=0; shift ;;
        *) echo "unknown argument $1"; exit 2 ;;
    esac
done
SHARED=../shared/bench
[ -f "$SHARED/gen_logs.py" ] || SHARED=/work/shared/bench
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clk=$(getconf CLK_TCK)
cpu_s() { awk -v t="$clk" '{print ($14+$15)/t}' "/proc/$1/stat"; }

START=$(( $(date +%s) - 86400 + 540 ))
echo "== generating $LINES lines over the day up to 9 minutes from now (gen_logs.py --format loki-json)"
python3 "$SHARED/gen_logs.py" --lines "$LINES" --start "$START" > "$WORK/day.jsonl" 2> "$WORK/gen.err"
grep incident "$WORK/gen.err"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
echo 'global: {evaluation_interval: '"$INTERVAL"'}' > "$WORK/bongsu.yml"
"$BONGSU" --storage.tsdb.path "$WORK/data" --config.file "$WORK/bongsu.yml" \
    --web.listen-address "127.0.0.1:$PORT" --web.enable-lifecycle --logs.ingestion-rate-mb=0 \
    2> "$WORK/bongsu.log" &
PID=$!
for _ in $(seq 300); do curl -sf "$URL/-/ready" >/dev/null && break; sleep 0.1; done
echo "== pushing (push_logs.py, 4 connections)"
python3 "$SHARED/push_logs.py" "$WORK/day.jsonl" --url "$URL/loki/api/v1/push" --conns 4 --pid "$PID"

echo "== 1. 100 LogQL alerting rules every $INTERVAL for ${DURATION}s"
python3 benches/lib/log_rules_many.py "$INTERVAL" > "$WORK/many.yml"
half=$((DURATION / 2))
# The push's after-work (WAL, head cut) must not count as idle: wait (at most 3 min) until
# the process uses under 1% of a core over 2 s.
for _ in $(seq 90); do
    a=$(cpu_s "$PID"); sleep 2; b=$(cpu_s "$PID")
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a < 0.02) }' && break
done
c0=$(cpu_s "$PID"); sleep "$half"; c1=$(cpu_s "$PID")
printf 'global: {evaluation_interval: %s}\nlog_rule_files: [many.yml]\n' "$INTERVAL" > "$WORK/bongsu.yml"
curl -sf -X POST "$URL/-/reload" >/dev/null
c2=$(cpu_s "$PID"); sleep "$DURATION"; c3=$(cpu_s "$PID")
curl -sf "$URL/api/v1/rules" > "$WORK/rules.json"
printf 'global: {evaluation_interval: %s}\n' "$INTERVAL" > "$WORK/bongsu.yml"
curl -sf -X POST "$URL/-/reload" >/dev/null
c4=$(cpu_s "$PID"); sleep "$half"; c5=$(cpu_s "$PID")
python3 - "$WORK/rules.json" "$c0" "$c1" "$c2" "$c3" "$c4" "$c5" "$DURATION" "$INTERVAL" <<'PY'
import json, re, sys
rules = json.load(open(sys.argv[1]))["data"]["groups"]
c0, c1, c2, c3, c4, c5, dur = (float(x) for x in sys.argv[2:9])
iv = sum(int(n) * {"s": 1, "m": 60}[u] for n, u in re.findall(r"(\d+)([sm])", sys.argv[9]))
n_rules = sum(len(g["rules"]) for g in rules)
rounds = dur / iv
# The quieter of the two idle periods is the idle process (the other may hold late work).
idle, busy = 2 * min(c1 - c0, c5 - c4), c3 - c2
wall = sum(g.get("evaluationTime", 0) for g in rules)
health = {}
for g in rules:
    for r in g["rules"]:
        health[r.get("health")] = health.get(r.get("health"), 0) + 1
print("rules loaded: %d in %d groups; health %s; firing/pending alerts: %d" % (
    n_rules, len(rules), health, sum(len(r.get("alerts", [])) for g in rules for r in g["rules"])))
print("idle CPU %.2f s + %.2f s over %.0f s (before, after); with rules %.2f s over %.0f s (%.1f rounds of %ds)"
      % (c1 - c0, c5 - c4, dur, busy, dur, rounds, iv))
print("process CPU per evaluation round, idle included (an upper bound): %.3f s (%.2f ms per rule)"
      % (busy / rounds, busy / rounds / n_rules * 1000))
per_round = (busy - idle) / rounds
print("less the idle CPU: %.3f s (%.2f ms per rule)%s" % (per_round, per_round / n_rules * 1000,
      "; below the idle noise" if per_round <= 0 else ""))
print("last round's evaluationTime, summed over groups (wall): %.3f s (%.2f ms per rule)" % (wall, wall / n_rules * 1000))
for g in rules:
    print("  group %-16s evaluationTime %.3f s" % (g["name"], g.get("evaluationTime", 0)))
PY

if [ "$WINDOWS" = 1 ]; then
    echo "== 2. incident windows each example rule finds (query_range over the day, 1m steps)"
    python3 benches/lib/log_rule_windows.py --url "$URL" --gen "$SHARED/gen_logs.py" \
        --data-start "$START" --start $((START + 7200)) --end $((START + 86400)) rules/logs-*.yml
fi
