#!/usr/bin/env bash
# The browser tier: Debian's chromium, driven by playwright-core (npm, locked in
# package-lock.json), through bongsu's web UI on a free 127.0.0.1 port. Installs chromium with
# apt-get and the npm packages itself when they are missing, so it runs from a clean clone.
# Screenshots and the server log go to the work dir (default $TMPDIR/bongsu-browser). amtool
# comes from the peers (benches/lib/peers.sh's use_peers).
#
#   BONGSU=target/debug/bongsu bash tests/browser/run.sh [--workdir DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
workdir="${TMPDIR:-/tmp}/bongsu-browser"
if [[ "${1:-}" == "--workdir" ]]; then workdir="$2"; fi
bongsu="${BONGSU:-$root/target/debug/bongsu}"
[[ -x "$bongsu" ]] || { echo "no bongsu binary at $bongsu (cargo build first)" >&2; exit 1; }

if ! [[ -x /usr/bin/chromium ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
# The real amtool lists the silence the UI creates: the peers' (shared/peers/install.sh).
# shellcheck source=../../benches/lib/peers.sh
source "$root/benches/lib/peers.sh"
use_peers

rm -rf "$workdir"
mkdir -p "$workdir/screenshots"
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port="$(free_port)"
service_port="$(free_port)"
# A fake HTTP service (job "service") for the service-red dashboard and rules/service.yml.
python3 "$here/fake_service.py" "$service_port" &
service_pid=$!
# bongsu scraping itself and the fake service every second, so `up`, its own metric names and
# the service's exist at once, with the example rules evaluated (and rules.yml's alert firing),
# so the rules and alerts pages and the dashboards have something to show.
cat >"$workdir/bongsu.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$root/rules/bongsu.yml", "$root/rules/service.yml", "$here/rules.yml"]
scrape_configs:
  - job_name: bongsu
    static_configs:
      - targets: ["127.0.0.1:$port"]
  - job_name: service
    static_configs:
      - targets: ["127.0.0.1:$service_port"]
YML
"$bongsu" --config.file "$workdir/bongsu.yml" --storage.tsdb.path "$workdir/data" \
    --web.listen-address "127.0.0.1:$port" 2>"$workdir/bongsu.log" &
pid=$!
trap 'kill "$pid" "$service_pid" 2>/dev/null || true; wait "$pid" "$service_pid" 2>/dev/null || true' EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    if curl -fsS "$base/api/v1/query?query=up" 2>/dev/null | grep -q '"job":"bongsu"'; then break; fi
    sleep 0.1
done
curl -fsS "$base/api/v1/query?query=up" | grep -q '"job":"bongsu"' \
    || { echo "bongsu has no up series; its log:" >&2; cat "$workdir/bongsu.log" >&2; exit 1; }

BASE="$base" SCREENSHOTS="$workdir/screenshots" AMTOOL="$PEERS_BIN/amtool" node "$here/ui.mjs"
BASE="$base" SCREENSHOTS="$workdir/screenshots" node "$here/logs.mjs"
echo "browser: screenshots in $workdir/screenshots"
