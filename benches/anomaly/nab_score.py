#!/usr/bin/env python3
"""Scores anomaly detectors on the Numenta Anomaly Benchmark (NAB), by NAB's rules.

Standard library only. The rules (shared/anomaly/README.md, from the NAB paper and its
reference scorer):

- Each file's first 15% of rows (at most 750) is probationary: neither detections nor windows
  there count.
- A row whose anomaly score is >= the threshold is a detection. Inside a labelled window only
  the best (earliest) detection counts, earning tpWeight × σ(position) / σ(−1), with position
  −(right − i + 1) / width (−1 at the window's first row). A window without detection costs
  −fnWeight. A detection outside every window costs fpWeight × σ(d), d = (i − right of the
  preceding window) / (its width − 1), or fpWeight × −1 without a preceding window;
  σ(x) = 2 / (1 + e^{5x}) − 1, and −1 past 3 window lengths.
- A detector's corpus score at a threshold is the sum over files; it is normalized as
  100 × (raw − null) / (perfect − null), null = −fnWeight × windows (never detects),
  perfect = tpWeight × labelled windows.
- The threshold is the one that maximizes the corpus score, per profile (--optimize; every
  distinct score is tried, so this finds the true optimum), or given (--thresholds FILE, NAB's
  thresholds.json shape, to reproduce published results).

Results layout (as NAB's): RESULTS/<detector>/<category>/<detector>_<file>.csv with a header
containing `timestamp` and `anomaly_score`, one row per data row.

usage:
  nab_score.py --nab DIR --results DIR --detector NAME (--optimize | --thresholds FILE)
               [--json OUT]
Prints a table: per profile the threshold, raw score and normalized score.
"""
import argparse
import csv
import json
import math
import os
import sys
from datetime import datetime

PROBATION_PERCENT = 0.15
PROBATION_MAX_ROWS = 750  # 15% of 5,000 rows


def sigma(x):
    """NAB's scaled sigmoid of a position relative to a window."""
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def parse_time(s):
    s = s.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    raise ValueError(f"bad timestamp {s!r}")


def read_scores(path):
    """[(timestamp, anomaly_score)] of a results file."""
    with open(path, newline="") as fh:
        rows = csv.DictReader(fh)
        return [(parse_time(r["timestamp"]), float(r["anomaly_score"])) for r in rows]


class Point:
    """One scorable row: its score, its window (None outside) and its weight when detected,
    as (tp part, fp part): in a window the unweighted σ goes to tp, outside to fp."""
    __slots__ = ("score", "window", "unweighted")

    def __init__(self, score, window, unweighted):
        self.score = score
        self.window = window
        self.unweighted = unweighted


def file_points(name, rows, windows):
    """The scorable points of one file and the names of its scorable windows."""
    times = [t for t, _ in rows]
    index = {t: i for i, t in enumerate(times)}
    spans = []
    for start, end in windows:
        if start not in index or end not in index:
            raise ValueError(f"{name}: window {start}..{end} is not on row timestamps")
        spans.append((index[start], index[end]))
    probation = min(math.floor(PROBATION_PERCENT * len(rows)), PROBATION_PERCENT * 5000)
    points, scorable_windows = [], set()
    w = 0  # next window
    cur = None  # (left, right, name) of the window we are in
    prev = None  # (right, width) of the last window left
    for i, (_, score) in enumerate(rows):
        if cur is None and w < len(spans) and i == spans[w][0]:
            left, right = spans[w]
            cur = (left, right, f"{name}|{w}")
            w += 1
        if cur is not None:
            left, right, wname = cur
            width = right - left + 1
            unweighted = sigma(-(right - i + 1) / width)
        elif prev is None:
            unweighted = -1.0
        else:
            right, width = prev
            unweighted = sigma(abs(right - i) / float(width - 1))
        if i >= probation:
            wname = cur[2] if cur is not None else None
            points.append(Point(score, wname, unweighted))
            if wname is not None:
                scorable_windows.add(wname)
        if cur is not None and i == cur[1]:
            prev = (cur[1], cur[1] - cur[0] + 1)
            cur = None
    return points, scorable_windows


class Corpus:
    def __init__(self, nab_dir, results_dir, detector):
        with open(os.path.join(nab_dir, "labels", "combined_windows.json")) as fh:
            windows = json.load(fh)
        # NAB's "perfect" counts the labelled windows (its runner reads the windows file).
        self.anomalies = sum(len(v) for v in windows.values())
        self.points, self.windows = [], set()
        for rel, wins in sorted(windows.items()):
            category, fname = rel.split("/")
            path = os.path.join(results_dir, detector, category, f"{detector}_{fname}")
            if not os.path.exists(path):
                raise FileNotFoundError(f"no results for {rel}: {path}")
            pts, names = file_points(rel, read_scores(path),
                                     [(parse_time(a), parse_time(b)) for a, b in wins])
            self.points += pts
            self.windows |= names
        self.by_score = sorted(self.points, key=lambda p: p.score, reverse=True)

    def sweep(self, cost):
        """[(threshold, raw score)] for every distinct score, highest threshold first,
        each counting the points with score >= threshold."""
        tp_w, fp_w, fn_w = cost["tpWeight"], cost["fpWeight"], cost["fnWeight"]
        max_tp = sigma(-1.0)
        best = {w: -fn_w for w in self.windows}
        total = sum(best.values())
        out = [(math.inf, total)]
        pts = self.by_score
        i = 0
        while i < len(pts):
            th = pts[i].score
            while i < len(pts) and pts[i].score == th:
                p = pts[i]
                if p.window is None:
                    total += p.unweighted * fp_w
                else:
                    s = p.unweighted * tp_w / max_tp
                    if s > best[p.window]:
                        total += s - best[p.window]
                        best[p.window] = s
                i += 1
            out.append((th, total))
        return out

    def score_at(self, cost, threshold):
        raw = None
        for th, total in self.sweep(cost):
            if th >= threshold:
                raw = total
        return raw

    def normalize(self, cost, raw):
        null = -cost["fnWeight"] * len(self.windows)
        perfect = cost["tpWeight"] * self.anomalies
        return 100.0 * (raw - null) / (perfect - null)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nab", required=True, help="the NAB directory (shared/anomaly/nab)")
    ap.add_argument("--results", required=True)
    ap.add_argument("--detector", required=True)
    how = ap.add_mutually_exclusive_group(required=True)
    how.add_argument("--optimize", action="store_true")
    how.add_argument("--thresholds", help="NAB thresholds.json")
    ap.add_argument("--json", help="write the scores here")
    a = ap.parse_args()

    with open(os.path.join(a.nab, "config", "profiles.json")) as fh:
        profiles = json.load(fh)
    fixed = None
    if a.thresholds:
        with open(a.thresholds) as fh:
            fixed = json.load(fh)[a.detector]
    corpus = Corpus(a.nab, a.results, a.detector)
    out = {}
    print(f"| {a.detector} | threshold | raw | score |")
    print("|---|---:|---:|---:|")
    for name in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        cost = profiles[name]["CostMatrix"]
        if fixed is not None:
            th = fixed[name]["threshold"]
            raw = corpus.score_at(cost, th)
        else:
            th, raw = max(corpus.sweep(cost), key=lambda x: x[1])
        score = corpus.normalize(cost, raw)
        out[name] = {"threshold": th, "raw": raw, "score": score}
        print(f"| {name} | {th:.6g} | {raw:.3f} | {score:.2f} |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
