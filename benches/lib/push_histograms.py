#!/usr/bin/env python3
"""Push the same request-latency histograms, native and classic, by Remote-Write 1.0.

For `--hosts` × 4 handlers, one observation stream per series (log-normal latencies, a
per-series rate) is kept as two families from the same observations:

  request_duration_native_seconds{instance, job="histo", handler}    native histogram,
      exponential schema 3 (bucket factor ~1.09), integer counts, a counter
  request_duration_classic_seconds_bucket{..., le}, _count, _sum      classic histogram
      with 11 bounds (Prometheus' default buckets)

Samples every `--interval` seconds for `--hours`, ending at `--end` (default: now, rounded
down to the interval), sent round by round (every series' sample at one time per batch of
requests), so a receiver that takes samples in order per series accepts every one. The
same arguments give the same data, so two servers pushed with it hold equal series.

Standard library only: the protobuf messages are encoded here, and the body is snappy's
block format with literals only (valid snappy, no compression), which every receiver reads.

usage: push_histograms.py --url URL [--url URL2 ...] [--hosts 10] [--hours 3]
                          [--interval 15] [--seed 1] [--end UNIX_SECONDS]
The last line is `RESULT native_samples=N classic_samples=M series=S`.
"""
import argparse
import math
import random
import struct
import sys
import time
import urllib.error
import urllib.request

HANDLERS = ["/api/v1/query", "/api/v1/query_range", "/metrics", "/-/ready"]
CLASSIC_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
SCHEMA = 3
SERIES_PER_REQUEST = 500


# --- protobuf (proto3 wire format) -------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def key(field, wire):
    return varint(field << 3 | wire)


def f_bytes(field, b):
    return key(field, 2) + varint(len(b)) + b


def f_double(field, v):
    return key(field, 1) + struct.pack("<d", v)


def f_varint(field, n):
    return key(field, 0) + varint(n & 0xFFFFFFFFFFFFFFFF)


def f_packed_sint(field, values):
    return f_bytes(field, b"".join(varint(zigzag(v) & 0xFFFFFFFFFFFFFFFF) for v in values))


def label(name, value):
    return f_bytes(1, name.encode()) + f_bytes(2, value.encode())


def sample(v, t_ms):
    return f_double(1, v) + f_varint(2, t_ms)


def histogram_msg(count, total, zero_count, zero_threshold, spans, deltas, t_ms):
    """prompb.Histogram with integer counts: count_int=1, sum=3, schema=4 (sint32),
    zero_threshold=5, zero_count_int=6, positive_spans=11, positive_deltas=12 (sint64),
    timestamp=15."""
    out = f_varint(1, count) + f_double(3, total) + f_varint(4, zigzag(SCHEMA))
    out += f_double(5, zero_threshold) + f_varint(6, zero_count)
    for off, length in spans:
        out += f_bytes(11, f_varint(1, zigzag(off)) + f_varint(2, length))
    if deltas:
        out += f_packed_sint(12, deltas)
    return out + f_varint(15, t_ms)


def timeseries(labels, samples=(), histograms=()):
    body = b"".join(f_bytes(1, label(n, v)) for n, v in sorted(labels))
    body += b"".join(f_bytes(2, s) for s in samples)
    body += b"".join(f_bytes(4, h) for h in histograms)
    return f_bytes(1, body)


# --- snappy, literals only ---------------------------------------------------------------

def snappy_literal(data):
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


# --- the data ----------------------------------------------------------------------------

def bucket_index(v):
    """The schema-3 bucket of an observation v > 0: bucket i is (base^(i-1), base^i]."""
    return math.ceil(math.log2(v) * (1 << SCHEMA))


class Stream:
    """One series' observations, accumulated into both histogram kinds."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.rate = rnd.uniform(0.5, 20.0)
        self.mu = math.log(rnd.uniform(0.01, 0.4))
        self.buckets = {}
        self.zero = 0
        self.count = 0
        self.total = 0.0
        self.classic = [0] * len(CLASSIC_BOUNDS)

    def observe(self, seconds):
        for _ in range(int(self.rnd.expovariate(1.0) * self.rate * seconds)):
            v = self.rnd.lognormvariate(self.mu, 0.8)
            self.count += 1
            self.total += v
            if v <= 1e-128:
                self.zero += 1
            else:
                i = bucket_index(v)
                self.buckets[i] = self.buckets.get(i, 0) + 1
            for j, b in enumerate(CLASSIC_BOUNDS):
                if v <= b:
                    self.classic[j] += 1

    def native(self, t_ms):
        idx = sorted(self.buckets)
        spans, deltas, prev_i, prev_c = [], [], None, 0
        for i in idx:
            if prev_i is not None and i == prev_i + 1:
                spans[-1][1] += 1
            else:
                spans.append([i if prev_i is None else i - prev_i - 1, 1])
            deltas.append(self.buckets[i] - prev_c)
            prev_i, prev_c = i, self.buckets[i]
        return histogram_msg(self.count, self.total, self.zero, 1e-128, spans, deltas, t_ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", action="append", required=True)
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", type=float)
    a = ap.parse_args()

    end = a.end if a.end is not None else time.time()
    end = math.floor(end / a.interval) * a.interval
    steps = int(a.hours * 3600 / a.interval)
    start = end - (steps - 1) * a.interval
    series = []
    for h in range(a.hosts):
        for hi, handler in enumerate(HANDLERS):
            base = [("instance", f"host-{h:04d}:8080"), ("job", "histo"), ("handler", handler)]
            series.append((base, Stream(random.Random(a.seed * 1_000_003 + h * 101 + hi))))

    native_n = classic_n = 0
    for step in range(steps):
        t_ms = int((start + step * a.interval) * 1000)
        batch = []
        for base, s in series:
            s.observe(a.interval)
            batch.append(timeseries(base + [("__name__", "request_duration_native_seconds")],
                                    histograms=[s.native(t_ms)]))
            name = "request_duration_classic_seconds"
            # s.classic is already cumulative: an observation counts in every bound above it.
            for b, c in zip(CLASSIC_BOUNDS, s.classic):
                batch.append(timeseries(base + [("__name__", name + "_bucket"), ("le", repr(float(b)))],
                                        [sample(float(c), t_ms)]))
            batch.append(timeseries(base + [("__name__", name + "_bucket"), ("le", "+Inf")],
                                    [sample(float(s.count), t_ms)]))
            batch.append(timeseries(base + [("__name__", name + "_count")], [sample(float(s.count), t_ms)]))
            batch.append(timeseries(base + [("__name__", name + "_sum")], [sample(s.total, t_ms)]))
            native_n += 1
            classic_n += len(CLASSIC_BOUNDS) + 3
        for i in range(0, len(batch), SERIES_PER_REQUEST):
            body = snappy_literal(b"".join(batch[i:i + SERIES_PER_REQUEST]))
            for url in a.url:
                send(url, body)
    print(f"RESULT native_samples={native_n} classic_samples={classic_n} series={len(series)}")


def send(url, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    })
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"push_histograms: {url}: HTTP {e.code}: {e.read()[:300].decode(errors='replace')}")


if __name__ == "__main__":
    main()
