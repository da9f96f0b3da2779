#!/usr/bin/env bash
# Syslog over TCP, received per second: bongsu's syslog target (the `syslog_sink` example: the
# target into a counting sink, Promtail's defaults, structured data labelled), the bongsu server
# with a promtail.yml syslog job storing into its log store (BONGSU, default
# target/release/bongsu; the count read back with LogQL), next to Debian's
# rsyslog (imtcp) and syslog-ng (syslog() source), each writing to a file with a minimal config,
# run in the foreground on a high port, all fed the same loggen stream in the same run:
# RFC 5424 with octet counting (loggen -P), N messages of SIZE bytes over CONNS connections.
# Each receiver is timed from loggen's start to its last message; CPU is the receiver's
# user+system time (from /proc) over the same span.
#
#   usage: benches/syslog_compare.sh [--messages N] [--size BYTES] [--conns C] [--workdir DIR]
#   env:   SINK (default target/release/examples/syslog_sink; built when absent),
#          RSYSLOGD (default rsyslogd on PATH, else /opt/rsyslog/usr/sbin/rsyslogd),
#          RSYSLOG_MODULES (default: the modules directory next to that rsyslogd)
# Needs: loggen and syslog-ng (apt-get install syslog-ng-core), rsyslog. The two Debian
# packages conflict: install one and unpack the other (apt-get download rsyslog; dpkg -x
# rsyslog_*.deb /opt/rsyslog, with its libraries installed).
# Prints a Markdown table; a receiver that is missing is reported as such.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
messages=1000000
size=256
conns=2
work=${TMPDIR:-/tmp}/bongsu-syslog-compare
while [[ $# -gt 0 ]]; do
  case $1 in
    --messages) messages=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --workdir) work=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
# loggen sends the same number on each connection.
messages=$((messages / conns * conns))
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
command -v loggen >/dev/null || { echo "loggen not found (apt-get install syslog-ng-core)" >&2; exit 1; }

sink=${SINK:-$repo/target/release/examples/syslog_sink}
if [[ ! -x $sink ]]; then
  log "building the syslog_sink example"
  (cd "$repo" && cargo build --release -q -p bongsu-logcollect --example syslog_sink)
fi
rsyslogd=${RSYSLOGD:-$(command -v rsyslogd || echo /opt/rsyslog/usr/sbin/rsyslogd)}
rsyslog_modules=${RSYSLOG_MODULES:-$(dirname "$rsyslogd")/../lib/x86_64-linux-gnu/rsyslog}
[[ -d $rsyslog_modules ]] || rsyslog_modules=/usr/lib/x86_64-linux-gnu/rsyslog

rm -rf "$work" && mkdir -p "$work"
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    ss -ltn "sport = :$1" 2>/dev/null | grep -q LISTEN && return 0
    sleep 0.05
  done
  return 1
}
# Lines in a file once it stops growing for 3 s (or reaches the count); prints "count end-time".
wait_file() {
  local file=$1 last=-1 same=0 n t=0
  while :; do
    n=$(wc -l < "$file" 2>/dev/null || echo 0)
    if [[ $n != "$last" ]]; then last=$n; t=$(now); same=0; else same=$((same + 1)); fi
    if (( n >= messages || same >= 30 )); then echo "$n $t"; return; fi
    sleep 0.1
  done
}
# loggen's --number is per connection.
feed() {
  loggen -i -S -P -Q -r 10000000 -s "$size" -n "$((messages / conns))" --active-connections "$conns" \
    127.0.0.1 "$1" > "$work/loggen-$2.log" 2>&1
}
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 |"); }
report() { # name count start end cpu_ticks
  local secs rate cpu
  secs=$(awk -v a="$3" -v b="$4" 'BEGIN{printf "%.2f", b - a}')
  rate=$(awk -v n="$2" -v s="$secs" 'BEGIN{printf "%.0f", (s > 0 ? n / s : 0)}')
  cpu=$(awk -v t="$5" -v hz="$hz" 'BEGIN{printf "%.2f", t / hz}')
  local per_m
  per_m=$(awk -v c="$cpu" -v n="$2" 'BEGIN{printf "%.2f", (n > 0 ? c * 1000000 / n : 0)}')
  row "$1" "$2 / $messages" "$rate" "$cpu" "$per_m"
  log "$1: $2 messages in ${secs}s, $rate msg/s, CPU ${cpu}s"
}

# bongsu
port=$(free_port)
"$sink" "$port" "$messages" 5 > "$work/bongsu.out" 2>&1 &
pid=$!
wait_port "$port"
c0=$(ticks "$pid"); t0=$(now)
feed "$port" bongsu
wait "$pid" || true
t1=$(now)
n=$(grep -o 'received [0-9]*' "$work/bongsu.out" | awk '{print $2}')
c1=$(grep -o 'cpu_ticks [0-9]*' "$work/bongsu.out" | awk '{print $2}')
# The sink waits 5 s of silence before giving up on missing messages; that wait is not work.
if (( ${n:-0} < messages )); then t1=$(awk -v t="$t1" 'BEGIN{printf "%.3f", t - 5}'); fi
report "bongsu (syslog target → sink)" "${n:-0}" "$t0" "$t1" "$((c1 - c0))"

# the bongsu server: a syslog job, relabeled app and severity, into the log store
bongsu=${BONGSU:-$repo/target/release/bongsu}
if [[ -x $bongsu ]]; then
  port=$(free_port); web=$(free_port)
  cat > "$work/promtail.yml" <<EOF
positions: {filename: $work/positions.yaml}
scrape_configs:
  - job_name: syslog
    syslog: {listen_address: "127.0.0.1:$port", labels: {job: syslog}}
    relabel_configs:
      - {source_labels: [__syslog_message_app_name], target_label: app}
      - {source_labels: [__syslog_message_severity], target_label: level}
EOF
  echo 'scrape_configs: []' > "$work/quiet.yml"
  "$bongsu" --storage.tsdb.path "$work/bongsu-data" --config.file "$work/quiet.yml" \
    --web.listen-address "127.0.0.1:$web" --logs.ingestion-rate-mb=0 \
    --logs.config.file "$work/promtail.yml" > "$work/bongsu-server.log" 2>&1 &
  pid=$!
  wait_port "$port"
  stored() {
    curl -sfG "http://127.0.0.1:$web/loki/api/v1/query" \
      --data-urlencode 'query=sum(count_over_time({job="syslog"}[1d]))' \
      --data-urlencode "time=$(( $(date +%s) + 60 ))" |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'
  }
  c0=$(ticks "$pid"); t0=$(now)
  feed "$port" bongsu-server
  last=-1; same=0
  while :; do
    n=$(stored); t1=$(now)
    if [[ $n != "$last" ]]; then last=$n; same=0; else same=$((same + 1)); fi
    (( n >= messages || same >= 10 )) && break
    sleep 0.3
  done
  c1=$(ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  report "bongsu server (syslog job → log store)" "$n" "$t0" "$t1" "$((c1 - c0))"
else
  row "bongsu server" "not built" "" "" ""
fi

# rsyslog
if [[ -x $rsyslogd ]]; then
  port=$(free_port)
  cat > "$work/rsyslog.conf" <<EOF
global(workDirectory="$work")
module(load="imtcp")
input(type="imtcp" port="$port" address="127.0.0.1")
*.* action(type="omfile" file="$work/rsyslog.out")
EOF
  "$rsyslogd" -n -f "$work/rsyslog.conf" -i "$work/rsyslog.pid" -M "$rsyslog_modules" > "$work/rsyslogd.log" 2>&1 &
  pid=$!
  wait_port "$port"
  c0=$(ticks "$pid"); t0=$(now)
  feed "$port" rsyslog
  read -r n t1 < <(wait_file "$work/rsyslog.out")
  c1=$(ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  n=$(wc -l < "$work/rsyslog.out")
  report "rsyslog $("$rsyslogd" -v | head -1 | awk '{print $2}') (imtcp → file)" "$n" "$t0" "$t1" "$((c1 - c0))"
else
  row "rsyslog" "not installed" "" "" ""
fi

# syslog-ng
if command -v syslog-ng >/dev/null; then
  port=$(free_port)
  version=$(syslog-ng --version | awk '/^Config version/{print $3}')
  cat > "$work/syslog-ng.conf" <<EOF
@version: $version
source s { syslog(ip(127.0.0.1) port($port) transport("tcp") max-connections(16)); };
destination d { file("$work/syslog-ng.out"); };
log { source(s); destination(d); };
EOF
  syslog-ng -F --no-caps -f "$work/syslog-ng.conf" -p "$work/syslog-ng.pid" -R "$work/syslog-ng.persist" \
    -c "$work/syslog-ng.ctl" > "$work/syslog-ng.log" 2>&1 &
  pid=$!
  wait_port "$port"
  c0=$(ticks "$pid"); t0=$(now)
  feed "$port" syslog-ng
  read -r n t1 < <(wait_file "$work/syslog-ng.out")
  c1=$(ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  n=$(wc -l < "$work/syslog-ng.out")
  report "syslog-ng $(syslog-ng --version | sed -n '1s/.*(\(.*\)).*/\1/p') (syslog() → file)" "$n" "$t0" "$t1" "$((c1 - c0))"
else
  row "syslog-ng" "not installed" "" "" ""
fi

echo "syslog over TCP: $messages RFC 5424 messages of $size B, octet counting, $conns loggen connections, $(nproc) cores"
echo
echo "| receiver | received | msgs/s | CPU s | CPU s per 1M |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
