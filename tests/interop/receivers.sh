#!/usr/bin/env bash
# Interop tier for notification payloads: the real Alertmanager (0.33, from
# shared/peers/install.sh) and bongsu run the same alertmanager.yml, get the same alerts, and
# must send the same Slack, Discord and webhook requests.
#
#   curl ──alerts──► Alertmanager ──┐
#                                   ├──► capture server (python3) ──► one JSON line per request
#   curl ──alerts──► bongsu ────────┘
#
# The two differ only in the path prefix of their receiver URLs (/am/…, /bongsu/…), which is
# how the capture server tells them apart. Both get the same --web.external-url, so
# externalURL, title links and the like need no rewriting.
#
# Steps: two groups fire (Disk: two alerts; CPU: one with a title over Slack's 1024-character
# limit); once every receiver got them, one Disk alert and the CPU alert resolve and the
# send_resolved receivers get the updates. Receivers: Slack with defaults; Slack with every
# field templated, fields, actions with a confirmation and a bearer token; Slack with the
# long title; Slack with a templated message_text and a timeout; Discord with defaults, with
# its own templates, and with content, username and avatar_url; the webhook, and a webhook
# capped at one alert (max_alerts) with a timeout.
#
# Compared per receiver path: method, Content-Type, Authorization and the JSON body as data
# (key order and Go's \u003c-style escaping do not count). Normalised, and only this:
#   - the order of requests on one path: the two groups flush concurrently, so each side's
#     requests per path are sorted before the comparison.
# Nothing else needs it: the payloads carry no delivery time (alert times are the posted
# ones, the same for both) and the external URL is the same. Slack's answer is a plain "ok",
# as its incoming webhooks answer; Slack's app_token (the chat.postMessage API, answered with
# JSON) and update_message are not covered.
#
# Everything binds to 127.0.0.1 on free ports; every process started here is stopped on exit.
# Exit status: 0 when both sent the same requests; 1 on a difference (printed as a diff), a
# missing request or a process that did not start.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tests/interop/receivers.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 30)
  --workdir DIR   where configs, captures and logs go (default: a new temp dir, removed on success)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
EOF
}

LOG_NAME=receivers
TIMEOUT=30
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers alertmanager
need_tools curl python3
need_bongsu
make_workdir bongsu-receivers
set_traps

CAPTURE_PORT=$(free_port)
AM_PORT=$(free_port)
BONGSU_PORT=$(free_port)
AM_URL=http://127.0.0.1:$AM_PORT
BONGSU_URL=http://127.0.0.1:$BONGSU_PORT
EXTERNAL_URL=http://alerts.example:9093

# The capture server: Slack's incoming-webhook answer (200 "ok"), Discord's (204), 200 for
# the webhook; each request appended to captures.jsonl.
cat >"$WORK/capture.py" <<'EOF'
import http.server, json, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode("utf-8", "replace")}
        rec = {"path": self.path, "method": self.command,
               "content_type": self.headers.get("Content-Type"),
               "authorization": self.headers.get("Authorization"), "body": body}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        kind = self.path.split("/")[-1]
        if kind.startswith("slack"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")
        elif kind.startswith("discord"):
            self.send_response(204)
            self.end_headers()
        else:
            self.send_response(200)
            self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
: >"$WORK/captures.jsonl"
start capture python3 "$WORK/capture.py" "$CAPTURE_PORT" "$WORK/captures.jsonl"

# am_config PREFIX : the shared configuration, receiver URLs under /PREFIX/
am_config() {
  local base=http://127.0.0.1:$CAPTURE_PORT/$1
  cat <<EOF
route:
  receiver: all
  group_by: [alertname]
  group_wait: 3s
  group_interval: 2s
  repeat_interval: 1h
receivers:
- name: all
  slack_configs:
  - api_url: $base/slack-default
    send_resolved: true
  - api_url: $base/slack-full
    http_config:
      authorization: {credentials: xoxb-interop}
    channel: '#{{ .CommonLabels.team }}'
    username: 'am-{{ .Receiver }}'
    icon_emoji: ':fire:'
    icon_url: 'http://icons.example/{{ .Status }}.png'
    link_names: true
    color: '{{ if eq .Status "firing" }}#ff0000{{ else }}#00ff00{{ end }}'
    title: '{{ .CommonAnnotations.summary }} ✓'
    title_link: '{{ .ExternalURL }}/#/alerts'
    pretext: '{{ len .Alerts.Firing }} firing'
    text: '{{ range .Alerts }}{{ .Labels.instance }}: {{ .Annotations.description }}{{ "\n" }}{{ end }}'
    footer: '{{ .GroupLabels.alertname }}'
    fallback: 'fb {{ .Status }}'
    callback_id: cb
    image_url: http://img.example/i.png
    thumb_url: http://img.example/t.png
    short_fields: true
    mrkdwn_in: [text, pretext]
    fields:
    - {title: Severity, value: '{{ .CommonLabels.severity }}'}
    - {title: Count, value: '{{ len .Alerts }}', short: false}
    actions:
    - {type: button, text: Runbook, url: 'http://runbook.example/{{ .GroupLabels.alertname }}', style: primary}
    - type: button
      text: Ack
      name: ack
      value: '{{ .GroupLabels.alertname }}'
      confirm: {text: 'Sure?', title: Ack, ok_text: 'Yes', dismiss_text: 'No'}
  - api_url: $base/slack-long
    title: '{{ .CommonAnnotations.long }}'
  - api_url: $base/slack-text
    message_text: '{{ .Status }}: {{ len .Alerts }} {{ .GroupLabels.alertname }} ({{ .NotificationReason }})'
    timeout: 15s
  discord_configs:
  - webhook_url: $base/discord-default
  - webhook_url: $base/discord-custom
    title: '{{ .GroupLabels.alertname }}: {{ .Status }}'
    message: '{{ range .Alerts }}{{ .Fingerprint }} {{ .StartsAt }} {{ .Annotations.summary }}{{ "\n" }}{{ end }}'
  - webhook_url: $base/discord-named
    content: '{{ .CommonLabels.team }} <{{ .GroupLabels.alertname }}>'
    # Alertmanager 0.33 sends these two as written (no templating); so must bongsu.
    username: 'am-{{ .Receiver }}'
    avatar_url: 'http://icons.example/{{ .Status }}.png'
  webhook_configs:
  - url: $base/webhook
    send_resolved: true
  - url: $base/webhook-capped
    max_alerts: 1
    timeout: 10s
EOF
}
am_config am >"$WORK/am.yml"
am_config bongsu >"$WORK/bongsu-am.yml"
echo "global: {scrape_interval: 1h}" >"$WORK/prometheus.yml"

log "Alertmanager on $AM_URL"
start alertmanager alertmanager --config.file="$WORK/am.yml" \
  --storage.path="$WORK/am-data" --web.listen-address="127.0.0.1:$AM_PORT" \
  --cluster.listen-address="" --web.external-url="$EXTERNAL_URL"
wait_ready "$AM_URL/-/ready" Alertmanager
log "bongsu on $BONGSU_URL ($BONGSU)"
start bongsu "$BONGSU" --config.file="$WORK/prometheus.yml" \
  --alertmanager.config.file="$WORK/bongsu-am.yml" --storage.tsdb.path="$WORK/bongsu-data" \
  --web.listen-address="127.0.0.1:$BONGSU_PORT" --web.external-url="$EXTERNAL_URL"
wait_ready "$BONGSU_URL/-/ready" bongsu

# post_both FILE : the alerts in FILE to both
post_both() {
  local url
  for url in "$AM_URL" "$BONGSU_URL"; do
    curl -sf --max-time 10 -H 'Content-Type: application/json' --data-binary "@$1" \
      "$url/api/v2/alerts" >/dev/null || fail "posting $1 to $url"
  done
}

# captured PREFIX N : true when PREFIX's receivers got N requests
captured() { (($(grep -c "\"path\": \"/$1/" "$WORK/captures.jsonl" || true) == $2)); }

# alerts KIND : firing.json or resolved.json in WORK. Alerts start at the time of the first
# call (an alert older than group_wait would make a new group flush at once, before its
# other alerts arrive); the resolved one ends at the time of its call.
alerts() {
  python3 - "$WORK" "$1" <<'EOF'
import datetime, json, os, sys
work, kind = sys.argv[1:]
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
base_file = f"{work}/start.txt"
if not os.path.exists(base_file):
    open(base_file, "w").write(now.isoformat())
base = datetime.datetime.fromisoformat(open(base_file).read())
def ts(t):
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
def alert(name, instance, offset, ends=None, **annotations):
    a = {"labels": {"alertname": name, "instance": instance, "severity": "page", "team": "ops"},
         "annotations": annotations,
         "startsAt": ts(base + datetime.timedelta(milliseconds=offset))}
    if ends:
        a["endsAt"] = ts(ends)
    return a
disk_a = dict(summary="disk <full> & filling", description="a at 99%")
disk_b = dict(summary="disk <full> & filling", description="b at 97%")
long_title = "é" * 1030 + " ünïcode"
if kind == "firing":
    alerts = [
        alert("Disk", "a", -1500, **disk_a),
        alert("Disk", "b", -500, **disk_b) | {"generatorURL": "http://prom.example/graph?g0.expr=up"},
        alert("CPU", "c", -250, summary="cpu", long=long_title),
    ]
else:
    alerts = [alert("Disk", "a", -1500, now, **disk_a),
              alert("CPU", "c", -250, now, summary="cpu", long=long_title)]
json.dump(alerts, open(f"{work}/{kind}.json", "w"))
EOF
}

# 9 receivers × 2 groups; then both groups again for the 6 send_resolved receivers (Disk
# with one alert resolved, CPU all resolved).
alerts firing
post_both "$WORK/firing.json"
wait_for "Alertmanager sent 18 firing notifications" captured am 18
wait_for "bongsu sent 18 firing notifications" captured bongsu 18
alerts resolved
post_both "$WORK/resolved.json"
wait_for "Alertmanager sent 12 resolved notifications" captured am 30
wait_for "bongsu sent 12 resolved notifications" captured bongsu 30
# Two more group intervals: nothing else may arrive from either.
sleep 4.5
captured am 30 || fail "Alertmanager sent more than 30 notifications"
captured bongsu 30 || fail "bongsu sent more than 30 notifications"

# split PREFIX : PREFIX's requests, without the prefix, sorted per path, one canonical line each
split() {
  python3 - "$WORK/captures.jsonl" "$1" <<'EOF'
import json, sys
src, prefix = sys.argv[1], "/" + sys.argv[2] + "/"
recs = []
for line in open(src):
    r = json.loads(line)
    if r["path"].startswith(prefix):
        r["path"] = r["path"][len(prefix):]
        recs.append(json.dumps(r, sort_keys=True, ensure_ascii=False))
recs.sort(key=lambda s: (json.loads(s)["path"], s))
for s in recs:
    print(json.dumps(json.loads(s), sort_keys=True, ensure_ascii=False, indent=1))
EOF
}
split am >"$WORK/am.json"
split bongsu >"$WORK/bongsu.json"
if ! diff -u --label alertmanager-0.33 --label bongsu "$WORK/am.json" "$WORK/bongsu.json" >"$WORK/diff.txt"; then
  head -n 200 "$WORK/diff.txt" >&2
  fail "the requests differ (full diff: $WORK/diff.txt)"
fi
log "ok: 30 requests with the same method, headers and JSON bodies"

FAILED=0
log "passed"
