#!/usr/bin/env bash
# Interop tier for the Alertmanager API: the real `amtool` 0.33 (shared/peers/install.sh)
# drives bongsu, and a webhook receiver checks delivery.
#
# 1. bongsu starts with an alertmanager.yml whose one receiver is a webhook served by a small
#    Python HTTP server that appends each payload to a file.
# 2. amtool: `alert add`, `alert query` (the alert is listed), the webhook gets the v4
#    payload with the alert; `silence add` (an ID comes back), `silence query` lists it,
#    `alert query -s` shows the alert suppressed; `silence expire`, then `silence query
#    --expired` lists it.
# 3. The Alertmanager configuration is changed and reloaded with POST /-/reload; the new
#    receiver shows in /api/v2/receivers.
# 4. `amtool config routes` prints the routing tree it reads from /api/v2/status exactly as
#    against the real Alertmanager 0.33 given the same file (started here too); the file has
#    webhook, Slack and Discord receivers, whose URLs both print as <secret>; `config routes
#    test` resolves labels to receivers on both.
#
# Everything binds to 127.0.0.1 on free ports; processes started here are stopped on exit.
# Exit status 0 when every check passed, 1 otherwise (with the logs' tails).
set -euo pipefail

BONGSU=${BONGSU:-target/debug/bongsu}
TIMEOUT=${TIMEOUT:-20}
# free_port, start, wait_ready, stop_processes, use_peers, peer_version
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
use_peers
echo "peers: $(peer_version amtool), $(peer_version alertmanager)"
[ -x "$BONGSU" ] || { echo "$BONGSU not built (cargo build --bin bongsu)"; exit 1; }

WORK=$(mktemp -d)
trap stop_processes EXIT
# This script reports on stdout with the bongsu and webhook logs' tails (not lib.sh's fail).
fail() {
    echo "FAIL: $*"
    echo "--- bongsu log"; tail -20 "$WORK/bongsu.log" || true
    echo "--- webhook log"; tail -5 "$WORK/hook.log" || true
    [ ! -f "$WORK/alertmanager.log" ] || { echo "--- alertmanager log"; tail -10 "$WORK/alertmanager.log"; }
    exit 1
}
# A quiet variant of lib.sh's wait_for: this script prints only its "ok:" lines.
wait_for() { # wait_for DESCRIPTION COMMAND...
    local what=$1; shift
    for _ in $(seq $((TIMEOUT * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    fail "timed out waiting for $what"
}

HOOK_PORT=$(free_port)
BONGSU_PORT=$(free_port)
cat > "$WORK/hook.py" <<'EOF'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
start hook python3 "$WORK/hook.py" "$HOOK_PORT" "$WORK/payloads"

am_config() { # am_config EXTRA_RECEIVER_NAME
    cat > "$WORK/alertmanager.yml" <<EOF
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
receivers:
- name: hook
  webhook_configs:
  - url: http://127.0.0.1:$HOOK_PORT/
- name: $1
EOF
}
am_config spare
echo "global: {scrape_interval: 1h}" > "$WORK/prometheus.yml"
start bongsu "$BONGSU" --config.file "$WORK/prometheus.yml" \
    --alertmanager.config.file "$WORK/alertmanager.yml" --storage.tsdb.path "$WORK/data" \
    --web.listen-address "127.0.0.1:$BONGSU_PORT" --web.enable-lifecycle
URL="http://127.0.0.1:$BONGSU_PORT"
wait_ready "$URL/-/ready" bongsu
AM=(amtool --alertmanager.url="$URL")

"${AM[@]}" alert add alertname=InteropAlert instance=i1 --annotation=summary=interop 2>/dev/null \
    || fail "amtool alert add"
"${AM[@]}" alert query 2>/dev/null | grep -q InteropAlert || fail "alert query does not list the alert"
wait_for "the webhook payload" grep -q '"alertname":"InteropAlert"' "$WORK/payloads"
grep -q '"version":"4"' "$WORK/payloads" || fail "payload is not version 4"
grep -q '"receiver":"hook"' "$WORK/payloads" || fail "payload names another receiver"
echo "ok: alert add/query and webhook delivery"

ID=$("${AM[@]}" silence add alertname=InteropAlert -c interop -a tester -d 1h 2>/dev/null) \
    || fail "amtool silence add"
[[ $ID =~ ^[0-9a-f-]{36}$ ]] || fail "silence add printed $ID"
"${AM[@]}" silence query 2>/dev/null | grep -q "$ID" || fail "silence query does not list $ID"
"${AM[@]}" alert query -s 2>/dev/null | grep InteropAlert | grep -q suppressed \
    || fail "the alert is not suppressed"
"${AM[@]}" silence expire "$ID" 2>/dev/null || fail "amtool silence expire"
"${AM[@]}" silence query --expired 2>/dev/null | grep -q "$ID" || fail "expired silence not listed"
"${AM[@]}" silence query 2>/dev/null | grep -q "$ID" && fail "expired silence still active"
echo "ok: silence add/query/expire"

am_config renamed
curl -sf -X POST "$URL/-/reload" >/dev/null || fail "reload"
curl -sf "$URL/api/v2/receivers" | grep -q '"renamed"' || fail "reloaded receiver missing"
echo "ok: reload"

# amtool loads the configuration bongsu prints in /api/v2/status, receiver URLs as <secret>
# (as Alertmanager does since 0.26; amtool 0.33 loads them, amtool 0.25 could not).
cat > "$WORK/alertmanager.yml" <<EOF
route:
  receiver: default
  group_by: [alertname]
  routes:
  - matchers: [team="db"]
    receiver: db
    routes:
    - matchers: [severity="page"]
      receiver: db-pager
  - matchers: [team=~"web|api"]
    receiver: web
    continue: true
  - matchers: [severity="page"]
    receiver: pager
receivers:
- name: default
  webhook_configs:
  - url: http://127.0.0.1:$HOOK_PORT/
- name: db
  slack_configs:
  - {api_url: 'http://127.0.0.1:$HOOK_PORT/slack', channel: '#db'}
- name: db-pager
- name: web
  discord_configs:
  - webhook_url: http://127.0.0.1:$HOOK_PORT/discord
- name: pager
  email_configs:
  - {to: oncall@example.org, from: am@example.org, smarthost: '127.0.0.1:25'}
EOF
curl -sf -X POST "$URL/-/reload" >/dev/null || fail "reload of the routing configuration"
# The real Alertmanager with the same file: amtool must print the same tree for both.
AM_PORT=$(free_port)
start alertmanager alertmanager --config.file="$WORK/alertmanager.yml" --storage.path="$WORK/am-data" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=""
wait_ready "http://127.0.0.1:$AM_PORT/-/ready" Alertmanager
amtool --alertmanager.url="http://127.0.0.1:$AM_PORT" config routes > "$WORK/routes.am" 2>"$WORK/amtool.err" \
    || fail "amtool config routes against Alertmanager: $(cat "$WORK/amtool.err")"
# The tree as Alertmanager 0.33 serves it to amtool 0.33 for this file.
cat > "$WORK/routes.expected" <<'EOF'
Routing tree:
.
└── default-route  receiver: default
    ├── {team="db"}  receiver: db
    │   └── {severity="page"}  receiver: db-pager
    ├── {team=~"web|api"}  continue: true  receiver: web
    └── {severity="page"}  receiver: pager

EOF
# (amtool 0.25 indented under "│" with two no-break spaces, 0.33 with plain spaces.)
diff -u --label expected --label alertmanager-0.33 "$WORK/routes.expected" "$WORK/routes.am" \
    || fail "amtool config routes printed another tree for Alertmanager 0.33 than expected"
"${AM[@]}" config routes > "$WORK/routes.out" 2>"$WORK/amtool.err" \
    || fail "amtool config routes: $(cat "$WORK/amtool.err")"
diff -u --label alertmanager-0.33 --label bongsu "$WORK/routes.am" "$WORK/routes.out" \
    || fail "amtool config routes printed another tree for bongsu than for Alertmanager"
for url in "$URL" "http://127.0.0.1:$AM_PORT"; do
    [ "$(amtool --alertmanager.url="$url" config routes test team=web severity=page 2>/dev/null)" = "web,pager" ] \
        || fail "config routes test against $url: team=web severity=page is not routed to web,pager"
done
"${AM[@]}" config routes test --verify.receivers=db-pager team=db severity=page >/dev/null 2>&1 \
    || fail "config routes test: team=db severity=page is not routed to db-pager"
"${AM[@]}" config routes test --verify.receivers=db team=api >/dev/null 2>&1 \
    && fail "config routes test --verify.receivers accepted a wrong receiver"
echo "ok: config routes, config routes test"
rm -rf "$WORK"
echo "amtool interop: passed"
