#!/usr/bin/env bash
# Interop tier for alert sending: bongsu's alerting rule fires and the real Alertmanager
# (Debian's prometheus-alertmanager) receives it.
#
#   bongsu ──rule fires──► POST /api/v2/alerts ──► Alertmanager ◄── amtool alert query
#
# Asserted, each polled with a bound (--timeout):
#   - `amtool alert query` lists the alert with its rule labels and bongsu's external label;
#   - Alertmanager's /api/v2/alerts shows bongsu's annotation and generator URL;
#   - bongsu's /api/v1/alertmanagers lists the Alertmanager and nothing failed to send.
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

install_peers "prometheus-alertmanager" prometheus-alertmanager amtool
need_tools curl jq python3
need_bongsu
make_workdir bongsu-am
set_traps

AM_PORT=$(free_port)
BONGSU_PORT=$(free_port)
AM_URL=http://127.0.0.1:$AM_PORT
BONGSU_URL=http://127.0.0.1:$BONGSU_PORT
log "versions: $(dpkg-query -W -f='alertmanager ${Version}' prometheus-alertmanager 2>/dev/null || true)"

cat >"$WORK/alertmanager.yml" <<EOF
route:
  receiver: blackhole
receivers:
  - name: blackhole
EOF
log "Alertmanager on $AM_URL"
start alertmanager prometheus-alertmanager --config.file="$WORK/alertmanager.yml" \
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

FAILED=0
log "passed"
