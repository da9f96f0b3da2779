#!/usr/bin/env bash
# Build and test times of two commits, side by side on this machine in one run: a clean release
# build, incremental rebuilds after touching one receiver file and one tsdb file (release and
# debug), and the wall time of `cargo test` once its binaries are built. Each commit is checked
# out into its own worktree with its own target directory, so neither warms the other's cache.
#
#   usage: benches/build_times.sh BEFORE AFTER [WORKDIR]
#   env:   RECEIVER_FILE_<BEFORE|AFTER>, TSDB_FILE_<BEFORE|AFTER> override the touched files
#          (defaults: the Slack notifier and the tsdb head appender, wherever each commit has them)
#
# Prints one table row per measurement; the load average is printed with each so a busy machine
# shows. Needs nothing but cargo and git; takes about 45 minutes on 2 cores.
set -euo pipefail
before=${1:?usage: build_times.sh BEFORE AFTER [WORKDIR]}
after=${2:?usage: build_times.sh BEFORE AFTER [WORKDIR]}
work=${3:-${TMPDIR:-/tmp}/bongsu-build-times}
repo=$(git rev-parse --show-toplevel)

log() { printf '%s\n' "$*" >&2; }

# The first of the candidate paths that exists in the checkout.
pick() {
  local dir=$1; shift
  for p in "$@"; do
    [ -f "$dir/$p" ] && { echo "$p"; return; }
  done
  log "none of $* exists in $dir"; exit 1
}

# Seconds (one decimal) that "$@" takes, run in $dir; output discarded, failure fatal.
timed() {
  local dir=$1; shift
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && "$@") >/dev/null 2>&1 || { log "failed in $dir: $*"; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
}

row() { printf '| %s | %s | %s s | load %s |\n' "$1" "$2" "$3" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

rm -rf "$work"; git -C "$repo" worktree prune; mkdir -p "$work"
# The conformance tests read ../shared beside the checkout: give the worktrees the same.
[ -d "$repo/../shared" ] && ln -s "$(cd "$repo/../shared" && pwd)" "$work/shared"
trap 'git -C "$repo" worktree prune' EXIT
for rev in "$before" "$after"; do
  git -C "$repo" worktree add --detach "$work/$rev" "$rev" >/dev/null 2>&1
done

echo "| commit | measurement | time | machine |"
echo "|---|---|---|---|"
for rev in "$before" "$after"; do
  dir=$work/$rev
  key=$([ "$rev" = "$before" ] && echo BEFORE || echo AFTER)
  rx_var=RECEIVER_FILE_$key; ts_var=TSDB_FILE_$key
  receiver=${!rx_var:-$(pick "$dir" crates/alertmanager/src/notify/slack/notifier.rs \
    crates/alertmanager/src/notify/slack.rs src/alertmanager/notify/slack.rs)}
  tsdb=${!ts_var:-$(pick "$dir" crates/tsdb/src/head/appender.rs src/tsdb/head/appender.rs)}
  (cd "$dir" && cargo fetch --locked >/dev/null 2>&1)
  row "$rev" "clean release build" "$(timed "$dir" cargo build --release --locked)"
  for profile in release debug; do
    flag=$([ $profile = release ] && echo --release || true)
    [ $profile = debug ] && row "$rev" "clean debug build" "$(timed "$dir" cargo build $flag --locked)"
    touch "$dir/$receiver"
    row "$rev" "$profile rebuild after touching $receiver" "$(timed "$dir" cargo build $flag --locked)"
    touch "$dir/$tsdb"
    row "$rev" "$profile rebuild after touching $tsdb" "$(timed "$dir" cargo build $flag --locked)"
  done
  (cd "$dir" && cargo test --locked --no-run >/dev/null 2>&1)
  row "$rev" "cargo test (binaries built)" "$(timed "$dir" cargo test --locked)"
  rm -rf "$dir/target"
done
