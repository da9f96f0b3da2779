#!/usr/bin/env bash
# Interop tier for the remote_read client: the real Prometheus 3.5 (shared/peers/install.sh)
# scrapes itself, bongsu scrapes nothing and has Prometheus' `/api/v1/read` as its
# `remote_read`. Prometheus answers bongsu's requests with STREAMED_XOR_CHUNKS (its XOR
# chunks, framed), so this checks the request and the chunked decoding against the real
# server. bongsu's PromQL answers over that data must equal Prometheus' own: raw samples of a
# few series over 2 minutes, a range query, and /api/v1/series.
#
#   Prometheus 3.5 (scrapes itself) ◄──remote read── bongsu (no data of its own)
#
# Everything binds to 127.0.0.1 on free ports; every process started here is stopped on exit.
# Exit status: 0 when the answers agree; 1 on a difference (both answers are printed) or a
# process that did not start.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: tests/interop/remote_read_client.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 60)
  --workdir DIR   where configs, data and logs go (default: a new temp dir, removed on success)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
USAGE
}

LOG_NAME=remote_read_client
TIMEOUT=60
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers prometheus
need_tools curl python3
need_bongsu
make_workdir bongsu-rr-client
set_traps

BONGSU_PORT=$(free_port)
PROM_PORT=$(free_port)

cat >"$WORK/prometheus.yml" <<YAML
scrape_configs:
  - job_name: prom
    scrape_interval: 1s
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
YAML
cat >"$WORK/bongsu.yml" <<YAML
scrape_configs: []
remote_read:
  - url: http://127.0.0.1:$PROM_PORT/api/v1/read
    name: prometheus
YAML

start prometheus prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/prom-data" --web.listen-address="127.0.0.1:$PROM_PORT"
wait_ready "http://127.0.0.1:$PROM_PORT/-/ready" prometheus
start bongsu "$BONGSU" --config.file="$WORK/bongsu.yml" --storage.tsdb.path="$WORK/bongsu-data" \
  --web.listen-address="127.0.0.1:$BONGSU_PORT"
wait_ready "http://127.0.0.1:$BONGSU_PORT/-/ready" bongsu

# scraped N : Prometheus holds at least N samples of up{job="prom"}
scraped() {
  local n
  n=$(curl -fsS "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode 'query=count_over_time(up{job="prom"}[5m])' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
  ((n >= $1))
}
wait_for "Prometheus has scraped itself 20 times" scraped 20
AT=$(date +%s)

python3 - "$AT" "http://127.0.0.1:$PROM_PORT" "http://127.0.0.1:$BONGSU_PORT" >"$WORK/compare.log" 2>&1 <<'PY' || { cat "$WORK/compare.log" >&2; fail "bongsu's answers over remote read differ from Prometheus'"; }
import json, sys, urllib.parse, urllib.request

at, prom, bongsu = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def get(base, path, params):
    with urllib.request.urlopen(f"{base}{path}?{urllib.parse.urlencode(params)}", timeout=30) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body

def canon(data):
    if isinstance(data, dict) and "result" in data:
        return sorted(json.dumps(s, sort_keys=True) for s in data["result"])
    return sorted(json.dumps(s, sort_keys=True) for s in data)

checks = [
    ("/api/v1/query", {"query": '{job="prom",__name__=~"up|scrape_samples_scraped|prometheus_tsdb_head_series"}[2m]', "time": at}),
    ("/api/v1/query", {"query": 'prometheus_build_info{job="prom"}', "time": at}),
    ("/api/v1/query_range", {"query": 'sum by (job) (rate(prometheus_http_requests_total{job="prom"}[30s]))',
                             "start": at - 60, "end": at, "step": 5}),
    ("/api/v1/series", {"match[]": 'up{job="prom"}', "start": at - 120, "end": at}),
]
bad = False
for path, params in checks:
    want = get(prom, path, params)
    have = get(bongsu, path, params)
    same = canon(want["data"]) == canon(have["data"]) and len(canon(want["data"])) > 0
    print(f"{path} {params['query'] if 'query' in params else params['match[]']}: "
          f"{'same' if same else 'DIFFERENT'} ({len(canon(want['data']))} results)")
    if have.get("warnings"):
        print(f"  bongsu warnings: {have['warnings']}")
        same = False
    if not same:
        print(f"  prometheus: {json.dumps(want['data'])[:2000]}")
        print(f"  bongsu:     {json.dumps(have['data'])[:2000]}")
        bad = True
sys.exit(1 if bad else 0)
PY
cat "$WORK/compare.log" >&2

# The answers came over the chunked stream, as Prometheus prefers it.
chunked=$(curl -fsS "http://127.0.0.1:$BONGSU_PORT/metrics" |
  awk '$1 ~ /^prometheus_remote_read_client_queries_total/ && index($1, "response_type=\"chunked\"") && index($1, "code=\"200\"") {s += $2} END {print s + 0}')
((chunked > 0)) || fail "no chunked remote-read answers counted"
log "ok: $chunked queries answered with STREAMED_XOR_CHUNKS"
FAILED=0
