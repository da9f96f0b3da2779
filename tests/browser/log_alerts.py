#!/usr/bin/env python3
"""Helpers of tests/browser/log_alerts.sh (standard library only).

  rules SRC FILENAME         print the test-sized copy of SRC (rules/logs-nginx.yml): the group
                             of recording rules and the Nginx5xxRatioSpike alert, with [5m]
                             ranges made [20s], `for: 2m` made 10s, group intervals 5s, and the
                             access log's `filename` matcher made FILENAME
  replay GEN START DURATION RAW OUT SPEED LEAD TAIL EVENTS
                             append the nginx access lines of gen_logs.py's raw output dir RAW
                             (merged in time order) to the file OUT as they happen, SPEED times
                             faster than their own clock, from LEAD data seconds before incident A
                             (payments-outage: GEN's window for its --start START and --duration
                             DURATION) to TAIL data
                             seconds after it; write the wall times (unix s) of the start, the
                             first 5xx line of an /api/v1/ call inside the window ("burst"), the
                             5th 5xx line of /api/v1/payments in it (when the rule's `>= 5`
                             holds: "condition"), the window's end and the last line as JSON to
                             EVENTS
  check PAYLOADS EVENTS SERVICE ALLOWED
                             judge the webhook payloads against the replay's events: an
                             Nginx5xxRatioSpike alert for SERVICE fired after the burst began
                             with exactly the labels alertname, service, severity=critical and a
                             generatorURL to /logs; no alert fired before the burst or for a
                             service outside the comma-separated ALLOWED; it resolved after the
                             window. Prints the latency from the first 5xx line of the burst to
                             the firing webhook and, last, the generatorURL; exit 1 on failure
  sink PORT OUT              a webhook receiver on 127.0.0.1:PORT appending one JSON line per
                             request to OUT: {"received_at": unix s, "payload": body}
"""
import calendar
import http.server
import importlib.util
import json
import os
import re
import sys
import time

MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}
TIME_RE = re.compile(r"\[(\d+)/(\w+)/(\d+):(\d+):(\d+):(\d+) [^\]]*\]")
FIVE_XX_API_RE = re.compile(r'"[A-Z]+ /api/v1/\S* [^"]*" 5\d\d ')
FIVE_XX_PAYMENTS_RE = re.compile(r'"[A-Z]+ /api/v1/payments\S* [^"]*" 5\d\d ')
MIN_ERRORS = 5  # the rule's `>= 5` 5xx calls in its range
ALERT = "Nginx5xxRatioSpike"
RATES_GROUP = "nginx-access-rates"


def rules(src, filename):
    """Keeps the recording group and the one alert; every other rule block is dropped."""
    out, keep = [], True
    with open(src) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  - name: "):
            keep = True
        elif re.match(r"      - (alert|record): ", line):
            keep = line.split(": ", 1)[1] == ALERT or in_group(lines, i, RATES_GROUP)
        elif line.startswith("      #"):
            continue  # the comments of the dropped rules would be left dangling
        if keep:
            out.append(line)
    text = "\n".join(out) + "\n"
    text = re.sub(r"\[5m\]", "[20s]", text)
    text = text.replace("for: 2m", "for: 10s").replace("interval: 1m", "interval: 5s")
    text = text.replace("for 2 minutes", "for 10 seconds")
    text = text.replace('filename="/var/log/nginx/access.log"', 'filename="%s"' % filename)
    if ALERT not in text or "record:" not in text:
        sys.exit("log_alerts: %s has no %s or no recording rules" % (src, ALERT))
    sys.stdout.write(text)


def in_group(lines, i, name):
    for line in reversed(lines[:i]):
        if line.startswith("  - name: "):
            return line.split(": ", 1)[1].strip() == name
    return False


def line_time(line):
    m = TIME_RE.search(line)
    d, mon, y, hh, mm, ss = m.groups()
    return calendar.timegm((int(y), MONTHS[mon], int(d), int(hh), int(mm), int(ss)))


def replay(gen, start, duration, raw, out, speed, lead, tail, events):
    spec = importlib.util.spec_from_file_location("gen_logs", gen)
    g = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(g)
    lines = []
    for name in sorted(os.listdir(raw)):
        if name.startswith("nginx-") and name.endswith("-access.log"):
            with open(os.path.join(raw, name)) as f:
                lines.extend((line_time(x), x) for x in f)
    lines.sort(key=lambda x: x[0])  # stable: a file's own order stays within a second
    a0, a1 = g.incident_windows(start, duration)[0][2:4]
    t0, t1 = a0 - lead, a1 + tail
    sel = [(t, x) for t, x in lines if t0 <= t < t1]
    # Lines of one second are spread over it, so the file grows steadily, not in jumps.
    per_sec = {}
    for t, _ in sel:
        per_sec[t] = per_sec.get(t, 0) + 1
    seen, payments_5xx = {}, 0
    ev = {"start": time.time()}
    wall0 = ev["start"]
    with open(out, "a") as f:
        for t, x in sel:
            k = seen.get(t, 0)
            seen[t] = k + 1
            at = wall0 + (t - t0 + k / per_sec[t]) / speed
            delay = at - time.time()
            if delay > 0:
                f.flush()
                time.sleep(delay)
            f.write(x)
            if t >= a0 and FIVE_XX_API_RE.search(x):
                if "burst" not in ev:
                    f.flush()
                    ev["burst"] = time.time()
                if FIVE_XX_PAYMENTS_RE.search(x):
                    payments_5xx += 1
                    if payments_5xx == MIN_ERRORS:
                        f.flush()
                        ev["condition"] = time.time()
        f.flush()
    ev["window_start"] = wall0 + (a0 - t0) / speed
    ev["window_end"] = wall0 + (a1 - t0) / speed
    ev["end"] = time.time()
    ev["lines"] = len(sel)
    with open(events, "w") as f:
        json.dump(ev, f)


def check(payloads, events, service, allowed):
    with open(events) as f:
        ev = json.load(f)
    with open(payloads) as f:
        recs = [json.loads(x) for x in f if x.strip()]
    problems, fired, resolved = [], None, None
    for rec in recs:
        p = rec["payload"]
        for a in p["alerts"]:
            if a["labels"].get("alertname") != ALERT:
                continue
            svc = a["labels"].get("service")
            if svc not in allowed.split(","):
                problems.append("alert for service %r, not one of %s" % (svc, allowed))
            if a["status"] == "firing" and rec["received_at"] < ev.get("burst", float("inf")):
                problems.append("%s fired before the burst: %s" % (svc, a["labels"]))
            if svc != service:
                continue
            if a["status"] == "firing" and fired is None:
                fired = (rec, a)
            if p["status"] == "resolved" and a["status"] == "resolved" and resolved is None:
                resolved = (rec, a)
    if "condition" not in ev:
        problems.append("the replay wrote fewer than %d payments 5xx lines inside the window"
                        % MIN_ERRORS)
    if fired is None:
        problems.append("no firing %s alert for service %s reached the webhook" % (ALERT, service))
    else:
        want = {"alertname": ALERT, "service": service, "severity": "critical"}
        if fired[1]["labels"] != want:
            problems.append("labels %s, want %s" % (fired[1]["labels"], want))
        if "/logs?" not in fired[1]["generatorURL"]:
            problems.append("generatorURL is not a /logs link: %s" % fired[1]["generatorURL"])
    if resolved is None:
        problems.append("no resolved notification for service %s" % service)
    elif resolved[0]["received_at"] < ev["window_end"]:
        problems.append("resolved before the window ended")
    for p in problems:
        print("log_alerts: FAILED: " + p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("log_alerts: %d lines replayed; window %.1f s; first 5xx line of the burst -> firing "
          "webhook %.1f s (of which %.1f s until the 5th payments 5xx line made the rule's "
          "condition true: %.1f s from there); window end -> resolved webhook %.1f s"
          % (ev["lines"], ev["window_end"] - ev["window_start"],
             fired[0]["received_at"] - ev["burst"], ev["condition"] - ev["burst"],
             fired[0]["received_at"] - ev["condition"],
             resolved[0]["received_at"] - ev["window_end"]), file=sys.stderr)
    print(fired[1]["generatorURL"])


def sink(port, out):
    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            rec = {"received_at": time.time(), "payload": json.loads(body)}
            with open(out, "a") as f:
                f.write(json.dumps(rec) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass

    http.server.HTTPServer(("127.0.0.1", int(port)), Hook).serve_forever()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "rules":
        rules(*args)
    elif cmd == "replay":
        gen, start, duration, raw, out, speed, lead, tail, events = args
        replay(gen, int(start), int(duration), raw, out, float(speed), int(lead), int(tail), events)
    elif cmd == "check":
        check(*args)
    elif cmd == "sink":
        sink(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
