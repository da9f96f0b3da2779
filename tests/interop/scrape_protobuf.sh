#!/usr/bin/env bash
# Interop tier for scraping: Prometheus 3.5 (shared/peers/install.sh, with
# --enable-feature=native-histograms) and bongsu (with the same flag) scrape the same target,
# Prometheus' own /metrics, with the same four jobs; the series each job stores must be the
# same in both, and so must `scrape_samples_scraped`:
#   native         protobuf with native histograms (the flag's default protocols)
#   classic-proto  PrometheusProto only, always_scrape_classic_histograms (native + classic)
#   nhcb-text      PrometheusText0.0.4, convert_classic_histograms_to_nhcb
#   nhcb-proto     PrometheusProto, convert_classic_histograms_to_nhcb
# Native histograms need the TSDB's histogram appends (issue #18): before they are merged the
# bongsu jobs with native histograms fail and this script says so.
#
# Everything binds to 127.0.0.1 on free ports; every process started here is stopped on exit.
# Exit status: 0 when every job agrees; 1 otherwise (the differences are printed).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: tests/interop/scrape_protobuf.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 60)
  --workdir DIR   where configs, data and logs go (default: a new temp dir, removed on success)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
USAGE
}

LOG_NAME=scrape_protobuf
TIMEOUT=60
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers prometheus
need_tools curl python3
need_bongsu
make_workdir bongsu-scrape-protobuf
set_traps

BONGSU_PORT=$(free_port)
PROM_PORT=$(free_port)

# jobs FILE : the four jobs, scraping Prometheus
jobs() {
  cat >"$1" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: native
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
  - job_name: classic-proto
    scrape_protocols: [PrometheusProto]
    always_scrape_classic_histograms: true
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
  - job_name: nhcb-text
    convert_classic_histograms_to_nhcb: true
    scrape_protocols: [PrometheusText0.0.4]
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
  - job_name: nhcb-proto
    convert_classic_histograms_to_nhcb: true
    scrape_protocols: [PrometheusProto]
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
YAML
}
jobs "$WORK/prometheus.yml"
jobs "$WORK/bongsu.yml"

start prometheus prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/prom-data" --web.listen-address="127.0.0.1:$PROM_PORT" \
  --enable-feature=native-histograms
wait_ready "http://127.0.0.1:$PROM_PORT/-/ready" prometheus
start bongsu "$BONGSU" --config.file="$WORK/bongsu.yml" --storage.tsdb.path="$WORK/bongsu-data" \
  --web.listen-address="127.0.0.1:$BONGSU_PORT" --enable-feature=native-histograms
wait_ready "http://127.0.0.1:$BONGSU_PORT/-/ready" bongsu

# scraped PORT : every job has a scrape_samples_scraped
scraped() {
  curl -sf "http://127.0.0.1:$1/api/v1/query" --data-urlencode 'query=count(scrape_samples_scraped)' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and r[0]["value"][1]=="4" else 1)'
}
wait_for "Prometheus scraped every job" scraped "$PROM_PORT"
wait_for "bongsu scraped every job" scraped "$BONGSU_PORT"
sleep 3

compare() {
  python3 - "http://127.0.0.1:$BONGSU_PORT" "http://127.0.0.1:$PROM_PORT" >"$WORK/compare.log" 2>&1 <<'PY'
import json, sys, time, urllib.parse, urllib.request

bongsu, prom = sys.argv[1], sys.argv[2]

def get(base, path, **params):
    url = base + path + "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)["data"]

def series(base, job):
    start = time.time() - 2
    out = set()
    for s in get(base, "/api/v1/series", **{"match[]": '{job="%s"}' % job, "start": start}):
        s.pop("job", None)
        out.add(json.dumps(s, sort_keys=True))
    return out

def samples(base):
    r = get(base, "/api/v1/query", query="scrape_samples_scraped")
    return {x["metric"]["job"]: x["value"][1] for x in r["result"]}

problems = []
mine, theirs = samples(bongsu), samples(prom)
for job in ["native", "classic-proto", "nhcb-text", "nhcb-proto"]:
    a, b = series(bongsu, job), series(prom, job)
    print(f"{job}: bongsu {len(a)} series, Prometheus {len(b)}; "
          f"scrape_samples_scraped bongsu {mine.get(job)}, Prometheus {theirs.get(job)}")
    for s in sorted(b - a)[:5]:
        problems.append(f"{job}: only in Prometheus: {s}")
    for s in sorted(a - b)[:5]:
        problems.append(f"{job}: only in bongsu: {s}")
    if not b:
        problems.append(f"{job}: Prometheus has no series")
    if mine.get(job) != theirs.get(job):
        problems.append(f"{job}: scrape_samples_scraped differs")
for p in problems[:40]:
    print("  " + p)
sys.exit(1 if problems else 0)
PY
}

# The target's own series change between scrapes (a new handler, a new bucket): retry a little.
for attempt in 1 2 3; do
  if compare; then break; fi
  ((attempt < 3)) || { cat "$WORK/compare.log" >&2; fail "bongsu's scrapes differ from Prometheus'"; }
  sleep 2
done
cat "$WORK/compare.log" >&2
FAILED=0
