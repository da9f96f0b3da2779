#!/usr/bin/env bash
# Interop tier for the read API: bongsu against the real Prometheus (3.5, from
# shared/peers/install.sh) over the same data.
#
#   one OpenMetrics file ──bongsu import──► bongsu ◄──remote_read── Prometheus "reader"
#                        └─promtool tsdb create-blocks-from──► Prometheus "reference"
#
# 1. The same recent samples (the last 90 minutes) are imported into bongsu and, with promtool,
#    into a reference Prometheus; both have external label dc="eu".
# 2. Differential checks: the same requests to both must give the same answers — query and
#    query_range results (several PromQL shapes, range selectors, evaluation times between
#    samples and on them), series, labels, label values, /federate, and for malformed
#    requests the same HTTP status, errorType and message (one known difference: a query
#    out of time, see there).
# 3. Remote read: a second, empty Prometheus reads from bongsu's /api/v1/read and must answer
#    range queries as the reference does.
# 4. Federation: that Prometheus also scrapes bongsu's /federate (honor_labels) and must store
#    the latest samples with bongsu's external label.
#
# Everything binds to 127.0.0.1 on free ports; every process started here is stopped on exit.
# Exit status: 0 all checks passed; 1 a check failed or a process did not start.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tests/interop/read_api.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 60)
  --workdir DIR   where data and logs go (default: a new temp dir, removed on success)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
EOF
}

LOG_NAME=read_api
TIMEOUT=60
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers prometheus promtool
need_bongsu
make_workdir bongsu-read-api
set_traps

# ---------------------------------------------------------------------------------------
# Data: 90 minutes up to a whole minute shortly before now, every 30 s
# ---------------------------------------------------------------------------------------
END=$(( $(date +%s) / 60 * 60 - 60 ))
export END
python3 - "$WORK/data.om" <<'EOF'
import os, sys
end = int(os.environ["END"])
start = end - 90 * 60
lines = []
def family(name, kind, series):
    lines.append(f"# TYPE {name} {kind}")
    for labels, f in series:
        for i, t in enumerate(range(start, end + 1, 30)):
            v = f(i)
            if v is None:
                continue
            lines.append(f"{name}{{{labels}}} {v} {t}")
family("http_requests", "counter", [
    (f'job="{job}",instance="{inst}",code="{code}"', (lambda k: lambda i: float(k * i))(k))
    for k, (job, inst, code) in enumerate(
        [(j, i, c) for j in ("api", "web") for i in ("a:1", "b:1") for c in ("200", "500")], 1)
])
family("temperature", "gauge", [
    ('room="x"', lambda i: 20 + (i % 7) * 0.25),
    ('room="y"', lambda i: -3.5 + (i % 5)),
    ('room="z"', lambda i: 1e-7 * (i + 1) if i < 120 else None),  # stops 30 min early
])
with open(sys.argv[1], "w") as f:
    # OpenMetrics names a counter family without `_total`; its samples carry it.
    f.write("\n".join(lines).replace("http_requests{", "http_requests_total{") + "\n# EOF\n")
EOF

log "importing into bongsu and, with promtool, into the reference Prometheus"
"$BONGSU" import openmetrics "$WORK/data.om" --storage.tsdb.path "$WORK/bongsu-data" 2>"$WORK/import.log" \
  || fail "bongsu import failed"
promtool tsdb create-blocks-from openmetrics "$WORK/data.om" "$WORK/prom-data" >"$WORK/promtool.log" 2>&1 \
  || fail "promtool import failed"

BONGSU_PORT=$(free_port)
PROM_PORT=$(free_port)
READER_PORT=$(free_port)
BONGSU_URL=http://127.0.0.1:$BONGSU_PORT
PROM_URL=http://127.0.0.1:$PROM_PORT
READER_URL=http://127.0.0.1:$READER_PORT

printf 'global:\n  external_labels:\n    dc: eu\n' >"$WORK/ext.yml"
start bongsu "$BONGSU" --config.file="$WORK/ext.yml" --storage.tsdb.path="$WORK/bongsu-data" \
  --storage.tsdb.retention.time=0 --web.listen-address="127.0.0.1:$BONGSU_PORT"
wait_ready "$BONGSU_URL/-/ready" bongsu
start prometheus prometheus --config.file="$WORK/ext.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT"
wait_ready "$PROM_URL/-/ready" prometheus
cat >"$WORK/reader.yml" <<EOF
remote_read:
  - url: $BONGSU_URL/api/v1/read
    read_recent: true
scrape_configs:
  - job_name: federate
    scrape_interval: 1s
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]': ['{room=~"x|y"}']
    static_configs:
      - targets: ['127.0.0.1:$BONGSU_PORT']
EOF
start reader prometheus --config.file="$WORK/reader.yml" --storage.tsdb.path="$WORK/reader-data" \
  --web.listen-address="127.0.0.1:$READER_PORT"
wait_ready "$READER_URL/-/ready" reader

# ---------------------------------------------------------------------------------------
# Differential checks
# ---------------------------------------------------------------------------------------
export BONGSU_URL PROM_URL READER_URL TIMEOUT
python3 - <<'EOF' || fail "bongsu and Prometheus disagree (see above)"
import json, os, sys, urllib.error, urllib.parse, urllib.request

B, P, R = os.environ["BONGSU_URL"], os.environ["PROM_URL"], os.environ["READER_URL"]
end = int(os.environ["END"])
start = end - 90 * 60
failures = 0

def fetch(base, path, params):
    url = base + path + "?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def close(a, b):
    """Equal, with sample values (strings that parse as floats) within 1e-9 relative."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:
            x, y = float(a), float(b)
        except ValueError:
            return False
        return abs(x - y) <= 1e-9 * max(abs(x), abs(y))
    return a == b

def same(what, a, b):
    global failures
    if a != b:
        failures += 1
        a, b = str(a), str(b)
        at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        lo = max(0, at - 150)
        print(f"DIFFER {what} (from character {at}):\n  bongsu:     …{a[lo:at + 150]}\n"
              f"  prometheus: …{b[lo:at + 150]}", file=sys.stderr)

def check(path, params, exact_error=True, against=P):
    sb, tb = fetch(B, path, params)
    sp, tp = fetch(against, path, params)
    what = f"{path} {params}"
    same(what + " status", sb, sp)
    if path == "/federate":
        same(what, tb, tp)
        return
    jb, jp = json.loads(tb), json.loads(tp)
    if jp.get("status") == "error":
        same(what + " errorType", jb.get("errorType"), jp.get("errorType"))
        if exact_error:
            same(what + " error", jb.get("error"), jp.get("error"))
        return
    # Values may differ in the last bits (summation order); their text must match when equal.
    if not close(jb, jp):
        same(what, jb, jp)

queries = [
    "http_requests_total", "temperature", "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))", "temperature > 20",
    "avg_over_time(temperature[10m])", "max_over_time(temperature[30m:1m])",
    "http_requests_total{code=\"500\"} / ignoring(code) http_requests_total{code=\"200\"}",
    "count(temperature)", "scalar(count(temperature))", "1e-7 * 3", "temperature * 1e15",
]
# Range selectors as query results: the window is left-open since Prometheus 3.0, as in bongsu.
instant_only = ["temperature[5m]", "http_requests_total{code=\"500\"}[2m]", "temperature[30m:7m]"]
for q in queries + instant_only:
    # Evaluation times between samples and on a sample (end, end - 30 min: a window's left
    # edge on a sample, which Prometheus 3 and bongsu leave out).
    for t in (end + 13, end - 1800 + 7, end - 45 * 60 + 11, end, end - 1800):
        check("/api/v1/query", {"query": q, "time": t})
    if q in instant_only:
        continue
    check("/api/v1/query_range", {"query": q, "start": start + 13, "end": end, "step": "60"})
    check("/api/v1/query_range", {"query": q, "start": start, "end": end, "step": "7m"})
check("/api/v1/series", {"match[]": ["temperature", "http_requests_total{job=\"api\"}"]})
check("/api/v1/series", {"match[]": "temperature", "start": end - 600, "end": end})
check("/api/v1/labels", {})
check("/api/v1/labels", {"match[]": "temperature"})
check("/api/v1/label/job/values", {})
# Label values over a range are compared over the whole data: Prometheus answers per block
# (every value of a block overlapping the range), bongsu per series with samples in the range.
check("/api/v1/label/room/values", {"match[]": "temperature", "start": start, "end": end})
check("/api/v1/format_query", {"query": "sum(rate(http_requests_total{job=\"api\"}[5m]))by(job)>1"})
# /federate answers with "now"'s lookback: compare what both have in it (the last samples).
check("/federate", {"match[]": ["temperature", "{job=\"api\"}"]})
check("/federate", {})

# Malformed requests: same status and errorType; exact text where bongsu aims for it.
for params, exact in [
    ({"query": "temperature", "time": "noon"}, True),
    ({"query": "sum(temperature"}, True),
    ({"query": "temperature", "timeout": "soon"}, True),
]:
    check("/api/v1/query", params, exact)
for params, exact in [
    ({"query": "temperature", "start": start, "end": end}, True),
    ({"query": "temperature", "start": end, "end": start, "step": "60"}, True),
    ({"query": "temperature", "start": start, "end": end, "step": "0"}, True),
    ({"query": "temperature", "start": start, "end": end, "step": "-3"}, True),
    ({"query": "temperature", "start": 0, "end": 11001, "step": "1"}, True),
    ({"query": "temperature", "start": "x", "end": end, "step": "1"}, True),
    ({"query": "temperature[5m]", "start": start, "end": end, "step": "60"}, True),
]:
    check("/api/v1/query_range", params, exact)
check("/api/v1/series", {}, True)
check("/api/v1/series", {"match[]": "temperature{"}, True)
check("/api/v1/labels", {"end": "later"}, True)
# A query out of time: bongsu answers as the API documents it (503, errorType "timeout").
# Known difference: Prometheus 3.5 answers at random 503 "timeout" (query timed out in query
# execution), 422 "execution" or 400 "bad_data" (both "context deadline exceeded"): since
# 2.46 the active-query tracker is entered in NewInstantQuery too, and its Insert returns the
# context's bare error, not wrapped as promql.ErrQueryTimeout, from whichever select
# noticed the deadline first (promql/engine.go queueActive, promql/query_logger.go Insert).
sb, tb = fetch(B, "/api/v1/query", {"query": "temperature", "timeout": "0s"})
sp, tp = fetch(P, "/api/v1/query", {"query": "temperature", "timeout": "0s"})
jb, jp = json.loads(tb), json.loads(tp)
same("timeout=0s status", (sb, jb.get("errorType")), (503, "timeout"))
racy = {(503, "timeout"), (422, "execution"), (400, "bad_data")}
if (sp, jp.get("errorType")) not in racy:
    same("timeout=0s: Prometheus answers other than 503/422/400", (sp, jp.get("errorType")), racy)
print(f"timeout=0s: bongsu {sb} {jb.get('errorType')!r} {jb.get('error')!r}; "
      f"prometheus {sp} {jp.get('errorType')!r} {jp.get('error')!r}", file=sys.stderr)

# Remote read: the reader (no data of its own) sees bongsu's series with dc="eu" added.
for q in ["sum by (job) (rate(http_requests_total[5m]))", "temperature"]:
    params = {"query": q, "start": start, "end": end, "step": "60"}
    sr, tr = fetch(R, "/api/v1/query_range", params)
    sp, tp = fetch(P, "/api/v1/query_range", params)
    jr, jp = json.loads(tr), json.loads(tp)
    same(f"remote read {q} status", sr, 200)
    same(f"remote read {q} warnings", jr.get("warnings"), None)
    for s in jp["data"]["result"]:
        if "__name__" in s["metric"]:
            s["metric"]["dc"] = "eu"
    same(f"remote read {q}", jr["data"], jp["data"])

# Federation: the reader scraped bongsu's /federate; its own copy has job="federate".
import time
deadline = time.time() + int(os.environ["TIMEOUT"])
want = {}
for s in json.loads(fetch(P, "/api/v1/query", {"query": "temperature{room=~\"x|y\"}", "time": end})[1])["data"]["result"]:
    want[s["metric"]["room"]] = s["value"][1]
while True:
    got = {}
    for s in json.loads(fetch(R, "/api/v1/query", {"query": "temperature{job=\"federate\"}"})[1])["data"]["result"]:
        got[s["metric"]["room"]] = (s["metric"].get("dc"), s["value"][1])
    if got or time.time() > deadline:
        break
    time.sleep(0.5)
same("federated by a real Prometheus", got, {room: ("eu", v) for room, v in want.items()})

print(f"{failures} difference(s)", file=sys.stderr)
sys.exit(1 if failures else 0)
EOF

FAILED=0
log "passed: bongsu answers as Prometheus over the same data, serves Prometheus' remote read and is federated by it"
