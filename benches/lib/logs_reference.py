#!/usr/bin/env python3
"""The six log queries of ../shared/bench/LOGS-ANCHORS.md: their ground truth, computed straight
from gen_logs.py's NDJSON, and ClickHouse (chdb, in process) loading and answering them, timed.

  logs_reference.py truth LOGS.ndjson              -> JSON: the answer of each query
  logs_reference.py clickhouse LOGS.ndjson WORKDIR -> JSON: ingest wall/CPU, bytes on disk,
                                                      each query's best-of-3 seconds and answer
  logs_reference.py loki URL                       -> JSON: each query's best-of-3 seconds and
                                                      answer from a Loki HTTP API (bongsu's)

Answers are normalised so that bongsu's, ClickHouse's and the truth compare with ==:
  q1: int; q2: sorted list of line timestamps (ns); q3: {bucket_end_s: count};
  q4: {"<bucket_end_s>/<app>": p99 rounded to 9 significant digits}; q5: [[path, count]] by
  count then path; q6: the 100 newest timestamps (ns), newest first.
Buckets are named by their end t (Loki's query_range point at t covers (t-300, t]); the data's
timestamps are nanoseconds, none on a bucket edge.
"""
import json
import math
import os
import re
import resource
import sys
import time

START, END = 1700000000, 1700086400  # gen_logs.py defaults: one day
STEP = 300
RARE = "4bf92f3577b34da6a3ce929d0e0e4736"
ACCESS = "/var/log/nginx/access.log"
Q6_STREAM = {"job": "nginx", "host": "web-01", "filename": ACCESS}
# Q5's pattern `<_> - <_> [<_>] "<method> <path> <_>" <status> <_>` as a regexp.
PATTERN = re.compile(r'^\S+ - \S+ \[[^\]]*\] "\S+ (\S+) [^"]*" (\d{3}) ')


def bucket_end(ts_ns):
    """The end t of the 5-minute query_range point whose window (t-300s, t] holds ts_ns: the
    points are at 1700000100 + k*300, multiples of 300, so t is ts rounded up to one."""
    return -(-ts_ns // (STEP * 10**9)) * STEP


def quantile(q, values):
    """Prometheus' and Loki's quantile: linear interpolation between ranks, h = q*(n-1)."""
    v = sorted(values)
    if not v:
        return float("nan")
    h = q * (len(v) - 1)
    lo = math.floor(h)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (h - lo) * (v[hi] - v[lo])


def sig(x):
    return float("%.9g" % x)


def truth(path):
    q1 = 0
    q2 = []
    q3 = {}
    q4 = {}
    q5 = {}
    q6 = []
    with open(path, "rb") as f:
        for raw in f:
            r = json.loads(raw)
            ts, labels, line = r["ts"], r["labels"], r["line"]
            if not START * 10**9 <= ts < END * 10**9:
                continue
            q1 += 1
            if RARE in line:
                q2.append(ts)
            job = labels.get("job")
            if job == "nginx" and "error" in line.lower():
                b = bucket_end(ts)
                q3[b] = q3.get(b, 0) + 1
            if job == "app":
                try:
                    d = json.loads(line).get("duration_ms")
                except ValueError:
                    d = None
                if isinstance(d, (int, float)) and not isinstance(d, bool):
                    q4.setdefault("%d/%s" % (bucket_end(ts), labels["app"]), []).append(float(d))
            if job == "nginx" and labels.get("filename") == ACCESS:
                m = PATTERN.match(line)
                if m and m.group(2).startswith("5"):
                    q5[m.group(1)] = q5.get(m.group(1), 0) + 1
                if all(labels.get(k) == v for k, v in Q6_STREAM.items()):
                    q6.append(ts)
    return {
        "q1": q1,
        "q2": sorted(q2),
        "q3": {str(k): v for k, v in sorted(q3.items())},
        "q4": {k: sig(quantile(0.99, v)) for k, v in sorted(q4.items())},
        "q5": sorted(([p, n] for p, n in q5.items()), key=lambda x: (-x[1], x[0]))[:10],
        "q6": sorted(q6, reverse=True)[:100],
    }


DDL = """CREATE TABLE logs (
  job LowCardinality(String), host LowCardinality(String), app LowCardinality(String),
  env LowCardinality(String), level LowCardinality(String), filename LowCardinality(String),
  ts DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
  line String CODEC(ZSTD(3))
) ENGINE = MergeTree ORDER BY (job, app, host, filename, level, ts)"""

TF = "ts >= toDateTime64(%d, 9, 'UTC') AND ts < toDateTime64(%d, 9, 'UTC')" % (START, END)
B = "toUnixTimestamp(toStartOfInterval(ts, INTERVAL 5 MINUTE))"
QUERIES = {
    "q1": "SELECT count() AS n FROM logs WHERE " + TF,
    "q2": "SELECT toUnixTimestamp64Nano(ts) AS t FROM logs WHERE %s AND position(line, '%s') > 0 "
    "ORDER BY ts DESC LIMIT 1000" % (TF, RARE),
    "q3": "SELECT %s AS b, count() AS n FROM logs WHERE %s AND job = 'nginx' "
    "AND positionCaseInsensitive(line, 'error') > 0 GROUP BY b ORDER BY b" % (B, TF),
    "q4": "SELECT %s AS b, app, quantileExactInclusive(0.99)(JSONExtractFloat(line, 'duration_ms')) AS p "
    "FROM logs WHERE %s AND job = 'app' AND JSONHas(line, 'duration_ms') GROUP BY b, app ORDER BY b, app"
    % (B, TF),
    "q5": "SELECT extract(line, '^\\\\S+ - \\\\S+ \\\\[[^\\\\]]*\\\\] \"\\\\S+ (\\\\S+)') AS path, count() AS n "
    "FROM logs WHERE %s AND job = 'nginx' AND filename = '%s' "
    "AND extract(line, '^\\\\S+ - \\\\S+ \\\\[[^\\\\]]*\\\\] \"[^\"]*\" (\\\\d{3}) ') LIKE '5%%' "
    "GROUP BY path ORDER BY n DESC, path LIMIT 10" % (TF, ACCESS),
    "q6": "SELECT toUnixTimestamp64Nano(ts) AS t FROM logs WHERE %s AND job = 'nginx' AND host = 'web-01' "
    "AND filename = '%s' ORDER BY ts DESC LIMIT 100" % (TF, ACCESS),
}


def normalise(name, rows):
    if name == "q1":
        return int(rows[0]["n"])
    if name == "q2":
        return sorted(int(r["t"]) for r in rows)
    if name == "q3":
        # ClickHouse names a bucket by its start; the truth by its end.
        return {str(int(r["b"]) + STEP): int(r["n"]) for r in rows}
    if name == "q4":
        return {"%d/%s" % (int(r["b"]) + STEP, r["app"]): sig(float(r["p"])) for r in rows}
    if name == "q5":
        return [[r["path"], int(r["n"])] for r in rows]
    return [int(r["t"]) for r in rows]


# The anchors' Loki requests: (path, parameters).
LOKI_QUERIES = {
    "q1": ("query", {"query": 'sum(count_over_time({job=~".+"}[1d]))', "time": END}),
    "q2": ("query_range", {"query": '{job=~".+"} |= "%s"' % RARE, "start": START, "end": END,
                           "limit": 1000}),
    "q3": ("query_range", {"query": 'sum(count_over_time({job="nginx"} |~ "(?i)error" [5m]))',
                           "start": START + 100, "end": END + 100, "step": STEP}),
    "q4": ("query_range", {"query": 'quantile_over_time(0.99, {job="app"} | json duration_ms="duration_ms" '
                                    '| unwrap duration_ms | __error__="" [5m]) by (app)',
                           "start": START + 100, "end": END + 100, "step": STEP}),
    "q5": ("query", {"query": 'topk(10, sum by (path) (count_over_time({job="nginx", filename="%s"} '
                              '| pattern `<_> - <_> [<_>] "<method> <path> <_>" <status> <_>` '
                              '| status=~"5.." [1d])))' % ACCESS, "time": END}),
    "q6": ("query_range", {"query": '{job="nginx", host="web-01", filename="%s"}' % ACCESS,
                           "start": START, "end": END, "limit": 100, "direction": "backward"}),
}


def loki_answer(name, data):
    result = data["result"]
    if name == "q1":
        return int(float(result[0]["value"][1])) if result else 0
    if name in ("q2", "q6"):
        ts = [int(v[0]) for s in result for v in s["values"]]
        return sorted(ts) if name == "q2" else sorted(ts, reverse=True)[:100]
    if name == "q3":
        return {str(int(float(t))): int(float(v)) for s in result for t, v in s["values"]}
    if name == "q4":
        return {"%d/%s" % (int(float(t)), s["metric"].get("app", "")): sig(float(v))
                for s in result for t, v in s["values"]}
    rows = [[s["metric"].get("path", ""), int(float(s["value"][1]))] for s in result]
    return sorted(rows, key=lambda x: (-x[1], x[0]))


def loki(url):
    import urllib.parse
    import urllib.request

    out = {}
    for name, (path, params) in LOKI_QUERIES.items():
        q = "%s/loki/api/v1/%s?%s" % (url.rstrip("/"), path, urllib.parse.urlencode(params))
        best = None
        for _ in range(3):
            t = time.time()
            with urllib.request.urlopen(q, timeout=600) as resp:
                body = json.load(resp)
            d = time.time() - t
            best = d if best is None else min(best, d)
        out[name + "_s"] = best
        out[name] = loki_answer(name, body["data"])
    return out


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def clickhouse(path, workdir):
    import chdb.session

    os.makedirs(workdir, exist_ok=True)
    sess = chdb.session.Session(os.path.join(workdir, "chdb"))
    sess.query("DROP TABLE IF EXISTS logs")
    sess.query(DDL)
    cpu0, t0 = cpu_seconds(), time.time()
    sess.query(
        "INSERT INTO logs SELECT labels.job, labels.host, labels.app, labels.env, labels.level, "
        "labels.filename, fromUnixTimestamp64Nano(ts), line FROM file('%s', 'JSONEachRow', "
        "'ts Int64, labels Tuple(job String, host String, app String, env String, level String, "
        "filename String), line String')" % os.path.abspath(path)
    )
    sess.query("OPTIMIZE TABLE logs FINAL")
    out = {"ingest_wall_s": time.time() - t0, "ingest_cpu_s": cpu_seconds() - cpu0}
    parts = sess.query(
        "SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE table = 'logs' AND active", "JSON"
    )
    out["disk_bytes"] = int(json.loads(parts.bytes())["data"][0]["b"])
    for name, sql in QUERIES.items():
        best = None
        for _ in range(3):
            t = time.time()
            res = sess.query(sql, "JSON")
            d = time.time() - t
            best = d if best is None else min(best, d)
        out[name + "_s"] = best
        out[name] = normalise(name, json.loads(res.bytes())["data"])
    return out


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("truth", "clickhouse", "loki"):
        sys.exit(__doc__)
    if sys.argv[1] == "truth":
        json.dump(truth(sys.argv[2]), sys.stdout)
    elif sys.argv[1] == "loki":
        json.dump(loki(sys.argv[2]), sys.stdout)
    else:
        json.dump(clickhouse(sys.argv[2], sys.argv[3]), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
