# shellcheck shell=bash
# The upstream peers that the interop tests and the comparison benches run against: Prometheus
# 3.5 (+ promtool), Alertmanager 0.33 (+ amtool) and VictoriaMetrics 1.145 (+ vmctl, vmagent),
# unpacked by shared/peers/install.sh into one folder (nothing installed system-wide; the
# machine's own Debian packages, Prometheus 2.42 and Alertmanager 0.25 on bookworm, are older
# than the semantics bongsu follows and are not used). Sourced, not run; .ci/run,
# tests/interop/lib.sh and the benches source it.
#
#   use_peers          install.sh (idempotent: quick once unpacked), then its bin/ first on PATH
#                      (after peer-bin/, which wraps Alertmanager: see peer-bin/alertmanager)
#   peer_version CMD   one line naming CMD's version, asked from the binary itself
#   shared_dir         the shared/ folder (gen_logs.py and the other generators are in bench/)
#
# shared/ is $BONGSU_SHARED when that is set, else ../shared (beside the checkout, as in CI),
# then /work/shared (a clone elsewhere on a developer's machine). It unpacks into $BONGSU_PEERS or ~/.cache/bongsu-peers.

PEERS_REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# shared_dir : the shared/ folder (test data, generators, peers' installer) on stdout, or a
# message on stderr and status 1. An explicit $BONGSU_SHARED is the only place looked in.
shared_dir() {
  local dir candidates=()
  if [[ -n ${BONGSU_SHARED:-} ]]; then
    candidates=("$BONGSU_SHARED")
  else
    candidates=("$PEERS_REPO_DIR/../shared" /work/shared)
  fi
  for dir in "${candidates[@]}"; do
    if [[ -d $dir/peers && -d $dir/bench ]]; then
      (cd "$dir" && pwd)
      return 0
    fi
  done
  echo "shared/ not found (looked in: ${candidates[*]}); set BONGSU_SHARED to the shared/ folder" >&2
  return 1
}

# peers_installer : the path of install.sh, or a message on stderr and status 1
peers_installer() {
  local dir
  dir=$(shared_dir) || return 1
  if [[ -f $dir/peers/install.sh ]]; then
    echo "$dir/peers/install.sh"
    return 0
  fi
  echo "peers: $dir/peers/install.sh not found; set BONGSU_SHARED to the shared/ folder" >&2
  return 1
}

# use_peers : unpack the peers if needed and put their bin/ first on PATH (exported).
# Sets PEERS_BIN. Exits the calling script with status 1 when install.sh is missing or fails.
use_peers() {
  local installer out
  installer=$(peers_installer) || exit 1
  # install.sh may be without execute bits (CI's copy of shared/ is read-only): run it with bash.
  if ! out=$(bash "$installer"); then
    echo "peers: $installer failed" >&2
    exit 1
  fi
  PEERS_BIN=$(tail -n 1 <<<"$out")
  [[ -x $PEERS_BIN/prometheus && -x $PEERS_BIN/alertmanager ]] || {
    echo "peers: $installer printed '$PEERS_BIN', which holds no prometheus/alertmanager" >&2
    exit 1
  }
  # peer-bin/ (wrappers: alertmanager, see there) first, then install.sh's bin/.
  case ":$PATH:" in
    ":$PEERS_REPO_DIR/benches/lib/peer-bin:$PEERS_BIN:"*) ;;
    *) PATH="$PEERS_REPO_DIR/benches/lib/peer-bin:$PEERS_BIN:$PATH" ;;
  esac
  export PATH PEERS_BIN
}

# peer_version CMD : "prometheus 3.5.3+ds1", "alertmanager 0.33.1", "victoria-metrics 1.145.0", ...
# from CMD --version (-version for VictoriaMetrics). Debian builds VictoriaMetrics without
# its version string; then the Debian changelog unpacked beside the binary names it.
peer_version() {
  local cmd=$1 path v="" changelog
  path=$(command -v "$cmd") || { echo "$cmd (not found)"; return 0; }
  case $cmd in
    victoria-metrics | vmagent | vmalert | vmctl)
      v=$("$path" -version 2>/dev/null | head -n 1 | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -n 1 || true)
      if [[ -z $v ]]; then
        changelog=$(dirname "$(readlink -f "$path")")/../share/doc/victoria-metrics/changelog.Debian.gz
        [[ ! -f $changelog ]] ||
          v="$(zcat "$changelog" | head -n 1 | sed -E 's/^[^(]*\(([^)]*)\).*/\1/') (Debian changelog)"
      fi ;;
    *)
      v=$("$path" --version 2>&1 | head -n 1 | sed -E 's/^[^,]*, version ([^ ]+).*/\1/') ;;
  esac
  echo "$cmd ${v:-(version unknown)}"
}
