#!/usr/bin/env bash
# Interop tier for --web.config.file: the same web configuration files given to the real
# Prometheus 3.5 and to bongsu must be judged alike by `promtool check web-config` and
# `bongsu check web-config`, and curl must get the same answers from both servers: TLS with a
# certificate from a test CA, basic auth (no, wrong and right credentials), a client
# certificate required and verified, any client certificate required and checked against
# client_allowed_sans, configured response headers, HTTP/2 negotiated, the rate limit's 429.
#
# Everything binds to 127.0.0.1 on free ports; every process started here is stopped on exit.
# Exit status: 0 all checks passed; 1 a check failed or a process did not start.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: tests/interop/web_config.sh [--timeout S] [--workdir DIR] [--keep]

  --timeout S     bound for each wait (default 60)
  --workdir DIR   where certificates, data and logs go (default: a new temp dir)
  --keep          keep the work dir even on success
  -h, --help      this text

environment:
  BONGSU          bongsu binary (default: <repo>/target/debug/bongsu)
EOF
}

LOG_NAME=web_config
TIMEOUT=60
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_args "$@"

peers prometheus promtool
need_tools openssl curl
need_bongsu
make_workdir bongsu-web-config
set_traps
BONGSU=$(realpath "$BONGSU")
cd "$WORK"

# A test CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=test-ca -keyout ca.key -out ca.pem 2>/dev/null
leaf() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile <(printf 'subjectAltName=%s\n' "$2") -out "$1.pem" 2>/dev/null
}
leaf server IP:127.0.0.1
leaf client DNS:client.example
# Self-signed, from no CA the servers know: RequireAnyClientCert takes them, and then only
# client_allowed_sans tells them apart.
stranger() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
    -addext "subjectAltName=$2" -keyout "$1.key" -out "$1.pem" 2>/dev/null
}
stranger friend DNS:client.example
stranger foe DNS:foe.example

# bcrypt of "wonderland" (cost 10), as htpasswd -B makes them.
HASH='$2b$10$DXE3SH5KwfL.p/q34AQZ9OgTrwH3xJucK9jJ2GkQCgFa6c.PgfHc6'
cat >auth.yml <<EOF
tls_server_config:
  cert_file: server.pem
  key_file: server.key
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  alice: $HASH
EOF
cat >mtls.yml <<EOF
tls_server_config:
  cert_file: server.pem
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
EOF
cat >anycert.yml <<EOF
tls_server_config:
  cert_file: server.pem
  key_file: server.key
  client_auth_type: RequireAnyClientCert
  client_allowed_sans: [other.example, client.example]
EOF
printf 'rate_limit:\n  interval: 1h\n  burst: 3\n' >ratelimit.yml
printf 'tls_server_config:\n  key_file: server.key\n' >nocert.yml
printf 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: ca.pem\n' >nopolicy.yml
printf 'basic_auth_users:\n  eve: plaintext\n' >badhash.yml

# 1. Both checkers accept and refuse the same files.
for f in auth.yml mtls.yml anycert.yml ratelimit.yml nocert.yml nopolicy.yml badhash.yml; do
  p=0; b=0
  promtool check web-config "$f" >/dev/null 2>&1 || p=$?
  "$BONGSU" check web-config "$f" >/dev/null 2>&1 || b=$?
  [[ $p == "$b" ]] || fail "check web-config $f: promtool exits $p, bongsu $b"
  log "ok: check web-config $f exits $p in both"
done

# 2. The same answers from both servers.
serve() { # serve NAME WEBFILE : starts Prometheus or bongsu on the port left in PORT
  local port; port=$(free_port)
  PORT=$port
  if [[ $1 == prometheus ]]; then
    mkdir -p "prom-$2"
    printf 'scrape_configs: []\n' >prom.yml
    start "prometheus-$2" prometheus --config.file=prom.yml --storage.tsdb.path="prom-$2" \
      --web.listen-address="127.0.0.1:$port" --web.config.file="$2"
  else
    start "bongsu-$2" "$BONGSU" --config.file=prom.yml --storage.tsdb.path="bongsu-$2" \
      --web.listen-address="127.0.0.1:$port" --web.config.file="$2"
  fi
}
status() { # status URL CURL-ARGS... : the HTTP status, 000 when there was no HTTP answer (TLS refused)
  curl -s -o /dev/null -w "%{http_code}" --cacert ca.pem "${@:2}" "$1" 2>/dev/null || true
}
ready() { [[ $(status "https://127.0.0.1:$1/-/healthy" "${@:2}") == 200 ]]; }

printf 'scrape_configs: []\n' >prom.yml
for server in prometheus bongsu; do
  serve "$server" auth.yml; a=$PORT
  serve "$server" mtls.yml; m=$PORT
  wait_for "$server auth.yml up" ready "$a" -u alice:wonderland
  wait_for "$server mtls.yml up" ready "$m" --cert client.pem --key client.key
  serve "$server" anycert.yml; y=$PORT
  wait_for "$server anycert.yml up" ready "$y" --cert friend.pem --key friend.key
  serve "$server" ratelimit.yml; r=$PORT
  wait_for "$server ratelimit.yml up" curl -sf -o /dev/null "http://127.0.0.1:$r/-/healthy"
  u="https://127.0.0.1:$a/api/v1/status/buildinfo"
  {
    echo "no credentials: $(status "$u")"
    echo "wrong password: $(status "$u" -u alice:nope)"
    echo "right password: $(status "$u" -u alice:wonderland)"
    echo "unknown CA: $(curl -s -o /dev/null -w "%{http_code}" "$u" 2>/dev/null || true)"
    echo "challenge: $(curl -s -D - -o /dev/null --cacert ca.pem "$u" | tr -d '\r' | grep -i '^www-authenticate:' | tr 'A-Z' 'a-z')"
    echo "header: $(curl -s -D - -o /dev/null --cacert ca.pem -u alice:wonderland "$u" | tr -d '\r' | grep -i '^x-content-type-options:' | tr 'A-Z' 'a-z')"
    echo "no client certificate: $(status "https://127.0.0.1:$m/-/healthy")"
    echo "client certificate: $(status "https://127.0.0.1:$m/-/healthy" --cert client.pem --key client.key)"
    echo "any certificate, allowed name: $(status "https://127.0.0.1:$y/-/healthy" --cert friend.pem --key friend.key)"
    echo "any certificate, other name: $(status "https://127.0.0.1:$y/-/healthy" --cert foe.pem --key foe.key)"
    echo "any certificate, none: $(status "https://127.0.0.1:$y/-/healthy")"
    # The probe above took one of the three tokens; no token comes back within the hour.
    echo "rate limit: $(for _ in 1 2 3 4; do curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$r/-/healthy"; done)"
    echo "over the limit: $(curl -s "http://127.0.0.1:$r/-/healthy")"
  } >"answers-$server.txt"
  # Not compared: Prometheus 3.5 logs http2=true yet offers no ALPN protocol, so clients
  # fall back to HTTP/1.1; bongsu offers HTTP/2 as the toolkit documents.
  curl -s -o /dev/null -w "%{http_version}" --http2 --cacert ca.pem -u alice:wonderland "$u" >"http-version-$server.txt"
  stop_processes
  PIDS=()
done
if ! diff answers-prometheus.txt answers-bongsu.txt >&2; then
  fail "bongsu answers differently from Prometheus (above: < prometheus, > bongsu)"
fi
log "ok: the same answers from both: $(tr '\n' ';' <answers-bongsu.txt)"
[[ $(cat http-version-bongsu.txt) == 2 ]] || fail "bongsu answered over HTTP/$(cat http-version-bongsu.txt), not HTTP/2"
log "ok: HTTP/2 from bongsu (Prometheus: HTTP/$(cat http-version-prometheus.txt))"
FAILED=0
