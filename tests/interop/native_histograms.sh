#!/usr/bin/env bash
# Interop tier for native histograms: the real Prometheus 3.5 (shared/peers/install.sh) scrapes
# its own /metrics with native histograms on and remote-writes them to bongsu; bongsu scrapes
# the same endpoint itself, over the protobuf exposition format.
#
#   Prometheus 3.5 ──scrape (protobuf)──► Prometheus /metrics ◄──scrape (protobuf)── bongsu
#          └──────────────remote write 1.0 (histograms)──────────────────────────────►┘
#
# Checks, at several evaluation times:
# - the remote-written copy (job="prometheus" in both servers): histogram_count, histogram_sum,
#   histogram_quantile, rate and the raw histograms give the same answers in bongsu as in
#   Prometheus (relative tolerance 1e-9, bucket for bucket for the raw histograms);
# - the copy bongsu scraped itself (job="bongsu-scrape"): the same series exist as native
#   histograms, and every count lies between Prometheus' counts two seconds before and after
#   (both scrape every second, counts only grow).
#
# Everything binds to 127.0.0.1 on free ports; every process started here is stopped on exit.
# Exit status: 0 when every check passed; 1 otherwise (the differences are printed).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: tests/interop/native_histograms.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 90)
  --workdir DIR   where configs, data and logs go (default: a new temp dir, removed on success)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
USAGE
}

LOG_NAME=native_histograms
TIMEOUT=90
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers prometheus
need_tools curl python3
need_bongsu
make_workdir bongsu-native-histograms
set_traps

BONGSU_PORT=$(free_port)
PROM_PORT=$(free_port)

cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
remote_write:
  - url: http://127.0.0.1:$BONGSU_PORT/api/v1/write
    send_native_histograms: true
    queue_config: {batch_send_deadline: 1s, max_backoff: 1s}
YAML

cat >"$WORK/bongsu.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: bongsu-scrape
    scrape_native_histograms: true
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
YAML

start bongsu "$BONGSU" --config.file="$WORK/bongsu.yml" --storage.tsdb.path="$WORK/bongsu-data" \
  --web.listen-address="127.0.0.1:$BONGSU_PORT"
wait_ready "http://127.0.0.1:$BONGSU_PORT/-/ready" bongsu
start prometheus prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/prom-data" --web.listen-address="127.0.0.1:$PROM_PORT" \
  --enable-feature=native-histograms
wait_ready "http://127.0.0.1:$PROM_PORT/-/ready" prometheus

# has_histograms PORT SELECTOR : the server answers SELECTOR with at least one native histogram
has_histograms() {
  curl -fsS "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if any("histogram" in s for s in r) else 1)'
}
wait_for "Prometheus stores its own native histograms" \
  has_histograms "$PROM_PORT" 'prometheus_http_request_duration_seconds{job="prometheus"}'
wait_for "bongsu receives them by remote write" \
  has_histograms "$BONGSU_PORT" 'prometheus_http_request_duration_seconds{job="prometheus"}'
wait_for "bongsu scrapes them over protobuf" \
  has_histograms "$BONGSU_PORT" 'prometheus_http_request_duration_seconds{job="bongsu-scrape"}'
# Enough history for rate over 10s windows at the evaluation times below.
sleep 20

compare() {
  python3 - "http://127.0.0.1:$BONGSU_PORT" "http://127.0.0.1:$PROM_PORT" \
    >"$WORK/compare.log" 2>&1 <<'PY'
import json, math, sys, time, urllib.parse, urllib.request

bongsu, prom = sys.argv[1], sys.argv[2]
METRIC = "prometheus_http_request_duration_seconds"

def query(base, q, t):
    body = urllib.parse.urlencode({"query": q, "time": f"{t:.3f}"}).encode()
    with urllib.request.urlopen(f"{base}/api/v1/query", body, timeout=30) as r:
        data = json.load(r)
    if data["status"] != "success":
        raise SystemExit(f"{base}: {q}: {data}")
    return {tuple(sorted(s["metric"].items())): s for s in data["data"]["result"]}

def close(a, b):
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))

def same_histogram(a, b):
    ha, hb = a["histogram"][1], b["histogram"][1]
    if not (close(ha["count"], hb["count"]) and close(ha["sum"], hb["sum"])):
        return False
    ba, bb = ha.get("buckets", []), hb.get("buckets", [])
    return len(ba) == len(bb) and all(
        x[0] == y[0] and all(close(p, q) for p, q in zip(x[1:], y[1:])) for x, y in zip(ba, bb))

def value(s):
    return s["value"][1]

problems, checked = [], 0
now = time.time() - 3
times = [now - 15, now - 7.5, now]
sel = f'{METRIC}{{job="prometheus"}}'
exact = [
    sel,
    f"histogram_count({sel})",
    f"histogram_sum({sel})",
    f"histogram_quantile(0.9, {sel})",
    f"histogram_count(rate({sel}[10s]))",
    f"histogram_sum(rate({sel}[10s]))",
    f"histogram_quantile(0.99, sum by (le) (rate({sel}[10s])))",
]
for t in times:
    for q in exact:
        a, b = query(bongsu, q, t), query(prom, q, t)
        if set(a) != set(b):
            problems.append(f"{q} @{t:.3f}: series differ: bongsu {len(a)}, prometheus {len(b)}: "
                            f"{sorted(set(a) ^ set(b))[:3]}")
            continue
        for k in a:
            checked += 1
            if "histogram" in a[k] or "histogram" in b[k]:
                ok = "histogram" in a[k] and "histogram" in b[k] and same_histogram(a[k], b[k])
            else:
                ok = close(value(a[k]), value(b[k]))
            if not ok:
                problems.append(f"{q} @{t:.3f} {dict(k)}: bongsu {a[k]} prometheus {b[k]}")
        if not a:
            problems.append(f"{q} @{t:.3f}: no result")

# The scraped copy: between Prometheus' counts 2 s before and 2 s after.
t = now
mine = query(bongsu, f'histogram_count({METRIC}{{job="bongsu-scrape"}})', t)
before = query(prom, f'histogram_count({METRIC}{{job="prometheus"}})', t - 2)
after = query(prom, f'histogram_count({METRIC}{{job="prometheus"}})', t + 2)
if not mine:
    problems.append("bongsu's scraped copy has no native histograms")
def handler(k):
    return dict(k).get("handler")
lo = {handler(k): float(value(s)) for k, s in before.items()}
hi = {handler(k): float(value(s)) for k, s in after.items()}
for k, s in mine.items():
    h, v = handler(k), float(value(s))
    checked += 1
    if h in lo and h in hi and not (lo[h] <= v <= hi[h]):
        problems.append(f"scraped {h}: count {v} not within Prometheus' [{lo[h]}, {hi[h]}]")
    elif h not in hi:
        problems.append(f"scraped {h}: Prometheus has no such series")

print(f"{checked} answers compared, {len(problems)} differ")
for p in problems[:20]:
    print("  " + p)
sys.exit(1 if problems or checked < 20 else 0)
PY
}

# On failure the exit trap prints compare.log with the other logs.
compare || { cat "$WORK/compare.log" >&2; fail "bongsu's answers differ from Prometheus'"; }
cat "$WORK/compare.log" >&2
FAILED=0
