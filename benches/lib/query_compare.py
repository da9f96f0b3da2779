#!/usr/bin/env python3
"""Differential check and timing of PromQL queries over Prometheus-compatible HTTP APIs.

Standard library only. Used by benches/query_compare.sh, which imports the data and starts
the servers; this file only talks HTTP.

  diff  --target NAME=URL --target NAME=URL --queries FILE... --start S --end E
        [--known FILE] [--report-only] [--summary FILE]
        Runs every query through both APIs (the first target is the reference) as instant
        queries at several times and as range queries over several windows, and compares the
        answers: same status and errorType, same resultType, same series label sets, same
        timestamps, floats within 1e-6 relative (NaN equals NaN, infinities must match),
        same order where the query sorts (sort, sort_desc at the top). Prints every mismatch
        and the pass rate. Exit 1 on a mismatch not listed in --known (0 with --report-only).

  bench --target NAME=URL... --queries FILE... --start S --end E [--step 15] [--runs 5]
        [--summary FILE]
        Times every query as a range query over [S, E] on every target: one untimed
        warm-up request (its answer is compared with the first target's), then RUNS timed
        requests, targets interleaved so they see the same machine load. Reports the median
        wall time per query and target (request sent to answer fully read), the totals and
        the ratios of the last target to each other one, as a Markdown table; with
        --target NAME=URL@PID also each server's CPU time for one run of the whole set.

Query files: one query per line, '#' comments and blank lines ignored; ${START}, ${MID} and
${END} become the data's first, middle and last sample time (unix seconds).
Known-mismatch file: each query line (as written in the query file) preceded by one or more
'#' lines giving the reason; a query without a reason is an error.
"""
import argparse
import http.client
import json
import math
import os
import statistics
import sys
import time
import urllib.parse

REL_TOL = 1e-6
HTTP_TIMEOUT = 300  # seconds for one query; debug builds over wide ranges are slow
MAX_EXAMPLES = 3  # examples printed per kind of difference
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------
# Input files
# ---------------------------------------------------------------------------------------
def load_queries(paths):
    """[(raw query text, file:line)] in file order, duplicates dropped."""
    out, seen = [], set()
    for path in paths:
        with open(path) as fh:
            for n, line in enumerate(fh, 1):
                q = line.strip()
                if not q or q.startswith("#") or q in seen:
                    continue
                seen.add(q)
                out.append((q, f"{path}:{n}"))
    return out


def load_known(path):
    """{raw query text: reason} from a known-mismatch file."""
    known, reason = {}, []
    if not path:
        return known
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            s = line.strip()
            if not s:
                reason = []
            elif s.startswith("#"):
                reason.append(s.lstrip("#").strip())
            else:
                if not any(reason):
                    sys.exit(f"{path}:{n}: known mismatch without a reason above it: {s}")
                known[s] = " ".join(r for r in reason if r)
                reason = []
    return known


def substitute(query, times):
    for k, v in times.items():
        query = query.replace("${" + k + "}", v)
    return query


# ---------------------------------------------------------------------------------------
# HTTP: one keep-alive connection per target
# ---------------------------------------------------------------------------------------
class Target:
    def __init__(self, spec):
        name, _, url = spec.partition("=")
        if not url:
            sys.exit(f"--target wants NAME=URL[@PID], got {spec!r}")
        url, _, pid = url.partition("@")
        self.name, self.url = name, url.rstrip("/")
        self.pid = int(pid) if pid else None
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def post(self, path, params):
        """(HTTP status, body bytes); reconnects once if the kept-alive connection dropped."""
        body = urllib.parse.urlencode(params)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT)
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def cpu_seconds(self):
        """user+system CPU seconds of the server process so far (0 without a pid)."""
        if self.pid is None:
            return 0.0
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def answer(self, path, params):
        """Answer: ("ok", resultType, result) or ("error", errorType, message)."""
        try:
            status, raw = self.post(path, params)
        except (http.client.HTTPException, OSError) as e:
            return ("error", "connection", str(e))
        try:
            body = json.loads(raw)
        except ValueError:
            return ("error", f"http {status}", raw[:200].decode(errors="replace"))
        if body.get("status") == "success":
            return ("ok", body["data"]["resultType"], body["data"]["result"])
        return ("error", body.get("errorType", f"http {status}"), body.get("error", ""))


# ---------------------------------------------------------------------------------------
# Comparing two answers
# ---------------------------------------------------------------------------------------
def num(s):
    return float(s)  # Prometheus writes "NaN", "+Inf", "-Inf", which float() reads


def close(a, b):
    if a == b:
        return True
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def fmt_labels(key):
    return "{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}"


def series_map(result, values_key):
    """{label key: [(t_ms, value)]} plus a list of label keys seen twice. A value is the float
    string, or the native histogram's object (`histogram`/`histograms`); a series may have
    both kinds, merged in time order."""
    out, dups, order = {}, [], []
    hist_key = "histogram" if values_key == "value" else "histograms"
    for s in result:
        key = tuple(sorted(s["metric"].items()))
        pts = []
        for k in (values_key, hist_key):
            got = s.get(k)
            if got is not None:
                pts += [got] if k in ("value", "histogram") else got
        pts = sorted(((round(float(t) * 1000), v) for t, v in pts), key=lambda p: p[0])
        if key in out:
            dups.append(key)
        out[key] = pts
        order.append(key)
    return out, dups, order


def same_value(va, vb):
    """Floats within tolerance; histograms field by field, bucket by bucket."""
    if isinstance(va, str) and isinstance(vb, str):
        return close(num(va), num(vb))
    if isinstance(va, str) or isinstance(vb, str):
        return False
    if not (close(num(va["count"]), num(vb["count"])) and close(num(va["sum"]), num(vb["sum"]))):
        return False
    ba, bb = va.get("buckets") or [], vb.get("buckets") or []
    return len(ba) == len(bb) and all(
        x[0] == y[0] and all(close(num(p), num(q)) for p, q in zip(x[1:], y[1:]))
        for x, y in zip(ba, bb))


def compare_points(key, pa, pb, names):
    """First difference between two series' points, or None."""
    ta, tb = [t for t, _ in pa], [t for t, _ in pb]
    if ta != tb:
        only_a = sorted(set(ta) - set(tb))
        only_b = sorted(set(tb) - set(ta))
        return (f"{fmt_labels(key)}: timestamps differ ({len(pa)} vs {len(pb)} points; "
                f"only in {names[0]}: {only_a[:3]}, only in {names[1]}: {only_b[:3]})")
    for (t, va), (_, vb) in zip(pa, pb):
        if not same_value(va, vb):
            return f"{fmt_labels(key)} @{t / 1000:.3f}: {names[0]}={va} {names[1]}={vb}"
    return None


def compare(a, b, names, ordered):
    """List of human-readable differences between answers a (reference) and b."""
    if a[0] != b[0] or (a[0] == "error" and a[1] != b[1]):
        def desc(x):
            if x[0] == "error":
                return f"error {x[1]}: {x[2][:160]}"
            n = len(x[2]) if x[1] in ("vector", "matrix") else 1
            return f"{x[1]} ({n} {'series' if x[1] in ('vector', 'matrix') else 'value'})"
        return [f"{names[0]}: {desc(a)} | {names[1]}: {desc(b)}"]
    if a[0] == "error":
        return []
    if a[1] != b[1]:
        return [f"result type {names[0]}={a[1]} {names[1]}={b[1]}"]
    if a[1] in ("scalar", "string"):
        (ta, va), (tb, vb) = a[2], b[2]
        same = va == vb if a[1] == "string" else close(num(va), num(vb))
        if round(float(ta) * 1000) != round(float(tb) * 1000) or not same:
            return [f"{names[0]}={a[2]} {names[1]}={b[2]}"]
        return []
    values_key = "value" if a[1] == "vector" else "values"
    ma, da, oa = series_map(a[2], values_key)
    mb, db, ob = series_map(b[2], values_key)
    problems = []
    for name, dups in zip(names, (da, db)):
        if dups:
            problems.append(f"{name} has duplicate series: {', '.join(map(fmt_labels, dups[:MAX_EXAMPLES]))}")
    only_a = sorted(set(ma) - set(mb))
    only_b = sorted(set(mb) - set(ma))
    if only_a or only_b:
        problems.append(f"series {len(ma)} vs {len(mb)}")
    for name, only in ((names[0], only_a), (names[1], only_b)):
        if only:
            ex = ", ".join(fmt_labels(k) for k in only[:MAX_EXAMPLES])
            problems.append(f"only in {name} ({len(only)}): {ex}")
    diffs = [d for k in sorted(set(ma) & set(mb)) if (d := compare_points(k, ma[k], mb[k], names))]
    if diffs:
        problems.append(f"{len(diffs)} series differ, e.g. " + "; ".join(diffs[:MAX_EXAMPLES]))
    if ordered and not problems and oa != ob:
        first = next(i for i, (x, y) in enumerate(zip(oa, ob)) if x != y)
        problems.append(f"order differs at position {first}: {names[0]} {fmt_labels(oa[first])}, "
                        f"{names[1]} {fmt_labels(ob[first])}")
    return problems


def is_sorting(query):
    q = query.replace(" ", "")
    return q.startswith(("sort(", "sort_desc("))


# ---------------------------------------------------------------------------------------
# Evaluation times
# ---------------------------------------------------------------------------------------
def eval_times(start, end, interval):
    """START, MID, END: times half-way between two scrapes, inside [start, end].

    Samples lie on a grid (first sample rounded to the second, plus multiples of the scrape
    interval) give or take a few milliseconds of jitter. Evaluating half-way between scrapes,
    with integer-second steps and ranges, keeps every window edge away from a sample: exactly
    on an edge, Prometheus 2.x (closed windows [t - range, t]) and 3.x (left-open
    (t - range, t], the reference here, which bongsu implements) are specified to differ, and
    a few milliseconds of jitter would decide it. tests/interop/read_api.sh checks edges on
    samples against Prometheus 3.5 with exact timestamps.
    """
    base = round(start)
    first = base + interval / 2
    last = base + math.floor((end - base - interval / 2) / interval) * interval + interval / 2
    if last < first:
        sys.exit(f"data from {start} to {end} is shorter than one scrape interval")
    return {"START": f"{first:.3f}", "MID": f"{half_grid_mid(first, last, interval):.3f}",
            "END": f"{last:.3f}"}


def half_grid_mid(first, last, interval):
    return first + math.floor((last - first) / 2 / interval) * interval


# ---------------------------------------------------------------------------------------
# diff mode
# ---------------------------------------------------------------------------------------
def diff_cases(times):
    """(label, path, params) of every evaluation a query gets (see eval_times)."""
    s, mid, e = (float(times[k]) for k in ("START", "MID", "END"))
    ts = lambda x: f"{x:.3f}"
    cases = [(f"instant @{name}", "/api/v1/query", {"time": ts(t)}) for name, t in
             (("end", e), ("mid", mid), ("start+5m", s + 300), ("end+4m", e + 240))]
    for name, a, b, step in (("last 1h step 15s", e - 3600, e, 15),
                             ("all step 15s", s, e, 15),  # what bench mode times
                             ("all step 60s", s, e, 60),
                             ("30m step 37s", mid - 1800, mid, 37)):
        cases.append((f"range {name}", "/api/v1/query_range",
                      {"start": ts(max(a, s)), "end": ts(b), "step": str(step)}))
    return cases


def run_diff(args, targets, times):
    ref, test = targets
    names = (ref.name, test.name)
    queries = load_queries(args.queries)
    known = load_known(args.known)
    cases = diff_cases(times)
    passed = failed_known = now_passing = 0
    unexpected, rows = [], []
    for raw, where in queries:
        q = substitute(raw, times)
        failures = []
        for label, path, params in cases:
            p = dict(params, query=q)
            problems = compare(ref.answer(path, p), test.answer(path, p), names,
                               ordered=is_sorting(q) and path == "/api/v1/query")
            if problems:
                failures.append((label, problems))
        reason = known.get(raw)
        if not failures:
            passed += 1
            status = "pass"
            if reason is not None:
                now_passing += 1
                status = "known-now-passes"
                print(f"NOW PASSES (remove from {args.known}): {raw}")
        else:
            status = "known" if reason is not None else "FAIL"
            if reason is None:
                unexpected.append(raw)
            else:
                failed_known += 1
            print(f"{'KNOWN' if reason is not None else 'FAIL '} {raw}   ({where}; "
                  f"{len(failures)}/{len(cases)} evaluations differ)")
            if reason is not None:
                print(f"      reason: {reason}")
            for label, problems in failures:
                print(f"      [{label}] " + " | ".join(problems))
        rows.append((raw, status, len(failures), failures[0][1][0] if failures else ""))
    for raw in known:
        if raw not in {q for q, _ in queries}:
            print(f"note: known mismatch not in the query files: {raw}")
    total = len(queries)
    print()
    print(f"pass rate: {passed}/{total} queries = {100 * passed / max(total, 1):.1f}% "
          f"({len(cases)} evaluations each: {', '.join(c[0] for c in cases)})")
    print(f"known mismatches: {failed_known} still failing, {now_passing} now passing; "
          f"unexpected mismatches: {len(unexpected)}")
    if args.summary:
        with open(args.summary, "w") as fh:
            fh.write("query\tstatus\tevaluations_differing\tfirst_difference\n")
            for r in rows:
                fh.write("\t".join(str(x).replace("\t", " ") for x in r) + "\n")
    return 1 if unexpected and not args.report_only else 0


# ---------------------------------------------------------------------------------------
# bench mode
# ---------------------------------------------------------------------------------------
def fmt_ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def run_bench(args, targets, times):
    queries = load_queries(args.queries)
    ref = targets[0]
    subject = targets[-1]
    others = targets[:-1]
    params_base = {"start": times["START"], "end": times["END"], "step": str(args.step)}
    path = "/api/v1/query_range"
    rows = []
    cpu_total = {t.name: 0.0 for t in targets}
    for i, (raw, _) in enumerate(queries, 1):
        q = substitute(raw, times)
        p = dict(params_base, query=q)
        answers = {t.name: t.answer(path, p) for t in targets}
        npoints = sum(len(s.get("values", [])) for s in answers[ref.name][2]) \
            if answers[ref.name][0] == "ok" and answers[ref.name][1] == "matrix" else 0
        samples = {t.name: [] for t in targets}
        cpu = {t.name: 0.0 for t in targets}
        for _ in range(args.runs):
            for t in targets:
                c0 = t.cpu_seconds()
                t0 = time.perf_counter()
                t.post(path, p)
                samples[t.name].append(time.perf_counter() - t0)
                cpu[t.name] += t.cpu_seconds() - c0
        med = {n: statistics.median(v) * 1000 for n, v in samples.items()}
        for n in cpu:
            cpu_total[n] += cpu[n] / args.runs * 1000
        same = {}
        for t in targets[1:]:
            a, b = answers[ref.name], answers[t.name]
            if b[0] == "error":
                same[t.name] = "error"
            else:
                same[t.name] = "yes" if not compare(a, b, (ref.name, t.name), False) else "no"
        rows.append((i, raw, med, same, npoints))
        print(f"{i:3d} " + "  ".join(f"{n} {med[n]:8.1f} ms" for n in med) + f"  {raw}", file=sys.stderr)
    totals = {t.name: sum(r[2][t.name] for r in rows) for t in targets}
    head = (["#", "query", "points"] + [f"{t.name} ms" for t in targets]
            + [f"{subject.name}/{t.name}" for t in others]
            + [f"{t.name} = {ref.name}" for t in targets[1:]])
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(" ---: " if h not in ("query",) else " --- " for h in head) + "|"]
    for i, raw, med, same, npoints in rows:
        cells = ([str(i), "`" + raw.replace("|", "\\|") + "`", str(npoints)]
                 + [f"{med[t.name]:.1f}" for t in targets]
                 + [fmt_ratio(med[subject.name], med[t.name]) for t in others]
                 + [same[t.name] for t in targets[1:]])
        lines.append("| " + " | ".join(cells) + " |")
    cells = (["", "**total**", ""] + [f"**{totals[t.name]:.1f}**" for t in targets]
             + [f"**{fmt_ratio(totals[subject.name], totals[t.name])}**" for t in others]
             + [str(sum(1 for r in rows if r[3][t.name] == "yes")) + f"/{len(rows)}" for t in targets[1:]])
    lines.append("| " + " | ".join(cells) + " |")
    if all(t.pid for t in targets):
        # per query the CPU figure is too coarse (clock ticks of 1/CLK_TCK s): totals only
        lines.append("")
        lines.append("server CPU per run of the whole set (user+system, ms): " + ", ".join(
            f"{t.name} {cpu_total[t.name]:.0f}" for t in targets) + "; " + ", ".join(
            f"{subject.name}/{t.name} {fmt_ratio(cpu_total[subject.name], cpu_total[t.name])}"
            for t in others))
    table = "\n".join(lines)
    print(table)
    if args.summary:
        with open(args.summary, "w") as fh:
            fh.write(table + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("diff", "bench"))
    ap.add_argument("--target", action="append", required=True, help="NAME=URL; the first is the reference")
    ap.add_argument("--queries", action="append", required=True)
    ap.add_argument("--start", required=True, help="first sample time, unix seconds")
    ap.add_argument("--end", required=True, help="last sample time, unix seconds")
    ap.add_argument("--known")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--summary", help="write the per-query summary (diff: TSV, bench: Markdown) here")
    ap.add_argument("--step", type=float, default=15)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scrape-interval", type=float, default=15,
                    help="the data's scrape interval in seconds (evaluation times sit between scrapes)")
    args = ap.parse_args()
    targets = [Target(t) for t in args.target]
    times = eval_times(float(args.start), float(args.end), args.scrape_interval)
    if args.mode == "diff":
        if len(targets) != 2:
            sys.exit("diff wants exactly two --target")
        return run_diff(args, targets, times)
    return run_bench(args, targets, times)


if __name__ == "__main__":
    sys.exit(main())
