#!/usr/bin/env python3
"""A classic (bucketed) histogram family to go with gen_node_dataset.py's data.

node_exporter's page has no classic histogram, so histogram_quantile() would have nothing
to work on. This writes `http_request_duration_seconds` (buckets, _sum, _count) for the same
hosts, scrape times and labels (`instance="host-NNNN:9100"`, `job="node"`) plus `handler`,
as OpenMetrics text without the closing "# EOF", to be appended to the node data set before
its own "# EOF". Deterministic for a given seed.

usage: gen_histograms.py --hosts 20 --hours 2 [--interval 15] [--seed 1] [--start 1700000000]
"""
import argparse
import random
import sys

BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
HANDLERS = ["/api/v1/query", "/api/v1/query_range", "/metrics", "/-/ready"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=1_700_000_000)
    a = ap.parse_args()
    steps = int(a.hours * 3600 / a.interval)
    out = sys.stdout
    out.write("# TYPE http_request_duration_seconds histogram\n")
    les = [repr(float(b)) for b in BUCKETS] + ["+Inf"]
    for h in range(a.hosts):
        for hi, handler in enumerate(HANDLERS):
            r = random.Random(a.seed * 1_000_003 + h * 101 + hi)
            mean_reqs = r.uniform(0, 20) if hi != 3 else 0.0  # one handler never gets traffic
            median = r.uniform(0.01, 0.5)
            cum = [0] * len(les)  # cumulative bucket counters
            total = 0.0
            rows = []  # per step: (timestamp, bucket counts..., sum, count)
            for i in range(steps):
                for _ in range(int(r.expovariate(1 / mean_reqs)) if mean_reqs else 0):
                    d = r.lognormvariate(0, 1) * median
                    total += d
                    for j, le in enumerate(BUCKETS):
                        if d <= le:
                            cum[j] += 1
                    cum[-1] += 1
                ts = a.start + i * a.interval + r.randint(-25, 25) / 1000
                rows.append((f"{ts:.3f}", list(cum), total))
            base = f'instance="host-{h:04d}:9100",job="node",handler="{handler}"'
            for j, le in enumerate(les):
                for ts, c, _ in rows:
                    out.write(f'http_request_duration_seconds_bucket{{{base},le="{le}"}} {c[j]} {ts}\n')
            for ts, _, s in rows:
                out.write(f"http_request_duration_seconds_sum{{{base}}} {s:.6g} {ts}\n")
            for ts, c, _ in rows:
                out.write(f"http_request_duration_seconds_count{{{base}}} {c[-1]} {ts}\n")


if __name__ == "__main__":
    main()
