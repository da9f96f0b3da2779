#!/usr/bin/env bash
# Interop tier for the remote-write sender: bongsu scrapes itself and remote-writes to the real
# VictoriaMetrics (1.145) and Prometheus 3.5 (--web.enable-remote-write-receiver), from
# shared/peers/install.sh. Mid-run both receivers are stopped and restarted on the same data,
# and bongsu is killed with SIGKILL and restarted on its data directory. Then bongsu stops
# scraping (a reload with no scrape jobs) and, once the queues have caught up, every series
# must hold the same samples in all three: counts per series equal.
#
#   bongsu (scrapes itself) ──remote write 1.0──► VictoriaMetrics
#                           └─remote write 2.0──► Prometheus 3.5
#
# What a restart resends (the samples after the queue's last saved position) are exact
# duplicates: VictoriaMetrics keeps one of them with -dedup.minScrapeInterval=1ms; Prometheus
# drops them, but only with an out-of-order window (otherwise a resent batch whose first
# samples are older than what it holds is refused whole with 400), so its config sets one.
# Samples compared are the raw samples of `{__name__=~".+"}[1h]` at one time, NaN values
# (stale markers, empty summaries) left out on every side.
#
# Everything binds to 127.0.0.1 on free ports; every process started here is stopped on exit.
# Exit status: 0 when the counts agree; 1 on a difference (the differing series are printed)
# or a process that did not start.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: tests/interop/remote_write_sender.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 90)
  --workdir DIR   where configs, data and logs go (default: a new temp dir, removed on success)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
USAGE
}

LOG_NAME=remote_write_sender
TIMEOUT=90
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers prometheus victoria-metrics
need_tools curl python3
need_bongsu
make_workdir bongsu-rw-sender
set_traps

BONGSU_PORT=$(free_port)
VM_PORT=$(free_port)
PROM_PORT=$(free_port)

# bongsu_config SCRAPE : bongsu.yml scraping itself (SCRAPE=1) or nothing, writing to both
bongsu_config() {
  {
    if (($1)); then
      cat <<YAML
scrape_configs:
  - job_name: bongsu
    scrape_interval: 1s
    static_configs: [{targets: ['127.0.0.1:$BONGSU_PORT']}]
YAML
    else
      echo "scrape_configs: []"
    fi
    cat <<YAML
remote_write:
  - url: http://127.0.0.1:$VM_PORT/api/v1/write
    name: vm
    queue_config: {batch_send_deadline: 1s, max_backoff: 1s}
  - url: http://127.0.0.1:$PROM_PORT/api/v1/write
    name: prometheus
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {batch_send_deadline: 1s, max_backoff: 1s}
YAML
  } >"$WORK/bongsu.yml"
}

cat >"$WORK/prometheus.yml" <<'YAML'
storage:
  tsdb:
    out_of_order_time_window: 1h
YAML

start_vm() {
  start victoria-metrics victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" \
    -storageDataPath="$WORK/vm-data" -retentionPeriod=1d -dedup.minScrapeInterval=1ms \
    -search.latencyOffset=0s -search.disableCache
  VM_PID=$LAST_PID
  wait_ready "http://127.0.0.1:$VM_PORT/health" victoria-metrics
}

start_prometheus() {
  start prometheus prometheus --config.file="$WORK/prometheus.yml" \
    --storage.tsdb.path="$WORK/prom-data" --web.enable-remote-write-receiver \
    --web.listen-address="127.0.0.1:$PROM_PORT"
  PROM_PID=$LAST_PID
  wait_ready "http://127.0.0.1:$PROM_PORT/-/ready" prometheus
}

start_bongsu() {
  start "bongsu-$1" "$BONGSU" --config.file="$WORK/bongsu.yml" --storage.tsdb.path="$WORK/bongsu-data" \
    --web.listen-address="127.0.0.1:$BONGSU_PORT" --web.enable-lifecycle
  BONGSU_PID=$LAST_PID
  wait_ready "http://127.0.0.1:$BONGSU_PORT/-/ready" bongsu
}

# stop_pid PID SIGNAL : send SIGNAL and reap
stop_pid() {
  kill "-$2" "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# sent NAME : prometheus_remote_storage_samples_total of bongsu's queue NAME
sent() {
  curl -fsS "http://127.0.0.1:$BONGSU_PORT/metrics" |
    awk -v q="remote_name=\"$1\"" '$1 ~ /^prometheus_remote_storage_samples_total/ && index($1, q) {print $2}'
}

# more_sent NAME N : the queue NAME has sent more than N samples
more_sent() { local n; n=$(sent "$1"); [[ -n $n ]] && awk -v a="$n" -v b="$2" 'BEGIN{exit !(a>b)}'; }

start_vm
start_prometheus
bongsu_config 1
start_bongsu first
wait_for "bongsu sends to VictoriaMetrics" more_sent vm 500
wait_for "bongsu sends to Prometheus" more_sent prometheus 500

log "stopping both receivers for 10 s"
stop_pid "$VM_PID" TERM
stop_pid "$PROM_PID" TERM
sleep 10
start_vm
start_prometheus
vm_before=$(sent vm)
prom_before=$(sent prometheus)
wait_for "the queues send again after the outage" more_sent vm "$vm_before"
wait_for "the queues send again after the outage (Prometheus)" more_sent prometheus "$prom_before"

sleep 3
log "killing bongsu with SIGKILL and restarting it"
stop_pid "$BONGSU_PID" KILL
start_bongsu second
wait_for "the restarted bongsu sends to VictoriaMetrics" more_sent vm 100
wait_for "the restarted bongsu sends to Prometheus" more_sent prometheus 100
sleep 5

log "stopping the scrapes (reload without scrape jobs)"
bongsu_config 0
curl -fsS -X POST "http://127.0.0.1:$BONGSU_PORT/-/reload" >/dev/null
sleep 3
AT=$(date +%s)

# compare : the per-series sample counts of bongsu, VictoriaMetrics and Prometheus agree
compare() {
  python3 - "$AT" "http://127.0.0.1:$BONGSU_PORT" "http://127.0.0.1:$VM_PORT" \
    "http://127.0.0.1:$PROM_PORT" >"$WORK/compare.log" 2>&1 <<'PY'
import json, sys, urllib.parse, urllib.request

at, bases = sys.argv[1], dict(zip(["bongsu", "victoria-metrics", "prometheus"], sys.argv[2:]))

def counts(base):
    q = urllib.parse.urlencode({"query": '{__name__=~".+"}[1h]', "time": at})
    with urllib.request.urlopen(f"{base}/api/v1/query?{q}", timeout=30) as r:
        data = json.load(r)["data"]["result"]
    out = {}
    for s in data:
        key = tuple(sorted(s["metric"].items()))
        n = sum(1 for _, v in s["values"] if v != "NaN")
        if n:
            out[key] = out.get(key, 0) + n
    return out

got = {name: counts(base) for name, base in bases.items()}
want = got.pop("bongsu")
bad = False
for name, have in got.items():
    diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
    print(f"{name}: {len(have)} series, {sum(have.values())} samples; bongsu: "
          f"{len(want)} series, {sum(want.values())} samples; {len(diff)} series differ")
    for k in diff[:10]:
        print(f"  {dict(k)}: bongsu {want.get(k)}, {name} {have.get(k)}")
    bad |= bool(diff)
sys.exit(1 if bad or len(want) < 50 else 0)
PY
}

# On failure the exit trap prints compare.log with the other logs.
wait_for "every sample bongsu stored is in VictoriaMetrics and Prometheus" compare
cat "$WORK/compare.log" >&2
FAILED=0
