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

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
UTIL=(python3 "$REPO_DIR/benches/lib/bench_util.py")

TIMEOUT=30
WORK=""
KEEP=0
while (($#)); do
  case "$1" in
    --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
    --workdir) WORK=${2:?--workdir needs a value}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 1 ;;
  esac
done
BONGSU=${BONGSU:-$REPO_DIR/target/debug/bongsu}

log() { printf '[%(%H:%M:%S)T] alertmanager: %s\n' -1 "$*" >&2; }

if ! command -v prometheus-alertmanager >/dev/null || ! command -v amtool >/dev/null; then
  log "installing prometheus-alertmanager"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq prometheus-alertmanager >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq prometheus-alertmanager >/dev/null
  fi
fi
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || { log "ERROR: $tool is needed"; exit 1; }
done
[[ -x $BONGSU ]] || { log "ERROR: no bongsu binary at $BONGSU (cargo build first)"; exit 1; }

if [[ -z $WORK ]]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/bongsu-am.XXXXXX")
else
  rm -rf "$WORK"
  mkdir -p "$WORK"
fi

PIDS=()
FAILED=1
cleanup() {
  local i n pid
  for ((n = ${#PIDS[@]} - 1; n >= 0; n--)); do
    pid=${PIDS[n]}
    kill -TERM "$pid" 2>/dev/null || continue
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((FAILED)); then
    local f
    for f in "$WORK"/*.log; do
      [[ -e $f ]] || continue
      echo "---- last lines of $f" >&2
      tail -n 25 "$f" >&2 || true
    done
    log "FAILED (work dir kept: $WORK)"
  elif ((!KEEP)); then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  LAST_PID=$!
}

fail() { log "ERROR: $*"; exit 1; }

wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    ((SECONDS < deadline)) || fail "waited ${TIMEOUT}s for: $what"
    sleep 0.5
  done
  log "ok: $what"
}

AM_PORT=$("${UTIL[@]}" freeport)
BONGSU_PORT=$("${UTIL[@]}" freeport)
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
"${UTIL[@]}" wait-http "$AM_URL/-/ready" "$TIMEOUT" "$LAST_PID" || fail "Alertmanager did not start"

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
"${UTIL[@]}" wait-http "$BONGSU_URL/-/ready" "$TIMEOUT" "$LAST_PID" || fail "bongsu did not start"

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
