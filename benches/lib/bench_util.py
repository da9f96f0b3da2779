#!/usr/bin/env python3
"""Small helpers for benches/storage_compare.sh (standard library only).

Subcommands (each prints its answer on stdout; errors go to stderr with exit 1):

  freeport                         a free TCP port on 127.0.0.1
  size DIR [SUBSTR]                apparent bytes of the regular files under DIR
                                   (only paths containing SUBSTR, if given)
  count-file FILE                  "SERIES SAMPLES" in an OpenMetrics/Prometheus text file
  block-end DIR                    last sample timestamp (unix seconds, ms precision) of the
                                   Prometheus TSDB blocks under DIR (max meta.json maxTime - 1ms)
  block-start DIR                  first sample timestamp of the blocks under DIR (min minTime)
  wait-http URL TIMEOUT_S [PID]    poll URL until it answers 2xx; fail after TIMEOUT_S seconds
                                   or as soon as process PID is gone
  get URL TIMEOUT_S                one GET that must answer 2xx within TIMEOUT_S seconds
  scalar BASE_URL QUERY TIME       instant query; the value of the single result (or "-")
  samples BASE_URL TIME RANGE      samples in (TIME-RANGE, TIME]: sum(count_over_time({__name__=~".+"}[RANGE])),
                                   or, where the server refuses that query (Prometheus: "vector cannot
                                   contain metrics with the same labelset", as count_over_time drops
                                   the metric name), the same query per metric name, added up
  metric BASE_URL NAME             sum of a metric's values on BASE_URL/metrics ("-" if absent)
  compare REF_URL TEST_URL QUERY TIME
                                   run QUERY (must return a matrix, e.g. `sel[3h]`) on both
                                   servers, compare series sets and every (timestamp, value)
                                   pair with exact float equality; prints a one-line verdict,
                                   exit 0 if equal, 2 if not
  timev FILE                       "USER+SYS_SECONDS MAXRSS_KB" from a `/usr/bin/time -v` report
"""
import json
import math
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HTTP_TIMEOUT = 120  # seconds for one API call (count_over_time over everything can be slow)


def die(msg):
    print(f"bench_util: {msg}", file=sys.stderr)
    sys.exit(1)


def freeport():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def size(root, substr=None):
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if substr and substr not in os.path.relpath(p, root):
                continue
            st = os.lstat(p)
            if os.path.isfile(p) and not os.path.islink(p):
                total += st.st_size
    return total


def count_file(path):
    """Count samples (lines that are not comments/blank) and distinct series in a text file."""
    series = set()
    samples = 0
    with open(path, "rb") as fh:
        for line in fh:
            if not line.strip() or line.startswith(b"#"):
                continue
            samples += 1
            # series identity: everything before the value (name + label set)
            if b"}" in line:
                key = line[: line.rindex(b"}") + 1]
            else:
                key = line.split(None, 1)[0]
            series.add(key)
    return len(series), samples


def _block_metas(root):
    metas = []
    for entry in os.listdir(root):
        meta = os.path.join(root, entry, "meta.json")
        if os.path.isfile(meta):
            with open(meta) as fh:
                metas.append(json.load(fh))
    if not metas:
        die(f"no blocks (*/meta.json) under {root}")
    return metas


def block_end(root):
    end = max(m["maxTime"] for m in _block_metas(root))  # exclusive upper bound, ms
    return f"{(end - 1) / 1000:.3f}"


def block_start(root):
    return f"{min(m['minTime'] for m in _block_metas(root)) / 1000:.3f}"


def wait_http(url, timeout_s, pid=None):
    deadline = time.monotonic() + float(timeout_s)
    last = "no answer"
    while time.monotonic() < deadline:
        if pid:
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                die(f"process {pid} exited while waiting for {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if 200 <= r.status < 300:
                    return
                last = f"HTTP {r.status}"
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        time.sleep(0.5)
    die(f"timed out after {timeout_s}s waiting for {url} ({last})")


class QueryError(Exception):
    pass


def get(url, timeout_s):
    try:
        with urllib.request.urlopen(url, timeout=float(timeout_s)) as r:
            r.read()
    except (urllib.error.URLError, OSError) as e:
        die(f"GET {url}: {e}")


def api(base, path, params, soft=False):
    """POST to a Prometheus-style API; return its data. soft: raise QueryError on HTTP 4xx."""
    url = base.rstrip("/") + path
    data = urllib.parse.urlencode(params).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=HTTP_TIMEOUT) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        msg = f"{url} {params}: HTTP {e.code}: {e.read()[:500]!r}"
        if soft and 400 <= e.code < 500:
            raise QueryError(msg) from None
        die(msg)
    except (urllib.error.URLError, OSError) as e:
        die(f"{url} {params}: {e}")
    if body.get("status") != "success":
        die(f"{url} {params}: {body}")
    return body["data"]


def scalar(base, query, t, soft=False):
    data = api(base, "/api/v1/query", {"query": query, "time": t}, soft=soft)
    res = data["result"]
    if data["resultType"] == "scalar":
        return res[1]
    if not res:
        return "-"
    if len(res) != 1:
        die(f"{query}: expected one result, got {len(res)}")
    return res[0]["value"][1]


def samples(base, t, rng):
    try:
        return scalar(base, f'sum(count_over_time({{__name__=~".+"}}[{rng}]))', t, soft=True)
    except QueryError as e:
        print(f"bench_util: {e}; counting per metric name instead", file=sys.stderr)
    url = base.rstrip("/") + "/api/v1/label/__name__/values"
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as r:
            names = json.load(r)["data"]
    except (urllib.error.URLError, OSError, KeyError, ValueError) as e:
        die(f"{url}: {e}")
    total = 0
    for name in names:
        v = scalar(base, f'sum(count_over_time({{__name__="{name}"}}[{rng}]))', t)
        if v != "-":
            total += int(float(v))
    return str(total)


def metric(base, name):
    url = base.rstrip("/") + "/metrics"
    with urllib.request.urlopen(url, timeout=30) as r:
        text = r.read().decode()
    vals = [float(m.group(1)) for m in re.finditer(
        r"^" + re.escape(name) + r"(?:\{[^}]*\})?\s+(\S+)$", text, re.M)]
    return repr(sum(vals)) if vals else "-"


def _matrix(base, query, t):
    data = api(base, "/api/v1/query", {"query": query, "time": t})
    if data["resultType"] != "matrix":
        die(f"{query}: expected a matrix from {base}, got {data['resultType']}")
    out = {}
    for s in data["result"]:
        key = tuple(sorted(s["metric"].items()))
        # Prometheus encodes values as strings; compare the parsed floats
        out[key] = [(round(float(ts) * 1000), float(v)) for ts, v in s.get("values", [])]
    return out


def _same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


def compare(ref, test, query, t):
    a, b = _matrix(ref, query, t), _matrix(test, query, t)
    problems = []
    for k in sorted(set(a) - set(b))[:3]:
        problems.append(f"missing series {dict(k)}")
    for k in sorted(set(b) - set(a))[:3]:
        problems.append(f"extra series {dict(k)}")
    nsamples = 0
    for k in sorted(set(a) & set(b)):
        sa, sb = a[k], b[k]
        nsamples += len(sa)
        if len(sa) != len(sb):
            problems.append(f"{dict(k)}: {len(sa)} vs {len(sb)} samples")
            continue
        for (ta, va), (tb, vb) in zip(sa, sb):
            if ta != tb or not _same(va, vb):
                problems.append(f"{dict(k)}: ({ta}, {va!r}) vs ({tb}, {vb!r})")
                break
    if set(a) != set(b):
        problems.insert(0, f"series {len(a)} vs {len(b)}")
    if problems:
        print(f"MISMATCH {query}: " + "; ".join(problems[:5]))
        return 2
    print(f"equal    {query}: {len(a)} series, {nsamples} samples")
    return 0


def timev(path):
    text = open(path).read()
    def field(label):
        m = re.search(r"^\s*" + re.escape(label) + r":\s*(\S+)\s*$", text, re.M)
        if not m:
            die(f"{path}: no '{label}' line (not a /usr/bin/time -v report?)")
        return m.group(1)
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return f"{cpu:.2f} {field('Maximum resident set size (kbytes)')}"


def main(argv):
    if not argv:
        die("usage: see the module docstring")
    cmd, args = argv[0], argv[1:]
    if cmd == "freeport":
        print(freeport())
    elif cmd == "size":
        print(size(*args))
    elif cmd == "count-file":
        print(*count_file(args[0]))
    elif cmd == "block-end":
        print(block_end(args[0]))
    elif cmd == "block-start":
        print(block_start(args[0]))
    elif cmd == "wait-http":
        wait_http(*args)
    elif cmd == "get":
        get(*args)
    elif cmd == "scalar":
        print(scalar(*args))
    elif cmd == "samples":
        print(samples(*args))
    elif cmd == "metric":
        print(metric(*args))
    elif cmd == "compare":
        return compare(*args)
    elif cmd == "timev":
        print(timev(args[0]))
    else:
        die(f"unknown subcommand {cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
