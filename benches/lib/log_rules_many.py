#!/usr/bin/env python3
"""Print a rule file of 100 LogQL alerting rules for benches/log_rules.sh: 20 variations of each
of the five example alerts of rules/logs-*.yml (per service, host or app, and thresholds), in
five groups of 20 with the evaluation interval given (default 1m), as a ruler would run them
over a fleet's logs. Standard library only.

usage: log_rules_many.py [INTERVAL] > many.yml
"""
import json
import sys

SERVICES = ["auth", "cart", "checkout", "inventory", "orders", "payments", "products",
            "recommendations", "search", "users"]
WEB_HOSTS = ["web-01", "web-02", "web-03", "web-04", "stg-01"]
APPS = [("app", "catalog"), ("app", "cart"), ("app", "users"), ("app", "checkout"),
        ("app", "payments"), ("gosvc", "auth"), ("gosvc", "notifier"), ("gosvc", "inventory"),
        ("app", "catalog"), ("gosvc", "auth")]
SYSLOG_HOSTS = ["web-01", "web-02", "web-03", "web-04", "app-01", "app-02", "app-03", "app-04",
                "app-05", "app-06", "app-07", "stg-01", "db-01", "db-02", "db-03", "cache-01",
                "cache-02", "mq-01", "ops-01", "bastion-01"]
ACCESS = '{job="nginx", filename="/var/log/nginx/access.log"%s}'
SVC_RE = r'regexp `"[A-Z]+ /api/v1/(?P<service>[a-z]+)\S* [^"]*" (?P<status>[0-9]{3}) `'
PATTERN = ('pattern `<_> - <_> [<_>] "<method> <path> <_>" <status> <_> "<_>" "<_>" '
           '<request_time> <_>`')


def ratio(svc, thr):
    sel = ACCESS % "" + ' |= "/api/v1/%s" | %s' % (svc, SVC_RE)
    errs = "sum by (service) (count_over_time(%s | status >= 500 [5m]))" % sel
    return "(%s / sum by (service) (count_over_time(%s [5m]))) > %s and %s >= 5" % (
        errs, sel, thr, errs)


def p99(svc, thr):
    sel = ACCESS % "" + ' |= "/api/v1/%s" | %s | status < 499 | unwrap request_time' % (svc, PATTERN)
    now = "quantile_over_time(0.99, %s [10m]) by (job)" % sel
    base = "quantile_over_time(0.99, %s [1h] offset 1h) by (job)" % sel
    return "%s > %s and %s > 2 * %s" % (now, thr, now, base)


def endpoint(host, thr):
    sel = (ACCESS % ', host="%s"' % host + ' | pattern `<_> - <_> [<_>] "<method> <path> <_>" '
           '<status> <_>` | status >= 500 | label_format path=`{{ regexReplaceAll "[?].*" '
           '(regexReplaceAll "/(ORD-)?[0-9]+" .path "/:id") "" }}`')
    return "sum by (method, path) (count_over_time(%s [5m])) >= %d" % (sel, thr)


def app_errors(job, app, factor):
    err = '{job="%s", app="%s", level="error"}' % (job, app)
    every = '{job="%s", app="%s"}' % (job, app)
    return ("sum by (job, app) (count_over_time(%s[10m])) / 10 > %d * (sum by (job, app) "
            "(count_over_time(%s[1h] offset 1h)) / 60 or 0 * sum by (job, app) "
            "(count_over_time(%s[1h] offset 1h))) and sum by (job, app) "
            "(count_over_time(%s[10m])) >= 10" % (err, factor, err, every, err))


def sshd(host):
    return ('sum by (host) (count_over_time({job="syslog", host="%s", filename="/var/log/auth.log"} '
            '|= "sshd" |= "Failed password" [10m])) > 100' % host)


def main():
    interval = sys.argv[1] if len(sys.argv) > 1 else "1m"
    groups = [
        ("nginx-5xx", [("Nginx5xxRatioSpike", ratio(s, t)) for t in ("0.05", "0.1") for s in SERVICES]),
        ("nginx-latency", [("NginxP99LatencyRegression", p99(s, t)) for t in ("0.5", "1") for s in SERVICES]),
        ("nginx-endpoints", [("NginxEndpointFailing", endpoint(h, t)) for t in (5, 10, 20, 50) for h in WEB_HOSTS]),
        ("app-errors", [("AppErrorRateSpike", app_errors(j, a, f)) for f in (3, 5) for j, a in APPS]),
        ("sshd", [("SshdAuthFailures", sshd(h)) for h in SYSLOG_HOSTS]),
    ]
    out = ["groups:"]
    for name, rules in groups:
        assert len(rules) == 20, name
        out += ["  - name: %s" % name, "    interval: %s" % interval, "    rules:"]
        for i, (alert, expr) in enumerate(rules):
            # JSON strings are YAML strings: no quoting rules to get wrong.
            out += ["      - alert: %s%02d" % (alert, i), "        expr: %s" % json.dumps(expr),
                    "        for: 2m", "        labels: {severity: warning}"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
