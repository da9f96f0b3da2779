#!/usr/bin/env bash
# Interop tier for alerts between bongsu and the real peers, in both directions:
#
#   bongsu ──rule fires──► POST /api/v2/alerts ──► Alertmanager ◄── amtool alert query
#   Prometheus ──rule fires──► bongsu's built-in Alertmanager ──► webhook
#
# Asserted, each polled with a bound (--timeout):
#   - `amtool alert query` lists the alert with its rule labels and bongsu's external label;
#   - Alertmanager's /api/v2/alerts shows bongsu's annotation and generator URL;
#   - bongsu's /api/v1/alertmanagers lists the Alertmanager and nothing failed to send;
#   - Prometheus (3.5, `alerting.alertmanagers` pointing at bongsu) gets its alert
#     delivered: bongsu's webhook receives it with Prometheus' labels, annotation and
#     generator URL, and Prometheus lists bongsu as its Alertmanager with no send errors.
#
# Everything binds to 127.0.0.1 on free ports (Alertmanager's cluster listener is off); every
# process started here is stopped on exit. Exit status: 0 all checks passed; 1 a check failed
# or a process did not start (the logs' tails are printed).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tests/interop/alertmanager.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 30)
  --workdir DIR   where configs, data and logs go (default: a new temp dir, removed on success)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
EOF
}

LOG_NAME=alertmanager
TIMEOUT=30
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers alertmanager amtool prometheus
need_tools curl jq python3
need_bongsu
make_workdir bongsu-am
set_traps

AM_PORT=$(free_port)
BONGSU_PORT=$(free_port)
AM_URL=http://127.0.0.1:$AM_PORT
BONGSU_URL=http://127.0.0.1:$BONGSU_PORT

cat >"$WORK/alertmanager.yml" <<EOF
route:
  receiver: blackhole
receivers:
  - name: blackhole
EOF
log "Alertmanager on $AM_URL"
start alertmanager alertmanager --config.file="$WORK/alertmanager.yml" \
  --storage.path="$WORK/am-data" --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=""
wait_ready "$AM_URL/-/ready" Alertmanager

cat >"$WORK/rules.yml" <<'EOF'
groups:
  - name: interop
    interval: 1s
    rules:
      - alert: InteropAlert
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: sent by bongsu}
EOF
cat >"$WORK/bongsu.yml" <<EOF
global:
  external_labels: {cluster: interop}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$AM_PORT']}]
EOF
log "bongsu on $BONGSU_URL ($BONGSU)"
start bongsu "$BONGSU" --config.file="$WORK/bongsu.yml" --storage.tsdb.path="$WORK/bongsu-data" \
  --web.listen-address="127.0.0.1:$BONGSU_PORT"
wait_ready "$BONGSU_URL/-/ready" bongsu

amtool_sees() {
  amtool --alertmanager.url="$AM_URL" alert query -o json alertname=InteropAlert 2>/dev/null |
    jq -e 'length == 1 and .[0].labels == {"alertname":"InteropAlert","severity":"page","cluster":"interop"}' >/dev/null
}
wait_for "amtool alert query sees InteropAlert with bongsu's labels" amtool_sees

am_alert=$(curl -sf --max-time 10 "$AM_URL/api/v2/alerts?filter=alertname%3DInteropAlert")
jq -e '.[0].annotations == {"summary":"sent by bongsu"}' <<<"$am_alert" >/dev/null ||
  fail "annotations differ: $am_alert"
jq -e '.[0].generatorURL == "/graph?g0.expr=vector%281%29&g0.tab=1"' <<<"$am_alert" >/dev/null ||
  fail "generator URL differs: $am_alert"
jq -e '.[0].status.state == "active"' <<<"$am_alert" >/dev/null || fail "not active: $am_alert"
log "ok: annotations, generator URL and state as sent"

ams=$(curl -sf --max-time 10 "$BONGSU_URL/api/v1/alertmanagers")
jq -e --arg u "$AM_URL/api/v2/alerts" '.data.activeAlertmanagers == [{"url": $u}]' <<<"$ams" >/dev/null ||
  fail "/api/v1/alertmanagers: $ams"
errors=$(curl -sf --max-time 10 "$BONGSU_URL/metrics" | grep '^prometheus_notifications_errors_total' || true)
[[ -z $errors || $errors =~ \ 0$ ]] || fail "send errors: $errors"
log "ok: bongsu lists the Alertmanager, no send errors"

# The other direction: Prometheus sends to bongsu's built-in Alertmanager. Prometheus drops
# what it sends before it has discovered the Alertmanager and resends firing alerts only
# every resend delay (1m by default), hence the 1s delay.
HOOK_PORT=$(free_port)
AM2_PORT=$(free_port)
PROM_PORT=$(free_port)
AM2_URL=http://127.0.0.1:$AM2_PORT
PROM_URL=http://127.0.0.1:$PROM_PORT
cat >"$WORK/hook.py" <<'PY'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body.rstrip(b"\n") + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
start hook python3 "$WORK/hook.py" "$HOOK_PORT" "$WORK/payloads"
cat >"$WORK/bongsu-am.yml" <<EOF
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
receivers:
  - name: hook
    webhook_configs: [{url: 'http://127.0.0.1:$HOOK_PORT/'}]
EOF
echo "global: {scrape_interval: 1h}" >"$WORK/bongsu-am-prometheus.yml"
log "bongsu as Alertmanager on $AM2_URL"
start bongsu-am "$BONGSU" --config.file="$WORK/bongsu-am-prometheus.yml" \
  --alertmanager.config.file="$WORK/bongsu-am.yml" --storage.tsdb.path="$WORK/bongsu-am-data" \
  --web.listen-address="127.0.0.1:$AM2_PORT"
wait_ready "$AM2_URL/-/ready" "bongsu (Alertmanager)"

cat >"$WORK/prom-rules.yml" <<'EOF'
groups:
  - name: interop
    interval: 1s
    rules:
      - alert: PrometheusAlert
        expr: vector(1)
        labels: {severity: ticket}
        annotations: {summary: sent by Prometheus}
EOF
cat >"$WORK/prometheus.yml" <<EOF
global:
  evaluation_interval: 1s
  external_labels: {cluster: prom}
rule_files: [prom-rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$AM2_PORT']}]
EOF
log "Prometheus on $PROM_URL"
start prometheus prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --web.external-url="$PROM_URL" \
  --rules.alert.resend-delay=1s
wait_ready "$PROM_URL/-/ready" Prometheus

delivered() {
  [[ -s $WORK/payloads ]] || return 1
  jq -e -s --arg g "$PROM_URL/graph?g0.expr=vector%281%29&g0.tab=1" '
    any(.[]; .receiver == "hook" and .status == "firing"
        and .alerts[0].labels == {"alertname":"PrometheusAlert","severity":"ticket","cluster":"prom"}
        and .alerts[0].annotations == {"summary":"sent by Prometheus"}
        and .alerts[0].generatorURL == $g)' "$WORK/payloads" >/dev/null
}
wait_for "bongsu delivers Prometheus' alert to its webhook" delivered

prom_ams=$(curl -sf --max-time 10 "$PROM_URL/api/v1/alertmanagers")
jq -e --arg u "$AM2_URL/api/v2/alerts" '.data.activeAlertmanagers == [{"url": $u}]' <<<"$prom_ams" >/dev/null ||
  fail "Prometheus' /api/v1/alertmanagers: $prom_ams"
errors=$(curl -sf --max-time 10 "$PROM_URL/metrics" | grep '^prometheus_notifications_errors_total' || true)
[[ -z $errors || $errors =~ \ 0$ ]] || fail "Prometheus send errors: $errors"
log "ok: Prometheus lists bongsu as its Alertmanager, no send errors"

FAILED=0
log "passed"
