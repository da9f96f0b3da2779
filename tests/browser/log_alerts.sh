#!/usr/bin/env bash
# End to end, logs to alert to the lines (issue #16): gen_logs.py's nginx access lines are
# appended to a file as they happen (a replay SPEED times faster than their clock, around the
# payments-outage window), bongsu tails the file (--logs.config.file), evaluates a test-sized
# copy of rules/logs-nginx.yml's Nginx5xxRatioSpike and recording rules ([20s] ranges,
# `for: 10s`, every 5 s), and its built-in Alertmanager posts to a webhook receiver.
# Checks:
#   - the alert fires for service payments with exactly alertname, service, severity, after
#     the burst began and never before, and only for the services the outage hits;
#   - it resolves (a `resolved` notification) after the window;
#   - the recorded per-service rates are series PromQL answers;
#   - its generatorURL opens /logs in chromium showing the payments 5xx lines
#     (SKIP_BROWSER=1 leaves this one out, saying so).
# Prints the latency from the first 5xx line of the burst written to the file to the firing
# webhook, next to the goal (`for` + one evaluation interval + 5 s); a figure, not a check.
#
#   BONGSU=target/debug/bongsu bash tests/browser/log_alerts.sh [--workdir DIR] [--keep]
# Needs python3, curl, and for the browser check node with chromium (apt-get) and
# playwright-core (npm ci here), as run.sh. About 2.5 minutes.
set -euo pipefail
LOG_NAME=log_alerts
TIMEOUT=60
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=SCRIPTDIR/../interop/lib.sh
source "$here/../interop/lib.sh"
parse_args "$@"
need_bongsu
need_tools python3 curl
set_traps
make_workdir bongsu-log-alerts

if [[ -n ${GEN_LOGS:-} ]]; then
    GEN=$GEN_LOGS
else
    shared=$(shared_dir) || fail "no shared/ folder for gen_logs.py (set BONGSU_SHARED or GEN_LOGS)"
    GEN=$shared/bench/gen_logs.py
fi
[[ -f $GEN ]] || fail "no gen_logs.py at $GEN (set GEN_LOGS)"
# Two hours of data: incident A (payments-outage) is [2160 s, 2304 s). Replayed 4 times
# faster from 80 s before it to 200 s after it, it lasts 36 s of the ~106 s replay, with about
# one payments 5xx line a second (600k lines: ~140 access lines a second).
GEN_START=1700000000
GEN_DURATION=7200
SPEED=4
LEAD=80
TAIL=200
EVAL=5
FOR=10
HELPER=(python3 "$here/log_alerts.py")

log "generating 2 h of logs (gen_logs.py --format raw)"
python3 "$GEN" --format raw --out "$WORK/raw" --lines 600000 --start "$GEN_START" \
  --duration "$GEN_DURATION" 2>"$WORK/gen_logs.err"
access="$WORK/var/log/nginx/access.log"
mkdir -p "$(dirname "$access")"
: >"$access"

"${HELPER[@]}" rules "$REPO_DIR/rules/logs-nginx.yml" "$access" >"$WORK/logs-nginx.yml"
"$BONGSU" check rules --backend=loki "$WORK/logs-nginx.yml" >"$WORK/check-rules.out" 2>&1 \
  || { cat "$WORK/check-rules.out" >&2; fail "bongsu check rules refuses the test-sized rules"; }
cat >"$WORK/bongsu.yml" <<EOF
global:
  evaluation_interval: ${EVAL}s
log_rule_files: [logs-nginx.yml]
EOF
HOOK_PORT=$(free_port)
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
cat >"$WORK/alertmanager.yml" <<EOF
route:
  receiver: hook
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: 'http://127.0.0.1:$HOOK_PORT/', send_resolved: true}]
EOF
cat >"$WORK/promtail.yml" <<EOF
positions: {filename: $WORK/positions.yaml}
target_config: {sync_period: 1s}
scrape_configs:
  - job_name: nginx
    static_configs:
      - targets: [localhost]
        labels: {job: nginx, __path__: $access}
EOF

start sink "${HELPER[@]}" sink "$HOOK_PORT" "$WORK/payloads.jsonl"
start bongsu "$BONGSU" --config.file "$WORK/bongsu.yml" --storage.tsdb.path "$WORK/data" \
  --web.listen-address "127.0.0.1:$PORT" --web.external-url "$BASE" \
  --logs.config.file "$WORK/promtail.yml" --alertmanager.config.file "$WORK/alertmanager.yml" \
  --rules.alert.resend-delay 1s
wait_ready "$BASE/-/ready" bongsu

log "replaying the access log ${SPEED}x around the payments-outage window"
start replay "${HELPER[@]}" replay "$GEN" "$GEN_START" "$GEN_DURATION" "$WORK/raw" "$access" \
  "$SPEED" "$LEAD" "$TAIL" "$WORK/events.json"
TIMEOUT=$(((LEAD + 144 + TAIL) / SPEED + 30)) wait_for "the replay is done" test -s "$WORK/events.json"

resolved() { grep -q '"status": "resolved".*"service": "payments"' "$WORK/payloads.jsonl" 2>/dev/null; }
wait_for "a resolved notification for payments" resolved
"${HELPER[@]}" check "$WORK/payloads.jsonl" "$WORK/events.json" payments payments,checkout,orders \
  >"$WORK/generator_url" || fail "the webhook payloads are not what the incident should give"
url=$(cat "$WORK/generator_url")
log "goal for the latency: for ${FOR} s + one evaluation interval ${EVAL} s + 5 s = $((FOR + EVAL + 5)) s"
log "generatorURL: $url"

recorded() {
  curl -sf --max-time 10 -G "$BASE/api/v1/query" \
    --data-urlencode 'query=max_over_time(service:nginx_http_requests_5xx:rate5m{service="payments"}[5m]) > 0' |
    grep -q '"service":"payments"'
}
recorded || fail "no recorded 5xx rate of payments for PromQL"
log "ok: PromQL answers the recorded service:nginx_http_requests_5xx:rate5m of payments"

if [[ ${SKIP_BROWSER:-0} == 1 ]]; then
  log "SKIPPED (SKIP_BROWSER=1): the generatorURL opening /logs in chromium"
else
  need_tools node
  if ! [[ -x /usr/bin/chromium ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  fi
  [[ -d $here/node_modules/playwright-core ]] \
    || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  URL="$url" SERVICE=payments SCREENSHOT="$WORK/logs-page.png" node "$here/log_alerts.mjs" \
    || fail "the alert's /logs link does not show the payments 5xx lines"
  log "ok: the alert's link opens /logs on the payments 5xx lines"
fi
FAILED=0
log "passed"
