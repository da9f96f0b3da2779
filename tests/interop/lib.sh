# shellcheck shell=bash
# Shared pieces of the interop scripts (sourced, not run): options, logging, peers, work dir,
# background processes and bounded waits.
#
# The sourcing script sets LOG_NAME (log prefix) and TIMEOUT (its default bound) and defines
# usage() before sourcing; it then calls parse_args "$@", and sets FAILED=0 once every check
# passed. Everything started with `start` is stopped on exit, newest first. amtool.sh keeps
# its own options and output and uses only free_port, start, wait_ready and stop_processes.

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UTIL=(python3 "$REPO_DIR/benches/lib/bench_util.py")
WORK=""
KEEP=0
PIDS=()
FAILED=1

# parse_args ARGS... : the common options into TIMEOUT, WORK, KEEP; BONGSU gets its default
parse_args() {
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
}

# log MESSAGE... : a timestamped line on stderr, prefixed with the script's name
log() { printf '[%(%H:%M:%S)T] %s: %s\n' -1 "$LOG_NAME" "$*" >&2; }

# fail MESSAGE... : log an error and exit 1 (the exit trap prints the logs' tails)
fail() { log "ERROR: $*"; exit 1; }

# The upstream peers (Prometheus 3.5, Alertmanager 0.33, VictoriaMetrics 1.145): use_peers,
# peer_version.
# shellcheck source=SCRIPTDIR/../../benches/lib/peers.sh
source "$REPO_DIR/benches/lib/peers.sh"

# peers CMD... : the upstream peers' bin/ first on PATH (shared/peers/install.sh), then log
# the versions of CMD... as the binaries report them
peers() {
  use_peers
  local cmd versions=""
  for cmd in "$@"; do versions+="${versions:+, }$(peer_version "$cmd")"; done
  log "peers from $PEERS_BIN: $versions"
}

# install_packages "PACKAGE..." COMMAND... : apt-get install Debian packages unless every
# command exists (for what shared/peers/install.sh does not provide, e.g. node_exporter)
install_packages() {
  local packages=$1 cmd; shift
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null && continue
    # Debian's maintainer scripts try to start the services; without systemd that does
    # nothing, and the scripts run the binaries directly.
    log "installing ${packages// / and }"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # a word list on purpose
    if ! apt-get install -y -qq $packages >/dev/null 2>&1; then
      apt-get update -qq
      # shellcheck disable=SC2086
      apt-get install -y -qq $packages >/dev/null
    fi
    return 0
  done
}

# need_tools TOOL... : exit 1 unless every tool is on PATH
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { log "ERROR: $tool is needed"; exit 1; }
  done
}

# need_bongsu : exit 1 unless $BONGSU is an executable
need_bongsu() {
  [[ -x $BONGSU ]] || { log "ERROR: no bongsu binary at $BONGSU (cargo build first)"; exit 1; }
}

# make_workdir PREFIX : WORK becomes a fresh empty dir (a new temp dir unless --workdir was given)
make_workdir() {
  if [[ -z $WORK ]]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  else
    rm -rf "$WORK"
    mkdir -p "$WORK"
  fi
}

# stop_processes : TERM every started process newest first, KILL what is left after 10 s
stop_processes() {
  local i n pid
  # Newest first: a sender stops before the server it writes to (Prometheus would keep
  # retrying its last batch for a minute), a scraper before its target.
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
}

# cleanup : the exit trap; on failure print the logs' tails and keep WORK, else remove it
cleanup() {
  stop_processes
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

# set_traps : run cleanup on exit, and exit 130 on INT/TERM
set_traps() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

# start NAME CMD... : CMD in the background, output to $WORK/NAME.log, pid in LAST_PID
start() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  LAST_PID=$!
}

# free_port : a free TCP port on 127.0.0.1
free_port() { "${UTIL[@]}" freeport; }

# wait_ready URL NAME : wait for URL to answer while LAST_PID lives, else "NAME did not start"
wait_ready() { "${UTIL[@]}" wait-http "$1" "$TIMEOUT" "$LAST_PID" || fail "$2 did not start"; }

# wait_for DESCRIPTION CMD... : run CMD every 0.5 s until it succeeds, for at most TIMEOUT s
wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    ((SECONDS < deadline)) || fail "waited ${TIMEOUT}s for: $what"
    sleep 0.5
  done
  log "ok: $what"
}
