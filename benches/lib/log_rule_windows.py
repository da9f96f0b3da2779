#!/usr/bin/env python3
"""Which of gen_logs.py's incident windows each LogQL alerting rule finds (standard library
plus PyYAML for the rule files).

Every alerting rule of the given rule files is run as a range query through
`/loki/api/v1/query_range` over [--start, --end] with its group's evaluation interval as the
step, as the ruler would evaluate it at each of those times. A series is *firing* at a step
once its expression has returned it at every step for the rule's `for`. Each firing step is
attributed to the incident window [a, b + tail) it falls in, where tail = the rule's longest
range + its `for` (an expression over [10m] still sees the window for 10 minutes after it
ends); firing steps outside every window are listed (UTC hh:mm) as "outside".

Prints one JSON object per rule: alert, windows found (letter -> firing series-minutes),
the firing steps outside them, the firing series' labels, the query time. Exits 1 if a query fails.

usage: log_rule_windows.py --url http://127.0.0.1:9090 --gen ../shared/bench/gen_logs.py \
           --start 1700007200 --end 1700086400 rules/logs-*.yml
"""
import argparse
import importlib.util
import json
import re
import sys
import time
import urllib.parse
import urllib.request

import yaml

DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
HTTP_TIMEOUT = 600  # seconds; a day of 1-minute steps over [1h] ranges takes a while


def seconds(text):
    """A Prometheus duration (`1h30m`, `5m`) in seconds."""
    total = 0.0
    for num, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text):
        total += int(num) * DURATION_UNITS[unit]
    return total


def longest_range(expr):
    return max((seconds(r) for r in re.findall(r"\[(\w+)\]", expr)), default=0)


def query_range(url, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url}/loki/api/v1/query_range?{q}", timeout=HTTP_TIMEOUT) as r:
        body = json.load(r)
    return body["data"]["result"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--gen", required=True, help="gen_logs.py, for its incident windows")
    ap.add_argument("--start", type=int, required=True)
    ap.add_argument("--end", type=int, required=True)
    ap.add_argument("--data-start", type=int, default=1700000000, help="gen_logs --start")
    ap.add_argument("--data-duration", type=int, default=86400, help="gen_logs --duration")
    ap.add_argument("rule_files", nargs="+")
    a = ap.parse_args()

    spec = importlib.util.spec_from_file_location("gen_logs", a.gen)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    windows = gen.incident_windows(a.data_start, a.data_duration)

    failed = False
    for path in a.rule_files:
        with open(path) as f:
            groups = yaml.safe_load(f)["groups"]
        for g in groups:
            step = int(seconds(g.get("interval", "1m")))
            for rule in g["rules"]:
                if "alert" not in rule:
                    continue
                expr, hold = rule["expr"], seconds(rule.get("for", "0s"))
                tail = longest_range(expr) + hold
                t0 = time.monotonic()
                try:
                    result = query_range(a.url, expr, a.start, a.end, step)
                except Exception as e:  # report and go on with the next rule
                    print(json.dumps({"alert": rule["alert"], "error": str(e)}), flush=True)
                    failed = True
                    continue
                took = time.monotonic() - t0
                found, outside, labels = {}, [], []
                for series in result:
                    times = sorted(int(float(t)) for t, _ in series["values"])
                    since, prev, fired = None, None, False
                    for t in times:
                        since = t if prev is None or t - prev > step else since
                        prev = t
                        if t - since < hold:
                            continue
                        fired = True
                        letter = next((w[0] for w in windows if w[2] <= t < w[3] + tail), None)
                        if letter is None:
                            outside.append(time.strftime("%H:%M", time.gmtime(t)))
                        else:
                            found[letter] = found.get(letter, 0) + step // 60
                    if fired:
                        labels.append(series["metric"])
                print(json.dumps({
                    "alert": rule["alert"], "file": path, "windows": dict(sorted(found.items())),
                    "outside": outside, "series_firing": len(labels),
                    "labels": labels, "query_s": round(took, 2),
                }), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
