#!/usr/bin/env python3
"""Push native histograms of the kinds push_histograms.py does not: float counts (counters and
gauges) and custom buckets (NHCB, schema -53, integer and float), by Remote-Write 1.0.

Per `--series` index i, four series named histogram_float_counter, histogram_float_gauge,
histogram_nhcb and histogram_nhcb_float, with label i. Counters grow by fractional amounts,
buckets appear over time (so chunks get recoded) and every 97th sample is a counter reset;
gauges go up and down with buckets coming and going. Samples every `--interval` seconds for
`--hours`, ending at `--end` (default now). Deterministic for the same arguments.

Standard library only; the protobuf and snappy helpers are push_histograms.py's.

usage: push_float_histograms.py --url URL [--series 4] [--hours 2] [--interval 15] [--end S]
The last line is `RESULT histogram_samples=N series=S`.
"""
import argparse
import math
import os
import random
import struct
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_histograms import (  # noqa: E402
    f_bytes, f_double, f_varint, snappy_literal, timeseries, varint, zigzag)

GAUGE_HINT = 3  # prompb.Histogram.ResetHint.GAUGE
NHCB = -53
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


def packed_doubles(field, values):
    return f_bytes(field, b"".join(struct.pack("<d", v) for v in values))


def spans_of(idx):
    """Spans (offset, length) over sorted bucket indexes."""
    spans, prev = [], None
    for i in idx:
        if prev is not None and i == prev + 1:
            spans[-1][1] += 1
        else:
            spans.append([i if prev is None else i - prev - 1, 1])
        prev = i
    return spans


def float_msg(schema, buckets, zero, t_ms, hint=0, bounds=None):
    """prompb.Histogram with float counts: count_float=2, sum=3, schema=4, zero_threshold=5,
    zero_count_float=7, positive_spans=11, positive_counts=13, reset_hint=14, timestamp=15,
    custom_values=16."""
    idx = sorted(buckets)
    count = zero + sum(buckets.values())
    out = f_double(2, count) + f_double(3, count * 0.37) + f_varint(4, zigzag(schema))
    out += f_double(5, 0.0 if schema == NHCB else 1e-3) + f_double(7, zero)
    for off, length in spans_of(idx):
        out += f_bytes(11, f_varint(1, zigzag(off)) + f_varint(2, length))
    if idx:
        out += packed_doubles(13, [buckets[i] for i in idx])
    if hint:
        out += f_varint(14, hint)
    out += f_varint(15, t_ms)
    if bounds:
        out += packed_doubles(16, bounds)
    return out


def int_msg(schema, buckets, t_ms, bounds):
    """prompb.Histogram with integer counts (count_int=1, positive_deltas=12)."""
    idx = sorted(buckets)
    count = sum(buckets.values())
    out = f_varint(1, count) + f_double(3, count * 0.11) + f_varint(4, zigzag(schema))
    out += f_double(5, 0.0) + f_varint(6, 0)
    for off, length in spans_of(idx):
        out += f_bytes(11, f_varint(1, zigzag(off)) + f_varint(2, length))
    deltas, prev = [], 0
    for i in idx:
        deltas.append(buckets[i] - prev)
        prev = buckets[i]
    if deltas:
        out += f_bytes(12, b"".join(varint(zigzag(d) & 0xFFFFFFFFFFFFFFFF) for d in deltas))
    return out + f_varint(15, t_ms) + packed_doubles(16, bounds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", action="append", required=True)
    ap.add_argument("--series", type=int, default=4)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--end", type=float)
    a = ap.parse_args()
    end = a.end if a.end is not None else time.time()
    end = math.floor(end / a.interval) * a.interval
    steps = int(a.hours * 3600 / a.interval)
    start = end - (steps - 1) * a.interval
    rnd = random.Random(a.seed)
    state = [{"fc": {}, "fz": 0.0, "g": {}, "n": {}, "nf": {}} for _ in range(a.series)]
    sent = 0
    for step in range(steps):
        t_ms = int((start + step * a.interval) * 1000)
        batch = []
        for i, s in enumerate(state):
            reset = step % 97 == 96
            if reset:
                s["fc"], s["fz"], s["n"], s["nf"] = {}, 0.0, {}, {}
            for _ in range(rnd.randint(1, 4)):
                b = rnd.randint(-3, 3 + step // 40)
                s["fc"][b] = s["fc"].get(b, 0.0) + rnd.choice([0.5, 1.25, 2.0, 0.1])
            s["fz"] += rnd.choice([0.0, 0.5])
            s["g"] = {b: rnd.uniform(0, 9) for b in range(rnd.randint(0, 2), rnd.randint(3, 6))}
            k = rnd.randint(0, len(BOUNDS))
            s["n"][k] = s["n"].get(k, 0) + rnd.randint(1, 5)
            s["nf"][k] = s["nf"].get(k, 0.0) + rnd.choice([0.5, 1.5])
            lbl = [("job", "floathisto"), ("i", str(i))]
            batch.append(timeseries(lbl + [("__name__", "histogram_float_counter")],
                                    histograms=[float_msg(0, s["fc"], s["fz"], t_ms)]))
            batch.append(timeseries(lbl + [("__name__", "histogram_float_gauge")],
                                    histograms=[float_msg(1, s["g"], 1.0, t_ms, GAUGE_HINT)]))
            batch.append(timeseries(lbl + [("__name__", "histogram_nhcb")],
                                    histograms=[int_msg(NHCB, s["n"], t_ms, BOUNDS)]))
            batch.append(timeseries(lbl + [("__name__", "histogram_nhcb_float")],
                                    histograms=[float_msg(NHCB, s["nf"], 0.0, t_ms, 0, BOUNDS)]))
            sent += 4
        body = snappy_literal(b"".join(batch))
        for url in a.url:
            req = urllib.request.Request(url, data=body, method="POST", headers={
                "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                "X-Prometheus-Remote-Write-Version": "0.1.0"})
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
    print(f"RESULT histogram_samples={sent} series={4 * a.series}")


if __name__ == "__main__":
    main()
