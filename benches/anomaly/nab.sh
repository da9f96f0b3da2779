#!/usr/bin/env bash
# NAB (the Numenta Anomaly Benchmark, shared/anomaly/nab) for bongsu's anomaly models.
#
# Every model below is one configuration for all 58 files, replayed with
# `bongsu anomaly replay` (the code path of live detectors) into NAB's results layout and
# scored by nab_score.py with the threshold optimised per profile, as NAB does:
#
#   nab           benches/anomaly/nab.yml, the shipped best configuration (zscore and
#                 relative entropy in an ensemble, with a cooldown)
#   zscore        rolling z-score (1,500 values), every value scored
#   entropy       relative entropy (30 values)          with the same cooldown as nab.yml
#   mad           median/MAD (1,500 values)          \
#   holt_winters  Holt-Winters with a daily season    > each with the same cooldown as nab.yml
#   mstl          MSTL with a daily season           /  (one detection per 8h20m)
#
# Prints one Markdown table (standard, reward_low_FP_rate, reward_low_FN_rate per model).
#
# usage: benches/anomaly/nab.sh [--models "nab zscore ..."] [--workdir DIR]
# environment: BONGSU (default <repo>/target/release/bongsu), BONGSU_SHARED (shared/ folder)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
MODELS="nab zscore entropy mad holt_winters mstl"
WORKDIR=${TMPDIR:-/tmp}/bongsu-nab
while (($#)); do
  case "$1" in
    --models) MODELS=${2:?--models needs a value}; shift 2 ;;
    --workdir) WORKDIR=${2:?--workdir needs a value}; shift 2 ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 1 ;;
  esac
done
BONGSU=${BONGSU:-$REPO_DIR/target/release/bongsu}
[[ -x $BONGSU ]] || { echo "no bongsu executable at $BONGSU (cargo build --release)" >&2; exit 1; }
# shellcheck source=../lib/peers.sh
source "$REPO_DIR/benches/lib/peers.sh"
NAB=$(shared_dir)/anomaly/nab
[[ -d $NAB/data ]] || { echo "no NAB data in $NAB" >&2; exit 1; }

rm -rf "$WORKDIR"
mkdir -p "$WORKDIR/configs" "$WORKDIR/results"

# cooldown MODEL : MODEL with nab.yml's cooldown around it
cooldown() { echo "{class: cooldown, period: 8h20m, threshold: 2.5, model: $1}"; }

# config_of NAME : the detector file of model NAME
config_of() {
  local model
  case "$1" in
    nab) cp "$SCRIPT_DIR/nab.yml" "$WORKDIR/configs/nab.yml"; return ;;
    zscore) model="{class: zscore, window: 1500}" ;;
    entropy) model="$(cooldown "{class: entropy, window: 30, score: 2.5}")" ;;
    mad) model="$(cooldown "{class: mad, window: 1500}")" ;;
    holt_winters) model="$(cooldown "{class: holt_winters, seasons: [1d]}")" ;;
    mstl) model="$(cooldown "{class: mstl, seasons: [1d]}")" ;;
    *) echo "unknown model $1" >&2; exit 1 ;;
  esac
  printf 'detectors:\n  - {name: %s, query: nab_value, interval: 5m, model: %s}\n' "$1" "$model" \
    >"$WORKDIR/configs/$1.yml"
}

echo "| model | standard | reward_low_FP_rate | reward_low_FN_rate | replay s |"
echo "|---|---:|---:|---:|---:|"
for name in $MODELS; do
  config_of "$name"
  began=$(date +%s.%N)
  for f in "$NAB"/data/*/*.csv; do
    category=$(basename "$(dirname "$f")")
    mkdir -p "$WORKDIR/results/$name/$category"
    "$BONGSU" anomaly replay --config "$WORKDIR/configs/$name.yml" "$f" \
      >"$WORKDIR/results/$name/$category/${name}_$(basename "$f")"
  done
  took=$(python3 -c "import time; print(f'{time.time() - $began:.1f}')")
  python3 "$SCRIPT_DIR/nab_score.py" --nab "$NAB" --results "$WORKDIR/results" \
    --detector "$name" --optimize --json "$WORKDIR/$name.json" >/dev/null
  python3 - "$WORKDIR/$name.json" "$name" "$took" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
cols = [f"{s[p]['score']:.1f}" for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")]
print(f"| {sys.argv[2]} | " + " | ".join(cols) + f" | {sys.argv[3]} |")
PY
done
